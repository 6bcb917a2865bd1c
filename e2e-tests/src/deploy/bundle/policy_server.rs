//! The bundle's own PolicyServer: one per rendering, named by every policy and group (never
//! the shared `default`), at least two replicas, one PodDisruptionBudget over its pods that
//! lets one be evicted (and none of the controller's: the PolicyServer states no
//! `minAvailable`/`maxUnavailable`), and a `verificationConfig` naming a ConfigMap of the
//! bundle whose `verification-config` is the repository's verification config
//! (`verification.rs`).

use serde_json::{Value, json};

use pci_shared::path::FieldPath;

use crate::deploy::bundle::policies::{is_policy, is_policy_server};
use crate::deploy::bundle::values::BundleValues;
use crate::deploy::bundle::verification::verification_findings;
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// The label the Kubewarden controller puts on a PolicyServer's pods, to its name.
pub const POLICY_SERVER_LABEL: &str = "kubewarden/policy-server";
/// The PolicyServer the Kubewarden charts install for everyone's policies.
const SHARED_POLICY_SERVER: &str = "default";

/// What `objects` get wrong about their PolicyServer.
/// `verification_config` is the text of the repository's verification-config.yml.
pub fn policy_server_findings(
    objects: &[Object],
    values: &BundleValues,
    verification_config: &str,
) -> Vec<Finding> {
    let servers: Vec<&Object> = objects
        .iter()
        .filter(|object| is_policy_server(object))
        .collect();
    let mut findings = Vec::new();
    for extra in servers.iter().skip(1) {
        findings.push(Finding::new(
            extra.label(),
            FieldPath::root(),
            format!(
                "a second PolicyServer in one rendering: the bundle runs on one ({})",
                servers[0].name()
            ),
        ));
    }
    let expected = servers
        .first()
        .map_or(values.policy_server_name.as_str(), |server| server.name());
    for policy in objects.iter().filter(|object| is_policy(object)) {
        let at = FieldPath::parse_static("spec.policyServer");
        match policy.value.pointer("/spec/policyServer").and_then(Value::as_str) {
            None => findings.push(Finding::new(
                policy.label(),
                at,
                format!("unset: the controller puts the policy on the shared `{SHARED_POLICY_SERVER}` PolicyServer; name {expected}"),
            )),
            Some(named) if named != expected => findings.push(Finding::new(
                policy.label(),
                at,
                format!("names {named}; the bundle's PolicyServer is {expected}"),
            )),
            Some(_) => {}
        }
    }
    if let Some(server) = servers.first() {
        findings.extend(server_findings(server, objects, values));
        findings.extend(verification_findings(
            server,
            objects,
            &values.kubewarden_namespace,
            verification_config,
        ));
    }
    findings
}

/// The PolicyServer's own fields and its disruption budget.
fn server_findings(server: &Object, objects: &[Object], values: &BundleValues) -> Vec<Finding> {
    let label = server.label();
    let at = |path: &'static str| FieldPath::parse_static(path);
    let mut findings = Vec::new();
    if server.name() == SHARED_POLICY_SERVER {
        findings.push(Finding::new(
            &label,
            at("metadata.name"),
            "the shared `default` PolicyServer is not the bundle's: a verification config there refuses every other module it runs",
        ));
    }
    let replicas = server
        .value
        .pointer("/spec/replicas")
        .and_then(Value::as_i64);
    if replicas.is_some_and(|replicas| replicas < 2) {
        findings.push(Finding::new(
            &label,
            at("spec.replicas"),
            "at least 2: with one, every eviction or rollout stops admission",
        ));
    }
    for field in ["minAvailable", "maxUnavailable"] {
        if server.value.pointer(&format!("/spec/{field}")).is_some() {
            findings.push(Finding::new(
                &label,
                FieldPath::parse_static("spec").field(field),
                "the controller would make a PodDisruptionBudget of its own over the pods the bundle's budget covers, and evictions would block: state it in the bundle's PodDisruptionBudget only",
            ));
        }
    }
    findings.extend(budget_findings(server, replicas, objects, values));
    findings
}

/// Exactly one PodDisruptionBudget over the PolicyServer's pods, in its namespace, that lets
/// at least one pod go and keeps at least one.
fn budget_findings(
    server: &Object,
    replicas: Option<i64>,
    objects: &[Object],
    values: &BundleValues,
) -> Vec<Finding> {
    let name = server.name();
    let budgets = budgets_over(name, objects);
    let Some(budget) = budgets.first() else {
        return vec![Finding::new(
            server.label(),
            FieldPath::root(),
            format!("no PodDisruptionBudget selects its pods ({POLICY_SERVER_LABEL}: {name})"),
        )];
    };
    let mut findings: Vec<Finding> = budgets
        .iter()
        .skip(1)
        .map(|extra| {
            Finding::new(
                extra.label(),
                FieldPath::root(),
                format!("a second PodDisruptionBudget over the pods of PolicyServer {name}: evictions block"),
            )
        })
        .collect();
    let label = budget.label();
    if budget.namespace() != Some(values.kubewarden_namespace.as_str()) {
        findings.push(Finding::new(
            &label,
            FieldPath::parse_static("metadata.namespace"),
            format!(
                "the PolicyServer's pods run in {}",
                values.kubewarden_namespace
            ),
        ));
    }
    let exact = json!({"matchLabels": {POLICY_SERVER_LABEL: name}});
    if budget.value.pointer("/spec/selector") != Some(&exact) {
        findings.push(Finding::new(
            &label,
            FieldPath::parse_static("spec.selector"),
            format!("must be exactly {exact}: anything more selects fewer of the PolicyServer's pods, or none"),
        ));
    }
    let spec = budget.value.get("spec").unwrap_or(&Value::Null);
    if let (Some((field, value)), Some(replicas)) =
        (budget_bound(spec, &label, &mut findings), replicas)
    {
        findings.extend(bound_finding(&label, field, value, replicas));
    }
    findings
}

/// The PodDisruptionBudgets whose selector matches the pods of PolicyServer `name`.
fn budgets_over<'a>(name: &str, objects: &'a [Object]) -> Vec<&'a Object> {
    objects
        .iter()
        .filter(|object| {
            object.is("policy/v1", "PodDisruptionBudget")
                && object
                    .value
                    .pointer("/spec/selector/matchLabels")
                    .and_then(|labels| labels.get(POLICY_SERVER_LABEL))
                    .and_then(Value::as_str)
                    == Some(name)
        })
        .collect()
}

/// The one bound a budget's `spec` states (`minAvailable` or `maxUnavailable`) and its value;
/// none, with a finding, when it states both or neither.
fn budget_bound<'a>(
    spec: &'a Value,
    label: &str,
    findings: &mut Vec<Finding>,
) -> Option<(&'static str, &'a Value)> {
    let bound = |field: &'static str| spec.get(field).map(|value| (field, value));
    match (bound("minAvailable"), bound("maxUnavailable")) {
        (Some(_), Some(_)) => {
            findings.push(Finding::new(
                label,
                FieldPath::parse_static("spec"),
                "minAvailable and maxUnavailable cannot both be set",
            ));
            None
        }
        (None, None) => {
            findings.push(Finding::new(
                label,
                FieldPath::parse_static("spec"),
                "states neither minAvailable nor maxUnavailable",
            ));
            None
        }
        (one, other) => one.or(other),
    }
}

/// A finding when the budget's bound `field` (`value`, of `replicas` pods) keeps no pod or
/// lets none go.
fn bound_finding(
    label: &str,
    field: &'static str,
    value: &Value,
    replicas: i64,
) -> Option<Finding> {
    let pods = pods_of(value, replicas);
    let kept = if field == "minAvailable" {
        pods
    } else {
        pods.map(|gone| replicas - gone)
    };
    kept.is_none_or(|kept| kept < 1 || kept >= replicas)
        .then(|| {
            Finding::new(
                label,
                FieldPath::parse_static("spec").field(field),
                format!(
                    "{value} of {replicas} replicas: the budget must keep at least one pod and let at least one go (a node drain waits forever otherwise)"
                ),
            )
        })
}

/// An int-or-string budget as pods out of `replicas` (a percentage rounds up, as the
/// disruption controller rounds it).
fn pods_of(value: &Value, replicas: i64) -> Option<i64> {
    if let Some(pods) = value.as_i64() {
        return Some(pods);
    }
    let percent: i64 = value.as_str()?.strip_suffix('%')?.parse().ok()?;
    Some((percent * replicas + 99) / 100)
}
