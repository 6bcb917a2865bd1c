//! runtime-isolation through the compiled, annotated wasm, with kwctl replay sessions answering
//! the Namespace and RuntimeClass lookups (`kubernetes/get_resource`).

use e2e::kwctl_run_replay;
use pci_host::metadata::ContextAwareResource;
use pci_host::run::{RunOptions, run};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, workload_object};
use serde_json::{Value, json};

const POLICY: &str = "runtime-isolation";

fn settings() -> Value {
    json!({
        "highRisk": {"namespaceSelector": {"matchLabels": {"pci": "cde"}}},
        "allowedRuntimeClasses": ["gvisor", "kata"],
        "verifyHandlers": {"allowed": ["runsc", "kata", "kata-*"]},
        "defaultRuntimeClass": "gvisor",
        "windows": {"allowedRuntimeClasses": ["hyperv"]}
    })
}

fn request(kind: WorkloadKind, operation: &str, spec_extra: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "app", "image": "registry.corp.com/payments/api:1", "x-vendor": true}]});
    spec.as_object_mut()
        .expect("object")
        .extend(spec_extra.as_object().expect("object").clone());
    let mut request = admission_request(
        kind,
        operation,
        workload_object(kind, "api", json!({}), spec),
    );
    request["namespace"] = json!("payments");
    request
}

#[test]
fn an_allowed_sandbox_with_an_approved_handler_is_accepted() {
    let (response, unused) = kwctl_run_replay(
        POLICY,
        &request(
            WorkloadKind::Deployment,
            "CREATE",
            json!({"runtimeClassName": "gvisor"}),
        ),
        settings(),
        "session-cde-gvisor.yml",
    );
    assert!(response.allowed, "{:?}", response.status);
    assert!(
        response.patch.is_none(),
        "an explicit allowed class is never rewritten"
    );
    assert_eq!(unused, 0);
}

#[test]
fn the_default_class_is_set_on_create_with_a_patch_of_that_field_only() {
    for kind in [WorkloadKind::Pod, WorkloadKind::CronJob] {
        let (response, unused) = kwctl_run_replay(
            POLICY,
            &request(kind, "CREATE", json!({})),
            settings(),
            "session-cde-gvisor.yml",
        );
        assert!(response.allowed, "{kind:?}: {:?}", response.status);
        assert_eq!(unused, 0);
        let prefix = format!("/{}", kind.pod_spec_path().replace('.', "/"));
        assert_eq!(
            response.patch_operations().expect("decodes"),
            Some(
                json!([{"op": "add", "path": format!("{prefix}/runtimeClassName"), "value": "gvisor"}])
            ),
            "{kind:?}"
        );
    }
}

#[test]
fn updates_never_change_the_runtime_class() {
    // A template change (the image) is judged, and not defaulted.
    let mut rollout = request(WorkloadKind::Deployment, "UPDATE", json!({}));
    rollout["oldObject"]["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("registry.corp.com/payments/api:0");
    let (deployment, _) = kwctl_run_replay(POLICY, &rollout, settings(), "session-cde-only.yml");
    assert!(!deployment.allowed && deployment.patch.is_none());
    assert!(
        deployment
            .message()
            .contains("[runtimeClass] spec.template.spec.runtimeClassName")
    );
    let pod = run(
        &e2e::policy(POLICY),
        &request(WorkloadKind::Pod, "UPDATE", json!({})),
        RunOptions {
            settings: settings(),
            ..RunOptions::default()
        },
    )
    .expect("run");
    assert!(
        pod.allowed && pod.patch.is_none(),
        "a Pod's runtimeClassName is immutable: nothing to judge or change"
    );
}

#[test]
fn lookups_that_find_nothing_or_fail_are_clear_rejections() {
    let cases = [
        (
            "session-cde-fake-gvisor.yml",
            "RuntimeClass \"gvisor\" maps to handler \"runc\", which is not an approved sandbox",
        ),
        (
            "session-cde-class-missing.yml",
            "RuntimeClass \"gvisor\" does not exist",
        ),
        (
            "session-cde-class-error.yml",
            "cannot look up RuntimeClass \"gvisor\" (tell the platform team): the server is currently unable to handle the request",
        ),
        (
            "session-namespace-missing.yml",
            "namespace \"payments\" does not exist",
        ),
        (
            "session-namespace-error.yml",
            "cannot read namespace \"payments\" (tell the platform team): connection refused",
        ),
    ];
    for (session, expected) in cases {
        let (response, unused) = kwctl_run_replay(
            POLICY,
            &request(
                WorkloadKind::Deployment,
                "CREATE",
                json!({"runtimeClassName": "gvisor"}),
            ),
            settings(),
            session,
        );
        assert!(!response.allowed, "{session}");
        assert!(response.patch.is_none(), "{session}");
        assert!(
            response.message().contains(expected),
            "{session}: {}",
            response.message()
        );
        assert_eq!(unused, 0, "{session}");
    }
}

#[test]
fn outside_the_cde_nothing_is_required() {
    let (response, _) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Deployment, "CREATE", json!({})),
        settings(),
        "session-outside-cde.yml",
    );
    assert!(
        response.allowed && response.patch.is_none(),
        "{:?}",
        response.status
    );
}

#[test]
fn windows_workloads_need_hyper_v() {
    let windows = json!({"os": {"name": "windows"}, "runtimeClassName": "hyperv"});
    let (response, unused) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Deployment, "CREATE", windows),
        settings(),
        "session-cde-hyperv.yml",
    );
    assert!(response.allowed, "{:?}", response.status);
    assert_eq!(unused, 0);
    let process_isolated = json!({"nodeSelector": {"kubernetes.io/os": "windows"}});
    let (response, _) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Deployment, "CREATE", process_isolated),
        settings(),
        "session-cde-only.yml",
    );
    assert!(!response.allowed);
    let text = response.message();
    assert!(
        text.contains("process-isolated containers are not a security boundary"),
        "{text}"
    );
    assert!(
        response
            .warnings
            .as_ref()
            .is_some_and(|w| w.iter().any(|w| w.ends_with("(PCI DSS 9.2)"))),
        "{:?}",
        response.warnings
    );
}

#[test]
fn without_context_aware_permission_the_host_refuses_and_the_policy_fails_closed() {
    let text = std::fs::read_to_string(
        e2e::root().join("policies/runtime-isolation/test_data/session-cde-gvisor.yml"),
    )
    .expect("session");
    let replay = std::sync::Arc::new(pci_host::replay::Replay::from_yaml(&text).expect("session"));
    let options = RunOptions {
        settings: settings(),
        replay: Some(replay),
        allow_context_aware: false,
        ..RunOptions::default()
    };
    let response = run(
        &e2e::policy(POLICY),
        &request(
            WorkloadKind::Deployment,
            "CREATE",
            json!({"runtimeClassName": "gvisor"}),
        ),
        options,
    )
    .expect("run");
    assert!(!response.allowed);
    assert!(
        response
            .message()
            .contains("has not been granted access to Kubernetes v1/Namespace"),
        "{}",
        response.message()
    );
}

#[test]
fn the_module_declares_its_context_aware_resources_and_capability() {
    let metadata = e2e::checked_metadata(POLICY);
    assert_eq!(
        metadata.host_capabilities,
        Some(vec!["kubernetes/get_resource".to_owned()])
    );
    let expected: Vec<ContextAwareResource> = vec![
        ContextAwareResource {
            api_version: "node.k8s.io/v1".into(),
            kind: "RuntimeClass".into(),
        },
        ContextAwareResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
        },
    ];
    assert_eq!(
        metadata
            .context_aware_resources
            .into_iter()
            .collect::<Vec<_>>(),
        expected
    );
}

/// What the Rancher form (questions-ui.yml) fills in for `highRisk` — every subquestion's
/// default, then the selectors of a CDE namespace with the others left untouched — is read by
/// the compiled policy: `{all: true}` as every workload, the selectors as selectors.
#[test]
fn the_high_risk_form_of_the_rancher_ui_is_accepted() {
    let path = e2e::bundle()
        .policy_dir("runtime-isolation")
        .join("questions-ui.yml");
    let questions: Value = yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let high_risk = questions["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["variable"] == "highRisk")
        .expect("a highRisk question");
    let mut form = high_risk["default"].clone();
    for sub in high_risk["subquestions"].as_array().unwrap() {
        let path: Vec<&str> = sub["variable"]
            .as_str()
            .unwrap()
            .split('.')
            .skip(1)
            .collect();
        let mut at = &mut form;
        for key in &path[..path.len() - 1] {
            at = at
                .as_object_mut()
                .unwrap()
                .entry(key.to_string())
                .or_insert(json!({}));
        }
        at[path[path.len() - 1]] = sub["default"].clone();
    }
    let instance = e2e::instance("runtime-isolation");
    let mut settings = settings();
    settings["highRisk"] = form.clone();
    let validation = instance.validate_settings(&settings).unwrap();
    assert!(validation.valid, "{form}: {:?}", validation.message);
    // All off, a namespace label set, the other fields left as the form sends them.
    form["all"] = json!(false);
    form["namespaceSelector"]["matchLabels"] = json!({"pci": "cde"});
    settings["highRisk"] = form.clone();
    let validation = instance.validate_settings(&settings).unwrap();
    assert!(validation.valid, "{form}: {:?}", validation.message);
    // Selectors beside all: true are refused, naming the conflict.
    form["all"] = json!(true);
    settings["highRisk"] = form;
    let validation = instance.validate_settings(&settings).unwrap();
    assert!(!validation.valid);
    assert!(
        validation
            .message
            .unwrap()
            .contains("all: true already makes"),
        "conflict named"
    );
}

/// Every isolated-placement case (test_data/placements.yaml: EKS Fargate by scheduler name and
/// by profile, AKS virtual nodes in every kind, required vs preferred affinity, missing
/// toleration, a selector that also allows other nodes, Windows on a virtual node) through the
/// compiled wasm, byte for byte as the native build answers.
#[test]
fn every_placement_case_through_the_wasm_matches_the_table_and_the_native_build() {
    e2e::check_table_through_wasm(
        POLICY,
        &e2e::case_table(POLICY, "placements.yaml"),
        pci_shared::policy::evaluate::<
            runtime_isolation::RuntimeIsolation<runtime_isolation::cluster::HostCluster>,
        >,
    );
}

/// A placed workload is accepted without a patch and the response names the placement for the
/// audit; a bad placement is refused by the wasm's settings validation, naming the path.
#[test]
fn a_placement_through_the_wasm_is_named_in_the_audit_and_validated() {
    let mut settings = settings();
    settings["highRisk"] = json!("all");
    settings["isolatedPlacements"] = json!([{"preset": "aksVirtualNodes"}]);
    let request = request(
        WorkloadKind::StatefulSet,
        "CREATE",
        json!({"nodeSelector": {"type": "virtual-kubelet"},
               "tolerations": [{"key": "virtual-kubelet.io/provider", "operator": "Exists"}]}),
    );
    let instance = e2e::instance(POLICY);
    let payload = pci_testkit::validation_payload(&request, &settings);
    let answer: Value =
        serde_json::from_slice(&instance.call("validate", &payload).unwrap()).unwrap();
    assert_eq!(answer["accepted"], true, "{answer}");
    assert!(answer["mutated_object"].is_null(), "{answer}");
    assert_eq!(
        answer["audit_annotations"]["isolated-by"],
        "placement aks-virtual-nodes"
    );
    settings["isolatedPlacements"] = json!([{"preset": "aksVirtualNodes", "tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]}]);
    let validation = instance.validate_settings(&settings).unwrap();
    assert!(!validation.valid);
    assert_eq!(
        validation.message.as_deref(),
        Some("isolatedPlacements[0].tolerations[0]: operator Exists takes no value")
    );
}
