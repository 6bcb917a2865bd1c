//! Surgical mutation: edits applied to the raw admitted object by field path.
//!
//! The object is edited as JSON, never re-serialised through typed structs, so every field the
//! policy does not own (including fields unknown to our model) comes back byte for byte. When no
//! edit changes anything, [`ObjectEditor::finish`] returns `None`: no patch is emitted.

use serde_json::{Map, Value};

use crate::path::{FieldPath, Segment};

/// An edit could not be applied because the object has an unexpected shape at `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot edit {}: {}", self.path, self.message)
    }
}

impl std::error::Error for EditError {}

/// Applies edits to one object and remembers whether anything changed.
#[derive(Debug)]
pub struct ObjectEditor {
    object: Value,
    changed: bool,
}

impl ObjectEditor {
    /// Starts editing `object`.
    pub fn new(object: Value) -> Self {
        Self {
            object,
            changed: false,
        }
    }

    /// The value at `path`, if present and not `null`.
    pub fn get(&self, path: &FieldPath) -> Option<&Value> {
        let mut node = &self.object;
        for segment in path.segments() {
            node = match (segment, node) {
                (Segment::Field(name), Value::Object(map)) => map.get(name.as_ref())?,
                (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        (!node.is_null()).then_some(node)
    }

    /// Sets `path` to `value`, creating missing (or `null`) parent objects.
    pub fn set(&mut self, path: &FieldPath, value: Value) -> Result<(), EditError> {
        let slot = self.slot(path)?;
        if *slot != value {
            *slot = value;
            self.changed = true;
        }
        Ok(())
    }

    /// Sets `path` to `value` only when it is absent or `null`; returns whether it did.
    pub fn set_if_absent(&mut self, path: &FieldPath, value: Value) -> Result<bool, EditError> {
        if self.get(path).is_some() {
            return Ok(false);
        }
        self.set(path, value)?;
        Ok(true)
    }

    /// Appends `value` to the array at `path` (created when absent) unless it is already there;
    /// returns whether it appended.
    pub fn append_unique(&mut self, path: &FieldPath, value: Value) -> Result<bool, EditError> {
        let slot = self.slot(path)?;
        if slot.is_null() {
            *slot = Value::Array(Vec::new());
        }
        let Value::Array(items) = slot else {
            return Err(EditError {
                path: path.to_string(),
                message: "expected an array".into(),
            });
        };
        if items.contains(&value) {
            return Ok(false);
        }
        items.push(value);
        self.changed = true;
        Ok(true)
    }

    /// The edited object, or `None` when no edit changed it.
    pub fn finish(self) -> Option<Value> {
        self.changed.then_some(self.object)
    }

    /// The edited object as a response's mutated object, when anything changed.
    pub fn into_mutated(
        self,
    ) -> Result<Option<crate::response::MutatedObject>, crate::input::InputError> {
        self.finish()
            .map(|edited| crate::response::MutatedObject::from_value(&edited))
            .transpose()
    }

    /// The object as edited so far.
    pub fn object(&self) -> &Value {
        &self.object
    }

    fn slot(&mut self, path: &FieldPath) -> Result<&mut Value, EditError> {
        let mut node = &mut self.object;
        for (depth, segment) in path.segments().iter().enumerate() {
            let here = || {
                let mut prefix = FieldPath::root();
                for s in &path.segments()[..depth] {
                    prefix = match s {
                        Segment::Field(name) => prefix.field(name.clone()),
                        Segment::Index(i) => prefix.index(*i),
                    };
                }
                prefix.to_string()
            };
            node = match segment {
                Segment::Field(name) => {
                    if node.is_null() {
                        *node = Value::Object(Map::new());
                    }
                    let Value::Object(map) = node else {
                        return Err(EditError {
                            path: here(),
                            message: "expected an object".into(),
                        });
                    };
                    map.entry(name.as_ref()).or_insert(Value::Null)
                }
                Segment::Index(i) => {
                    let Value::Array(items) = node else {
                        return Err(EditError {
                            path: here(),
                            message: "expected an array".into(),
                        });
                    };
                    let length = items.len();
                    items.get_mut(*i).ok_or_else(|| EditError {
                        path: here(),
                        message: format!("index {i} is out of range (length {length})"),
                    })?
                }
            };
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container_path(index: usize) -> FieldPath {
        FieldPath::parse_static("spec.containers").index(index)
    }

    #[test]
    fn edits_only_the_owned_fields() {
        let original = json!({
            "spec": {"containers": [
                {"name": "a", "securityContext": {"runAsUser": 1000, "x-unknown": {"keep": true}}},
                {"name": "b", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}
            ], "futureField": [1, 2, 3]}
        });
        let mut editor = ObjectEditor::new(original.clone());
        let drop = container_path(0).fields("securityContext.capabilities.drop");
        assert!(editor.append_unique(&drop, json!("ALL")).expect("edit"));
        let mut expected = original;
        expected["spec"]["containers"][0]["securityContext"]["capabilities"] =
            json!({"drop": ["ALL"]});
        assert_eq!(editor.finish(), Some(expected));
    }

    #[test]
    fn no_change_means_no_patch() {
        let original = json!({"spec": {"securityContext": {"runAsNonRoot": true}}});
        let mut editor = ObjectEditor::new(original);
        let path = FieldPath::parse_static("spec.securityContext.runAsNonRoot");
        assert!(!editor.set_if_absent(&path, json!(true)).expect("edit"));
        editor.set(&path, json!(true)).expect("edit");
        assert_eq!(editor.finish(), None);
    }

    #[test]
    fn null_parents_are_replaced_and_wrong_shapes_are_errors() {
        let mut editor =
            ObjectEditor::new(json!({"spec": {"securityContext": null, "containers": "x"}}));
        let seccomp = FieldPath::parse_static("spec.securityContext.seccompProfile");
        assert!(
            editor
                .set_if_absent(&seccomp, json!({"type": "RuntimeDefault"}))
                .expect("edit")
        );
        let error = editor
            .set(&container_path(0).field("name"), json!("a"))
            .expect_err("containers is a string");
        assert_eq!(error.path, "spec.containers");
    }
}
