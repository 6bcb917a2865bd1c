//! The system namespaces' policy judged on the node agents its exceptions were written for, as
//! their upstream manifests declare them (`xtask/test_data/system-workloads/`): admitted in
//! their own namespace, rejected with every violation named anywhere else.

use pci_shared::policy::evaluate;
use pci_shared::response::ValidationResponse;
use pci_shared::time::{Now, Timestamp};
use serde_json::{Value, json};

use super::*;
use crate::generate::manifests::default_module;
use crate::generate::policy;

/// 2026-12-01T00:00:00Z.
const NOW: Now = Now::At(Timestamp(20_788 * 86_400));

fn bundle() -> BundleSource {
    BundleSource::load(&crate::workspace::root()).unwrap()
}

fn workload(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

fn kube_proxy() -> Value {
    workload(include_str!(
        "../../../../test_data/system-workloads/kube-proxy.yaml"
    ))
}

fn calico_node() -> Value {
    workload(include_str!(
        "../../../../test_data/system-workloads/calico-node.yaml"
    ))
}

/// kube-proxy as newer kubeadm releases declare it: capabilities instead of privileged.
fn kube_proxy_with_capabilities() -> Value {
    let mut daemon_set = kube_proxy();
    daemon_set["spec"]["template"]["spec"]["containers"][0]["securityContext"] =
        json!({"capabilities": {"add": ["NET_ADMIN", "SYS_MODULE"]}});
    daemon_set
}

/// The CREATE of `daemon_set` in `namespace`, judged by the generated system policy's settings.
fn judge(daemon_set: &Value, namespace: &str) -> ValidationResponse {
    let settings = policy(
        &bundle(),
        &policy::all().unwrap(),
        Rollout::Protect,
        &default_module,
    )
    .unwrap()
    .spec
    .unwrap()
    .settings
    .0;
    let mut object = daemon_set.clone();
    object["metadata"]["namespace"] = json!(namespace);
    let kind = json!({"group": "apps", "version": "v1", "kind": "DaemonSet"});
    let resource = json!({"group": "apps", "version": "v1", "resource": "daemonsets"});
    let request = json!({
        "uid": "5d4fcbb1-8d8e-4a43-9a54-54f2a1c7b0a1",
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": object["metadata"]["name"],
        "namespace": namespace,
        "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:kube-system:installer"},
        "object": object,
        "dryRun": false,
    });
    let payload = json!({"request": request, "settings": settings}).to_string();
    evaluate::<pod_security::Exported>(payload.as_bytes(), NOW)
}

/// `control` of every violation left after exceptions, sorted and unique.
fn violated_controls(response: &ValidationResponse) -> Vec<String> {
    let Some(violations) = response
        .audit_annotations
        .as_ref()
        .and_then(|a| a.get("violations"))
    else {
        return Vec::new();
    };
    let violations: Vec<Value> = serde_json::from_str(violations).unwrap();
    let mut controls: Vec<String> = violations
        .iter()
        .map(|v| v["control"].as_str().unwrap().to_owned())
        .collect();
    controls.dedup();
    controls.sort();
    controls.dedup();
    controls
}

#[test]
fn the_node_agents_are_admitted_in_their_own_namespace() {
    for (what, daemon_set, home) in [
        ("kube-proxy (kubeadm)", kube_proxy(), "kube-system"),
        (
            "kube-proxy (capabilities)",
            kube_proxy_with_capabilities(),
            "kube-system",
        ),
        (
            "calico-node (Tigera operator)",
            calico_node(),
            "calico-system",
        ),
    ] {
        let response = judge(&daemon_set, home);
        assert!(response.accepted, "{what}: {:?}", response.message);
        let warnings = response.warnings.unwrap_or_default();
        assert!(
            warnings.iter().any(|w| w.contains("exception #")),
            "{what}: the waivers are reported: {warnings:?}"
        );
    }
}

#[test]
fn the_same_agents_are_rejected_anywhere_else() {
    for (what, daemon_set, namespaces, controls) in [
        (
            "kube-proxy (kubeadm)",
            kube_proxy(),
            ["shop", "calico-system"],
            vec!["hostNamespaces", "hostPathVolumes", "privileged"],
        ),
        (
            "kube-proxy (capabilities)",
            kube_proxy_with_capabilities(),
            ["shop", "calico-system"],
            vec!["capabilities_baseline", "hostNamespaces", "hostPathVolumes"],
        ),
        (
            "calico-node (Tigera operator)",
            calico_node(),
            ["shop", "kube-system"],
            vec![
                "hostNamespaces",
                "hostPathVolumes",
                "hostProbesAndHostLifecycle",
                "privileged",
            ],
        ),
    ] {
        for namespace in namespaces {
            let response = judge(&daemon_set, namespace);
            assert!(!response.accepted, "{what} in {namespace}");
            assert_eq!(
                violated_controls(&response),
                controls,
                "{what} in {namespace}: {:?}",
                response.message
            );
        }
    }
}

/// The exceptions name the container as well as the image: kube-proxy's image under another
/// container name in kube-system is judged like any other workload.
#[test]
fn another_container_running_the_agents_image_is_not_waived() {
    let mut daemon_set = kube_proxy();
    daemon_set["spec"]["template"]["spec"]["containers"][0]["name"] = json!("shell");
    let response = judge(&daemon_set, "kube-system");
    assert!(!response.accepted);
    assert!(violated_controls(&response).contains(&"privileged".to_owned()));
}

#[test]
fn the_system_policy_selects_exactly_the_spared_namespaces() {
    let bundle = bundle();
    let policy = policy(
        &bundle,
        &policy::all().unwrap(),
        Rollout::Protect,
        &default_module,
    )
    .unwrap();
    assert_eq!(policy.metadata.name.as_deref(), Some(NAME));
    let spec = serde_json::to_value(policy.spec.unwrap()).unwrap();
    assert_eq!(spec["mutating"], false);
    assert_eq!(spec["mode"], "protect");
    assert_eq!(spec["failurePolicy"], "Ignore");
    assert_eq!(spec["policyServer"], "pci-policies");
    assert_eq!(
        spec["module"],
        "registry://ghcr.io/pci-policies/pod-security:v0.1.0"
    );
    assert_eq!(
        spec["namespaceSelector"],
        serde_json::to_value(bundle.placement().selecting_system_namespaces()).unwrap()
    );
    assert_eq!(spec["settings"]["level"], "baseline");
}

/// The rollout sets the system policy's mode and leaves its failurePolicy to `bundle.yml`; its
/// label is what the overlays' failurePolicy patch skips.
#[test]
fn the_rollout_sets_the_mode_never_the_failure_policy() {
    for (rollout, mode) in [(Rollout::Protect, "protect"), (Rollout::Monitor, "monitor")] {
        let policy = policy(&bundle(), &policy::all().unwrap(), rollout, &default_module).unwrap();
        let labels = policy.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(SCOPE_LABEL.0).map(String::as_str),
            Some(SCOPE_LABEL.1)
        );
        let spec = serde_json::to_value(policy.spec.unwrap()).unwrap();
        assert_eq!(spec["mode"], mode);
        assert_eq!(spec["failurePolicy"], "Ignore", "{mode}");
    }
}

#[test]
fn settings_the_policy_refuses_fail_the_generation() {
    let policies = policy::all().unwrap();
    let text = std::fs::read_to_string(crate::workspace::root().join(PATH)).unwrap();
    for (from, to, expected) in [
        (
            "        namespaces: [kube-system]\n",
            "",
            "must name the namespaces it applies in",
        ),
        (
            "controls: [privileged, capabilities_baseline,",
            "controls: [privilegd, capabilities_baseline,",
            "privilegd",
        ),
        (
            "    level: baseline\n",
            "    level: baseline\n    mutate: {dropAllCapabilities: true}\n",
            "systemPolicy.settings can patch",
        ),
        ("    level: baseline\n", "    level: lenient\n", "lenient"),
    ] {
        assert!(text.contains(from), "{from}");
        let bundle = BundleSource::parse(&text.replacen(from, to, 1)).unwrap();
        let error = format!(
            "{:#}",
            policy(&bundle, &policies, Rollout::Protect, &default_module).unwrap_err()
        );
        assert!(error.contains(expected), "{to}: {error}");
    }
}
