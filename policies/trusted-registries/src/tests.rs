//! Policy-level tests through the same entry point the wasm exports (`policy::evaluate`).

use pci_shared::policy::evaluate;
use pci_shared::response::ValidationResponse;
use pci_shared::time::{Now, Timestamp};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{CaseTable, admission_request, validation_payload, workload_object};
use serde_json::{Value, json};

use crate::TrustedRegistries;

const NOW: Now = Now::At(Timestamp(20_779 * 86_400));

fn run(request: &Value, settings: Value) -> ValidationResponse {
    evaluate::<TrustedRegistries>(&validation_payload(request, &settings), NOW)
}

#[test]
fn reference_table() {
    let table =
        CaseTable::from_yaml(include_str!("../test_data/references.yaml")).expect("valid table");
    assert!(table.cases.len() >= 30, "the table lost cases");
    table.check(|payload| evaluate::<TrustedRegistries>(payload, NOW));
}

#[test]
fn the_message_names_each_container_its_normalised_reference_and_the_reason() {
    let spec = json!({"containers": [
        {"name": "web", "image": "nginx"},
        {"name": "api", "image": "registry.corp.com/payments/api:1.0"},
        {"name": "bad", "image": "Registry.corp.com/App:1"}
    ]});
    let request = admission_request(
        WorkloadKind::Pod,
        "CREATE",
        workload_object(WorkloadKind::Pod, "p", json!({}), spec),
    );
    let response = run(
        &request,
        json!({"registries": {"allow": ["registry.corp.com"]}, "tags": {"deny": ["latest"]}}),
    );
    assert!(!response.accepted);
    assert_eq!(
        response.message.as_deref(),
        Some(
            "trusted-registries rejected Pod default/p: 3 violations in container \"web\" and container \"bad\" (PCI DSS 3.3); \
             fix each as its line says, or request an exception:\n\
             - [registries] spec.containers[0].image (container \"web\"): \"nginx\" (docker.io/library/nginx:latest): untrusted source; allowed: registry.corp.com\n\
             - [tags] spec.containers[0].image (container \"web\"): \"nginx\" (docker.io/library/nginx:latest): tag \"latest\" is denied by \"latest\" (no tag and no digest means latest)\n\
             - [reference] spec.containers[2].image (container \"bad\"): \"Registry.corp.com/App:1\" is not a valid image reference: repository \"App\" must be lowercase\n\
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/registries.md, \
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/tags.md, \
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/reference.md"
        )
    );
}

#[test]
fn settings_are_required_and_checked_on_every_evaluation() {
    let request = admission_request(
        WorkloadKind::Pod,
        "CREATE",
        workload_object(
            WorkloadKind::Pod,
            "p",
            json!({}),
            json!({"containers": [{"name": "a", "image": "nginx"}]}),
        ),
    );
    let response = run(&request, json!({}));
    assert!(!response.accepted);
    assert_eq!(response.code, Some(400));
    assert!(
        response
            .message
            .is_some_and(|m| m.contains("configure at least one"))
    );
}

/// The security oracle (`pci_testkit::oracle`): workloads hostile to this policy, in every kind
/// and container list, with benign noise, unknown fields, UPDATEs and exceptions that cover or
/// narrowly miss, are never admitted without a covering exception, and every rejection names
/// the control, field path and container. On failure it prints the case number to replay.
#[test]
fn security_oracle() {
    let tally = pci_testkit::oracle::check_policy::<crate::Exported>();
    eprintln!("{tally:?}");
}
