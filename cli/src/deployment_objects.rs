//! The objects a bundle deploys beside its policies: the PolicyServer they run on and what it
//! needs (its service account and RBAC, PodDisruptionBudget and verification ConfigMap), as
//! `deploy/` and `manifests/pci-policies.yaml` ship them. The readers of policy manifests
//! (`scan --policies`, `evidence --manifests`) recognise these by apiVersion and kind and pass
//! over them; any other kind stays an error, never skipped in silence.

use serde_json::Value;

/// `(apiVersion, kind)` of every object the bundle deploys that is not a policy.
pub const DEPLOYMENT_OBJECTS: [(&str, &str); 6] = [
    ("policies.kubewarden.io/v1", "PolicyServer"),
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("policy/v1", "PodDisruptionBudget"),
];

/// True when `document` is one of [`DEPLOYMENT_OBJECTS`].
pub fn is_deployment_object(document: &Value) -> bool {
    let (Some(api_version), Some(kind)) =
        (document["apiVersion"].as_str(), document["kind"].as_str())
    else {
        return false;
    };
    DEPLOYMENT_OBJECTS.contains(&(api_version, kind))
}

/// `PolicyServer, ServiceAccount, …`, for messages.
pub fn kinds() -> String {
    DEPLOYMENT_OBJECTS
        .iter()
        .map(|(_, kind)| *kind)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_recognised_by_api_version_and_kind() {
        assert!(is_deployment_object(
            &json!({"apiVersion": "policies.kubewarden.io/v1", "kind": "PolicyServer"})
        ));
        assert!(is_deployment_object(
            &json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget"})
        ));
        for other in [
            json!({"apiVersion": "v1", "kind": "Secret"}),
            json!({"apiVersion": "example.com/v1", "kind": "PolicyServer"}),
            json!({"apiVersion": "v1", "kind": "Namespace"}),
            json!({"kind": "ConfigMap"}),
            json!("ConfigMap"),
        ] {
            assert!(!is_deployment_object(&other), "{other}");
        }
    }
}
