//! The Kubernetes kinds a bundle ships besides Kubewarden's (ServiceAccount, ClusterRole,
//! ClusterRoleBinding, Role, RoleBinding, PodDisruptionBudget, ConfigMap, Namespace, and the
//! evidence schedule's CronJob), each read with its
//! k8s-openapi type: every field must come back when written out again, every required field
//! must be there and, where the API server refuses an empty one, not empty.

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::findings::Violation;
use crate::deploy::metadata::Scope;
use crate::deploy::roundtrip::round_trip;

/// A core kind the checker knows.
#[derive(Clone, Copy)]
pub struct CoreKind {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub scope: Scope,
    read: fn(&Value, &FieldPath) -> Vec<Violation>,
    /// Fields the API server refuses empty (`subjects[].name`: in every item of `subjects`).
    non_empty: &'static [&'static str],
}

impl CoreKind {
    /// Every violation of `object`, read as this kind.
    pub fn violations(&self, object: &Value) -> Vec<Violation> {
        let mut out = (self.read)(object, &FieldPath::root());
        for field in self.non_empty {
            empty_fields(object, field, FieldPath::root(), &mut out);
        }
        out
    }
}

/// The core kind of `apiVersion` and `kind`, if the checker knows it.
pub fn core_kind(api_version: &str, kind: &str) -> Option<CoreKind> {
    core_kinds()
        .into_iter()
        .find(|known| known.api_version == api_version && known.kind == kind)
}

/// Every core kind the checker knows, as `apiVersion kind` for messages.
pub fn known_core_kinds() -> Vec<String> {
    core_kinds()
        .iter()
        .map(|known| format!("{} {}", known.api_version, known.kind))
        .collect()
}

fn core_kinds() -> [CoreKind; 9] {
    const BINDING: &[&str] = &[
        "roleRef.apiGroup",
        "roleRef.kind",
        "roleRef.name",
        "subjects[].kind",
        "subjects[].name",
    ];
    [
        of::<ServiceAccount>(&[]),
        of::<ClusterRole>(&["rules[].verbs"]),
        of::<ClusterRoleBinding>(BINDING),
        of::<Role>(&["rules[].verbs"]),
        of::<RoleBinding>(BINDING),
        of::<CronJob>(&[
            "spec.schedule",
            "spec.jobTemplate.spec.template.spec.containers",
        ]),
        of::<PodDisruptionBudget>(&[]),
        of::<ConfigMap>(&[]),
        of::<Namespace>(&[]),
    ]
}

/// The scope of a k8s-openapi resource, as a value.
trait ScopeOf {
    const SCOPE: Scope;
}

impl ScopeOf for NamespaceResourceScope {
    const SCOPE: Scope = Scope::Namespaced;
}

impl ScopeOf for ClusterResourceScope {
    const SCOPE: Scope = Scope::Cluster;
}

fn of<T>(non_empty: &'static [&'static str]) -> CoreKind
where
    T: Resource + DeserializeOwned + Serialize,
    T::Scope: ScopeOf,
{
    CoreKind {
        api_version: T::API_VERSION,
        kind: T::KIND,
        scope: <T::Scope as ScopeOf>::SCOPE,
        read: round_trip::<T>,
        non_empty,
    }
}

/// Reports `field` (dotted, `name[]` for every item of the list `name`, followed by the field
/// of the item) where it is present and empty (`""` or `[]`); a missing one is the round
/// trip's to report.
fn empty_fields(value: &Value, field: &str, at: FieldPath, out: &mut Vec<Violation>) {
    let (head, rest) = field.split_once('.').unwrap_or((field, ""));
    let (name, each) = match head.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (head, false),
    };
    let Some(found) = value.get(name) else { return };
    let at = at.field(name.to_owned());
    match (each, rest) {
        (true, rest) => {
            for (index, item) in found.as_array().into_iter().flatten().enumerate() {
                empty_fields(item, rest, at.index(index), out);
            }
        }
        (false, "") => {
            let empty = found.as_str() == Some("") || found.as_array().is_some_and(Vec::is_empty);
            if empty {
                out.push(Violation::new(at, "required, empty"));
            }
        }
        (false, rest) => empty_fields(found, rest, at, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn violations(object: Value) -> Vec<String> {
        let kind = core_kind(
            object["apiVersion"].as_str().unwrap(),
            object["kind"].as_str().unwrap(),
        )
        .expect("a core kind");
        kind.violations(&object)
            .into_iter()
            .map(|violation| format!("{}: {}", violation.path, violation.message))
            .collect()
    }

    #[test]
    fn knows_the_scope_of_each_kind() {
        let scope = |api_version, kind| core_kind(api_version, kind).map(|known| known.scope);
        assert_eq!(scope("v1", "ServiceAccount"), Some(Scope::Namespaced));
        assert_eq!(
            scope("rbac.authorization.k8s.io/v1", "ClusterRole"),
            Some(Scope::Cluster)
        );
        assert_eq!(
            scope("policy/v1", "PodDisruptionBudget"),
            Some(Scope::Namespaced)
        );
        assert_eq!(scope("v1", "Namespace"), Some(Scope::Cluster));
        assert_eq!(scope("policy/v1beta1", "PodDisruptionBudget"), None);
        assert_eq!(scope("v1", "Secret"), None);
    }

    #[test]
    fn an_int_or_string_min_available_reads_either_way() {
        for min_available in [json!(1), json!("50%")] {
            let budget = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": "pci-policies", "namespace": "kubewarden"},
                "spec": {"minAvailable": min_available,
                    "selector": {"matchLabels": {"kubewarden/policy-server": "pci-policies"}}}});
            assert_eq!(violations(budget), Vec::<String>::new());
        }
        let budget = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "pci-policies", "namespace": "kubewarden"},
            "spec": {"minAvailable": true}});
        assert_eq!(
            violations(budget),
            ["spec.minAvailable: invalid type: boolean `true`, expected IntOrString"]
        );
    }

    #[test]
    fn empty_required_fields_are_named() {
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
                      {"apiGroups": [""], "resources": ["namespaces"], "verbs": []}]});
        assert_eq!(violations(role), ["rules[1].verbs: required, empty"]);
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ""},
            "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "kubewarden"}]});
        assert_eq!(violations(binding), ["roleRef.name: required, empty"]);
    }
}
