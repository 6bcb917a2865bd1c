//! trusted-registries through the compiled, annotated wasm, as policy-server runs it.

mod common;

use common::{instance, kwctl_run, root};
use serde_json::{Value, json};
use trusted_registries::TrustedRegistries;

const POLICY: &str = "trusted-registries";

#[test]
fn every_reference_case_through_the_wasm_matches_the_table_and_the_native_build() {
    let table = common::case_table(POLICY, "references.yaml");
    common::check_table_through_wasm(
        POLICY,
        &table,
        pci_shared::policy::evaluate::<TrustedRegistries>,
    );
}

#[test]
fn settings_validation_through_the_wasm() {
    let policy = instance(POLICY);
    assert_eq!(policy.protocol_version().expect("protocol"), "v1");
    let valid = policy
        .validate_settings(&json!({"registries": {"allow": ["registry.corp.com"]}}))
        .expect("call");
    assert!(valid.valid, "{:?}", valid.message);
    let empty = policy.validate_settings(&json!({})).expect("call");
    assert!(
        !empty.valid
            && empty
                .message
                .is_some_and(|m| m.starts_with("configure at least one"))
    );
    let bad = policy
        .validate_settings(&json!({"registries": {"allow": ["registry.corp.com", "corp"]}}))
        .expect("call");
    assert!(
        bad.message
            .is_some_and(|m| m.starts_with("registries.allow[1]: \"corp\" is not a registry host"))
    );
}

#[test]
fn the_examples_give_the_documented_verdicts() {
    let dir = root().join("examples").join(POLICY);
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("settings.json")).expect("settings"),
    )
    .expect("json");
    for (name, allowed) in [
        ("01-trusted-deployment", true),
        ("02-untrusted-and-latest", false),
        ("03-look-alike-registry", false),
    ] {
        let request: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("example"),
        )
        .expect("json");
        let response = kwctl_run(POLICY, &request, settings.clone());
        assert_eq!(response.allowed, allowed, "{name}: {:?}", response.status);
    }
}

#[test]
fn the_module_carries_complete_metadata() {
    let metadata = common::checked_metadata(POLICY);
    assert!(!metadata.mutating);
}
