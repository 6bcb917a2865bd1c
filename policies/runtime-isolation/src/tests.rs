//! Policy-level tests with the cluster replaced by a script.

use pci_shared::policy::evaluate;
use pci_shared::response::ValidationResponse;
use pci_shared::time::{Now, Timestamp};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, reported_violations, validation_payload, workload_object};
use serde_json::{Value, json};

use crate::RuntimeIsolation;
use crate::cluster::{ClusterLookup, Lookup, classify};

const NOW: Now = Now::At(Timestamp(20_779 * 86_400));

/// Namespaces `payments` (labelled pci=cde), `cardholder` (labelled as pci.yml's recommended
/// settings select) and `web`; `broken` fails to load. RuntimeClasses `gvisor` (runsc), `kata`
/// (kata-qemu), `fake-sandbox` (runc), `hyperv` (Hyper-V, build suffix).
struct Scripted;

impl ClusterLookup for Scripted {
    fn get(api_version: &str, kind: &str, name: &str) -> Result<Lookup, String> {
        let found = |object: Value| Ok(Lookup::Found(object));
        match (api_version, kind, name) {
            ("v1", "Namespace", "payments") => {
                found(json!({"metadata": {"name": "payments", "labels": {"pci": "cde"}}}))
            }
            ("v1", "Namespace", "web") => found(json!({"metadata": {"name": "web", "labels": {}}})),
            ("v1", "Namespace", "cardholder") => found(
                json!({"metadata": {"name": "cardholder", "labels": {"pci-dss/scope": "cde"}}}),
            ),
            ("v1", "Namespace", "broken") => {
                Err("the server is currently unable to handle the request".into())
            }
            ("node.k8s.io/v1", "RuntimeClass", "gvisor") => found(json!({"handler": "runsc"})),
            ("node.k8s.io/v1", "RuntimeClass", "kata") => found(json!({"handler": "kata-qemu"})),
            ("node.k8s.io/v1", "RuntimeClass", "fake-sandbox") => found(json!({"handler": "runc"})),
            ("node.k8s.io/v1", "RuntimeClass", "hyperv") => {
                found(json!({"handler": "runhcs-wcow-hypervisor-19041"}))
            }
            ("node.k8s.io/v1", "RuntimeClass", "outage") => Err("connection refused".into()),
            _ => classify(&format!("{kind} \"{name}\" not found")),
        }
    }
}

fn settings() -> Value {
    json!({
        "highRisk": {"podSelector": {"matchLabels": {"pci": "cde"}}, "namespaceSelector": {"matchLabels": {"pci": "cde"}}},
        "allowedRuntimeClasses": ["gvisor", "kata", "fake-sandbox", "outage"],
        "verifyHandlers": {"allowed": ["runsc", "kata-*"]},
        "windows": {"allowedRuntimeClasses": ["hyperv"]}
    })
}

fn run_in(
    namespace: &str,
    kind: WorkloadKind,
    operation: &str,
    spec: Value,
    labels: Value,
    settings: Value,
) -> ValidationResponse {
    let mut request = admission_request(
        kind,
        operation,
        workload_object(kind, "w", json!({"labels": labels}), spec),
    );
    request["namespace"] = json!(namespace);
    evaluate::<RuntimeIsolation<Scripted>>(&validation_payload(&request, &settings), NOW)
}

fn run(spec: Value, labels: Value) -> ValidationResponse {
    run_in(
        "web",
        WorkloadKind::Deployment,
        "CREATE",
        spec,
        labels,
        settings(),
    )
}

fn violations(response: &ValidationResponse) -> Vec<String> {
    reported_violations(&serde_json::to_value(&response.audit_annotations).expect("json"))
}

fn pod(class: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "app", "image": "registry.corp.com/app:1"}]});
    if let Some(class) = class {
        spec["runtimeClassName"] = json!(class);
    }
    spec
}

#[test]
fn a_workload_that_is_not_high_risk_is_accepted() {
    assert!(run(pod(None), json!({"app": "x"})).accepted);
}

#[test]
fn an_explicitly_allowed_sandbox_is_accepted() {
    assert!(run(pod(Some("gvisor")), json!({"pci": "cde"})).accepted);
    assert!(run(pod(Some("kata")), json!({"pci": "cde"})).accepted);
}

/// The rejection's warning names the PCI section, its message says `why` and links the control's
/// page.
fn assert_rejected_for(response: &ValidationResponse, pci: &str, control: &str, why: &str) {
    let warned = response.warnings.as_ref().is_some_and(|w| {
        w.first()
            .is_some_and(|w| w.ends_with(&format!("(PCI DSS {pci})")))
    });
    assert!(warned, "{:?}", response.warnings);
    let message = response.message.as_deref().unwrap_or_default();
    assert!(
        message.contains(&format!("docs/controls/{control}.md")) && message.contains(why),
        "{message}"
    );
}

#[test]
fn high_risk_without_a_sandbox_is_rejected_with_the_pci_reason() {
    let response = run(pod(None), json!({"pci": "cde"}));
    assert_eq!(
        violations(&response),
        vec!["runtimeClass spec.template.spec.runtimeClassName"]
    );
    assert_rejected_for(
        &response,
        "9.1",
        "runtimeClass",
        "not on the shared host kernel; allowed: gvisor, kata",
    );
    let response = run(pod(Some("runc")), json!({"pci": "cde"}));
    assert!(
        response
            .message
            .is_some_and(|m| m.contains("\"runc\" is not a sandboxed runtime class"))
    );
}

#[test]
fn a_class_named_like_a_sandbox_must_map_to_an_approved_handler() {
    let response = run(pod(Some("fake-sandbox")), json!({"pci": "cde"}));
    assert_eq!(
        violations(&response),
        vec!["runtimeHandler spec.template.spec.runtimeClassName"]
    );
    assert!(
        response.message.is_some_and(
            |m| m.contains("maps to handler \"runc\", which is not an approved sandbox")
        )
    );
    let mut settings = settings();
    settings["allowedRuntimeClasses"] = json!(["gvisor", "missing"]);
    let missing = run_in(
        "web",
        WorkloadKind::Deployment,
        "CREATE",
        pod(Some("missing")),
        json!({"pci": "cde"}),
        settings,
    );
    assert!(
        missing
            .message
            .is_some_and(|m| m.contains("RuntimeClass \"missing\" does not exist"))
    );
    let outage = run(pod(Some("outage")), json!({"pci": "cde"}));
    assert!(!outage.accepted);
    assert!(outage.message.is_some_and(|m| m.contains(
        "cannot look up RuntimeClass \"outage\" (tell the platform team): connection refused"
    )));
}

#[test]
fn the_namespace_labels_make_a_workload_high_risk_and_lookup_errors_fail_closed() {
    let in_cde = run_in(
        "payments",
        WorkloadKind::Job,
        "CREATE",
        pod(None),
        json!({}),
        settings(),
    );
    assert_eq!(
        violations(&in_cde),
        vec!["runtimeClass spec.template.spec.runtimeClassName"]
    );
    let broken = run_in(
        "broken",
        WorkloadKind::Job,
        "CREATE",
        pod(None),
        json!({}),
        settings(),
    );
    assert_eq!(
        violations(&broken),
        vec!["context spec.template.spec.runtimeClassName"]
    );
    let missing = run_in(
        "ghost",
        WorkloadKind::Job,
        "CREATE",
        pod(None),
        json!({}),
        settings(),
    );
    assert!(
        missing
            .message
            .is_some_and(|m| m.contains("namespace \"ghost\" does not exist"))
    );
}

#[test]
fn the_default_class_is_set_on_create_only_and_never_on_pod_updates() {
    let mut settings = settings();
    settings["defaultRuntimeClass"] = json!("gvisor");
    let created = run_in(
        "web",
        WorkloadKind::Pod,
        "CREATE",
        pod(None),
        json!({"pci": "cde"}),
        settings.clone(),
    );
    assert!(created.accepted, "{:?}", created.message);
    let mutated = created.mutated_object.map(|m| m.value()).expect("mutated");
    assert_eq!(mutated["spec"]["runtimeClassName"], "gvisor");
    assert_eq!(mutated["spec"]["containers"], pod(None)["containers"]);
    let pod_update = run_in(
        "web",
        WorkloadKind::Pod,
        "UPDATE",
        pod(None),
        json!({"pci": "cde"}),
        settings.clone(),
    );
    assert!(
        pod_update.accepted && pod_update.mutated_object.is_none(),
        "a Pod's runtimeClassName is immutable"
    );
    // A template change (here, the image) is judged, and never defaulted on UPDATE.
    let object = workload_object(
        WorkloadKind::Deployment,
        "w",
        json!({"labels": {"pci": "cde"}}),
        pod(None),
    );
    let mut old = object.clone();
    old["spec"]["template"]["spec"]["containers"][0]["image"] = json!("registry.corp.com/old:1");
    let mut request = admission_request(WorkloadKind::Deployment, "UPDATE", object);
    request["oldObject"] = old;
    request["namespace"] = json!("web");
    let deployment_update =
        evaluate::<RuntimeIsolation<Scripted>>(&validation_payload(&request, &settings), NOW);
    assert!(!deployment_update.accepted && deployment_update.mutated_object.is_none());
    let explicit = run_in(
        "web",
        WorkloadKind::Pod,
        "CREATE",
        pod(Some("kata")),
        json!({"pci": "cde"}),
        settings,
    );
    assert!(
        explicit.accepted && explicit.mutated_object.is_none(),
        "an explicit allowed class is kept as is"
    );
}

#[test]
fn windows_needs_hyper_v_and_refuses_host_process() {
    let windows = |class: Option<&str>, how: Value| {
        let mut spec = pod(class);
        spec.as_object_mut()
            .expect("object")
            .extend(how.as_object().expect("object").clone());
        run(spec, json!({"pci": "cde"}))
    };
    let by_os = windows(None, json!({"os": {"name": "windows"}}));
    assert_eq!(
        violations(&by_os),
        vec!["windowsIsolation spec.template.spec.runtimeClassName"]
    );
    assert_rejected_for(
        &by_os,
        "9.2",
        "windowsIsolation",
        "process-isolated containers are not a security boundary",
    );
    let by_selector = windows(
        Some("gvisor"),
        json!({"nodeSelector": {"kubernetes.io/os": "windows"}}),
    );
    assert!(
        by_selector
            .message
            .is_some_and(|m| m.contains("\"gvisor\" is not a Hyper-V runtime class"))
    );
    let affinity = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["windows"]}]}]}}}});
    assert!(
        windows(Some("hyperv"), affinity.clone()).accepted,
        "Hyper-V with a build suffix is accepted"
    );
    let mut host_process = affinity;
    host_process["securityContext"] = json!({"windowsOptions": {"hostProcess": true}});
    let response = windows(Some("hyperv"), host_process);
    assert_eq!(
        violations(&response),
        vec!["windowsHostProcess spec.template.spec.securityContext.windowsOptions.hostProcess"]
    );
    let mut no_windows_settings = settings();
    no_windows_settings
        .as_object_mut()
        .expect("object")
        .remove("windows");
    let response = run_in(
        "web",
        WorkloadKind::Pod,
        "CREATE",
        json!({"os": {"name": "windows"}, "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]}),
        json!({"pci": "cde"}),
        no_windows_settings,
    );
    assert!(
        response
            .message
            .is_some_and(|m| m.contains("no Hyper-V runtime class configured"))
    );
}

/// A defaulted class whose handler cannot be verified: rejected; with the `runtimeHandler`
/// check waived, the workload still gets the default class (the waiver waives that check
/// alone), and the warnings say both what was waived and what was set.
#[test]
fn a_waived_handler_check_waives_only_that_check_and_says_so() {
    let mut settings = settings();
    settings["defaultRuntimeClass"] = json!("fake-sandbox");
    let rejected = run_in(
        "web",
        WorkloadKind::Pod,
        "CREATE",
        pod(None),
        json!({"pci": "cde"}),
        settings.clone(),
    );
    assert_eq!(
        violations(&rejected),
        vec!["runtimeHandler spec.runtimeClassName"]
    );
    assert!(rejected.mutated_object.is_none());

    settings["exceptions"] = json!([{"controls": ["runtimeHandler"], "containers": ["app"],
        "namespaces": ["web"], "reason": "handler migration to runsc (CHG-7)", "expires": "2027-01-31"}]);
    let waived = run_in(
        "web",
        WorkloadKind::Pod,
        "CREATE",
        pod(None),
        json!({"pci": "cde"}),
        settings,
    );
    assert!(waived.accepted, "{:?}", waived.message);
    let mutated = waived
        .mutated_object
        .map(|m| m.value())
        .expect("the default class is still set");
    assert_eq!(mutated["spec"]["runtimeClassName"], "fake-sandbox");
    let warnings = waived.warnings.unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("waives [runtimeHandler]")
                && w.contains("maps to handler \"runc\"")
                && w.contains("handler migration to runsc")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("set to runtimeClassName \"fake-sandbox\"")),
        "{warnings:?}"
    );
}

/// The object form a UI fills in: `{all: true}` is "all"; selectors beside it are refused,
/// empty ones (an untouched form field) are not.
#[test]
fn high_risk_takes_all_in_its_object_form() {
    use crate::settings::{HighRisk, Settings};
    let read = |high_risk: Value| {
        let mut settings = settings();
        settings["highRisk"] = high_risk;
        serde_json::from_value::<Settings>(settings).map(|s| s.high_risk)
    };
    assert_eq!(read(json!({"all": true})).unwrap(), HighRisk::All);
    assert_eq!(
        read(json!({"all": true, "podSelector": {"matchLabels": {}}, "podAnnotations": {}}))
            .unwrap(),
        HighRisk::All
    );
    let error = read(json!({"all": true, "namespaceSelector": {"matchLabels": {"pci": "cde"}}}))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("all: true already makes every workload high-risk"),
        "{error}"
    );
    assert!(matches!(
        read(json!({"all": false, "namespaceSelector": {"matchLabels": {"pci": "cde"}}})).unwrap(),
        HighRisk::Selected(_)
    ));
    assert!(read(json!({"al": true})).is_err());
    // An empty selector is not "every pod": alone, it selects nothing and is refused.
    let selected = read(json!({"all": false, "podSelector": {"matchLabels": {}},
                               "namespaceSelector": {"matchLabels": {"pci": "cde"}}}))
    .unwrap();
    match selected {
        HighRisk::Selected(selectors) => assert!(selectors.pod_selector.is_none()),
        HighRisk::All => panic!("selectors expected"),
    }
    let mut alone = settings();
    alone["highRisk"] = json!({"podSelector": {}});
    let error = pci_shared::policy::read_settings::<crate::Exported>(&alone.to_string())
        .err()
        .unwrap();
    assert!(error.contains("highRisk selects nothing"), "{error}");
}

/// [`Scripted`], except that RuntimeClass `hyperv` maps to the process-isolated Windows handler.
struct ProcessIsolatedHyperv;

impl ClusterLookup for ProcessIsolatedHyperv {
    fn get(api_version: &str, kind: &str, name: &str) -> Result<Lookup, String> {
        match (api_version, kind, name) {
            ("node.k8s.io/v1", "RuntimeClass", "hyperv") => {
                Ok(Lookup::Found(json!({"handler": "runhcs-wcow-process"})))
            }
            _ => Scripted::get(api_version, kind, name),
        }
    }
}

/// The recommended settings (pci.yml, shipped in manifests/) verify a Windows class's handler:
/// in every kind, a high-risk Windows workload whose class is named like the Hyper-V one but
/// maps to the process-isolated handler is refused, with or without `verifyHandlers` (which
/// lists Linux handlers only); mapped to Hyper-V, it is accepted. The settings name the handlers
/// themselves, so the manifests say what is verified.
#[test]
fn the_recommended_settings_refuse_a_windows_class_mapped_to_process_isolation() {
    let pci: Value = serde_yaml::from_str(include_str!("../pci.yml")).expect("pci.yml");
    let recommended = pci["settings"].clone();
    assert_eq!(
        recommended["windows"]["allowedHandlers"],
        json!(["runhcs-wcow-hypervisor", "runhcs-wcow-hypervisor-*"]),
        "pci.yml names the Hyper-V handlers"
    );
    let mut without_verify_handlers = recommended.clone();
    without_verify_handlers
        .as_object_mut()
        .expect("settings")
        .remove("verifyHandlers");
    for kind in WorkloadKind::ALL {
        let mut request = admission_request(
            kind,
            "CREATE",
            workload_object(
                kind,
                "w",
                json!({}),
                json!({"os": {"name": "windows"}, "runtimeClassName": "hyperv",
                       "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/servercore:ltsc2022"}]}),
            ),
        );
        request["namespace"] = json!("cardholder");
        let class_path = format!("{}.runtimeClassName", kind.pod_spec_path());
        for settings in [&recommended, &without_verify_handlers] {
            let payload = validation_payload(&request, settings);
            let refused = evaluate::<RuntimeIsolation<ProcessIsolatedHyperv>>(&payload, NOW);
            assert_eq!(
                violations(&refused),
                vec![format!("runtimeHandler {class_path}")],
                "{kind:?}"
            );
            assert!(
                refused.message.is_some_and(|m| m.contains(
                    "RuntimeClass \"hyperv\" maps to handler \"runhcs-wcow-process\", which is not Hyper-V isolation"
                )),
                "{kind:?}"
            );
            let accepted = evaluate::<RuntimeIsolation<Scripted>>(&payload, NOW);
            assert!(accepted.accepted, "{kind:?}: {:?}", accepted.message);
        }
    }
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
