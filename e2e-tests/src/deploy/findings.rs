//! What a check found wrong with one object: the object, the field path and what is wrong,
//! gathered per source (a rendered directory, a manifest file) and listed in a stable order.

use std::collections::BTreeSet;
use std::fmt;

use pci_shared::path::FieldPath;

/// One thing wrong with one object, at one field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The object, as `Kind name` or `Kind namespace/name` (`document 3` when it has no kind).
    pub object: String,
    /// The field, from the object's root (`spec.policies.pinned_by_digest.module`); empty for
    /// the object as a whole.
    pub path: FieldPath,
    /// What is wrong, and where it matters what to do.
    pub message: String,
}

impl Finding {
    /// A finding about `object` at `path`.
    pub fn new(object: impl Into<String>, path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            object: object.into(),
            path,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.segments().is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(f, "{}: {}: {}", self.object, self.path, self.message)
        }
    }
}

/// Something wrong at a field of an object not yet named: what the schema, metadata and core
/// kind checks find, before the caller says which object it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: FieldPath,
    pub message: String,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }

    /// This violation as a finding about `object`.
    pub fn of(self, object: &str) -> Finding {
        Finding::new(object, self.path, self.message)
    }
}

/// A value as it appears in messages: compact JSON, cut after 60 characters.
pub fn shown(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Every finding of a check run, each with its source, sorted and without duplicates.
#[derive(Debug, Default)]
pub struct Findings(BTreeSet<(String, Finding)>);

impl Findings {
    /// Adds what was found in `source` (a directory or file, relative to the checkout).
    pub fn add(&mut self, source: &str, found: impl IntoIterator<Item = Finding>) {
        self.0.extend(
            found
                .into_iter()
                .map(|finding| (source.to_owned(), finding)),
        );
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One line per finding: `source: Kind name: path: message`.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(source, finding)| format!("{source}: {finding}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_by_source_object_and_numeric_path_once_each() {
        let at = |index| FieldPath::parse_static("spec.rules").index(index);
        let mut findings = Findings::default();
        findings.add(
            "deploy/base",
            [
                Finding::new("ClusterAdmissionPolicy b", at(10), "ten"),
                Finding::new("ClusterAdmissionPolicy b", at(2), "two"),
                Finding::new("ClusterAdmissionPolicy a", FieldPath::root(), "whole"),
            ],
        );
        findings.add(
            "deploy/base",
            [Finding::new("ClusterAdmissionPolicy b", at(2), "two")],
        );
        assert_eq!(
            findings.lines(),
            [
                "deploy/base: ClusterAdmissionPolicy a: whole",
                "deploy/base: ClusterAdmissionPolicy b: spec.rules[2]: two",
                "deploy/base: ClusterAdmissionPolicy b: spec.rules[10]: ten",
            ]
        );
    }
}
