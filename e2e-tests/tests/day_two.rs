//! Day 2: the requests a live cluster sends every minute, through every compiled policy and
//! every workload kind it serves. Each test names the real-world operation it stands for.
//!
//! The workload under test predates the policy (or its exception expired): every policy rejects
//! it on CREATE. What it may still do, and what it may not, is the subject here.

use e2e::{bench_settings, kwctl_run, policies};
use pci_host::admission::AdmissionResponse;
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, merge, workload_object};
use serde_json::{Value, json};

/// Rejected by every policy with its bench settings: privileged (pod-security), outside
/// registry.corp.com (trusted-registries), unpinned (image-digest), under a signature rule the
/// host cannot confirm here (image-signatures), and in no sandboxed runtime class
/// (runtime-isolation).
const LEGACY_IMAGE: &str = "ghcr.io/corp/app:1.0";

fn legacy_spec(image: &str) -> Value {
    json!({"containers": [{"name": "app", "image": image, "securityContext": {"privileged": true}}]})
}

fn object(kind: WorkloadKind, spec: Value) -> Value {
    workload_object(kind, "web", json!({"labels": {"app": "web"}}), spec)
}

/// An UPDATE from `old` to `new`, as the API server sends it.
fn update(kind: WorkloadKind, old: &Value, new: &Value) -> Value {
    let mut request = admission_request(kind, "UPDATE", new.clone());
    request["oldObject"] = old.clone();
    request
}

/// `new` is `old` with `patch` merged (RFC 7386).
fn changed(old: &Value, patch: &Value) -> Value {
    let mut new = old.clone();
    merge(&mut new, patch);
    new
}

fn run(policy: &str, request: &Value) -> AdmissionResponse {
    kwctl_run(policy, request, bench_settings(policy))
}

/// The policy allows the request untouched and still reports what the workload violates.
fn assert_allowed_and_reported(policy: &str, what: &str, request: &Value) {
    let response = run(policy, request);
    assert!(
        response.allowed,
        "{policy}, {what}: rejected: {}",
        response.message()
    );
    assert!(response.patch.is_none(), "{policy}, {what}: patched");
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings.iter().any(|w| {
            w.starts_with(&format!("{policy}: not enforced on this UPDATE"))
                || w.starts_with(&format!(
                    "{policy}: not checked against the registry on this UPDATE"
                ))
        }),
        "{policy}, {what}: nothing hidden, yet no warning: {warnings:?}"
    );
}

fn assert_rejected(policy: &str, what: &str, request: &Value) -> AdmissionResponse {
    let response = run(policy, request);
    assert!(!response.allowed, "{policy}, {what}: allowed");
    response
}

/// Metadata-only changes: the pod spec and template stay as they were.
fn metadata_operations() -> [(&'static str, Value, Value); 4] {
    [
        (
            "a controller removes its finalizer",
            json!({"metadata": {"finalizers": ["example.com/cleanup"]}}),
            json!({"metadata": {"finalizers": null}}),
        ),
        (
            "kubectl label",
            json!({}),
            json!({"metadata": {"labels": {"team": "payments"}}}),
        ),
        (
            "kubectl annotate",
            json!({}),
            json!({"metadata": {"annotations": {"example.com/owner": "payments"}}}),
        ),
        (
            "a controller adopts the object (ownerReferences)",
            json!({}),
            json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "1"}]}}),
        ),
    ]
}

#[test]
fn metadata_only_updates_of_a_legacy_workload_pass_with_its_violations_as_warnings() {
    for policy in policies() {
        for kind in WorkloadKind::ALL {
            let base = object(kind, legacy_spec(LEGACY_IMAGE));
            for (what, before, after) in metadata_operations() {
                let old = changed(&base, &before);
                let new = changed(&old, &after);
                let what = format!("{what} on a {kind:?}");
                assert_allowed_and_reported(&policy, &what, &update(kind, &old, &new));
            }
        }
    }
}

/// Where each controller keeps the knob `kubectl scale` (or its equivalent) turns.
fn scaled(kind: WorkloadKind) -> Option<Value> {
    match kind {
        WorkloadKind::Pod | WorkloadKind::PodTemplate => None,
        WorkloadKind::Job => Some(json!({"spec": {"parallelism": 3}})),
        WorkloadKind::CronJob => Some(json!({"spec": {"suspend": true}})),
        WorkloadKind::DaemonSet => Some(json!({"spec": {"minReadySeconds": 10}})),
        _ => Some(json!({"spec": {"replicas": 3}})),
    }
}

#[test]
fn kubectl_scale_of_a_legacy_controller_passes() {
    for policy in policies() {
        for kind in WorkloadKind::ALL {
            let Some(patch) = scaled(kind) else { continue };
            let old = object(kind, legacy_spec(LEGACY_IMAGE));
            let new = changed(&old, &patch);
            let what = format!("kubectl scale of a {kind:?}");
            assert_allowed_and_reported(&policy, &what, &update(kind, &old, &new));
        }
    }
}

/// Every policy rejects, on every kind of `kinds`, the UPDATE from the legacy workload to
/// `changed(kind)`: what `what` does to it.
fn assert_judged(kinds: &[WorkloadKind], what: &str, changed: impl Fn(WorkloadKind) -> Value) {
    for policy in policies() {
        for &kind in kinds {
            let old = object(kind, legacy_spec(LEGACY_IMAGE));
            let what = format!("{what} of a {kind:?}");
            assert_rejected(&policy, &what, &update(kind, &old, &changed(kind)));
        }
    }
}

#[test]
fn kubectl_rollout_restart_of_a_legacy_controller_is_judged() {
    let restarted = json!({"labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-12-03T10:00:00Z"}});
    let controllers: Vec<WorkloadKind> = WorkloadKind::ALL
        .into_iter()
        .filter(|k| *k != WorkloadKind::Pod)
        .collect();
    assert_judged(&controllers, "kubectl rollout restart", |kind| {
        workload_object(kind, "web", restarted.clone(), legacy_spec(LEGACY_IMAGE))
    });
}

#[test]
fn an_image_bump_is_judged_on_every_kind() {
    assert_judged(&WorkloadKind::ALL, "kubectl set image", |kind| {
        object(kind, legacy_spec("ghcr.io/corp/app:1.1"))
    });
}

#[test]
fn an_update_without_old_object_is_judged_in_full() {
    for policy in policies() {
        for kind in WorkloadKind::ALL {
            let new = object(kind, legacy_spec(LEGACY_IMAGE));
            let mut request = update(kind, &Value::Null, &new);
            let what = format!("an UPDATE of a {kind:?} with oldObject null");
            let response = assert_rejected(&policy, &what, &request);
            assert!(
                response.warnings.unwrap_or_default().iter().any(
                    |w| w.ends_with("the UPDATE carries no oldObject, so it is judged in full")
                ),
                "{policy}, {what}"
            );
            request
                .as_object_mut()
                .expect("request")
                .remove("oldObject");
            assert_rejected(&policy, &format!("{what} (absent)"), &request);
        }
    }
}

/// `kubectl debug`: the `pods/ephemeralcontainers` UPDATE adding `debugger` to `pod`.
fn kubectl_debug(pod: &Value, debugger: Value) -> Value {
    let created = admission_request(WorkloadKind::Pod, "CREATE", pod.clone());
    pci_testkit::kubectl_debug(&created, debugger).expect("a Pod")
}

#[test]
fn kubectl_debug_with_a_debugger_that_breaks_the_policy_is_rejected() {
    let pod = object(WorkloadKind::Pod, legacy_spec(LEGACY_IMAGE));
    let debugger = json!({"name": "debugger", "image": "ghcr.io/corp/debug:1", "securityContext": {"privileged": true}});
    for policy in policies() {
        let response = assert_rejected(
            &policy,
            "kubectl debug",
            &kubectl_debug(&pod, debugger.clone()),
        );
        if policy != "runtime-isolation" {
            assert!(
                response.message().contains("spec.ephemeralContainers[0]"),
                "{policy}: the debugger is named: {}",
                response.message()
            );
        }
    }
}

#[test]
fn kubectl_debug_with_a_compliant_debugger_judges_the_whole_pod_it_joins() {
    // As Pod Security Admission judges it: one more ephemeral container is a significant
    // UPDATE, so the legacy Pod's own container is judged too. Its pod-level settings comply.
    let mut spec = legacy_spec(LEGACY_IMAGE);
    spec["securityContext"] =
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    let pod = object(WorkloadKind::Pod, spec);
    // A debugger every policy accepts with its bench settings.
    let debugger = json!({
        "name": "debugger",
        "image": "registry.corp.com/tools/debug:1@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}
    });
    let request = kubectl_debug(&pod, debugger);
    for policy in policies() {
        let response = assert_rejected(&policy, "kubectl debug into a legacy Pod", &request);
        let named = if policy == "runtime-isolation" {
            // The runtime class is the Pod's: the debugger would share the unsandboxed kernel.
            "spec.runtimeClassName"
        } else {
            "spec.containers[0]"
        };
        assert!(
            response.message().contains(named),
            "{policy}: the Pod's own violation is named: {}",
            response.message()
        );
        assert!(
            !response.message().contains("spec.ephemeralContainers"),
            "{policy}: the debugger complies: {}",
            response.message()
        );
    }
}

#[test]
fn kubectl_debug_into_a_privileged_pod_needs_an_exception_in_its_namespace() {
    let pod = object(
        WorkloadKind::Pod,
        json!({"containers": [{"name": "app", "image": "registry.corp.com/agent:1", "securityContext": {"privileged": true}}]}),
    );
    let request = kubectl_debug(&pod, json!({"name": "debugger", "image": "busybox"}));
    let exception = |namespace: &str| {
        json!({"level": "baseline", "exceptions": [{
            "controls": ["privileged"], "namespaces": [namespace], "containers": ["app"],
            "reason": "node agent, reviewed in CAB-7"
        }]})
    };
    let response = kwctl_run("pod-security", &request, json!({"level": "baseline"}));
    assert!(!response.allowed, "debugged into without an exception");
    assert!(
        response
            .message()
            .contains("[privileged] spec.containers[0].securityContext.privileged"),
        "{}",
        response.message()
    );
    let elsewhere = kwctl_run("pod-security", &request, exception("kube-system"));
    assert!(!elsewhere.allowed, "an exception for another namespace");
    let waived = kwctl_run("pod-security", &request, exception("default"));
    assert!(waived.allowed, "{}", waived.message());
    assert!(
        waived.warnings.unwrap_or_default().iter().any(
            |w| w.contains("waives [privileged] spec.containers[0].securityContext.privileged")
        ),
        "the waiver is reported"
    );
}

#[test]
fn a_relabel_into_high_risk_is_rejected_with_what_to_do() {
    let settings = json!({
        "highRisk": {"podSelector": {"matchLabels": {"pci": "cde"}}},
        "allowedRuntimeClasses": ["gvisor"]
    });
    let old = object(WorkloadKind::Pod, legacy_spec("registry.corp.com/app:1"));
    let relabelled = changed(&old, &json!({"metadata": {"labels": {"pci": "cde"}}}));
    let response = kwctl_run(
        "runtime-isolation",
        &update(WorkloadKind::Pod, &old, &relabelled),
        settings.clone(),
    );
    assert!(
        !response.allowed,
        "kubectl label pci=cde on an unsandboxed Pod"
    );
    assert!(
        response
            .message()
            .contains("[runtimeClass] metadata: this UPDATE makes the running Pod high-risk")
            && response
                .message()
                .contains("delete the Pod and create it again"),
        "{}",
        response.message()
    );
    // Any other label change of that (already high-risk) Pod passes, reported.
    let other = changed(
        &relabelled,
        &json!({"metadata": {"labels": {"team": "payments"}}}),
    );
    let response = kwctl_run(
        "runtime-isolation",
        &update(WorkloadKind::Pod, &relabelled, &other),
        settings.clone(),
    );
    assert!(response.allowed, "{}", response.message());
    // And a label that does not make the Pod high-risk is no concern.
    let harmless = changed(&old, &json!({"metadata": {"labels": {"team": "payments"}}}));
    let response = kwctl_run(
        "runtime-isolation",
        &update(WorkloadKind::Pod, &old, &harmless),
        settings,
    );
    assert!(
        response.allowed && response.warnings.is_none(),
        "{:?}",
        response.warnings
    );
}

#[test]
fn delete_and_connect_are_allowed_untouched() {
    for policy in policies() {
        for operation in ["DELETE", "CONNECT"] {
            let object = object(WorkloadKind::Pod, legacy_spec(LEGACY_IMAGE));
            let mut request = admission_request(WorkloadKind::Pod, operation, Value::Null);
            request["oldObject"] = object;
            let response = run(&policy, &request);
            assert!(
                response.allowed && response.patch.is_none() && response.warnings.is_none(),
                "{policy} {operation}"
            );
        }
    }
}

#[test]
fn a_workload_without_readable_containers_is_a_clear_rejection() {
    for policy in policies() {
        for kind in WorkloadKind::ALL {
            let field = format!("{}.containers", kind.pod_spec_path());
            for (what, containers) in [
                ("null", Some(Value::Null)),
                ("missing", None),
                ("empty", Some(json!([]))),
                ("not a list", Some(json!({"name": "app"}))),
            ] {
                let mut spec = json!({"hostNetwork": true});
                if let Some(containers) = containers {
                    spec["containers"] = containers;
                }
                let request = admission_request(kind, "CREATE", object(kind, spec));
                let response = run(&policy, &request);
                assert!(!response.allowed, "{policy}, {kind:?}, containers {what}");
                let code = response.status.as_ref().and_then(|status| status.code);
                assert_eq!(code, Some(400), "{policy}, {kind:?}, containers {what}");
                assert!(
                    response.message().contains(&field),
                    "{policy}, {kind:?}, containers {what}: {}",
                    response.message()
                );
            }
        }
    }
}
