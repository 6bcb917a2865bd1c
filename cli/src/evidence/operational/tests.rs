use serde_json::{Value, json};

use super::*;
use crate::evidence::policies;

const NOW: i64 = 1_796_000_000; // 2026-11-30T...

fn clock() -> Clock {
    Clock {
        now: NOW,
        max_audit_age_hours: 48,
    }
}

fn policy_document() -> Value {
    json!({
        "apiVersion": "policies.kubewarden.io/v1",
        "kind": "ClusterAdmissionPolicy",
        "metadata": {"name": "pci-pod-security"},
        "spec": {
            "module": "registry://ghcr.io/pci-policies/pod-security:v0.1.0",
            "policyServer": "pci",
            "mode": "protect",
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "operations": ["CREATE"]}],
            "settings": {}
        },
        "status": {
            "policyStatus": "active",
            "mode": "protect",
            "conditions": [{"type": "PolicyActive", "status": "True", "reason": "PolicyActive", "message": ""}]
        }
    })
}

/// An export where the policy is shown at work in every part.
fn working_export() -> ClusterExport {
    ClusterExport {
        policies: vec![("policies.yaml".into(), policy_document())],
        policy_servers: vec![json!({"kind": "PolicyServer", "metadata": {"name": "pci"}})],
        deployments: vec![json!({
            "kind": "Deployment",
            "metadata": {"name": "policy-server-pci", "namespace": "kubewarden"},
            "spec": {"replicas": 2},
            "status": {"readyReplicas": 2}
        })],
        webhooks: vec![json!({
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "clusterwide-pci-pod-security"},
            "webhooks": [{"name": "clusterwide-pci-pod-security.kubewarden.admission", "failurePolicy": "Fail", "timeoutSeconds": 10, "clientConfig": {"service": {"name": "policy-server-pci", "namespace": "kubewarden"}},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]}]
        })],
        reports: vec![json!({
            "kind": "Report",
            "results": [{"policy": "clusterwide-pci-pod-security", "source": "kubewarden", "result": "pass", "timestamp": {"seconds": NOW - 3600}}]
        })],
        cron_jobs: vec![json!({
            "kind": "CronJob",
            "metadata": {"name": "audit-scanner", "namespace": "kubewarden"},
            "spec": {"schedule": "0 * * * *"},
            "status": {"lastSuccessfulTime": rfc3339(NOW - 3500)}
        })],
        kubewarden_namespace: "kubewarden".into(),
        ..ClusterExport::default()
    }
}

fn judged(export: &ClusterExport) -> Operation {
    let evidence = policies::collect(&export.policies).expect("collects");
    judge(&evidence[0], &export.policies[0].1, export, clock())
}

#[test]
fn a_policy_shown_at_work_in_every_part_is_operational() {
    let operation = judged(&working_export());
    assert_eq!(
        operation.verdict,
        Verdict::Operational,
        "{:?}",
        operation.reasons
    );
    assert!(operation.notes.is_empty(), "{:?}", operation.notes);
    assert_eq!(
        operation
            .webhook
            .as_ref()
            .map(|w| w.failure_policy.as_str()),
        Some("Fail")
    );
    assert_eq!(operation.policy_server.ready_replicas, Some(2));
    assert_eq!(
        operation.newest_audit.as_deref(),
        Some(rfc3339(NOW - 3600).as_str())
    );
}

/// Each way the export can fail to show the policy at work, and the reason it gives.
#[test]
fn each_missing_part_makes_it_not_active_with_its_reason() {
    type Edit = fn(&mut ClusterExport);
    let cases: [(&str, Edit, &str); 15] = [
        (
            "pending",
            |e| e.policies[0].1["status"]["policyStatus"] = json!("pending"),
            "status.policyStatus is pending",
        ),
        (
            "unschedulable",
            |e| e.policies[0].1["status"]["policyStatus"] = json!("unschedulable"),
            "unschedulable",
        ),
        (
            "no status",
            |e| {
                e.policies[0]
                    .1
                    .as_object_mut()
                    .map(|o| o.remove("status"))
                    .map(drop)
                    .unwrap_or(())
            },
            "no .status",
        ),
        (
            "condition false",
            |e| e.policies[0].1["status"]["conditions"][0]["status"] = json!("False"),
            "condition PolicyActive is False",
        ),
        (
            "webhook missing",
            |e| e.webhooks[0]["metadata"]["name"] = json!("clusterwide-other"),
            "no ValidatingWebhookConfiguration clusterwide-pci-pod-security",
        ),
        (
            "webhook wrong kind",
            |e| e.webhooks[0]["kind"] = json!("MutatingWebhookConfiguration"),
            "registered as a MutatingWebhookConfiguration",
        ),
        (
            "no server",
            |e| e.policy_servers[0]["metadata"]["name"] = json!("default"),
            "PolicyServer pci does not exist",
        ),
        (
            "no replica",
            |e| e.deployments[0]["status"]["readyReplicas"] = json!(0),
            "no ready replica of policy-server-pci (0 of 2)",
        ),
        (
            "audit stale",
            |e| e.reports[0]["results"][0]["timestamp"]["seconds"] = json!(NOW - 31 * 86_400),
            "31 days before the pack",
        ),
        (
            "audit never",
            |e| e.reports[0]["results"][0]["policy"] = json!("clusterwide-other"),
            "no audit result for clusterwide-pci-pod-security",
        ),
        (
            "audit by someone else",
            |e| e.reports[0]["results"][0]["source"] = json!("someone-else"),
            "no audit result for clusterwide-pci-pod-security",
        ),
        (
            "scanner suspended",
            |e| e.cron_jobs[0]["spec"]["suspend"] = json!(true),
            "the audit scanner's CronJob kubewarden/audit-scanner is suspended",
        ),
        (
            "scanner stopped",
            |e| e.cron_jobs[0]["status"]["lastSuccessfulTime"] = json!(rfc3339(NOW - 3 * 86_400)),
            "last completed a run at",
        ),
        (
            "webhook for nothing",
            |e| e.webhooks[0]["webhooks"][0]["rules"] = json!([]),
            "the registered webhook's rules do not send Pod CREATEs to it",
        ),
        (
            "webhook for deployments only",
            |e| e.webhooks[0]["webhooks"][0]["rules"] = json!([{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}]),
            "the registered webhook's rules do not send Pod CREATEs to it",
        ),
    ];
    for (what, edit, expected) in cases {
        let mut export = working_export();
        edit(&mut export);
        let operation = judged(&export);
        assert_eq!(operation.verdict, Verdict::NotActive, "{what}");
        assert!(
            operation.reasons.iter().any(|r| r.contains(expected)),
            "{what}: {:?}",
            operation.reasons
        );
    }
}

/// A tenant who may create reports in their namespace writes a fresh result for the policy:
/// the scanner's CronJob, whose status only the CronJob controller writes, still shows it
/// stopped.
#[test]
fn a_fresh_report_does_not_hide_a_stopped_scanner() {
    let mut export = working_export();
    export.cron_jobs[0]["status"]["lastSuccessfulTime"] = json!(rfc3339(NOW - 40 * 86_400));
    export.reports.push(json!({
        "kind": "Report",
        "metadata": {"namespace": "tenant", "labels": {"app.kubernetes.io/managed-by": "kubewarden"}},
        "results": [{"policy": "clusterwide-pci-pod-security", "source": "kubewarden", "result": "pass", "timestamp": {"seconds": NOW - 60}}]
    }));
    let operation = judged(&export);
    assert_eq!(operation.verdict, Verdict::NotActive);
    assert!(
        operation
            .reasons
            .iter()
            .any(|r| r.contains("40 days before the pack") && r.contains("has stopped")),
        "{:?}",
        operation.reasons
    );
}

/// A result a tenant dated at the dawn of time, or whose time cannot be read, neither crashes
/// the pack nor counts, and is said.
#[test]
fn an_absurd_or_unreadable_audit_time_is_noted_and_not_counted() {
    for timestamp in [
        json!({"seconds": i64::MIN}),
        json!({"seconds": "yesterday"}),
    ] {
        let mut export = working_export();
        export.reports[0]["results"][0]["timestamp"] = timestamp.clone();
        let operation = judged(&export);
        assert_eq!(operation.verdict, Verdict::NotActive, "{timestamp}");
        assert!(
            operation.notes.iter().any(|n| n.contains(
                "1 audit result(s) dated after the pack's time or before 2014 (or without a readable time), not counted"
            )),
            "{timestamp}: {:?}",
            operation.notes
        );
    }
}

/// Without the CronJob the reports alone are judged, and the pack says what that rests on.
#[test]
fn an_export_without_the_scanners_cron_job_is_noted() {
    let mut export = working_export();
    export.cron_jobs.clear();
    let operation = judged(&export);
    assert_eq!(operation.verdict, Verdict::Operational);
    assert!(
        operation
            .notes
            .iter()
            .any(|n| n.contains("no CronJob in the export")),
        "{:?}",
        operation.notes
    );
}

#[test]
fn what_the_export_leaves_out_is_not_assumed() {
    let mut export = working_export();
    export.webhooks.clear();
    export.deployments.clear();
    export.reports.clear();
    let reasons = judged(&export).reasons;
    for expected in [
        "no webhook configuration in the export",
        "Deployment policy-server-pci not in the export",
        "no audit report in the export",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "{expected}: {reasons:?}"
        );
    }
}

#[test]
fn monitor_mode_in_effect_is_monitor_only() {
    let mut export = working_export();
    export.policies[0].1["status"]["mode"] = json!("monitor");
    let operation = judged(&export);
    assert_eq!(operation.verdict, Verdict::MonitorOnly);
    assert!(
        operation
            .notes
            .iter()
            .any(|n| n.contains("status.mode monitor"))
    );
}

#[test]
fn weaknesses_are_noted_without_changing_the_verdict() {
    let mut export = working_export();
    export.webhooks[0]["webhooks"][0]["failurePolicy"] = json!("Ignore");
    export.deployments[0]["status"]["readyReplicas"] = json!(1);
    let operation = judged(&export);
    assert_eq!(operation.verdict, Verdict::Operational);
    assert!(operation.notes.iter().any(|n| n.contains("fails open")));
    assert!(
        operation
            .notes
            .iter()
            .any(|n| n.contains("1 of 2 replicas"))
    );
}

#[test]
fn audit_results_are_matched_by_their_properties_too() {
    let mut export = working_export();
    export.reports[0]["results"][0]["policy"] = json!("kw.cap.pci-pod-security");
    export.reports[0]["results"][0]["properties"] = json!({"policy-name": "pci-pod-security"});
    assert_eq!(judged(&export).verdict, Verdict::Operational);
}

#[test]
fn unique_names_follow_the_controller() {
    let mut export = working_export();
    export.policies[0].1["kind"] = json!("AdmissionPolicy");
    export.policies[0].1["metadata"]["namespace"] = json!("shop");
    let evidence = policies::collect(&export.policies).expect("collects");
    assert_eq!(
        unique_name(&evidence[0]),
        "namespaced-shop-pci-pod-security"
    );
    export.policies[0].1["kind"] = json!("ClusterAdmissionPolicyGroup");
    export.policies[0].1["metadata"]
        .as_object_mut()
        .map(|m| m.remove("namespace"));
    let evidence = policies::collect(&export.policies).expect("collects");
    assert_eq!(
        unique_name(&evidence[0]),
        "clusterwide-group-pci-pod-security"
    );
}

#[test]
fn a_section_needs_a_working_cluster_wide_instance_of_each_of_its_policies() {
    let profile = crate::profile::Profile::get();
    let export = working_export();
    let mut evidence = policies::collect(&export.policies).expect("collects");
    evidence[0].operation = Some(judge(&evidence[0], &export.policies[0].1, &export, clock()));
    assert_eq!(
        section_verdict("3.1", &evidence, profile).0,
        Verdict::Operational
    );
    // A second instance not active does not undo a working one.
    let mut second = evidence[0].clone();
    second.name = "second".into();
    if let Some(operation) = second.operation.as_mut() {
        operation.verdict = Verdict::NotActive;
        operation.reasons = vec!["pending".into()];
    }
    evidence.push(second.clone());
    assert_eq!(
        section_verdict("3.1", &evidence, profile).0,
        Verdict::Operational
    );
    let (verdict, reasons) = section_verdict("3.1", &[second.clone()], profile);
    assert_eq!(verdict, Verdict::NotActive);
    assert_eq!(reasons, vec!["second: pending".to_owned()]);
    // 3.2 needs image-digest and image-signatures: neither is deployed.
    let (verdict, reasons) = section_verdict("3.2", &evidence, profile);
    assert_eq!(verdict, Verdict::Missing);
    assert!(
        reasons
            .iter()
            .any(|r| r == "no validating image-digest policy is deployed"),
        "{reasons:?}"
    );
    // A mutating twin, a namespaced policy, or one not covering Pod CREATEs does not stand in.
    for edit in [
        (|p: &mut PolicyEvidence| p.webhook = "mutating".into()) as fn(&mut PolicyEvidence),
        |p| {
            p.kind = "AdmissionPolicy".into();
            p.namespace = Some("sandbox".into());
        },
        |p| p.operations = vec!["DELETE".into()],
    ] {
        let mut only = evidence[0].clone();
        edit(&mut only);
        assert_eq!(section_verdict("3.1", &[only], profile).0, Verdict::Missing);
    }
    // Read from manifests: not shown active.
    let mut manifest = evidence[0].clone();
    manifest.operation = None;
    let (verdict, reasons) = section_verdict("3.1", &[manifest], profile);
    assert_eq!(verdict, Verdict::NotActive);
    assert!(reasons[0].contains("read from manifests"), "{reasons:?}");
}

#[test]
fn a_status_without_a_mode_in_effect_is_not_active() {
    let mut export = working_export();
    export.policies[0].1["status"]
        .as_object_mut()
        .map(|status| status.remove("mode"));
    let operation = judged(&export);
    assert_eq!(operation.verdict, Verdict::NotActive);
    assert!(
        operation.reasons[0].contains("status.mode is not set"),
        "{:?}",
        operation.reasons
    );
}

#[test]
fn an_unknown_mode_in_effect_is_not_active() {
    let mut export = working_export();
    export.policies[0].1["status"]["mode"] = json!("unknown");
    let operation = judged(&export);
    assert_eq!(operation.verdict, Verdict::NotActive);
    assert!(
        operation.reasons[0].contains("status.mode is unknown"),
        "{:?}",
        operation.reasons
    );
}

#[test]
fn a_webhook_or_audit_result_of_another_policy_does_not_count() {
    // Another policy's webhook, annotated with this one's name.
    let mut export = working_export();
    export.webhooks[0]["metadata"]["name"] = json!("clusterwide-group-pci-pod-security");
    export.webhooks[0]["metadata"]["annotations"] =
        json!({"kubewardenPolicyName": "pci-pod-security", "kubewardenPolicyNamespace": ""});
    assert_eq!(judged(&export).verdict, Verdict::NotActive);
    // This policy's name, annotated as another's.
    let mut export = working_export();
    export.webhooks[0]["metadata"]["annotations"] =
        json!({"kubewardenPolicyName": "other", "kubewardenPolicyNamespace": ""});
    assert_eq!(judged(&export).verdict, Verdict::NotActive);
    // A webhook calling another service.
    let mut export = working_export();
    export.webhooks[0]["webhooks"][0]["clientConfig"] =
        json!({"service": {"name": "some-other-svc", "namespace": "kubewarden"}});
    assert!(
        judged(&export).reasons[0]
            .contains("the webhook calls service some-other-svc, not policy-server-pci")
    );
    // Audit results of the group of the same name, or errors, or from the future.
    for result in [
        json!({"policy": "clusterwide-group-pci-pod-security", "properties": {"policy-name": "pci-pod-security"}, "result": "pass", "timestamp": {"seconds": NOW - 3600}}),
        json!({"policy": "clusterwide-pci-pod-security", "result": "error", "timestamp": {"seconds": NOW - 3600}}),
        json!({"policy": "clusterwide-pci-pod-security", "result": "pass", "timestamp": {"seconds": NOW + 86_400 * 365}}),
    ] {
        let mut export = working_export();
        export.reports[0]["results"] = json!([result]);
        assert_eq!(judged(&export).verdict, Verdict::NotActive, "{result}");
    }
}

#[test]
fn the_policy_server_deployment_is_the_one_the_webhook_calls() {
    let mut export = working_export();
    export.webhooks[0]["webhooks"][0]["clientConfig"] =
        json!({"service": {"name": "policy-server-pci", "namespace": "kubewarden"}});
    let mut impostor = export.deployments[0].clone();
    impostor["metadata"]["namespace"] = json!("attacker");
    export.deployments[0]["status"]["readyReplicas"] = json!(0);
    export.deployments.insert(0, impostor);
    assert!(
        judged(&export)
            .reasons
            .iter()
            .any(|r| r.contains("no ready replica"))
    );
}

#[test]
fn times_are_written_in_rfc_3339() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_764_979_200 + 3_661), "2025-12-06T01:01:01Z");
}

#[test]
fn a_namespaced_policy_is_shown_covering_its_own_namespace_only() {
    let mut export = working_export();
    export.policies[0].1["kind"] = json!("AdmissionPolicy");
    export.policies[0].1["metadata"]["namespace"] = json!("shop");
    let evidence = policies::collect(&export.policies).expect("collects");
    assert_eq!(
        evidence[0].namespace_selector,
        "only its own namespace, shop"
    );
}
