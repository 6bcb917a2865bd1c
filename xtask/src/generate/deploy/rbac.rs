//! The PolicyServer's service account and what it may read: a ClusterRole granting `get`,
//! `list` and `watch` on exactly the resources the policies' metadata.yml
//! `contextAwareResources` name, bound to the service account in Kubewarden's namespace.
//! policy-server reads the cluster with this account; a lookup it may not make fails, and a
//! policy that fails closed then rejects (runtime-isolation and RuntimeClasses).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use pci_host::metadata::ContextAwareResource;

use super::bundle::BundleSource;
use crate::generate::policy::PolicySources;

/// The ClusterRole and its binding.
pub const CONTEXT_READER: &str = "pci-policies-context-reader";

/// The verbs policy-server's `kubernetes/get_resource` and list calls need (it watches to keep
/// its cache current).
const VERBS: [&str; 3] = ["get", "list", "watch"];

/// The plural resource of each kind a policy may read, by API group: written out, never
/// guessed, so a new kind is an error until someone adds its resource here.
const RESOURCES: [(&str, &str, &str); 2] = [
    ("", "Namespace", "namespaces"),
    ("node.k8s.io", "RuntimeClass", "runtimeclasses"),
];

/// `(group, resource)` of a context-aware resource: the group is the part of `apiVersion`
/// before `/` (none for the core group, `v1`).
pub fn group_resource(entry: &ContextAwareResource) -> Result<(String, String)> {
    let group = match entry.api_version.split_once('/') {
        Some((group, _version)) => group,
        None => "",
    };
    match RESOURCES
        .iter()
        .find(|(g, kind, _)| *g == group && *kind == entry.kind)
    {
        Some((_, _, resource)) => Ok((group.to_owned(), (*resource).to_owned())),
        None => bail!(
            "contextAwareResources {}/{}: no resource is known for this kind; add its plural to RESOURCES in xtask/src/generate/deploy/rbac.rs",
            entry.api_version,
            entry.kind
        ),
    }
}

/// The service account, the ClusterRole covering every policy's context-aware resources, and
/// the binding between them.
pub fn objects(
    bundle: &BundleSource,
    policies: &[PolicySources],
) -> Result<(ServiceAccount, ClusterRole, ClusterRoleBinding)> {
    let namespace = &bundle.kubewarden_namespace;
    let account = &bundle.policy_server.service_account_name;
    let mut by_group: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for policy in policies {
        for entry in &policy.metadata.context_aware_resources {
            let (group, resource) = group_resource(entry)
                .map_err(|error| error.context(format!("policies/{}/metadata.yml", policy.name)))?;
            by_group.entry(group).or_default().insert(resource);
        }
    }
    let rules = by_group
        .into_iter()
        .map(|(group, resources)| PolicyRule {
            api_groups: Some(vec![group]),
            resources: Some(resources.into_iter().collect()),
            verbs: VERBS.iter().map(|v| (*v).to_owned()).collect(),
            ..PolicyRule::default()
        })
        .collect();
    let service_account = ServiceAccount {
        metadata: named(account, Some(namespace)),
        ..ServiceAccount::default()
    };
    let role = ClusterRole {
        metadata: named(CONTEXT_READER, None),
        rules: Some(rules),
        ..ClusterRole::default()
    };
    let binding = ClusterRoleBinding {
        metadata: named(CONTEXT_READER, None),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: CONTEXT_READER.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: account.clone(),
            namespace: Some(namespace.clone()),
            ..Subject::default()
        }]),
    };
    Ok((service_account, role, binding))
}

/// Metadata with a name, and a namespace for a namespaced object.
pub fn named(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        ..ObjectMeta::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::policy;

    #[test]
    fn the_role_covers_every_context_aware_resource_and_nothing_else() {
        let bundle = BundleSource::load(&crate::workspace::root()).unwrap();
        let policies = policy::all().unwrap();
        let (account, role, binding) = objects(&bundle, &policies).unwrap();
        assert_eq!(
            serde_json::to_value(role.rules.unwrap()).unwrap(),
            serde_json::json!([
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"], "verbs": ["get", "list", "watch"]},
            ])
        );
        let subject = &binding.subjects.unwrap()[0];
        assert_eq!(Some(&subject.name), account.metadata.name.as_ref());
        assert_eq!(subject.namespace, account.metadata.namespace);
        assert_eq!(subject.namespace.as_deref(), Some("kubewarden"));
        assert_eq!(binding.role_ref.name, CONTEXT_READER);
    }

    #[test]
    fn an_unknown_kind_is_an_error_not_a_guess() {
        let entry = |api_version: &str, kind: &str| ContextAwareResource {
            api_version: api_version.into(),
            kind: kind.into(),
        };
        assert_eq!(
            group_resource(&entry("v1", "Namespace")).unwrap(),
            (String::new(), "namespaces".to_owned())
        );
        assert_eq!(
            group_resource(&entry("node.k8s.io/v1", "RuntimeClass")).unwrap(),
            ("node.k8s.io".to_owned(), "runtimeclasses".to_owned())
        );
        let error = group_resource(&entry("apps/v1", "Deployment")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("contextAwareResources apps/v1/Deployment: no resource is known"),
            "{error}"
        );
        // A kind of another group is not the core one.
        assert!(group_resource(&entry("example.com/v1", "Namespace")).is_err());
        let mut policies = policy::all().unwrap();
        policies[0]
            .metadata
            .context_aware_resources
            .insert(entry("v1", "Pod"));
        let bundle = BundleSource::load(&crate::workspace::root()).unwrap();
        let error = format!("{:#}", objects(&bundle, &policies).unwrap_err());
        assert!(
            error.contains("policies/image-digest/metadata.yml: contextAwareResources v1/Pod"),
            "{error}"
        );
    }
}
