//! One Kubernetes object of a rendering or a manifest file, read from YAML, with what the
//! checks ask of every object: its apiVersion, kind, name, namespace and a label for messages.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

/// An object as written (JSON values; YAML read as the API server's YAML decoder reads it).
#[derive(Clone, Debug)]
pub struct Object {
    /// The whole object.
    pub value: Value,
    /// Its place in the stream, from 1, for objects that cannot be named otherwise.
    pub document: usize,
}

impl Object {
    /// The object's `apiVersion` (empty when it has none or it is not a string).
    pub fn api_version(&self) -> &str {
        self.str_at("/apiVersion")
    }

    /// The object's `kind` (empty when it has none or it is not a string).
    pub fn kind(&self) -> &str {
        self.str_at("/kind")
    }

    /// `metadata.name` (empty when missing).
    pub fn name(&self) -> &str {
        self.str_at("/metadata/name")
    }

    /// `metadata.namespace`, when stated.
    pub fn namespace(&self) -> Option<&str> {
        self.value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
    }

    /// True for this apiVersion and kind.
    pub fn is(&self, api_version: &str, kind: &str) -> bool {
        self.api_version() == api_version && self.kind() == kind
    }

    /// The string at a JSON pointer, or empty.
    pub fn str_at(&self, pointer: &str) -> &str {
        self.value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `Kind name`, `Kind namespace/name`, or `document N` for an object without kind or name.
    pub fn label(&self) -> String {
        match (self.kind(), self.name(), self.namespace()) {
            ("", _, _) => format!("document {}", self.document),
            (kind, "", _) => format!("document {} ({kind})", self.document),
            (kind, name, Some(namespace)) => format!("{kind} {namespace}/{name}"),
            (kind, name, None) => format!("{kind} {name}"),
        }
    }
}

/// Every object of a multi-document YAML stream, in order; empty documents (a leading `---`,
/// comments only) are skipped, as kubectl skips them. A document that is not a mapping is an
/// error naming it.
pub fn read_objects(text: &str) -> Result<Vec<Object>> {
    let mut objects = Vec::new();
    for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document)
            .with_context(|| format!("document {} is not readable YAML", index + 1))?;
        match value {
            Value::Null => {}
            Value::Object(_) => objects.push(Object {
                value,
                document: index + 1,
            }),
            other => bail!(
                "document {} is not a Kubernetes object (a mapping) but {other}",
                index + 1
            ),
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_document_and_names_each_object() {
        let objects = read_objects(
            "---\n# nothing\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: kubewarden}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: kubewarden}\n---\nkind: Thing\n",
        )
        .unwrap();
        let labels: Vec<_> = objects.iter().map(Object::label).collect();
        assert_eq!(
            labels,
            [
                "ServiceAccount kubewarden/sa",
                "Namespace kubewarden",
                "document 4 (Thing)"
            ]
        );
    }

    #[test]
    fn a_document_that_is_not_a_mapping_is_an_error_naming_it() {
        let error = read_objects("apiVersion: v1\nkind: Namespace\n---\n- a\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "document 2 is not a Kubernetes object (a mapping) but [\"a\"]"
        );
    }
}
