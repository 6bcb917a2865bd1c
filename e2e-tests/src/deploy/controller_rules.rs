//! What the Kubewarden controller's admission webhook refuses beyond the CRD schemas (the
//! vendored CRDs carry no CEL rule; these checks are the controller's, written in Go, read in
//! kubewarden/kubewarden-controller `api/policies/v1/*_validation.go` and
//! `policyserver_webhook.go`), written again here where it can be done without CEL:
//!
//! - policies and groups: at least one rule, each with operations, apiVersions and resources,
//!   none empty; at most 64 match conditions with unique, qualified names and an expression;
//!   `timeoutEvalSeconds` not above `timeoutSeconds` (10 when unset);
//! - groups: at least one member, named as a CEL identifier that is not a reserved word; an
//!   expression and a message; every member's `timeoutEvalSeconds` within the group's
//!   `timeoutSeconds`, and their sum within it and within 30 s; the expression calls members
//!   only (the controller compiles it with CEL, which is not done here: a call to a non-member
//!   is what it would refuse) and every member is called;
//! - PolicyServers: a name of at most 63 characters, not both `minAvailable` and
//!   `maxUnavailable`, no negative quantity, no request above its limit.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

use pci_shared::path::FieldPath;

use crate::deploy::findings::Violation;
use crate::deploy::metadata::is_qualified_name;
use crate::deploy::object::Object;

/// The webhook timeout the API server applies when `timeoutSeconds` is unset (the CRD
/// default), and the most it allows.
const DEFAULT_TIMEOUT_SECONDS: i64 = 10;
const MAX_TIMEOUT_SECONDS: i64 = 30;
const MAX_MATCH_CONDITIONS: usize = 64;

/// What the controller's webhook would refuse in `object` (a Kubewarden kind; others pass).
pub fn controller_violations(object: &Object) -> Vec<Violation> {
    let spec = FieldPath::parse_static("spec");
    let value = object.value.get("spec").unwrap_or(&Value::Null);
    let mut out = Vec::new();
    match object.kind() {
        "ClusterAdmissionPolicy" | "AdmissionPolicy" => {
            policy_rules(value, &spec, &mut out);
            policy_timeout(value, &spec, &mut out);
        }
        "ClusterAdmissionPolicyGroup" | "AdmissionPolicyGroup" => {
            policy_rules(value, &spec, &mut out);
            group_members(value, &spec, &mut out);
        }
        "PolicyServer" => policy_server(object, value, &spec, &mut out),
        _ => {}
    }
    out
}

/// `rules` and `matchConditions` (validateRulesField, validateMatchConditions).
fn policy_rules(spec: &Value, at: &FieldPath, out: &mut Vec<Violation>) {
    let rules = spec.get("rules").and_then(Value::as_array);
    if rules.is_none_or(Vec::is_empty) {
        out.push(Violation::new(
            at.field("rules"),
            "at least one rule is needed",
        ));
    }
    for (index, rule) in rules.into_iter().flatten().enumerate() {
        let rule_at = at.field("rules").index(index);
        let list = |name: &str| {
            rule.get(name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        if list("operations").is_empty() {
            out.push(Violation::new(
                rule_at.field("operations"),
                "required, empty",
            ));
        }
        for name in ["apiVersions", "resources"] {
            if list(name).is_empty() {
                out.push(Violation::new(
                    rule_at.field(name.to_owned()),
                    "required, empty",
                ));
            }
        }
        for name in ["operations", "apiVersions", "resources"] {
            for (item, value) in list(name).iter().enumerate() {
                if value.as_str() == Some("") {
                    out.push(Violation::new(
                        rule_at.field(name.to_owned()).index(item),
                        "must not be empty",
                    ));
                }
            }
        }
    }
    let conditions = spec.get("matchConditions").and_then(Value::as_array);
    let conditions_at = at.field("matchConditions");
    if conditions.is_some_and(|conditions| conditions.len() > MAX_MATCH_CONDITIONS) {
        out.push(Violation::new(
            conditions_at.clone(),
            format!("more than {MAX_MATCH_CONDITIONS} match conditions"),
        ));
    }
    let mut names = BTreeSet::new();
    for (index, condition) in conditions.into_iter().flatten().enumerate() {
        let name = condition.get("name").and_then(Value::as_str).unwrap_or("");
        if !is_qualified_name(name) {
            out.push(Violation::new(
                conditions_at.index(index).field("name"),
                format!("{name:?} is not a qualified name"),
            ));
        } else if !names.insert(name) {
            out.push(Violation::new(
                conditions_at.index(index).field("name"),
                format!("{name:?} is the name of an earlier match condition"),
            ));
        }
        let expression = condition
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or("");
        if expression.trim().is_empty() {
            out.push(Violation::new(
                conditions_at.index(index).field("expression"),
                "required, empty",
            ));
        }
    }
}

/// A policy's `timeoutEvalSeconds` within its `timeoutSeconds` (validateTimeoutSeconds).
fn policy_timeout(spec: &Value, at: &FieldPath, out: &mut Vec<Violation>) {
    let timeout = timeout_seconds(spec);
    if let Some(evaluation) = spec.get("timeoutEvalSeconds").and_then(Value::as_i64)
        && evaluation > timeout
    {
        out.push(Violation::new(
            at.field("timeoutEvalSeconds"),
            format!("{evaluation} is above timeoutSeconds ({timeout}): the webhook would give up before the evaluation"),
        ));
    }
}

/// `spec.timeoutSeconds`, or the default the API server applies.
fn timeout_seconds(spec: &Value) -> i64 {
    spec.get("timeoutSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_TIMEOUT_SECONDS)
}

/// A group's members, expression, message and timeouts (validatePolicyGroupCreate).
fn group_members(spec: &Value, at: &FieldPath, out: &mut Vec<Violation>) {
    let empty = Map::new();
    let members = spec
        .get("policies")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let members_at = at.field("policies");
    if members.is_empty() {
        out.push(Violation::new(
            members_at.clone(),
            "a group needs at least one member",
        ));
    }
    for name in members.keys() {
        if !is_cel_identifier(name) {
            out.push(Violation::new(
                members_at.field(name.clone()),
                "a member's name must be a CEL identifier (letters, digits, '_'; not a reserved word)",
            ));
        }
    }
    for field in ["expression", "message"] {
        if spec
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            out.push(Violation::new(at.field(field), "required, empty"));
        }
    }
    let expression = spec.get("expression").and_then(Value::as_str).unwrap_or("");
    let called = called_functions(expression);
    for function in called
        .iter()
        .filter(|function| !members.contains_key(**function))
    {
        out.push(Violation::new(
            at.field("expression"),
            format!("calls {function}(), which is not a member of the group"),
        ));
    }
    for name in members
        .keys()
        .filter(|name| !called.contains(name.as_str()))
    {
        out.push(Violation::new(
            members_at.field(name.clone()),
            "never called by spec.expression",
        ));
    }
    let timeout = timeout_seconds(spec);
    let mut sum = 0;
    for (name, member) in members {
        if let Some(evaluation) = member.get("timeoutEvalSeconds").and_then(Value::as_i64) {
            sum += evaluation;
            if evaluation > timeout {
                out.push(Violation::new(
                    members_at.field(name.clone()).field("timeoutEvalSeconds"),
                    format!("{evaluation} is above the group's timeoutSeconds ({timeout})"),
                ));
            }
        }
    }
    for (limit, what) in [
        (timeout, "the group's timeoutSeconds"),
        (MAX_TIMEOUT_SECONDS, "the webhook maximum"),
    ] {
        if sum > limit {
            out.push(Violation::new(
                members_at.clone(),
                format!("the members' timeoutEvalSeconds add up to {sum}, above {what} ({limit})"),
            ));
        }
    }
}

/// The functions an expression calls (`name(`), outside string literals.
fn called_functions(expression: &str) -> BTreeSet<&str> {
    static CALL: OnceLock<Regex> = OnceLock::new();
    let call = CALL.get_or_init(|| {
        Regex::new(r#""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|([_a-zA-Z][_a-zA-Z0-9]*)\s*\("#)
            .expect("the call pattern compiles")
    });
    call.captures_iter(expression)
        .filter_map(|captures| captures.get(1).map(|name| name.as_str()))
        .collect()
}

/// A CEL identifier a group member may be named.
fn is_cel_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !pci_host::group::CEL_RESERVED_WORDS.contains(&name)
}

/// A PolicyServer's name, disruption budget fields and resources (policyServerValidator).
fn policy_server(object: &Object, spec: &Value, at: &FieldPath, out: &mut Vec<Violation>) {
    if object.name().len() > 63 {
        out.push(Violation::new(
            FieldPath::parse_static("metadata.name"),
            "a PolicyServer's name is at most 63 characters",
        ));
    }
    if spec.get("minAvailable").is_some() && spec.get("maxUnavailable").is_some() {
        out.push(Violation::new(
            at.clone(),
            "minAvailable and maxUnavailable cannot both be set",
        ));
    }
    let empty = Map::new();
    let limits = spec
        .get("limits")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let requests = spec
        .get("requests")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (field, list) in [("limits", limits), ("requests", requests)] {
        for (resource, quantity) in list {
            if quantity_value(quantity).is_some_and(|amount| amount < 0.0) {
                out.push(Violation::new(
                    at.field(field).field(resource.clone()),
                    "must not be negative",
                ));
            }
        }
    }
    for (resource, request) in requests {
        if let (Some(requested), Some(limit)) = (
            quantity_value(request),
            limits.get(resource).and_then(quantity_value),
        ) && requested > limit
        {
            out.push(Violation::new(
                at.field("requests").field(resource.clone()),
                format!(
                    "{request} is above the {resource} limit {}",
                    limits[resource]
                ),
            ));
        }
    }
}

/// A Kubernetes quantity (`250m`, `1Gi`, `1e3`, `2`) as a number, or `None` when it is not one
/// (the schema's pattern reports it).
pub fn quantity_value(quantity: &Value) -> Option<f64> {
    if let Some(number) = quantity.as_f64() {
        return Some(number);
    }
    let text = quantity.as_str()?;
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => 10f64.powf(exponent.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::object::read_objects;

    fn violations(yaml: &str) -> Vec<String> {
        let object = read_objects(yaml).unwrap().remove(0);
        let mut found: Vec<String> = controller_violations(&object)
            .into_iter()
            .map(|violation| format!("{}: {}", violation.path, violation.message))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn a_policy_evaluation_longer_than_its_webhook_timeout_is_refused() {
        let policy = "kind: ClusterAdmissionPolicy\nspec:\n  rules: [{operations: [CREATE], apiVersions: [v1], resources: [pods]}]\n";
        assert_eq!(
            violations(&format!("{policy}  timeoutEvalSeconds: 10\n")),
            Vec::<String>::new()
        );
        assert_eq!(
            violations(&format!("{policy}  timeoutEvalSeconds: 11\n")),
            [
                "spec.timeoutEvalSeconds: 11 is above timeoutSeconds (10): the webhook would give up before the evaluation"
            ]
        );
        assert_eq!(
            violations(&format!(
                "{policy}  timeoutEvalSeconds: 12\n  timeoutSeconds: 12\n"
            )),
            Vec::<String>::new()
        );
    }

    #[test]
    fn rules_need_operations_versions_and_resources() {
        assert_eq!(
            violations(
                "kind: ClusterAdmissionPolicy\nspec:\n  rules: [{operations: [], apiVersions: [''], resources: [pods]}]\n"
            ),
            [
                "spec.rules[0].apiVersions[0]: must not be empty",
                "spec.rules[0].operations: required, empty",
            ]
        );
        assert_eq!(
            violations("kind: ClusterAdmissionPolicy\nspec: {}\n"),
            ["spec.rules: at least one rule is needed"]
        );
    }

    #[test]
    fn a_group_calls_its_members_within_its_timeout() {
        let group = "kind: ClusterAdmissionPolicyGroup\nspec:\n  rules: [{operations: [CREATE], apiVersions: [v1], resources: [pods]}]\n  message: m\n  timeoutSeconds: 20\n";
        assert_eq!(
            violations(&format!(
                "{group}  expression: a() || b()\n  policies:\n    a: {{module: m, timeoutEvalSeconds: 8}}\n    b: {{module: m, timeoutEvalSeconds: 8}}\n"
            )),
            Vec::<String>::new()
        );
        assert_eq!(
            violations(&format!(
                "{group}  expression: a() || \"c()\" == c()\n  policies:\n    a: {{module: m, timeoutEvalSeconds: 15}}\n    b: {{module: m, timeoutEvalSeconds: 8}}\n    \"true\": {{module: m}}\n"
            )),
            [
                "spec.expression: calls c(), which is not a member of the group",
                "spec.policies.b: never called by spec.expression",
                "spec.policies.true: a member's name must be a CEL identifier (letters, digits, '_'; not a reserved word)",
                "spec.policies.true: never called by spec.expression",
                "spec.policies: the members' timeoutEvalSeconds add up to 23, above the group's timeoutSeconds (20)",
            ]
        );
    }

    #[test]
    fn a_policy_server_requests_no_more_than_its_limits() {
        let server = "kind: PolicyServer\nmetadata: {name: pci-policies}\nspec:\n  image: i\n  replicas: 2\n";
        assert_eq!(
            violations(&format!(
                "{server}  requests: {{cpu: 250m, memory: 256Mi}}\n  limits: {{memory: 1Gi}}\n"
            )),
            Vec::<String>::new()
        );
        assert_eq!(
            violations(&format!(
                "{server}  requests: {{memory: 2Gi}}\n  limits: {{memory: 1Gi}}\n  minAvailable: 1\n  maxUnavailable: 1\n"
            )),
            [
                "spec.requests.memory: \"2Gi\" is above the memory limit \"1Gi\"",
                "spec: minAvailable and maxUnavailable cannot both be set",
            ]
        );
    }

    #[test]
    fn quantities_read_with_their_suffixes() {
        assert_eq!(quantity_value(&Value::from("250m")), Some(0.25));
        assert_eq!(quantity_value(&Value::from("1Gi")), Some(1_073_741_824.0));
        assert_eq!(quantity_value(&Value::from("1e3")), Some(1000.0));
        assert_eq!(quantity_value(&Value::from(2)), Some(2.0));
        assert_eq!(quantity_value(&Value::from("lots")), None);
    }
}
