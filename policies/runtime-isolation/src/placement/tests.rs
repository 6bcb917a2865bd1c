//! Isolated placements through the policy's entry point: the case table, the default class and
//! audit annotation, settings validation, and the Rancher form.

use pci_shared::policy::{evaluate, read_settings};
use pci_shared::time::{Now, Timestamp};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{CaseTable, admission_request, validation_payload, workload_object};
use rstest::rstest;
use serde_json::{Value, json};

use crate::cluster::HostCluster;
use crate::placement::presets::Preset;
use crate::{Exported, RuntimeIsolation};

const NOW: Now = Now::At(Timestamp(20_779 * 86_400));

fn run(request: &Value, settings: &Value) -> pci_shared::response::ValidationResponse {
    evaluate::<RuntimeIsolation<HostCluster>>(&validation_payload(request, settings), NOW)
}

#[test]
fn placement_table() {
    let table =
        CaseTable::from_yaml(include_str!("../../test_data/placements.yaml")).expect("valid table");
    assert!(table.cases.len() >= 30, "the table lost cases");
    table.check(|payload| evaluate::<RuntimeIsolation<HostCluster>>(payload, NOW));
}

#[test]
fn a_placed_workload_gets_no_default_class_and_names_its_placement_for_the_audit() {
    let settings = json!({
        "allowedRuntimeClasses": ["gvisor"],
        "defaultRuntimeClass": "gvisor",
        "isolatedPlacements": [{"preset": "eksFargate", "fargateProfiles": [
            {"name": "cde", "selectors": [{"namespace": "payments"}]}]}]
    });
    let mut request = admission_request(
        WorkloadKind::Deployment,
        "CREATE",
        workload_object(
            WorkloadKind::Deployment,
            "api",
            json!({}),
            json!({"containers": [{"name": "app", "image": "registry.corp.com/api:1"}]}),
        ),
    );
    request["namespace"] = json!("payments");
    let response = run(&request, &settings);
    assert!(response.accepted, "{:?}", response.message);
    assert!(
        response.mutated_object.is_none(),
        "Fargate runs no runtime class"
    );
    let audit = response.audit_annotations.expect("audit annotations");
    assert_eq!(
        audit.get("isolated-by").map(String::as_str),
        Some("placement eks-fargate via Fargate profile cde")
    );
    // Outside the profile the default class is set, as before.
    request["namespace"] = json!("shop");
    let response = run(&request, &settings);
    assert!(response.accepted);
    assert!(response.mutated_object.is_some());
}

#[rstest]
#[case::pins_nothing(
    r#"{"isolatedPlacements":[{"name":"pool"}]}"#,
    "isolatedPlacements[0] pins nothing"
)]
#[case::no_name(
    r#"{"isolatedPlacements":[{"schedulerName":"s"}]}"#,
    "isolatedPlacements[0].name is required (or a preset"
)]
#[case::bad_name(
    r#"{"isolatedPlacements":[{"name":"Pool_1","schedulerName":"s"}]}"#,
    "isolatedPlacements[0].name \"Pool_1\" must be a lowercase DNS label"
)]
#[case::duplicate(
    r#"{"isolatedPlacements":[{"preset":"eksFargate"},{"preset":"eksFargate"}]}"#,
    "isolatedPlacements[1].name \"eks-fargate\" is already used"
)]
#[case::unknown_preset(
    r#"{"isolatedPlacements":[{"preset":"gkeAutopilot"}]}"#,
    "unknown variant `gkeAutopilot`"
)]
#[case::unknown_field(
    r#"{"isolatedPlacements":[{"preset":"eksFargate","profiles":[]}]}"#,
    "unknown field `profiles`"
)]
#[case::exists_with_value(
    r#"{"isolatedPlacements":[{"preset":"aksVirtualNodes","tolerations":[{"key":"k","operator":"Exists","value":"v"}]}]}"#,
    "isolatedPlacements[0].tolerations[0]: operator Exists takes no value"
)]
#[case::equal_without_value(
    r#"{"isolatedPlacements":[{"preset":"aksVirtualNodes","tolerations":[{"key":"k"}]}]}"#,
    "isolatedPlacements[0].tolerations[0]: operator Equal needs a value"
)]
#[case::bad_effect(
    r#"{"isolatedPlacements":[{"preset":"aksVirtualNodes","tolerations":[{"key":"k","operator":"Exists","effect":"NoRun"}]}]}"#,
    "effect \"NoRun\" is not NoSchedule, PreferNoSchedule or NoExecute"
)]
#[case::profiles_without_scheduler(
    r#"{"isolatedPlacements":[{"preset":"aksVirtualNodes","fargateProfiles":[{"name":"p","selectors":[{"namespace":"a"}]}]}]}"#,
    "isolatedPlacements[0].fargateProfiles need the schedulerName"
)]
#[case::profile_without_selectors(
    r#"{"isolatedPlacements":[{"preset":"eksFargate","fargateProfiles":[{"name":"p","selectors":[]}]}]}"#,
    "isolatedPlacements[0].fargateProfiles[0].selectors must list at least one namespace"
)]
#[case::bad_os(
    r#"{"isolatedPlacements":[{"preset":"eksFargate","os":["macos"]}]}"#,
    "unknown variant `macos`"
)]
#[case::nothing_at_all(r#"{}"#, "or isolatedPlacements the serverless placements")]
#[case::empty_node_name(
    r#"{"isolatedPlacements":[{"preset":"eksFargate","nodeNames":["fargate-*",""]}]}"#,
    "isolatedPlacements[0].nodeNames[1]: must not be empty"
)]
#[case::every_node_name(
    r#"{"isolatedPlacements":[{"name":"pool","nodeNames":["*"]}]}"#,
    "isolatedPlacements[0].nodeNames[0]: \"*\" must start with the name prefix of the placement's nodes (e.g. fargate-*), not *"
)]
#[case::node_name_suffix_only(
    r#"{"isolatedPlacements":[{"preset":"eksFargate","nodeNames":["*.ec2.internal"]}]}"#,
    "isolatedPlacements[0].nodeNames[0]: \"*.ec2.internal\" must start with the name prefix"
)]
#[case::node_name_uppercase(
    r#"{"isolatedPlacements":[{"preset":"eksFargate","nodeNames":["Fargate-*"]}]}"#,
    "isolatedPlacements[0].nodeNames[0]: \"Fargate-*\" is not a node name glob (a lowercase DNS subdomain"
)]
#[case::node_name_empty_label(
    r#"{"isolatedPlacements":[{"preset":"eksFargate","nodeNames":["fargate-..*"]}]}"#,
    "isolatedPlacements[0].nodeNames[0]: \"fargate-..*\" is not a node name glob"
)]
#[case::node_names_not_a_list(
    r#"{"isolatedPlacements":[{"preset":"eksFargate","nodeNames":"fargate-*"}]}"#,
    "invalid type: string \"fargate-*\", expected a sequence"
)]
fn placements_are_validated_naming_the_path(#[case] json: &str, #[case] expected: &str) {
    let error = read_settings::<Exported>(json).expect_err("invalid settings");
    assert!(error.contains(expected), "{json}: {error}");
}

#[test]
fn placements_alone_are_enough_and_fields_replace_the_preset() {
    let settings = read_settings::<Exported>(
        r#"{"isolatedPlacements":[{"preset":"aksVirtualNodes","name":"aci-westeurope","nodeSelector":{"type":"virtual-kubelet","region":"westeurope"}}]}"#,
    )
    .expect("valid without allowedRuntimeClasses");
    let placement = &settings.isolated_placements[0];
    let preset = Preset::AksVirtualNodes.placement();
    assert_eq!(placement.name, "aci-westeurope");
    assert_eq!(placement.node_selector.len(), 2);
    assert_eq!(placement.tolerations, preset.tolerations);
    assert_eq!(placement.os, preset.os);
}

/// What the Rancher form sends for an item left as the form fills it: the preset, untouched.
#[test]
fn the_rancher_form_item_is_the_preset() {
    let questions: Value =
        serde_yaml::from_str(include_str!("../../questions-ui.yml")).expect("questions-ui.yml");
    let question = questions["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .find(|q| q["variable"] == "isolatedPlacements")
        .expect("an isolatedPlacements question");
    let mut item = serde_json::Map::new();
    for field in question["sequence_questions"].as_array().expect("fields") {
        let name = field["variable"].as_str().expect("variable");
        item.insert(name.to_owned(), field["default"].clone());
    }
    let settings = json!({"isolatedPlacements": [item]}).to_string();
    let settings = read_settings::<Exported>(&settings).expect("the form's item is valid");
    assert_eq!(
        settings.isolated_placements[0],
        Preset::EksFargate.placement()
    );
}

/// A pod bound by `nodeName` to a node the placement names is placed there without any
/// scheduler, and the audit says by which route; a wrongly typed `nodeName` is an input error
/// naming the field, never read as unset.
#[rstest]
#[case::pod(WorkloadKind::Pod, "spec.nodeName")]
#[case::deployment(WorkloadKind::Deployment, "spec.template.spec.nodeName")]
#[case::cron_job(WorkloadKind::CronJob, "spec.jobTemplate.spec.template.spec.nodeName")]
#[case::pod_template(WorkloadKind::PodTemplate, "template.spec.nodeName")]
fn a_node_name_of_the_placement_is_its_route_for_the_audit(
    #[case] kind: WorkloadKind,
    #[case] path: &str,
) {
    let settings = json!({"isolatedPlacements": [{"preset": "eksFargate"}]});
    let request = |node_name: Value| {
        admission_request(
            kind,
            "CREATE",
            workload_object(
                kind,
                "api",
                json!({}),
                json!({"nodeName": node_name,
                       "containers": [{"name": "app", "image": "registry.corp.com/api:1"}]}),
            ),
        )
    };
    let response = run(
        &request(json!("fargate-ip-10-0-1-17.ec2.internal")),
        &settings,
    );
    assert!(response.accepted, "{:?}", response.message);
    let audit = response.audit_annotations.expect("audit annotations");
    assert_eq!(
        audit.get("isolated-by").map(String::as_str),
        Some("placement eks-fargate via nodeName fargate-ip-10-0-1-17.ec2.internal")
    );
    let response = run(&request(json!(17)), &settings);
    assert!(!response.accepted);
    assert_eq!(response.code, Some(400));
    let message = response.message.unwrap_or_default();
    assert!(message.contains(path), "{message}");
}

#[test]
fn node_names_alone_pin_a_placement_and_the_form_leaves_the_presets() {
    let settings = read_settings::<Exported>(
        r#"{"isolatedPlacements":[{"name":"microvm-pool","nodeNames":["microvm-*"]},{"preset":"eksFargate","nodeNames":[]}]}"#,
    )
    .expect("node names pin a placement");
    assert_eq!(settings.isolated_placements[0].node_names, ["microvm-*"]);
    assert_eq!(
        settings.isolated_placements[1].node_names,
        ["fargate-*"],
        "[] is a form field left untouched: the preset's"
    );
    assert_eq!(
        settings.isolated_placements[1].requirements(),
        "schedulerName fargate-scheduler, or nodeName fargate-*"
    );
}
