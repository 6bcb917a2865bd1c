//! RBAC for context-aware policies: the ServiceAccount the PolicyServer names is in the bundle
//! (in the Kubewarden namespace), and ClusterRoleBindings of the bundle bind it to
//! ClusterRoles granting `get`, `list` and `watch` on every `contextAwareResources` entry of
//! every policy and group member, and nothing more.

use std::collections::BTreeSet;

use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::policies::{is_group, is_policy, is_policy_server};
use crate::deploy::bundle::resources::{ApiResource, resource_of};
use crate::deploy::bundle::values::BundleValues;
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

const RBAC_API_VERSION: &str = "rbac.authorization.k8s.io/v1";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// What a context-aware policy does with a resource: read it.
const READ: [&str; 3] = ["get", "list", "watch"];

/// A resource a policy reads, and where it says so.
struct Need {
    resource: ApiResource,
    policy: String,
    path: FieldPath,
}

/// What `objects` get wrong about the RBAC of their context-aware policies.
pub fn rbac_findings(objects: &[Object], values: &BundleValues) -> Vec<Finding> {
    let mut findings = Vec::new();
    let needs = needs(objects, &mut findings);
    let Some(server) = objects.iter().find(|object| is_policy_server(object)) else {
        return findings;
    };
    let namespace = values.kubewarden_namespace.as_str();
    let name_at = FieldPath::parse_static("spec.serviceAccountName");
    let Some(account) = server
        .value
        .pointer("/spec/serviceAccountName")
        .and_then(Value::as_str)
    else {
        if !needs.is_empty() {
            findings.push(Finding::new(
                server.label(),
                name_at,
                format!("unset: the policies read {}; name the ServiceAccount the bundle grants that to", listed(&needs)),
            ));
        }
        return findings;
    };
    let in_bundle = |name: &str, in_namespace: &str| {
        objects.iter().any(|object| {
            object.is("v1", "ServiceAccount")
                && object.name() == name
                && object.namespace() == Some(in_namespace)
        })
    };
    if !in_bundle(account, namespace) {
        findings.push(Finding::new(
            server.label(),
            name_at,
            format!("names ServiceAccount {namespace}/{account}, which is not in the bundle (the PolicyServer's pods run in {namespace})"),
        ));
    }
    let mut roles = Vec::new();
    for binding in objects
        .iter()
        .filter(|object| object.is(RBAC_API_VERSION, "ClusterRoleBinding"))
    {
        let mut binds_account = false;
        for (index, subject) in subjects(binding) {
            let at = FieldPath::parse_static("subjects").index(index);
            let subject_namespace = subject.get("namespace").and_then(Value::as_str);
            let subject_name = subject.get("name").and_then(Value::as_str).unwrap_or("");
            match subject_namespace {
                None => findings.push(Finding::new(
                    binding.label(),
                    at.field("namespace"),
                    "required for a ServiceAccount subject",
                )),
                Some(subject_namespace) if subject_name == account && subject_namespace == namespace => {
                    binds_account = true;
                }
                Some(subject_namespace) if !in_bundle(subject_name, subject_namespace) => findings.push(Finding::new(
                    binding.label(),
                    at,
                    format!(
                        "binds ServiceAccount {subject_namespace}/{subject_name}, which is not in the bundle: PolicyServer {} runs as {namespace}/{account}",
                        server.name()
                    ),
                )),
                Some(_) => {}
            }
        }
        if binds_account {
            match bound_role(binding, objects) {
                Ok(role) => roles.push(role),
                Err(finding) => findings.push(finding),
            }
        }
    }
    for need in &needs {
        let missing: Vec<&str> = READ
            .into_iter()
            .filter(|verb| !roles.iter().any(|role| grants(role, &need.resource, verb)))
            .collect();
        if !missing.is_empty() {
            findings.push(Finding::new(
                &need.policy,
                need.path.clone(),
                format!(
                    "ServiceAccount {namespace}/{account} of PolicyServer {} may not {} {}: no ClusterRole bound to it in the bundle grants it",
                    server.name(),
                    missing.join(", "),
                    need.resource
                ),
            ));
        }
    }
    let needed: BTreeSet<&ApiResource> = needs.iter().map(|need| &need.resource).collect();
    for role in roles {
        findings.extend(excess_grants(role, &needed));
    }
    findings
}

/// Every `contextAwareResources` entry of the policies and group members, as resources;
/// entries of unknown kinds are findings.
fn needs(objects: &[Object], findings: &mut Vec<Finding>) -> Vec<Need> {
    let mut needs = Vec::new();
    for policy in objects.iter().filter(|object| is_policy(object)) {
        let spec = FieldPath::parse_static("spec");
        let lists: Vec<(FieldPath, &Value)> = if is_group(policy) {
            policy
                .value
                .pointer("/spec/policies")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(member, value)| {
                    value.get("contextAwareResources").map(|list| {
                        (
                            spec.field("policies")
                                .field(member.clone())
                                .field("contextAwareResources"),
                            list,
                        )
                    })
                })
                .collect()
        } else {
            policy
                .value
                .pointer("/spec/contextAwareResources")
                .map(|list| (spec.field("contextAwareResources"), list))
                .into_iter()
                .collect()
        };
        for (at, list) in lists {
            for (index, entry) in list.as_array().into_iter().flatten().enumerate() {
                let text = |field: &str| entry.get(field).and_then(Value::as_str).unwrap_or("");
                let (api_version, kind) = (text("apiVersion"), text("kind"));
                match resource_of(api_version, kind) {
                    Some(resource) => needs.push(Need {
                        resource,
                        policy: policy.label(),
                        path: at.index(index),
                    }),
                    None => findings.push(Finding::new(
                        policy.label(),
                        at.index(index),
                        format!("{api_version} {kind}: a kind this check does not know the resource of (add it to deploy/bundle/resources.rs)"),
                    )),
                }
            }
        }
    }
    needs
}

fn listed(needs: &[Need]) -> String {
    let resources: BTreeSet<String> = needs.iter().map(|need| need.resource.to_string()).collect();
    resources.into_iter().collect::<Vec<_>>().join(", ")
}

/// The subjects of a binding that are ServiceAccounts, with their index.
fn subjects(binding: &Object) -> Vec<(usize, &Value)> {
    binding
        .value
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, subject)| {
            subject.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
        })
        .collect()
}

/// The ClusterRole of the bundle a binding refers to.
fn bound_role<'a>(binding: &Object, objects: &'a [Object]) -> Result<&'a Object, Finding> {
    let reference = binding.value.get("roleRef").unwrap_or(&Value::Null);
    let text = |field: &str| reference.get(field).and_then(Value::as_str).unwrap_or("");
    if text("kind") != "ClusterRole" || text("apiGroup") != RBAC_GROUP {
        return Err(Finding::new(
            binding.label(),
            FieldPath::parse_static("roleRef"),
            format!("a ClusterRoleBinding refers to a ClusterRole of {RBAC_GROUP}"),
        ));
    }
    objects
        .iter()
        .find(|object| object.is(RBAC_API_VERSION, "ClusterRole") && object.name() == text("name"))
        .ok_or_else(|| {
            Finding::new(
                binding.label(),
                FieldPath::parse_static("roleRef.name"),
                format!(
                    "names ClusterRole {}, which is not in the bundle",
                    text("name")
                ),
            )
        })
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
fn strings<'a>(rule: &'a Value, field: &str) -> Vec<&'a str> {
    rule.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// True when a rule of `role` grants `verb` on every object of `resource`.
fn grants(role: &Object, resource: &ApiResource, verb: &str) -> bool {
    let covers =
        |list: Vec<&str>, wanted: &str| list.iter().any(|item| *item == "*" || *item == wanted);
    rules(role).into_iter().any(|(_, rule)| {
        strings(rule, "resourceNames").is_empty()
            && covers(strings(rule, "apiGroups"), resource.group)
            && covers(strings(rule, "resources"), resource.resource)
            && covers(strings(rule, "verbs"), verb)
    })
}

/// What a role bound to the PolicyServer grants beyond reading what its policies read.
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
