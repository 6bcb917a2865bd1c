//! Operational, not configured: whether each deployed policy is in place and working, read
//! from one cluster's export. A policy is operational only when everything below is shown:
//!
//! - its `.status.policyStatus` is `active` (not `unscheduled`, `unschedulable` or `pending`)
//!   and no `PolicyActive` condition says otherwise;
//! - the webhook configuration the controller registers for it is present, of its type
//!   (validating or mutating), named by its unique name (its name annotations agreeing), and
//!   calls the policy's policy-server;
//! - its PolicyServer exists and that server's Deployment has a ready replica;
//! - with `backgroundAudit` (the default), the audit scanner reported on it within the
//!   allowed age, and its CronJob, when exported, completed a run within that age
//!   ([`super::scanner`]).
//!
//! What is missing from the export is not assumed: a policy whose webhook was not exported is
//! not shown to be operational. A policy shown working in `monitor` mode is "monitor only".

use serde_json::Value;

use super::clock::EARLIEST_RESULT;
pub use super::clock::{Clock, rfc3339};
use super::cluster::ClusterExport;
pub use super::operation::{Operation, PolicyServerEvidence, Verdict, WebhookEvidence};
use super::policies::PolicyEvidence;

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
        audit_scanner: None,
    };
    judge_status(&mut operation, policy, status);
    let server = document["spec"]["policyServer"]
        .as_str()
        .unwrap_or("default");
    judge_webhook(&mut operation, policy, export, server);
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
    if status["mode"].as_str().is_none() {
        operation.reasons.push(
            "status.mode is not set: the mode in effect is not shown (the spec's is not evidence)"
                .into(),
        );
    } else if !matches!(operation.mode_in_effect.as_str(), "protect" | "monitor") {
        operation.reasons.push(format!(
            "status.mode is {}: the controller does not find the policy in its PolicyServer's configuration, so policy-server does not run it",
            operation.mode_in_effect
        ));
    } else if operation.mode_in_effect != policy.mode {
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

/// Whether a webhook configuration or a report result names `policy`: by its unique name,
/// with the name and namespace annotations (properties) agreeing when they are written; by
/// those alone only under a name that is not another policy's legacy unique name (a newer
/// controller's encoding).
fn names_policy(
    unique: &str,
    name: Option<&str>,
    namespace: Option<&str>,
    policy: &PolicyEvidence,
) -> bool {
    let annotated = name.map(|name| {
        name == policy.name
            && namespace.unwrap_or_default() == policy.namespace.as_deref().unwrap_or_default()
    });
    if unique == unique_name(policy) {
        return annotated != Some(false);
    }
    let legacy = unique.starts_with("clusterwide-") || unique.starts_with("namespaced-");
    !legacy && annotated == Some(true)
}

fn judge_webhook(
    operation: &mut Operation,
    policy: &PolicyEvidence,
    export: &ClusterExport,
    server: &str,
) {
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
        service_namespace: entry["clientConfig"]["service"]["namespace"]
            .as_str()
            .map(str::to_owned),
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
    let service = &entry["clientConfig"]["service"];
    let server = format!("policy-server-{server}");
    if !entry.is_null() && service["name"] != server.as_str() {
        operation.reasons.push(format!(
            "the webhook calls {}, not {server}: not the policy-server that runs the policy",
            service["name"]
                .as_str()
                .map_or("no service".to_owned(), |n| format!("service {n}"))
        ));
    }
    if !entry.is_null() && !registered_for_pod_creates(entry) {
        operation.reasons.push(format!(
            "the registered webhook's rules do not send Pod CREATEs to it ({}): the API server does not call it for pods",
            entry["rules"]
        ));
    }
    if webhook.failure_policy == "Ignore" {
        operation.notes.push("the webhook fails open (failurePolicy: Ignore): while policy-server is unreachable, requests are admitted unchecked".into());
    }
    operation.webhook = Some(webhook);
}

/// True when a rule of the registered webhook `entry` covers CREATE of core `pods`: what the
/// API server calls, whatever the policy's spec says.
fn registered_for_pod_creates(entry: &Value) -> bool {
    let has = |rule: &Value, field: &str, wanted: &str| {
        rule[field]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i == wanted || i == "*"))
    };
    entry["rules"].as_array().is_some_and(|rules| {
        rules.iter().any(|rule| {
            has(rule, "operations", "CREATE")
                && has(rule, "apiGroups", "")
                && (has(rule, "resources", "pods") || has(rule, "resources", "*/*"))
        })
    })
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
    // In the namespace of the service the webhook calls, when that is known.
    let namespace = operation
        .webhook
        .as_ref()
        .and_then(|w| w.service_namespace.clone());
    let candidates: Vec<&Value> = export
        .deployments
        .iter()
        .filter(|d| d["metadata"]["name"] == deployment_name.as_str())
        .filter(|d| {
            namespace
                .as_deref()
                .is_none_or(|n| d["metadata"]["namespace"].as_str().is_none_or(|dn| dn == n))
        })
        .collect();
    let server = &mut operation.policy_server;
    let deployment = match candidates.as_slice() {
        [one] => *one,
        [] => {
            let namespace = namespace.as_deref().unwrap_or("kubewarden");
            operation.reasons.push(format!("Deployment {deployment_name} not in the export (kubectl get deployments -n {namespace} -o yaml): its ready replicas are not shown"));
            return;
        }
        _ => {
            operation.reasons.push(format!("{} Deployments {deployment_name} in the export: which one answers is not shown (export one namespace)", candidates.len()));
            return;
        }
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
        operation.audit_scanner =
            Some("not judged: the policy is not audited (backgroundAudit: false)".into());
        // A mutating policy's validating twin audits; a validating one not audited is noted.
        if policy.webhook != "mutating" {
            operation.notes.push(
                "backgroundAudit: false: objects admitted before the policy are not audited".into(),
            );
        }
        return;
    }
    let scope = super::scanner::Scope {
        namespace: &export.kubewarden_namespace,
        listed: export.cron_jobs_listed,
    };
    let scanner = super::scanner::check(&export.cron_jobs, scope, clock);
    operation.reasons.extend(scanner.reason);
    operation.notes.extend(scanner.note);
    operation.audit_scanner = scanner.shown;
    let results = audit_results(export, policy);
    // A result from after the pack's time (or before Kubernetes existed) is not evidence of a
    // scanner at work; nor is one the scanner could not evaluate.
    let dated = |t: i64| (EARLIEST_RESULT..=clock.now.saturating_add(300)).contains(&t);
    let future = results.iter().filter(|(t, _)| !dated(*t)).count();
    if future > 0 {
        operation.notes.push(format!(
            "{future} audit result(s) dated after the pack's time or before 2014 (or without a readable time), not counted"
        ));
    }
    let errors = results.iter().filter(|(_, r)| *r == "error").count();
    if errors > 0 {
        operation.notes.push(format!(
            "{errors} audit result(s) are errors (the scanner could not evaluate), not counted"
        ));
    }
    let newest = results
        .iter()
        .filter(|(t, r)| dated(*t) && *r != "error")
        .map(|(t, _)| *t)
        .max();
    let Some(newest) = newest else {
        operation.reasons.push(if export.reports.is_empty() {
            "no audit report in the export (kubectl get reports.openreports.io,clusterreports.openreports.io -A -o yaml; before Kubewarden 1.33, policyreports.wgpolicyk8s.io,clusterpolicyreports.wgpolicyk8s.io): the audit scanner at work is not shown".into()
        } else {
            format!("no audit result for {} in the exported reports: the audit scanner skips it or has not run since it was deployed", unique_name(policy))
        });
        return;
    };
    operation.newest_audit = Some(rfc3339(newest));
    let age_hours = clock.now.saturating_sub(newest).max(0) / 3600;
    let too_old = clock.now.saturating_sub(newest) > clock.max_audit_age_seconds();
    if too_old {
        operation.reasons.push(format!(
            "the newest audit result is from {} ({} before the pack, more than {} hours): the audit scanner has stopped or skips the policy",
            rfc3339(newest),
            super::age_in_words(age_hours),
            clock.max_audit_age_hours
        ));
    }
}

/// The audit scanner's results for `policy` in the export's reports: time and outcome.
fn audit_results<'a>(export: &'a ClusterExport, policy: &PolicyEvidence) -> Vec<(i64, &'a str)> {
    export
        .reports
        .iter()
        .flat_map(|r| r["results"].as_array().into_iter().flatten())
        // Only the audit scanner's results: anyone who may create a report could write others.
        .filter(|result| result["source"] == "kubewarden")
        .filter(|result| {
            let properties = &result["properties"];
            names_policy(
                result["policy"].as_str().unwrap_or_default(),
                properties["policy-name"].as_str(),
                properties["policy-namespace"].as_str(),
                policy,
            )
        })
        .map(|result| {
            let outcome = result["result"].as_str().unwrap_or_default();
            // A result without a readable time is kept and counted as not dated.
            (
                result["timestamp"]["seconds"].as_i64().unwrap_or(i64::MIN),
                outcome,
            )
        })
        .collect()
}

/// A section's verdict: for each bundle policy the profile maps to it, the best of its
/// cluster-wide, validating instances that cover Pod CREATEs (`missing` when there is none),
/// and the worst over those; with the reasons of every instance of a policy not operational.
/// A mutating twin, a namespaced policy, or another module annotated with the section does
/// not stand in for it.
pub fn section_verdict(
    section: &str,
    policies: &[PolicyEvidence],
    profile: &crate::profile::Profile,
) -> (Verdict, Vec<String>) {
    let mut verdict = Verdict::Operational;
    let mut reasons = Vec::new();
    let required = profile
        .policies
        .iter()
        .filter(|p| p.sections.iter().any(|s| s == section));
    for bundle in required {
        let (state, why) = bundle_verdict(&bundle.name, policies);
        verdict = verdict.max(state);
        reasons.extend(why);
    }
    (verdict, reasons)
}

/// The verdict of one bundle policy in a cluster: its best instance that stands for it.
fn bundle_verdict(bundle: &str, policies: &[PolicyEvidence]) -> (Verdict, Vec<String>) {
    let instances: Vec<&PolicyEvidence> = policies
        .iter()
        .filter(|p| p.webhook != "mutating" && p.bundle_policies.iter().any(|b| b == bundle))
        .collect();
    let stands = |p: &&PolicyEvidence| {
        p.kind.starts_with("Cluster")
            && p.kinds.iter().any(|k| k == "Pod")
            && p.operations.iter().any(|o| o == "CREATE")
    };
    let standing: Vec<&PolicyEvidence> = instances.iter().copied().filter(stands).collect();
    if standing.is_empty() {
        let why = match instances.first() {
            None => format!("no validating {bundle} policy is deployed"),
            Some(_) => format!(
                "no cluster-wide {bundle} policy covering Pod CREATE (only {}): the section is not enforced cluster-wide",
                instances
                    .iter()
                    .map(|p| label(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return (Verdict::Missing, vec![why]);
    }
    let judged: Vec<(Verdict, Vec<String>, &PolicyEvidence)> = standing
        .iter()
        .map(|p| {
            let (verdict, reasons) = policy_verdict(p);
            (verdict, reasons, *p)
        })
        .collect();
    let best = judged
        .iter()
        .map(|(verdict, _, _)| *verdict)
        .min()
        .unwrap_or(Verdict::Missing);
    let reasons = if best == Verdict::Operational {
        Vec::new()
    } else {
        judged
            .iter()
            .flat_map(|(_, reasons, p)| reasons.iter().map(move |r| format!("{}: {r}", label(p))))
            .collect()
    };
    (best, reasons)
}

/// A policy's name, with its namespace when it has one.
pub fn label(policy: &PolicyEvidence) -> String {
    match &policy.namespace {
        Some(namespace) if !policy.kind.starts_with("Cluster") => {
            format!("{namespace}/{}", policy.name)
        }
        _ => policy.name.clone(),
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
