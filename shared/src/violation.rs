//! Violations and how they are reported: one deterministic rejection message listing all of them,
//! and the same data as warnings and audit annotations.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::json;

use crate::path::FieldPath;

/// One failed control on one field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Violation {
    /// The offending field, relative to the object.
    pub path: FieldPath,
    /// The control id, e.g. `privileged` or `capabilities_restricted`.
    pub control: &'static str,
    /// The container concerned, if the field belongs to one.
    pub container: Option<String>,
    /// The offending value and what is allowed.
    pub message: String,
    /// The PCI guidance reference, e.g. `3.1`.
    pub pci: &'static str,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.control, self.path)?;
        if let Some(container) = &self.container {
            write!(f, " (container \"{container}\")")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A sorted, de-duplicated collection of violations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations(BTreeSet<Violation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a violation (a duplicate is kept once).
    pub fn push(&mut self, violation: Violation) {
        self.0.insert(violation);
    }

    /// Keeps only the violations `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&Violation) -> bool) {
        self.0.retain(keep);
    }

    /// True when nothing was violated.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many distinct violations.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The violations in their stable order: by field path, then control.
    pub fn iter(&self) -> impl Iterator<Item = &Violation> {
        self.0.iter()
    }

    /// The one-line rejection message: `<policy> rejected <subject> (PCI DSS <refs>): N violations: …`.
    pub fn rejection_message(&self, policy: &str, subject: &str) -> String {
        let references: BTreeSet<&str> = self.0.iter().map(|v| v.pci).collect();
        let references: Vec<&str> = references.into_iter().collect();
        let count = match self.0.len() {
            1 => "1 violation".to_owned(),
            n => format!("{n} violations"),
        };
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        format!(
            "{policy} rejected {subject} (PCI DSS {}): {count}: {}",
            references.join(", "),
            lines.join("; ")
        )
    }

    /// One warning per violation, prefixed by the policy name and suffixed by the PCI reference.
    pub fn warnings(&self, policy: &str) -> Vec<String> {
        self.0
            .iter()
            .map(|v| format!("{policy}: {v} (PCI DSS {})", v.pci))
            .collect()
    }

    /// The violations as a JSON array, for the `violations` audit annotation.
    pub fn audit_annotation(&self) -> String {
        let entries: Vec<serde_json::Value> = self
            .0
            .iter()
            .map(|v| {
                json!({
                    "control": v.control,
                    "path": v.path.to_string(),
                    "container": v.container,
                    "message": v.message,
                    "pci": v.pci,
                })
            })
            .collect();
        serde_json::Value::Array(entries).to_string()
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::collections::btree_set::IntoIter<Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Extend<Violation> for Violations {
    fn extend<I: IntoIterator<Item = Violation>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl FromIterator<Violation> for Violations {
    fn from_iter<I: IntoIterator<Item = Violation>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(path: FieldPath, control: &'static str, container: Option<&str>) -> Violation {
        Violation {
            path,
            control,
            container: container.map(str::to_owned),
            message: "true, allowed: false or unset".into(),
            pci: "3.1",
        }
    }

    #[test]
    fn renders_every_violation_sorted_and_once() {
        let containers = FieldPath::parse_static("spec.containers");
        let mut violations = Violations::new();
        violations.push(violation(
            containers.index(10).fields("securityContext.privileged"),
            "privileged",
            Some("b"),
        ));
        violations.push(violation(
            containers.index(2).fields("securityContext.privileged"),
            "privileged",
            Some("a"),
        ));
        violations.push(violation(
            containers.index(2).fields("securityContext.privileged"),
            "privileged",
            Some("a"),
        ));
        violations.push(violation(
            FieldPath::parse_static("spec.hostPID"),
            "hostNamespaces",
            None,
        ));
        assert_eq!(violations.len(), 3);
        assert_eq!(
            violations.rejection_message("pod-security", "Pod ns/web"),
            "pod-security rejected Pod ns/web (PCI DSS 3.1): 3 violations: \
             [privileged] spec.containers[2].securityContext.privileged (container \"a\"): true, allowed: false or unset; \
             [privileged] spec.containers[10].securityContext.privileged (container \"b\"): true, allowed: false or unset; \
             [hostNamespaces] spec.hostPID: true, allowed: false or unset"
        );
        let warnings = violations.warnings("pod-security");
        assert_eq!(warnings.len(), 3);
        assert!(warnings[2].ends_with("(PCI DSS 3.1)"));
        let audit: serde_json::Value =
            serde_json::from_str(&violations.audit_annotation()).expect("JSON");
        assert_eq!(audit[2]["path"], "spec.hostPID");
        assert_eq!(audit[0]["container"], "a");
    }
}
