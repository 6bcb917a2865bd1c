//! Reading cluster objects through the host (`kubernetes/get_resource`), behind a trait so the
//! policy is a pure function in native tests.

use serde_json::Value;

/// What a lookup found.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    Found(Value),
    /// The object does not exist.
    Missing,
}

/// Where cluster objects come from: the Kubewarden host in a policy, a recording in tests.
pub trait ClusterLookup {
    /// The cluster-scoped object `kind` named `name` of `api_version`.
    fn get(api_version: &str, kind: &str, name: &str) -> Result<Lookup, String>;
}

/// The Kubewarden host capability `kubernetes/get_resource`; the resource must be listed in the
/// policy's `contextAwareResources`.
pub struct HostCluster;

impl ClusterLookup for HostCluster {
    fn get(api_version: &str, kind: &str, name: &str) -> Result<Lookup, String> {
        match pci_shared::host_calls::get_resource(api_version, kind, name) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Lookup::Found)
                .map_err(|e| format!("the host answered invalid JSON: {e}")),
            Err(error) => classify(&error),
        }
    }
}

/// A host error that says the object does not exist is `Missing` (read on the whole text); any
/// other is an error, in the host's words without its wrappers or a stack trace
/// ([`pci_shared::host_error::trimmed`]).
pub fn classify(message: &str) -> Result<Lookup, String> {
    if message.contains("not found") || message.contains("NotFound") {
        Ok(Lookup::Missing)
    } else {
        Err(pci_shared::host_error::trimmed(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_missing_and_anything_else_an_error_without_the_transport_prefix() {
        assert_eq!(
            classify("Host error: runtimeclasses.node.k8s.io \"x\" not found"),
            Ok(Lookup::Missing)
        );
        assert_eq!(
            classify("Host error: connection refused"),
            Err("connection refused".to_owned())
        );
        assert_eq!(classify("forbidden"), Err("forbidden".to_owned()));
    }
}
