//! Reading a value with a Kubernetes type and writing it out again, as the API server decodes a
//! core object: a field that does not come back is one the type does not have (or a null it
//! drops), a field that comes back added is a required one the value lacks, and a wrongly typed
//! field is named by its path.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::findings::{Violation, shown};

/// Every violation of `value` (at `path`) read as `T`.
pub fn round_trip<T: DeserializeOwned + Serialize>(
    value: &Value,
    path: &FieldPath,
) -> Vec<Violation> {
    let typed: T = match serde_path_to_error::deserialize(value) {
        Ok(typed) => typed,
        Err(error) => {
            let mut at = path.clone();
            for segment in error.path().iter() {
                at = match segment {
                    serde_path_to_error::Segment::Seq { index } => at.index(*index),
                    serde_path_to_error::Segment::Map { key } => at.field(key.clone()),
                    serde_path_to_error::Segment::Enum { variant } => at.field(variant.clone()),
                    serde_path_to_error::Segment::Unknown => at,
                };
            }
            return vec![Violation::new(at, error.into_inner().to_string())];
        }
    };
    match serde_json::to_value(&typed) {
        Ok(written) => {
            let mut out = Vec::new();
            differences(value, &written, path, &mut out);
            out
        }
        Err(error) => vec![Violation::new(
            path.clone(),
            format!("cannot be written back: {error}"),
        )],
    }
}

/// Where `written` differs from `original`.
fn differences(original: &Value, written: &Value, path: &FieldPath, out: &mut Vec<Violation>) {
    match (original, written) {
        (Value::Object(original), Value::Object(written)) => {
            for (name, value) in original {
                let at = path.field(name.clone());
                match written.get(name) {
                    Some(kept) => differences(value, kept, &at, out),
                    None if value.is_null() => out.push(Violation::new(
                        at,
                        "null: the API server drops the field (omit it or give a value)",
                    )),
                    None => out.push(Violation::new(
                        at,
                        "not a field of this kind: the API server refuses or drops it",
                    )),
                }
            }
            for name in written.keys().filter(|name| !original.contains_key(*name)) {
                out.push(Violation::new(
                    path.field(name.clone()),
                    "required, missing",
                ));
            }
        }
        (Value::Array(original), Value::Array(written)) if original.len() == written.len() => {
            for (index, (value, kept)) in original.iter().zip(written).enumerate() {
                differences(value, kept, &path.index(index), out);
            }
        }
        (original, written) if original == written => {}
        (original, written) => out.push(Violation::new(
            path.clone(),
            format!(
                "{} is read back as {}: not kept as written",
                shown(original),
                shown(written)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
    use serde_json::json;

    fn violations(value: Value) -> Vec<String> {
        round_trip::<ClusterRoleBinding>(&value, &FieldPath::root())
            .into_iter()
            .map(|violation| format!("{}: {}", violation.path, violation.message))
            .collect()
    }

    #[test]
    fn a_complete_object_comes_back_whole() {
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "kubewarden"}]});
        assert_eq!(violations(binding), Vec::<String>::new());
    }

    #[test]
    fn unknown_null_and_missing_required_fields_are_named() {
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "b", "labelz": {}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": null}]});
        assert_eq!(
            violations(binding),
            [
                "metadata.labelz: not a field of this kind: the API server refuses or drops it",
                "roleRef.name: required, missing",
                "subjects[0].namespace: null: the API server drops the field (omit it or give a value)",
            ]
        );
    }

    #[test]
    fn a_wrong_type_is_named_by_its_path() {
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": 7}]});
        assert_eq!(
            violations(binding),
            ["subjects[0].name: invalid type: integer `7`, expected a string"]
        );
    }
}
