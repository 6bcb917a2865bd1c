//! One imported object as pod-security settings: the settings, and a note on every field that
//! could not be expressed exactly, rendered as commented YAML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde_json::{Map, Value};

/// Settings whose value only widens the level when `true`: of two sources, `false` wins.
const WIDENING_FLAGS: [&str; 5] = [
    "privileged",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "allowPrivilegeEscalation",
];

/// Settings listing what is forbidden or required: two sources add up.
const DENY_LISTS: [&str; 2] = ["forbiddenSysctls", "requiredDropCapabilities"];

/// Why a source field is not carried over as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The settings key the note is about, or `None` for a field with no setting.
    pub setting: Option<String>,
    /// The source field (`spec.runAsUser`, `parameters.exemptImages`).
    pub source: String,
    pub why: String,
    /// The controls under which the imported policy refuses what the source accepted, when the
    /// note says the import is stricter than its source (empty otherwise).
    pub stricter: Vec<String>,
}

impl Note {
    /// The note as one comment line's text: `source: why`, `not expressed: source: why` for a
    /// field with no setting, `source: stricter than the source (controls): why`.
    fn render(&self) -> String {
        if !self.stricter.is_empty() {
            format!(
                "{}: stricter than the source ({}): {}",
                self.source,
                self.stricter.join(", "),
                self.why
            )
        } else if self.setting.is_none() {
            format!("not expressed: {}: {}", self.source, self.why)
        } else {
            format!("{}: {}", self.source, self.why)
        }
    }
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
    /// Which source set each setting, for the settings several sources may set.
    origins: BTreeMap<String, String>,
    /// The settings [`Conversion::narrow`] was given since the last [`Conversion::take_touched`].
    touched: Vec<String>,
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
            origins: BTreeMap::new(),
            touched: Vec::new(),
        }
    }

    /// Sets a setting.
    pub fn set(&mut self, key: &str, value: Value) {
        self.settings.insert(key.to_owned(), value);
    }

    /// Sets `key` to `value` for `source`, in a conversion several sources add to (Gatekeeper
    /// constraints, upstream policies: they all apply together), so that the result is never
    /// looser than either source: an equal value stays; deny lists add up; of two values of a
    /// flag that only widens the level, `false` wins; any other second value is an error naming
    /// both sources (pod-security takes one such setting).
    pub fn narrow(&mut self, key: &str, value: Value, source: &str) -> Result<()> {
        self.touched.push(key.to_owned());
        let Some(current) = self.settings.get(key) else {
            self.origins.insert(key.to_owned(), source.to_owned());
            self.set(key, value);
            return Ok(());
        };
        if current == &value {
            return Ok(());
        }
        if WIDENING_FLAGS.contains(&key) {
            if value == Value::Bool(false) {
                self.origins.insert(key.to_owned(), source.to_owned());
                self.set(key, value);
            }
            return Ok(());
        }
        if DENY_LISTS.contains(&key)
            && let (Some(current), Some(more)) = (current.as_array(), value.as_array())
        {
            let mut union = current.clone();
            union.extend(more.iter().filter(|v| !current.contains(v)).cloned());
            self.set(key, Value::Array(union));
            return Ok(());
        }
        let first = self
            .origins
            .get(key)
            .map_or("another source", String::as_str);
        bail!(
            "{source} sets {key} to {value}, and {first} to {current}: pod-security takes one {key}, and either alone would admit what the other refuses; merge them into one, or import them separately for policies on separate namespaces"
        )
    }

    /// The settings narrowed since the last call: what one source set.
    pub fn take_touched(&mut self) -> Vec<String> {
        std::mem::take(&mut self.touched)
    }

    /// Notes why `source` is carried over as `setting` only approximately (or not at all).
    pub fn note(&mut self, setting: Option<&str>, source: &str, why: impl Into<String>) {
        self.notes.push(Note {
            setting: setting.map(str::to_owned),
            source: source.to_owned(),
            why: why.into(),
            stricter: Vec::new(),
        });
    }

    /// Notes that the imported policy refuses, under `controls`, what `source` accepted, and why
    /// (an import may be stricter than its source, never looser).
    pub fn stricter(
        &mut self,
        setting: Option<&str>,
        source: &str,
        controls: &[&str],
        why: impl Into<String>,
    ) {
        self.notes.push(Note {
            setting: setting.map(str::to_owned),
            source: source.to_owned(),
            why: why.into(),
            stricter: controls.iter().map(|c| (*c).to_owned()).collect(),
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
    /// notes on fields with no setting (or on a setting left unset) come first.
    pub fn render_settings(&self, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut out = String::new();
        let unset = |note: &&Note| {
            note.setting
                .as_ref()
                .is_none_or(|setting| !self.settings.contains_key(setting))
        };
        for note in self.notes.iter().filter(unset) {
            let _ = writeln!(out, "{pad}# {}", note.render());
        }
        let mut keys: Vec<&String> = self.settings.keys().collect();
        keys.sort_by_key(|k| (k.as_str() != "level", k.as_str() != "version", k.as_str()));
        for key in keys {
            for note in self
                .notes
                .iter()
                .filter(|n| n.setting.as_deref() == Some(key))
            {
                let _ = writeln!(out, "{pad}# {}", note.render());
            }
            let mut one = Map::new();
            one.insert(key.clone(), self.settings[key].clone());
            let yaml = yaml_serde::to_string(&Value::Object(one)).unwrap_or_default();
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
        conversion.stricter(
            Some("exceptions"),
            "exemptImages",
            &["privileged"],
            "dropped",
        );
        conversion.enable_default("podSecurityPolicyDefaults");
        let text = conversion.render_settings(2);
        assert_eq!(
            text,
            "  # not expressed: spec.users: RBAC\n  # exemptImages: stricter than the source (privileged): dropped\n  level: restricted\n  mutate:\n    podSecurityPolicyDefaults: true\n  # spec.volumes: narrowed\n  volumes:\n  - secret\n"
        );
        assert!(conversion.mutates());
        let back: Value = yaml_serde::from_str(&text).expect("the rendering is YAML");
        assert_eq!(back["volumes"], json!(["secret"]));
    }

    #[test]
    fn sources_that_add_up_never_loosen_a_setting() {
        let mut conversion = Conversion::new("t".into(), "n".into(), "baseline");
        conversion.narrow("hostNetwork", json!(true), "a").unwrap();
        conversion.narrow("hostNetwork", json!(false), "b").unwrap();
        conversion.narrow("hostNetwork", json!(true), "c").unwrap();
        assert_eq!(conversion.settings["hostNetwork"], false);
        conversion
            .narrow("forbiddenSysctls", json!(["a.*"]), "a")
            .unwrap();
        conversion
            .narrow("forbiddenSysctls", json!(["b", "a.*"]), "b")
            .unwrap();
        assert_eq!(conversion.settings["forbiddenSysctls"], json!(["a.*", "b"]));
        conversion
            .narrow("volumes", json!(["secret"]), "a")
            .unwrap();
        conversion
            .narrow("volumes", json!(["secret"]), "b")
            .unwrap();
        let error = conversion
            .narrow("volumes", json!(["nfs"]), "c")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("c sets volumes to [\"nfs\"], and a to [\"secret\"]"),
            "{error}"
        );
        assert_eq!(
            conversion.take_touched(),
            [
                "hostNetwork",
                "hostNetwork",
                "hostNetwork",
                "forbiddenSysctls",
                "forbiddenSysctls",
                "volumes",
                "volumes",
                "volumes"
            ]
        );
    }
}
