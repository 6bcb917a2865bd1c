//! `metadata` of every object, read as the API server reads it (ObjectMeta, whatever the kind):
//! no unknown field, a name that is a DNS subdomain, label and annotation keys that are
//! qualified names and label values it accepts, no namespace on a cluster-scoped object (the
//! API server would drop it silently), no field only the API server sets.

use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use regex::Regex;
use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::findings::Violation;
use crate::deploy::roundtrip::round_trip;

/// Where an object lives, which decides what its metadata may say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// In a namespace.
    Namespaced,
    /// Cluster-wide: a namespace would be dropped.
    Cluster,
    /// Inside another object (`x-kubernetes-embedded-resource`): a name is optional.
    Embedded,
}

/// Fields of ObjectMeta the API server sets; a bundle that states them is ignored there.
const SERVER_SET: [&str; 8] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Every violation of `metadata` (at `path`) for an object of `scope`.
pub fn metadata_violations(metadata: &Value, path: &FieldPath, scope: Scope) -> Vec<Violation> {
    let mut out = round_trip::<ObjectMeta>(metadata, path);
    let name = metadata.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        if scope != Scope::Embedded {
            out.push(Violation::new(path.field("name"), "required, missing"));
        }
    } else if !is_dns_subdomain(name) {
        out.push(Violation::new(
            path.field("name"),
            format!("{name:?} is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253)"),
        ));
    }
    if scope == Scope::Cluster && metadata.get("namespace").is_some() {
        out.push(Violation::new(
            path.field("namespace"),
            "a cluster-scoped object has no namespace: the API server drops it silently (kustomize's `namespace:` adds one to kinds it does not know; state the namespace on the namespaced objects instead)",
        ));
    }
    out.extend(label_violations(metadata, path));
    for field in SERVER_SET {
        if metadata.get(field).is_some() {
            out.push(Violation::new(
                path.field(field),
                "set by the API server: a manifest does not state it",
            ));
        }
    }
    out
}

/// Label keys and values, and annotation keys, the API server refuses.
fn label_violations(metadata: &Value, path: &FieldPath) -> Vec<Violation> {
    let mut out = Vec::new();
    for field in ["labels", "annotations"] {
        let Some(entries) = metadata.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in entries {
            let at = path.field(field).field(key.clone());
            if !is_qualified_name(key) {
                out.push(Violation::new(
                    at.clone(),
                    format!("{key:?} is not a qualified name ([DNS subdomain/]name, the name at most 63 characters)"),
                ));
            }
            if field == "labels"
                && let Some(text) = value.as_str()
                && !is_label_value(text)
            {
                out.push(Violation::new(
                    at,
                    format!("{text:?} is not a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"),
                ));
            }
        }
    }
    out
}

/// A Kubernetes qualified name (`prefix/name`: an optional DNS subdomain, a name of at most 63
/// characters), as label and annotation keys and match condition names are.
pub fn is_qualified_name(name: &str) -> bool {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
            .expect("the qualified name pattern compiles")
    });
    match name.rsplit_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && pattern.is_match(name),
        None => pattern.is_match(name),
    }
}

/// A label value: empty, or at most 63 characters as a qualified name's name part.
fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_qualified_name(value) && !value.contains('/')
}

/// A DNS-1123 subdomain, as Kubernetes names most objects.
pub fn is_dns_subdomain(name: &str) -> bool {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
            .expect("the DNS subdomain pattern compiles")
    });
    name.len() <= 253 && pattern.is_match(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn violations(metadata: Value, scope: Scope) -> Vec<String> {
        metadata_violations(&metadata, &FieldPath::parse_static("metadata"), scope)
            .into_iter()
            .map(|violation| format!("{}: {}", violation.path, violation.message))
            .collect()
    }

    #[test]
    fn a_plain_name_with_labels_passes() {
        let metadata = json!({"name": "pci-3.2-image-integrity", "labels": {"a": "b"}});
        assert_eq!(violations(metadata, Scope::Cluster), Vec::<String>::new());
    }

    #[test]
    fn a_namespace_on_a_cluster_scoped_object_is_named() {
        let found = violations(
            json!({"name": "p", "namespace": "kubewarden"}),
            Scope::Cluster,
        );
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("metadata.namespace: a cluster-scoped object has no namespace")
        );
        assert_eq!(
            violations(
                json!({"name": "p", "namespace": "kubewarden"}),
                Scope::Namespaced
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn missing_bad_names_unknown_and_server_set_fields_are_named() {
        assert_eq!(
            violations(json!({"labels": {}}), Scope::Namespaced),
            ["metadata.name: required, missing"]
        );
        assert_eq!(
            violations(
                json!({"name": "Pci_Policies", "nmae": "x", "uid": "1"}),
                Scope::Cluster
            ),
            [
                "metadata.nmae: not a field of this kind: the API server refuses or drops it",
                "metadata.name: \"Pci_Policies\" is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253)",
                "metadata.uid: set by the API server: a manifest does not state it",
            ]
        );
        assert_eq!(violations(json!({}), Scope::Embedded), Vec::<String>::new());
    }

    #[test]
    fn label_and_annotation_keys_and_label_values_are_checked() {
        let metadata = json!({"name": "p",
            "labels": {"app.kubernetes.io/part-of": "pci-policies", "tier": "PCI DSS"},
            "annotations": {"io.kubewarden.policy.category": "PCI DSS", "bad key": "x"}});
        assert_eq!(
            violations(metadata, Scope::Cluster),
            [
                "metadata.labels.tier: \"PCI DSS\" is not a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)",
                "metadata.annotations.bad key: \"bad key\" is not a qualified name ([DNS subdomain/]name, the name at most 63 characters)",
            ]
        );
    }
}
