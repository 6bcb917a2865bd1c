//! System namespaces spared: every cluster-wide policy and group selects namespaces with
//! `kubernetes.io/metadata.name NotIn [...]` listing every system namespace of `bundle.yml`,
//! except the system component's baseline policy, which selects exactly them with `In`.
//! Namespaced policies and groups never live in a system namespace.

use std::collections::BTreeSet;

use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::policies::{is_cluster_policy, is_policy};
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// The label the API server sets on every namespace, to its name (RBAC guards it).
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The policy of `deploy/components/system-namespaces`, written for the system namespaces.
pub const SYSTEM_COMPONENT_POLICY: &str = "pci-pod-security-system";

/// What every policy and group of `objects` gets wrong about the system namespaces.
pub fn system_namespace_findings(objects: &[Object], system: &BTreeSet<String>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in objects.iter().filter(|object| is_policy(object)) {
        if !is_cluster_policy(object) {
            if let Some(namespace) = object.namespace().filter(|ns| system.contains(*ns)) {
                findings.push(Finding::new(
                    object.label(),
                    FieldPath::parse_static("metadata.namespace"),
                    format!("{namespace} is a system namespace: the bundle's policies spare it"),
                ));
            }
            continue;
        }
        let problem = if object.name() == SYSTEM_COMPONENT_POLICY {
            system_policy_problem(object, system)
        } else {
            spared_problem(object, system)
        };
        findings.extend(problem.map(|(path, message)| Finding::new(object.label(), path, message)));
    }
    findings
}

/// The `matchExpressions` on the namespace-name label, with their index.
fn name_expressions(object: &Object) -> Vec<(usize, &str, BTreeSet<&str>)> {
    object
        .value
        .pointer("/spec/namespaceSelector/matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, expression)| {
            expression.get("key").and_then(Value::as_str) == Some(NAMESPACE_NAME_LABEL)
        })
        .map(|(index, expression)| {
            let operator = expression
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or("");
            let values = expression
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (index, operator, values)
        })
        .collect()
}

fn listed(namespaces: &BTreeSet<String>) -> String {
    namespaces.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// A policy must spare every system namespace (`NotIn` listing each).
fn spared_problem(object: &Object, system: &BTreeSet<String>) -> Option<(FieldPath, String)> {
    let selector = FieldPath::parse_static("spec.namespaceSelector");
    let not_in = name_expressions(object)
        .into_iter()
        .find(|(_, operator, _)| *operator == "NotIn");
    let Some((index, _, values)) = not_in else {
        return Some((
            selector,
            format!(
                "spares no system namespace: needs a matchExpressions entry {{key: {NAMESPACE_NAME_LABEL}, operator: NotIn, values: [{}]}}",
                listed(system)
            ),
        ));
    };
    let missing: BTreeSet<String> = system
        .iter()
        .filter(|namespace| !values.contains(namespace.as_str()))
        .cloned()
        .collect();
    (!missing.is_empty()).then(|| {
        (
            selector
                .field("matchExpressions")
                .index(index)
                .field("values"),
            format!("does not spare the system namespaces {}", listed(&missing)),
        )
    })
}

/// The system component's policy selects exactly the system namespaces (`In`).
fn system_policy_problem(
    object: &Object,
    system: &BTreeSet<String>,
) -> Option<(FieldPath, String)> {
    let expected: BTreeSet<&str> = system.iter().map(String::as_str).collect();
    let selects_exactly = name_expressions(object)
        .iter()
        .any(|(_, operator, values)| *operator == "In" && *values == expected);
    (!selects_exactly).then(|| {
        (
            FieldPath::parse_static("spec.namespaceSelector"),
            format!(
                "the system namespaces' policy selects exactly them: {{key: {NAMESPACE_NAME_LABEL}, operator: In, values: [{}]}}",
                listed(system)
            ),
        )
    })
}
