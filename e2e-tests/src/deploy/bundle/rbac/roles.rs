//! The ClusterRoles of the bundle: each grants only `get`, `list` and `watch` on what the
//! policies read, states its rules itself (no `aggregationRule`, which would fill it with the
//! rules of whatever ClusterRoles its selectors match) and adds them to no other role (no
//! `rbac.authorization.k8s.io/aggregate-to-*` label).

use std::collections::BTreeSet;

use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::resources::ApiResource;
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

pub const RBAC_API_VERSION: &str = "rbac.authorization.k8s.io/v1";
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// What a context-aware policy does with a resource: read it.
pub const READ: [&str; 3] = ["get", "list", "watch"];
/// The label prefix that adds a ClusterRole's rules to the aggregated role named after it.
const AGGREGATE_TO: &str = "rbac.authorization.k8s.io/aggregate-to-";

/// True for a ClusterRole.
pub fn is_cluster_role(object: &Object) -> bool {
    object.is(RBAC_API_VERSION, "ClusterRole")
}

/// What every ClusterRole of `objects` gets wrong: aggregation, and grants beyond reading
/// `needed`.
pub fn role_findings(objects: &[Object], needed: &BTreeSet<&ApiResource>) -> Vec<Finding> {
    objects
        .iter()
        .filter(|object| is_cluster_role(object))
        .flat_map(|role| {
            let mut findings = aggregation_findings(role, "PolicyServer");
            findings.extend(excess_grants(role, needed));
            findings
        })
        .collect()
}

/// An `aggregationRule`, and every `aggregate-to-*` label; `grantee` is what the role is for
/// ("PolicyServer").
pub fn aggregation_findings(role: &Object, grantee: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    if role.value.get("aggregationRule").is_some() {
        findings.push(Finding::new(
            role.label(),
            FieldPath::parse_static("aggregationRule"),
            format!("the controller would replace the rules with those of every ClusterRole the selectors match: the {grantee} would be granted whatever they grant"),
        ));
    }
    let labels = role
        .value
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    for (label, _) in labels {
        if let Some(target) = label.strip_prefix(AGGREGATE_TO) {
            findings.push(Finding::new(
                role.label(),
                FieldPath::parse_static("metadata.labels").field(label.clone()),
                format!("adds this role's rules to the aggregated `{target}` role and so to everyone bound to it: the bundle grants only its {grantee}"),
            ));
        }
    }
    findings
}

/// The rules of a ClusterRole, with their index.
fn rules(role: &Object) -> Vec<(usize, &Value)> {
    role.value
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .collect()
}

/// The strings of a rule's list field.
pub fn strings<'a>(rule: &'a Value, field: &str) -> Vec<&'a str> {
    rule.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// True when a rule of `role` grants `verb` on every object of `resource`.
pub fn grants(role: &Object, resource: &ApiResource, verb: &str) -> bool {
    let covers =
        |list: Vec<&str>, wanted: &str| list.iter().any(|item| *item == "*" || *item == wanted);
    rules(role).into_iter().any(|(_, rule)| {
        strings(rule, "resourceNames").is_empty()
            && covers(strings(rule, "apiGroups"), resource.group)
            && covers(strings(rule, "resources"), resource.resource)
            && covers(strings(rule, "verbs"), verb)
    })
}

/// What a role grants beyond reading what the policies read.
fn excess_grants(role: &Object, needed: &BTreeSet<&ApiResource>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, rule) in rules(role) {
        let at = FieldPath::parse_static("rules").index(index);
        let beyond: Vec<&str> = strings(rule, "verbs")
            .into_iter()
            .filter(|verb| !READ.contains(verb))
            .collect();
        if !beyond.is_empty() {
            findings.push(Finding::new(
                role.label(),
                at.field("verbs"),
                format!(
                    "grants {} to the PolicyServer: its policies only read (get, list, watch)",
                    beyond.join(", ")
                ),
            ));
        }
        if rule.get("nonResourceURLs").is_some() {
            findings.push(Finding::new(
                role.label(),
                at.field("nonResourceURLs"),
                "the policies read no URL beyond resources",
            ));
        }
        for group in strings(rule, "apiGroups") {
            for resource in strings(rule, "resources") {
                let read = needed
                    .iter()
                    .any(|need| need.group == group && need.resource == resource);
                if !read {
                    findings.push(Finding::new(
                        role.label(),
                        at.clone(),
                        format!("grants {resource} of the API group {group:?}, which no policy of the bundle reads"),
                    ));
                }
            }
        }
    }
    findings
}
