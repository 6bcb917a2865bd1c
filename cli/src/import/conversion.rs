//! One imported object as pod-security settings: the settings, and a note on every field that
//! could not be expressed exactly, rendered as commented YAML.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Why a source field is not carried over as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The settings key the note is about, or `None` for a field with no setting.
    pub setting: Option<String>,
    /// The source field (`spec.runAsUser`, `parameters.exemptImages`).
    pub source: String,
    pub why: String,
}

/// The settings converted from one source, with their notes.
#[derive(Clone, Debug, Default)]
pub struct Conversion {
    /// What was converted: `PodSecurityPolicy "restricted" (psp.yaml)`.
    pub title: String,
    /// A name for the policy (`metadata.name` of the source).
    pub name: String,
    pub settings: Map<String, Value>,
    pub notes: Vec<Note>,
}

impl Conversion {
    /// An empty conversion of `title`, named `name`, at `level`.
    pub fn new(title: String, name: String, level: &str) -> Self {
        let mut settings = Map::new();
        settings.insert("level".to_owned(), Value::String(level.to_owned()));
        Self {
            title,
            name,
            settings,
            notes: Vec::new(),
        }
    }

    /// Sets a setting.
    pub fn set(&mut self, key: &str, value: Value) {
        self.settings.insert(key.to_owned(), value);
    }

    /// Notes why `source` is carried over as `setting` only approximately (or not at all).
    pub fn note(&mut self, setting: Option<&str>, source: &str, why: impl Into<String>) {
        self.notes.push(Note {
            setting: setting.map(str::to_owned),
            source: source.to_owned(),
            why: why.into(),
        });
    }

    /// Turns on `mutate.<default>`.
    pub fn enable_default(&mut self, default: &str) {
        let mutate = self
            .settings
            .entry("mutate")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = mutate {
            map.insert(default.to_owned(), Value::Bool(true));
        }
    }

    /// True when a default is turned on: the policy must be deployed as mutating.
    pub fn mutates(&self) -> bool {
        self.settings
            .get("mutate")
            .and_then(Value::as_object)
            .is_some_and(|m| m.values().any(|v| v == &Value::Bool(true)))
    }

    /// The settings as YAML, each key preceded by its notes, indented by `indent` spaces; the
    /// notes on fields with no setting come first.
    pub fn render_settings(&self, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut out = String::new();
        for note in self.notes.iter().filter(|n| n.setting.is_none()) {
            let _ = writeln!(out, "{pad}# not expressed: {}: {}", note.source, note.why);
        }
        let mut keys: Vec<&String> = self.settings.keys().collect();
        keys.sort_by_key(|k| (k.as_str() != "level", k.as_str() != "version", k.as_str()));
        for key in keys {
            for note in self
                .notes
                .iter()
                .filter(|n| n.setting.as_deref() == Some(key))
            {
                let _ = writeln!(out, "{pad}# {}: {}", note.source, note.why);
            }
            let mut one = Map::new();
            one.insert(key.clone(), self.settings[key].clone());
            let yaml = serde_yaml::to_string(&Value::Object(one)).unwrap_or_default();
            for line in yaml.lines() {
                let _ = writeln!(out, "{pad}{line}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notes_precede_their_setting_and_unexpressed_fields_come_first() {
        let mut conversion = Conversion::new("t".into(), "n".into(), "restricted");
        conversion.set("volumes", json!(["secret"]));
        conversion.note(Some("volumes"), "spec.volumes", "narrowed");
        conversion.note(None, "spec.users", "RBAC");
        conversion.enable_default("podSecurityPolicyDefaults");
        let text = conversion.render_settings(2);
        assert_eq!(
            text,
            "  # not expressed: spec.users: RBAC\n  level: restricted\n  mutate:\n    podSecurityPolicyDefaults: true\n  # spec.volumes: narrowed\n  volumes:\n  - secret\n"
        );
        assert!(conversion.mutates());
        let back: Value = serde_yaml::from_str(&text).expect("the rendering is YAML");
        assert_eq!(back["volumes"], json!(["secret"]));
    }
}
