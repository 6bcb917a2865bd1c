//! image-digest through the compiled, annotated wasm, with kwctl replay sessions answering
//! `oci/v1/manifest_digest`.

use e2e::{kwctl_run, kwctl_run_replay};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, workload_object};
use serde_json::{Value, json};

const POLICY: &str = "image-digest";
const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn request(kind: WorkloadKind, images: &[&str]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image, "x-vendor-field": {"kept": i}}))
        .collect();
    let spec = json!({"containers": containers, "x-unknown-pod-field": [1, 2]});
    admission_request(
        kind,
        "CREATE",
        workload_object(kind, "web", json!({"labels": {"app": "web"}}), spec),
    )
}

#[test]
fn require_mode_rejects_every_unpinned_image() {
    let pinned = format!("registry.corp.com/payments/api@{OLD}");
    let response = kwctl_run(
        POLICY,
        &request(
            WorkloadKind::Pod,
            &["nginx:1.25", &pinned, "registry.corp.com/payments/web"],
        ),
        json!({}),
    );
    assert!(!response.allowed);
    let message = response.status.and_then(|s| s.message).unwrap_or_default();
    assert!(
        message.starts_with(
            "image-digest rejected Pod default/web: 2 violations in container \"c0\" and container \"c2\" (PCI DSS 3.2)"
        ),
        "{message}"
    );
    assert!(message.contains("[digest] spec.containers[0].image (container \"c0\")"));
    assert!(message.contains("[digest] spec.containers[2].image (container \"c2\")"));
}

#[test]
fn resolve_mode_pins_through_the_host_on_pod_deployment_and_cronjob() {
    for kind in [
        WorkloadKind::Pod,
        WorkloadKind::Deployment,
        WorkloadKind::CronJob,
    ] {
        let original = request(kind, &["nginx:1.25", "registry.corp.com/payments/web"]);
        let (response, unused) = kwctl_run_replay(
            POLICY,
            &original,
            json!({"mode": "resolve"}),
            "session-resolve.yml",
        );
        assert!(response.allowed, "{kind:?}: {:?}", response.status);
        assert_eq!(
            unused, 0,
            "{kind:?}: every recorded exchange is used, in order"
        );
        let operations = response
            .patch_operations()
            .expect("decodes")
            .expect("a patch");
        let prefix = format!("/{}", kind.pod_spec_path().replace('.', "/"));
        assert_eq!(
            operations,
            json!([
                {"op": "replace", "path": format!("{prefix}/containers/0/image"), "value": format!("nginx:1.25@{NEW}")},
                {"op": "replace", "path": format!("{prefix}/containers/1/image"), "value": format!("registry.corp.com/payments/web:latest@{OLD}")}
            ]),
            "{kind:?}: only the image fields change"
        );
    }
}

#[test]
fn an_unreachable_registry_is_a_clear_rejection() {
    let (response, _) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Deployment, &["nginx:1.25"]),
        json!({"mode": "resolve"}),
        "session-registry-down.yml",
    );
    assert!(!response.allowed);
    assert!(response.patch.is_none());
    let audit = response
        .audit_annotations
        .as_ref()
        .and_then(|a| a.get("violations").cloned())
        .unwrap_or_default();
    let message = response.status.and_then(|s| s.message).unwrap_or_default();
    assert!(
        message.contains(
            "cannot resolve \"nginx:1.25\" to a digest: the registry is unreachable; tell the platform team"
        ),
        "{message}"
    );
    assert!(!message.contains("connection refused"), "{message}");
    assert!(
        audit.contains("docker.io/library/nginx:1.25: ") && audit.contains("connection refused"),
        "{audit}"
    );
}

#[test]
fn a_moved_tag_warns_or_rejects() {
    let image = format!("registry.corp.com/payments/api:2.0@{OLD}");
    let (warned, _) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::CronJob, &[&image]),
        json!({"checkTagMatchesDigest": "warn"}),
        "session-tag-moved.yml",
    );
    assert!(warned.allowed);
    assert_eq!(
        warned.warnings,
        Some(vec![format!(
            "image-digest: container \"c0\": \"{image}\": tag 2.0 has moved to another digest; pin the digest it points to now, or drop the tag (registry.corp.com/payments/api:2.0 now points to {NEW}, the image pins {OLD})"
        )])
    );
    let (rejected, _) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Pod, &[&image]),
        json!({"checkTagMatchesDigest": "reject"}),
        "session-tag-moved.yml",
    );
    assert!(!rejected.allowed);
    assert!(
        rejected
            .status
            .and_then(|s| s.message)
            .is_some_and(|m| m.contains("[tagMatchesDigest] spec.containers[0].image"))
    );
}

#[test]
fn the_module_declares_the_host_capability_it_uses() {
    let metadata = e2e::checked_metadata(POLICY);
    assert!(metadata.mutating);
    assert_eq!(
        metadata.host_capabilities,
        Some(vec!["oci/v1/manifest_digest".to_owned()])
    );
}
