//! The system namespaces' policy judged on the workloads its exceptions were written for, as
//! their installers declare them (`xtask/test_data/system-workloads/`), and on the Pods their
//! controllers create: admitted in their own namespace, rejected with every violation named
//! anywhere else, and each container waived only what its own exception gives it.

use pci_shared::policy::evaluate;
use pci_shared::response::ValidationResponse;
use pci_shared::time::{Now, Timestamp};
use pci_shared::workload::WorkloadKind;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::generate::manifests::default_module;
use crate::generate::policy;

/// 2026-12-01T00:00:00Z.
const NOW: Now = Now::At(Timestamp(20_788 * 86_400));
/// 2028-01-01T00:00:00Z: the day after the exceptions' `expires`.
const AFTER_EXPIRY: Now = Now::At(Timestamp(21_184 * 86_400));

fn bundle() -> BundleSource {
    BundleSource::load(&crate::workspace::root()).unwrap()
}

/// The documents of a fixture.
fn fixture(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap())
        .collect()
}

fn kube_proxy() -> Value {
    fixture(include_str!(
        "../../../../test_data/system-workloads/kube-proxy.yaml"
    ))
    .remove(0)
}

fn calico_node() -> Value {
    fixture(include_str!(
        "../../../../test_data/system-workloads/calico-node.yaml"
    ))
    .remove(0)
}

fn calico_typha() -> Value {
    fixture(include_str!(
        "../../../../test_data/system-workloads/calico-typha.yaml"
    ))
    .remove(0)
}

fn csi_node_driver() -> Value {
    fixture(include_str!(
        "../../../../test_data/system-workloads/csi-node-driver.yaml"
    ))
    .remove(0)
}

fn node_exporter() -> Value {
    fixture(include_str!(
        "../../../../test_data/system-workloads/rancher-node-exporter.yaml"
    ))
    .remove(0)
}

/// kubeadm's four static pods (mirror pods): kube-apiserver, kube-controller-manager,
/// kube-scheduler, etcd.
fn kubeadm_control_plane() -> Vec<Value> {
    fixture(include_str!(
        "../../../../test_data/system-workloads/kubeadm-control-plane.yaml"
    ))
}

/// kube-proxy as some installers declare it: capabilities instead of privileged.
fn kube_proxy_with_capabilities() -> Value {
    let mut daemon_set = kube_proxy();
    daemon_set["spec"]["template"]["spec"]["containers"][0]["securityContext"] =
        json!({"capabilities": {"add": ["NET_ADMIN", "SYS_MODULE"]}});
    daemon_set
}

/// kube-proxy pinned by digest alone, as a digest-pinning admission controller or GitOps
/// repository writes it.
fn kube_proxy_by_digest() -> Value {
    let mut daemon_set = kube_proxy();
    daemon_set["spec"]["template"]["spec"]["containers"][0]["image"] = json!(format!(
        "registry.k8s.io/kube-proxy@sha256:{}",
        "4b".repeat(32)
    ));
    daemon_set
}

/// The Pod a controller creates from `workload`'s template, as the API server stores it: for a
/// host-network pod, each declared port gets `hostPort` = `containerPort` (the API server
/// defaults that on Pods only, not on templates, since Kubernetes 1.28).
fn pod_of(workload: &Value) -> Value {
    let template = &workload["spec"]["template"];
    let mut spec = template["spec"].clone();
    if spec["hostNetwork"] == json!(true) {
        for list in ["initContainers", "containers"] {
            for container in spec[list].as_array_mut().into_iter().flatten() {
                for port in container["ports"].as_array_mut().into_iter().flatten() {
                    if port.get("hostPort").is_none() {
                        port["hostPort"] = port["containerPort"].clone();
                    }
                }
            }
        }
    }
    let mut metadata = template["metadata"].clone();
    metadata["name"] = json!(format!(
        "{}-7c9d5",
        workload["metadata"]["name"].as_str().unwrap()
    ));
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
}

/// `workload` renamed: its container `container` runs `image`.
fn with_image(workload: &Value, container: &str, image: &str) -> Value {
    let mut changed = workload.clone();
    let spec = &mut changed["spec"]["template"]["spec"];
    for list in ["initContainers", "containers"] {
        for candidate in spec[list].as_array_mut().into_iter().flatten() {
            if candidate["name"] == container {
                candidate["image"] = json!(image);
            }
        }
    }
    changed
}

/// The CREATE of `object` (any workload kind) in `namespace`, judged at `now` by the generated
/// system policy's settings.
fn judge_at(object: &Value, namespace: &str, now: Now) -> ValidationResponse {
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
    let mut object = object.clone();
    object["metadata"]["namespace"] = json!(namespace);
    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = WorkloadKind::from_group_kind(group, object["kind"].as_str().unwrap()).unwrap();
    let kind_of = json!({"group": group, "version": version, "kind": kind.name()});
    let resource = json!({"group": group, "version": version, "resource": kind.resource()});
    let request = json!({
        "uid": "5d4fcbb1-8d8e-4a43-9a54-54f2a1c7b0a1",
        "kind": kind_of,
        "resource": resource,
        "requestKind": kind_of,
        "requestResource": resource,
        "name": object["metadata"]["name"],
        "namespace": namespace,
        "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:kube-system:installer"},
        "object": object,
        "dryRun": false,
    });
    let payload = json!({"request": request, "settings": settings}).to_string();
    evaluate::<pod_security::Exported>(payload.as_bytes(), now)
}

fn judge(object: &Value, namespace: &str) -> ValidationResponse {
    judge_at(object, namespace, NOW)
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
    controls.sort();
    controls.dedup();
    controls
}

/// Every system workload of the fixtures, and the Pods its controllers create: `(what, object,
/// its namespace, the controls it violates anywhere else)`.
fn system_workloads() -> Vec<(String, Value, &'static str, Vec<&'static str>)> {
    let mut cases = vec![
        (
            "kube-proxy (kubeadm)".to_owned(),
            kube_proxy(),
            "kube-system",
            vec!["hostNamespaces", "hostPathVolumes", "privileged"],
        ),
        (
            "kube-proxy pinned by digest".to_owned(),
            kube_proxy_by_digest(),
            "kube-system",
            vec!["hostNamespaces", "hostPathVolumes", "privileged"],
        ),
        (
            "calico-node (Tigera operator)".to_owned(),
            calico_node(),
            "calico-system",
            vec![
                "hostNamespaces",
                "hostPathVolumes",
                "hostProbesAndHostLifecycle",
                "privileged",
            ],
        ),
        (
            "calico-typha (Tigera operator)".to_owned(),
            calico_typha(),
            "calico-system",
            vec!["hostNamespaces", "hostProbesAndHostLifecycle"],
        ),
        (
            "csi-node-driver (Tigera operator)".to_owned(),
            csi_node_driver(),
            "calico-system",
            vec!["hostPathVolumes", "privileged"],
        ),
        (
            "node-exporter (rancher-monitoring)".to_owned(),
            node_exporter(),
            "cattle-monitoring-system",
            vec!["hostNamespaces", "hostPathVolumes"],
        ),
    ];
    // The Pods of each controller: a host-network pod's declared ports are host ports there.
    let pods: Vec<_> = cases
        .iter()
        .map(|(what, workload, home, controls)| {
            let pod = pod_of(workload);
            let mut controls = controls.clone();
            if pod.to_string().contains("\"hostPort\"") {
                controls.push("hostPorts");
                controls.sort_unstable();
            }
            (format!("{what}: its Pod"), pod, *home, controls)
        })
        .collect();
    cases.extend(pods);
    for mirror_pod in kubeadm_control_plane() {
        let name = mirror_pod["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap();
        cases.push((
            format!("{name} (kubeadm mirror pod)"),
            mirror_pod,
            "kube-system",
            vec![
                "hostNamespaces",
                "hostPathVolumes",
                "hostProbesAndHostLifecycle",
            ],
        ));
    }
    cases
}

#[test]
fn the_system_workloads_are_admitted_in_their_own_namespace() {
    let cases = system_workloads();
    assert_eq!(cases.len(), 16);
    for (what, object, home, _) in cases {
        let response = judge(&object, home);
        assert!(response.accepted, "{what}: {:?}", response.message);
        let warnings = response.warnings.unwrap_or_default();
        assert!(
            warnings.iter().any(|w| w.contains("exception #")),
            "{what}: the waivers are reported: {warnings:?}"
        );
    }
}

#[test]
fn the_same_workloads_are_rejected_anywhere_else() {
    for (what, object, home, controls) in system_workloads() {
        let elsewhere = if home == "kube-system" {
            "calico-system"
        } else {
            "kube-system"
        };
        for namespace in ["shop", elsewhere] {
            let response = judge(&object, namespace);
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

/// Every exception has an end: the day after it, kube-proxy is judged like any other workload.
#[test]
fn the_exceptions_stop_waiving_after_their_expiry() {
    let response = judge_at(&kube_proxy(), "kube-system", AFTER_EXPIRY);
    assert!(!response.accepted);
    assert_eq!(
        violated_controls(&response),
        ["hostNamespaces", "hostPathVolumes", "privileged"]
    );
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings.iter().any(|w| w.contains("expired on 2027-12-31")),
        "{warnings:?}"
    );
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

/// One exception per container: a container running another container's image gets none of
/// its own exception's waivers (the pod-level exception still names both, so host network and
/// host paths stay waived), and a container gets no control it does not need.
#[test]
fn each_container_is_waived_only_what_its_own_image_needs() {
    for (what, workload, container, image, remaining) in [
        (
            "install-cni running calico/node",
            calico_node(),
            "install-cni",
            "quay.io/calico/node:v3.31.7",
            vec!["privileged"],
        ),
        (
            "calico-csi running the registrar's image",
            csi_node_driver(),
            "calico-csi",
            "quay.io/calico/node-driver-registrar:v3.31.7",
            vec!["privileged"],
        ),
        (
            "calico-typha running calico/node",
            calico_typha(),
            "calico-typha",
            "quay.io/calico/node:v3.31.7",
            vec!["hostNamespaces", "hostProbesAndHostLifecycle"],
        ),
    ] {
        let response = judge(&with_image(&workload, container, image), "calico-system");
        assert!(!response.accepted, "{what}");
        assert_eq!(
            violated_controls(&response),
            remaining,
            "{what}: {:?}",
            response.message
        );
    }
    // calico-typha is waived no privilege: privileged, it is rejected in its own namespace.
    let mut typha = calico_typha();
    typha["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] =
        json!(true);
    assert_eq!(
        violated_controls(&judge(&typha, "calico-system")),
        ["privileged"]
    );
}

/// The bundle's kube-proxy exception covers kubeadm's privileged form only: a kube-proxy that
/// adds capabilities instead needs an exception of the cluster's own.
#[test]
fn kube_proxy_adding_capabilities_needs_an_exception_of_its_own() {
    let response = judge(&kube_proxy_with_capabilities(), "kube-system");
    assert!(!response.accepted);
    assert_eq!(violated_controls(&response), ["capabilities_baseline"]);
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
            "controls: [privileged, hostNamespaces, hostPathVolumes]",
            "controls: [privilegd, hostNamespaces, hostPathVolumes]",
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
