//! The API group and resource (the plural RBAC names) of the kinds a context-aware policy may
//! read, from the Kubernetes types. A kind missing here is an error, never a guessed plural.

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::node::v1::RuntimeClass;

/// A resource as an RBAC rule names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiResource {
    /// `""` for the core group.
    pub group: &'static str,
    /// `runtimeclasses`.
    pub resource: &'static str,
}

impl std::fmt::Display for ApiResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.group {
            "" => write!(f, "{} (core group)", self.resource),
            group => write!(f, "{}.{group}", self.resource),
        }
    }
}

/// The resource of `apiVersion` and `kind` (`node.k8s.io/v1`, `RuntimeClass`), if known.
pub fn resource_of(api_version: &str, kind: &str) -> Option<ApiResource> {
    known()
        .into_iter()
        .find(|(known_version, known_kind, _)| *known_version == api_version && *known_kind == kind)
        .map(|(_, _, resource)| resource)
}

fn entry<T: Resource>() -> (&'static str, &'static str, ApiResource) {
    (
        T::API_VERSION,
        T::KIND,
        ApiResource {
            group: T::GROUP,
            resource: T::URL_PATH_SEGMENT,
        },
    )
}

fn known() -> [(&'static str, &'static str, ApiResource); 17] {
    [
        entry::<Namespace>(),
        entry::<RuntimeClass>(),
        entry::<Pod>(),
        entry::<Node>(),
        entry::<Service>(),
        entry::<ServiceAccount>(),
        entry::<ConfigMap>(),
        entry::<Secret>(),
        entry::<PersistentVolumeClaim>(),
        entry::<Deployment>(),
        entry::<ReplicaSet>(),
        entry::<StatefulSet>(),
        entry::<DaemonSet>(),
        entry::<Job>(),
        entry::<CronJob>(),
        entry::<Ingress>(),
        entry::<NetworkPolicy>(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_runtime_isolation_reads_map_to_their_resources() {
        assert_eq!(
            resource_of("v1", "Namespace"),
            Some(ApiResource {
                group: "",
                resource: "namespaces"
            })
        );
        assert_eq!(
            resource_of("node.k8s.io/v1", "RuntimeClass"),
            Some(ApiResource {
                group: "node.k8s.io",
                resource: "runtimeclasses"
            })
        );
        assert_eq!(resource_of("node.k8s.io/v1beta1", "RuntimeClass"), None);
    }
}
