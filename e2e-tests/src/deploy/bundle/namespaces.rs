//! System namespaces spared: every cluster-wide policy and group selects namespaces with
//! exactly `{matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values:
//! <the rendering's system namespaces>}]}`, and the system component's baseline policy exactly
//! them with `In`. A rendering's system namespaces are deploy/bundle.yml's, but in an
//! organisation's overlay, which may narrow them: there they are its system policy's (or, without
//! one, bundle.yml's), never a namespace bundle.yml does not list. The Kubewarden namespace is one of them, and namespaced policies and
//! groups never live in one.

use std::collections::BTreeSet;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::account::{policy_server, policy_server_account};
use crate::deploy::bundle::policies::{is_cluster_policy, is_policy};
use crate::deploy::bundle::selectors::{
    NAMESPACE_NAME_LABEL, author_chosen_selectors, namespace_selector,
};
use crate::deploy::bundle::values::BundleValues;
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// The policy of `deploy/components/system-namespaces`, written for the system namespaces.
pub const SYSTEM_COMPONENT_POLICY: &str = "pci-pod-security-system";

/// True for the system namespaces' policy.
pub fn is_system_policy(object: &Object) -> bool {
    is_cluster_policy(object) && object.name() == SYSTEM_COMPONENT_POLICY
}

/// The system namespaces of an organisation's rendering: what its system policy selects with
/// `In`, when it has one, else `bundle`'s (deploy/bundle.yml's list).
pub fn system_namespaces_of(objects: &[Object], bundle: &BTreeSet<String>) -> BTreeSet<String> {
    objects
        .iter()
        .find(|object| is_system_policy(object))
        .and_then(|policy| namespace_selector(policy).name)
        .filter(|expression| expression.operator == "In")
        .map_or_else(|| bundle.clone(), |expression| expression.values)
}

/// What every policy and group of `objects` gets wrong about the system namespaces: `system`,
/// the rendering's, and `bundle`, deploy/bundle.yml's.
pub fn system_namespace_findings(
    objects: &[Object],
    system: &BTreeSet<String>,
    bundle: &BTreeSet<String>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in objects.iter().filter(|object| is_policy(object)) {
        let label = object.label();
        for (at, problem) in author_chosen_selectors(object) {
            findings.push(Finding::new(&label, at, problem));
        }
        if !is_cluster_policy(object) {
            if let Some(namespace) = object.namespace().filter(|ns| system.contains(*ns)) {
                findings.push(Finding::new(
                    &label,
                    FieldPath::parse_static("metadata.namespace"),
                    format!("{namespace} is a system namespace: the bundle's policies spare it"),
                ));
            }
            continue;
        }
        let operator = if is_system_policy(object) {
            "In"
        } else {
            "NotIn"
        };
        findings.extend(
            selector_problems(object, operator, system)
                .into_iter()
                .map(|(at, problem)| Finding::new(&label, at, problem)),
        );
        if is_system_policy(object) {
            findings.extend(beyond_bundle(object, system, bundle));
        }
    }
    findings
}

/// What keeps a namespaceSelector from being exactly `{matchExpressions: [{key:
/// kubernetes.io/metadata.name, operator, values: system}]}`.
fn selector_problems(
    object: &Object,
    operator: &str,
    system: &BTreeSet<String>,
) -> Vec<(FieldPath, String)> {
    let read = namespace_selector(object);
    let mut problems = read.extras;
    let Some(name) = read.name else {
        problems.push((
            FieldPath::parse_static("spec.namespaceSelector"),
            format!(
                "selects no namespace by {NAMESPACE_NAME_LABEL}: must be exactly {{matchExpressions: [{{key: {NAMESPACE_NAME_LABEL}, operator: {operator}, values: [{}]}}]}}",
                listed(system.iter())
            ),
        ));
        return problems;
    };
    if name.operator != operator {
        let why = if operator == "In" {
            "the system namespaces' policy judges exactly them"
        } else {
            "every policy spares exactly the system namespaces"
        };
        problems.push((
            name.at.field("operator"),
            format!("{:?}: must be {operator}: {why}", name.operator),
        ));
    }
    let missing: Vec<&String> = system.difference(&name.values).collect();
    if !missing.is_empty() {
        let what = if operator == "In" {
            "does not judge"
        } else {
            "does not spare"
        };
        problems.push((
            name.at.field("values"),
            format!("{what} the system namespaces {}", listed(missing)),
        ));
    }
    let extra: Vec<&String> = name.values.difference(system).collect();
    if !extra.is_empty() {
        problems.push((
            name.at.field("values"),
            format!(
                "lists {}, which this rendering does not list as system namespaces: every policy must spare the same namespaces, and only those",
                listed(extra)
            ),
        ));
    }
    problems
}

/// The system policy's namespaces that deploy/bundle.yml does not list: every policy of the
/// rendering would spare them.
fn beyond_bundle(
    system_policy: &Object,
    system: &BTreeSet<String>,
    bundle: &BTreeSet<String>,
) -> Option<Finding> {
    let name = namespace_selector(system_policy).name?;
    let beyond: Vec<&String> = system.difference(bundle).collect();
    (!beyond.is_empty()).then(|| {
        Finding::new(
            system_policy.label(),
            name.at.field("values"),
            format!(
                "lists {}, which deploy/bundle.yml does not list as system namespaces: every policy would spare them",
                listed(beyond)
            ),
        )
    })
}

/// The Kubewarden namespace of a rendering with a PolicyServer must be one of its system
/// namespaces: the PolicyServer's pods run in the controller's namespace, which every policy
/// spares.
pub fn kubewarden_namespace_findings(objects: &[Object], values: &BundleValues) -> Vec<Finding> {
    let namespace = &values.kubewarden_namespace;
    let Some(server) = policy_server(objects) else {
        return Vec::new();
    };
    if values.system_namespaces.contains(namespace) {
        return Vec::new();
    }
    let (label, at) = match policy_server_account(objects) {
        Some(account) => (
            account.label(),
            FieldPath::parse_static("metadata.namespace"),
        ),
        None => (server.label(), FieldPath::root()),
    };
    vec![Finding::new(
        label,
        at,
        format!(
            "{namespace} is not a system namespace of this rendering: the PolicyServer's pods run in the Kubewarden controller's namespace, which every policy spares (in another namespace its ServiceAccount is out of their reach, and the namespace would be judged by the policies it serves)"
        ),
    )]
}

fn listed<'a>(namespaces: impl IntoIterator<Item = &'a String>) -> String {
    namespaces
        .into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
