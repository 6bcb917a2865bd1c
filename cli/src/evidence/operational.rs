//! Operational, not configured: whether each deployed policy is in place and working, read
//! from one cluster's export. A policy is operational only when everything below is shown:
//!
//! - its `.status.policyStatus` is `active` (not `unscheduled`, `unschedulable` or `pending`)
//!   and no `PolicyActive` condition says otherwise;
//! - the webhook configuration the controller registers for it is present, of its type
//!   (validating or mutating), named by its unique name or annotated with its name;
//! - its PolicyServer exists and that server's Deployment has a ready replica;
//! - with `backgroundAudit` (the default), the audit scanner reported on it within the
//!   allowed age.
//!
//! What is missing from the export is not assumed: a policy whose webhook was not exported is
//! not shown to be operational. A policy shown working in `monitor` mode is "monitor only".

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cluster::ClusterExport;
use super::policies::PolicyEvidence;

/// A policy's or a section's state, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    #[serde(rename = "operational")]
    Operational,
    #[serde(rename = "monitor only")]
    MonitorOnly,
    #[serde(rename = "configured but not active")]
    NotActive,
    #[serde(rename = "missing")]
    Missing,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Operational => "operational",
            Verdict::MonitorOnly => "monitor only",
            Verdict::NotActive => "configured but not active",
            Verdict::Missing => "missing",
        }
    }
}

/// The time the pack judges against, and how old the newest audit result may be.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub now: i64,
    pub max_audit_age_hours: u64,
}

/// What the export shows of one policy at work.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub verdict: Verdict,
    /// Why it is not operational (empty when it is).
    pub reasons: Vec<String>,
    /// What weakens it without stopping it (a webhook that fails open, replicas not all ready).
    pub notes: Vec<String>,
    pub policy_status: Option<String>,
    /// `.status.mode`, else the spec's mode.
    pub mode_in_effect: String,
    /// `Type=Status (Reason): message` of each status condition.
    pub conditions: Vec<String>,
    pub webhook: Option<WebhookEvidence>,
    pub policy_server: PolicyServerEvidence,
    /// RFC 3339 time of the newest audit result for the policy.
    pub newest_audit: Option<String>,
}

/// The webhook the controller registered for a policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvidence {
    pub kind: String,
    pub configuration: String,
    pub failure_policy: String,
    pub namespace_selector: Value,
    pub timeout_seconds: u64,
}

/// The PolicyServer a policy runs in.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyServerEvidence {
    pub name: String,
    pub found: bool,
    pub ready_replicas: Option<u64>,
    pub replicas: Option<u64>,
    pub conditions: Vec<String>,
}

/// Judges one policy against its cluster's export.
pub fn judge(
    policy: &PolicyEvidence,
    document: &Value,
    export: &ClusterExport,
    clock: Clock,
) -> Operation {
    let status = &document["status"];
    let mut operation = Operation {
        verdict: Verdict::Operational,
        reasons: Vec::new(),
        notes: Vec::new(),
        policy_status: status["policyStatus"].as_str().map(str::to_owned),
        mode_in_effect: status["mode"].as_str().unwrap_or(&policy.mode).to_owned(),
        conditions: conditions(status),
        webhook: None,
        policy_server: PolicyServerEvidence::default(),
        newest_audit: None,
    };
    judge_status(&mut operation, policy, status);
    judge_webhook(&mut operation, policy, export);
    let server = document["spec"]["policyServer"]
        .as_str()
        .unwrap_or("default");
    judge_server(&mut operation, server, export);
    judge_audit(&mut operation, policy, export, clock);
    let monitor = operation.mode_in_effect == "monitor";
    if monitor && !operation.reasons.is_empty() {
        // Not active, and once active still only a monitor: both are said.
        operation.notes.push(
            "the mode in effect is monitor: once active, it admits what breaks it and only logs"
                .into(),
        );
    }
    operation.verdict = if !operation.reasons.is_empty() {
        Verdict::NotActive
    } else if monitor {
        Verdict::MonitorOnly
    } else {
        Verdict::Operational
    };
    operation
}

fn conditions(status: &Value) -> Vec<String> {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let text = |key: &str| c[key].as_str().unwrap_or_default().to_owned();
            let mut line = format!("{}={}", text("type"), text("status"));
            if !text("reason").is_empty() {
                line.push_str(&format!(" ({})", text("reason")));
            }
            if !text("message").is_empty() {
                line.push_str(&format!(": {}", text("message")));
            }
            line
        })
        .collect()
}

fn judge_status(operation: &mut Operation, policy: &PolicyEvidence, status: &Value) {
    if !status.is_object() {
        operation.reasons.push(
            "no .status: the policy was not exported from the cluster (kubectl get … -o yaml), so its state is not shown".into(),
        );
        return;
    }
    match operation.policy_status.as_deref() {
        Some("active") => {}
        Some("pending") => operation.reasons.push("status.policyStatus is pending: policy-server has not loaded it (a module it cannot pull or verify, or settings it refuses, keep it pending)".into()),
        Some("unschedulable") => operation.reasons.push("status.policyStatus is unschedulable: its PolicyServer does not exist".into()),
        Some(other) => operation.reasons.push(format!("status.policyStatus is {other}, not active")),
        None => operation.reasons.push("status.policyStatus is not set: the controller has not reconciled the policy".into()),
    }
    let inactive = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "PolicyActive" && c["status"] != "True");
    if let Some(condition) = inactive {
        operation.reasons.push(format!(
            "condition PolicyActive is {}: {}",
            condition["status"].as_str().unwrap_or("unknown"),
            condition["message"].as_str().unwrap_or("no message")
        ));
    }
    if operation.mode_in_effect != policy.mode {
        operation.notes.push(format!(
            "spec.mode is {}, the controller reports status.mode {}",
            policy.mode, operation.mode_in_effect
        ));
    }
}

/// The unique name the controller gives a policy's webhook configuration.
pub fn unique_name(policy: &PolicyEvidence) -> String {
    let group = if policy.kind.ends_with("Group") {
        "group-"
    } else {
        ""
    };
    match &policy.namespace {
        Some(namespace) if !policy.kind.starts_with("Cluster") => {
            format!("namespaced-{group}{namespace}-{}", policy.name)
        }
        _ => format!("clusterwide-{group}{}", policy.name),
    }
}

/// Whether a webhook configuration or a report result names `policy`: by unique name, or by
/// the name and namespace annotations (properties) the controller (audit scanner) writes.
fn names_policy(
    unique: &str,
    name: Option<&str>,
    namespace: Option<&str>,
    policy: &PolicyEvidence,
) -> bool {
    let by_annotation = name == Some(policy.name.as_str())
        && namespace.unwrap_or_default() == policy.namespace.as_deref().unwrap_or_default();
    unique == unique_name(policy) || by_annotation
}

fn judge_webhook(operation: &mut Operation, policy: &PolicyEvidence, export: &ClusterExport) {
    let wanted = if policy.webhook == "mutating" {
        "MutatingWebhookConfiguration"
    } else {
        "ValidatingWebhookConfiguration"
    };
    let found: Vec<&Value> = export
        .webhooks
        .iter()
        .filter(|w| {
            let annotations = &w["metadata"]["annotations"];
            names_policy(
                w["metadata"]["name"].as_str().unwrap_or_default(),
                annotations["kubewardenPolicyName"].as_str(),
                annotations["kubewardenPolicyNamespace"].as_str(),
                policy,
            )
        })
        .collect();
    let Some(configuration) = found.iter().find(|w| w["kind"] == wanted) else {
        operation.reasons.push(match found.first() {
            Some(other) => format!(
                "registered as a {}, but the policy is {}: the API server does not call it as such",
                other["kind"].as_str().unwrap_or_default(),
                policy.webhook
            ),
            None if export.webhooks.is_empty() => "no webhook configuration in the export (kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o yaml): the API server calling it is not shown".into(),
            None => format!("no {wanted} {}: the API server does not call the policy", unique_name(policy)),
        });
        return;
    };
    let entry = &configuration["webhooks"][0];
    let webhook = WebhookEvidence {
        kind: wanted.to_owned(),
        configuration: configuration["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        failure_policy: entry["failurePolicy"].as_str().unwrap_or("Fail").to_owned(),
        namespace_selector: entry["namespaceSelector"].clone(),
        timeout_seconds: entry["timeoutSeconds"].as_u64().unwrap_or(10),
    };
    if entry.is_null() {
        operation.reasons.push(format!(
            "{} {} has no webhook entry",
            wanted, webhook.configuration
        ));
    }
    if webhook.failure_policy == "Ignore" {
        operation.notes.push("the webhook fails open (failurePolicy: Ignore): while policy-server is unreachable, requests are admitted unchecked".into());
    }
    operation.webhook = Some(webhook);
}

fn judge_server(operation: &mut Operation, name: &str, export: &ClusterExport) {
    let server = &mut operation.policy_server;
    server.name = name.to_owned();
    let found = export
        .policy_servers
        .iter()
        .find(|s| s["metadata"]["name"] == name);
    server.found = found.is_some();
    if let Some(found) = found {
        server.conditions = conditions(&found["status"]);
    } else if export.policy_servers.is_empty() {
        operation.reasons.push(format!("no PolicyServer in the export (kubectl get policyservers -o yaml): {name} being there is not shown"));
        return;
    } else {
        operation.reasons.push(format!(
            "PolicyServer {name} does not exist: nothing runs the policy"
        ));
        return;
    }
    let deployment_name = format!("policy-server-{name}");
    let Some(deployment) = export
        .deployments
        .iter()
        .find(|d| d["metadata"]["name"] == deployment_name.as_str())
    else {
        operation.reasons.push(format!("Deployment {deployment_name} not in the export (kubectl get deployments -n kubewarden -o yaml): its ready replicas are not shown"));
        return;
    };
    let ready = deployment["status"]["readyReplicas"].as_u64().unwrap_or(0);
    let wanted = deployment["spec"]["replicas"].as_u64().unwrap_or(1);
    server.ready_replicas = Some(ready);
    server.replicas = Some(wanted);
    if ready == 0 {
        operation.reasons.push(format!("no ready replica of {deployment_name} (0 of {wanted}): no policy-server answers the webhook"));
    } else if ready < wanted {
        operation.notes.push(format!(
            "{ready} of {wanted} replicas of {deployment_name} ready"
        ));
    }
}

fn judge_audit(
    operation: &mut Operation,
    policy: &PolicyEvidence,
    export: &ClusterExport,
    clock: Clock,
) {
    if !policy.background_audit {
        // A mutating policy's validating twin audits; a validating one not audited is noted.
        if policy.webhook != "mutating" {
            operation.notes.push(
                "backgroundAudit: false: objects admitted before the policy are not audited".into(),
            );
        }
        return;
    }
    let newest = export
        .reports
        .iter()
        .flat_map(|r| r["results"].as_array().into_iter().flatten())
        .filter(|result| {
            let properties = &result["properties"];
            names_policy(
                result["policy"].as_str().unwrap_or_default(),
                properties["policy-name"].as_str(),
                properties["policy-namespace"].as_str(),
                policy,
            )
        })
        .filter_map(|result| result["timestamp"]["seconds"].as_i64())
        .max();
    let Some(newest) = newest else {
        operation.reasons.push(if export.reports.is_empty() {
            "no audit report in the export (kubectl get reports.openreports.io,clusterreports.openreports.io -A -o yaml): the audit scanner at work is not shown".into()
        } else {
            format!("no audit result for {} in the exported reports: the audit scanner skips it or has not run since it was deployed", unique_name(policy))
        });
        return;
    };
    operation.newest_audit = Some(rfc3339(newest));
    let age_hours = (clock.now - newest).max(0) / 3600;
    if age_hours as u64 > clock.max_audit_age_hours {
        operation.reasons.push(format!(
            "the newest audit result is from {} ({} days before the pack, more than {} hours): the audit scanner has stopped or skips the policy",
            rfc3339(newest),
            age_hours / 24,
            clock.max_audit_age_hours
        ));
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(seconds: i64) -> String {
    let date = super::history::date_of(seconds);
    let second_of_day = seconds.rem_euclid(86_400);
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// A section's verdict over its policies' (`None`: no policy enforces it), with the reasons
/// of every policy that is not operational.
pub fn section_verdict<'a>(
    policies: impl Iterator<Item = &'a PolicyEvidence>,
) -> (Verdict, Vec<String>) {
    let mut verdict = None;
    let mut reasons = Vec::new();
    for policy in policies {
        let (state, why) = policy_verdict(policy);
        verdict = Some(verdict.map_or(state, |v: Verdict| v.max(state)));
        reasons.extend(why.into_iter().map(|r| format!("{}: {r}", policy.name)));
    }
    match verdict {
        None => (
            Verdict::Missing,
            vec!["no deployed policy enforces this section".into()],
        ),
        Some(verdict) => (verdict, reasons),
    }
}

fn policy_verdict(policy: &PolicyEvidence) -> (Verdict, Vec<String>) {
    if !policy.refused_settings.is_empty() {
        return (
            Verdict::NotActive,
            vec![format!(
                "refuses its settings ({}), so policy-server does not start it",
                policy.refused_settings.join("; ")
            )],
        );
    }
    match &policy.operation {
        Some(operation) if operation.verdict == Verdict::MonitorOnly => (
            Verdict::MonitorOnly,
            vec!["mode monitor: requests that break the policy are admitted and only logged".into()],
        ),
        Some(operation) => (operation.verdict, operation.reasons.clone()),
        None => (
            Verdict::NotActive,
            vec!["read from manifests, not from a cluster's export: that it is active is not shown (export the cluster and use --cluster NAME=DIR)".into()],
        ),
    }
}

#[cfg(test)]
mod tests;
