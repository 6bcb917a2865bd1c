//! trusted-registries through the compiled, annotated wasm, as policy-server runs it.

use e2e::instance;
use serde_json::json;
use trusted_registries::TrustedRegistries;

const POLICY: &str = "trusted-registries";

#[test]
fn every_reference_case_through_the_wasm_matches_the_table_and_the_native_build() {
    let table = e2e::case_table(POLICY, "references.yaml");
    e2e::check_table_through_wasm(
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
fn the_module_carries_complete_metadata() {
    let metadata = e2e::checked_metadata(POLICY);
    assert!(!metadata.mutating);
}
