//! What the context-aware policies read: every `contextAwareResources` entry of every policy
//! and group member, as the resource an RBAC rule names.

use std::collections::BTreeSet;

use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::policies::{is_group, is_policy};
use crate::deploy::bundle::resources::{ApiResource, resource_of};
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// A resource a policy reads, and where it says so.
pub struct Need {
    pub resource: ApiResource,
    pub policy: String,
    pub path: FieldPath,
}

/// Every `contextAwareResources` entry of the policies and group members, as resources;
/// entries of unknown kinds are findings.
pub fn needs(objects: &[Object], findings: &mut Vec<Finding>) -> Vec<Need> {
    let mut needs = Vec::new();
    for policy in objects.iter().filter(|object| is_policy(object)) {
        for (at, list) in resource_lists(policy) {
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

/// The `contextAwareResources` lists of a policy, or of each member of a group, with their
/// paths.
fn resource_lists(policy: &Object) -> Vec<(FieldPath, &Value)> {
    let spec = FieldPath::parse_static("spec");
    if !is_group(policy) {
        return policy
            .value
            .pointer("/spec/contextAwareResources")
            .map(|list| (spec.field("contextAwareResources"), list))
            .into_iter()
            .collect();
    }
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
}

/// The resources of `needs`, listed once each.
pub fn listed(needs: &[Need]) -> String {
    let resources: BTreeSet<String> = needs.iter().map(|need| need.resource.to_string()).collect();
    resources.into_iter().collect::<Vec<_>>().join(", ")
}
