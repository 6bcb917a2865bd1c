//! Which objects are Kubewarden policies, groups and PolicyServers.

use crate::deploy::object::Object;

/// The API group of every Kubewarden kind.
pub const KUBEWARDEN_GROUP: &str = "policies.kubewarden.io";

fn kubewarden(object: &Object, kinds: &[&str]) -> bool {
    object
        .api_version()
        .split_once('/')
        .is_some_and(|(group, _)| group == KUBEWARDEN_GROUP)
        && kinds.contains(&object.kind())
}

/// A policy or a policy group, cluster-wide or namespaced.
pub fn is_policy(object: &Object) -> bool {
    kubewarden(
        object,
        &[
            "ClusterAdmissionPolicy",
            "ClusterAdmissionPolicyGroup",
            "AdmissionPolicy",
            "AdmissionPolicyGroup",
        ],
    )
}

/// A policy group.
pub fn is_group(object: &Object) -> bool {
    kubewarden(
        object,
        &["ClusterAdmissionPolicyGroup", "AdmissionPolicyGroup"],
    )
}

/// A cluster-wide policy or group (the ones a namespaceSelector scopes).
pub fn is_cluster_policy(object: &Object) -> bool {
    kubewarden(
        object,
        &["ClusterAdmissionPolicy", "ClusterAdmissionPolicyGroup"],
    )
}

/// A PolicyServer.
pub fn is_policy_server(object: &Object) -> bool {
    kubewarden(object, &["PolicyServer"])
}
