//! Violations and how they are reported: one deterministic rejection message that leads with
//! what to do and lists all of them, ending with the pages that explain each control; the same
//! data as warnings and audit annotations (with the details a message leaves out).

use std::collections::BTreeSet;
use std::fmt;

use serde_json::json;

use crate::host_error::one_line;
use crate::path::FieldPath;

/// Where each control's page is, `docs/controls/<control>.md` of the project's repository:
/// what the control is for, how to fix a violation and how to request an exception.
pub const CONTROL_DOCS: &str =
    "https://github.com/pci-policies/pci-policies/blob/main/docs/controls/";

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
    /// What the message leaves out for brevity (the host's own words, trimmed): audit
    /// annotation only.
    pub detail: Option<String>,
}

impl Violation {
    /// The page of this violation's control.
    pub fn doc_link(&self) -> String {
        format!("{CONTROL_DOCS}{}.md", self.control)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.control, self.path)?;
        if let Some(container) = &self.container {
            // Escaped: a name cannot close the quote and write a line of its own.
            write!(f, " (container \"{}\")", container.escape_debug())?;
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

    /// The rejection message. One violation: `<policy>: [control] path (container "c"):
    /// message`, the message saying what is wrong and what would pass. Several: `<policy>
    /// rejected <subject>: N violations in <where> (PCI DSS <refs>); …`, then one line per
    /// violation (`- [control] path (container "c"): message`). Either way the last line is
    /// the page of each control, in the order the violations first name them.
    pub fn rejection_message(&self, policy: &str, subject: &str) -> String {
        let mut links: Vec<String> = Vec::new();
        for violation in &self.0 {
            let link = violation.doc_link();
            if !links.contains(&link) {
                links.push(link);
            }
        }
        let more = links.join(", ");
        // One line per violation, whatever its text holds; two violations that differ only in
        // their details (two rules failing the same way) read as one.
        let mut lines: Vec<String> = self.0.iter().map(|v| one_line(&v.to_string())).collect();
        lines.dedup();
        if let [only] = lines.as_slice() {
            return format!("{policy}: {only}\n{more}");
        }
        let references: BTreeSet<&str> = self.0.iter().map(|v| v.pci).collect();
        let references: Vec<&str> = references.into_iter().collect();
        format!(
            "{policy} rejected {subject}: {} violations in {} (PCI DSS {}); fix each as its line says, or request an exception:\n- {}\n{more}",
            lines.len(),
            self.places(),
            references.join(", "),
            lines.join("\n- "),
        )
    }

    /// Where the violations are: `container "a", container "b" and the pod` (a field outside any container).
    fn places(&self) -> String {
        let mut places: Vec<String> = Vec::new();
        let mut outside = false;
        for violation in &self.0 {
            match &violation.container {
                Some(name) => {
                    let place = format!("container \"{}\"", name.escape_debug());
                    if !places.contains(&place) {
                        places.push(place);
                    }
                }
                None => outside = true,
            }
        }
        if outside {
            places.push("the pod".to_owned());
        }
        match places.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// One warning per violation, prefixed by the policy name and suffixed by the PCI reference.
    pub fn warnings(&self, policy: &str) -> Vec<String> {
        self.0
            .iter()
            .map(|v| format!("{policy}: {} (PCI DSS {})", one_line(&v.to_string()), v.pci))
            .collect()
    }

    /// The violations as a JSON array, for the `violations` audit annotation.
    pub fn audit_annotation(&self) -> String {
        let entries: Vec<serde_json::Value> = self
            .0
            .iter()
            .map(|v| {
                let mut entry = json!({
                    "control": v.control,
                    "path": v.path.to_string(),
                    "container": v.container,
                    "message": v.message,
                    "pci": v.pci,
                    "docs": v.doc_link(),
                });
                if let Some(detail) = &v.detail {
                    entry["detail"] = json!(detail);
                }
                entry
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
            detail: None,
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
            "pod-security rejected Pod ns/web: 3 violations in container \"a\", container \"b\" and the pod (PCI DSS 3.1); fix each as its line says, or request an exception:\n\
             - [privileged] spec.containers[2].securityContext.privileged (container \"a\"): true, allowed: false or unset\n\
             - [privileged] spec.containers[10].securityContext.privileged (container \"b\"): true, allowed: false or unset\n\
             - [hostNamespaces] spec.hostPID: true, allowed: false or unset\n\
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/privileged.md, \
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/hostNamespaces.md"
        );
        let warnings = violations.warnings("pod-security");
        assert_eq!(warnings.len(), 3);
        assert!(warnings[2].ends_with("(PCI DSS 3.1)"));
        let audit: serde_json::Value =
            serde_json::from_str(&violations.audit_annotation()).expect("JSON");
        assert_eq!(audit[2]["path"], "spec.hostPID");
        assert_eq!(audit[0]["container"], "a");
        assert_eq!(
            audit[0]["docs"],
            "https://github.com/pci-policies/pci-policies/blob/main/docs/controls/privileged.md"
        );
    }

    #[test]
    fn nothing_a_violation_holds_starts_a_line_of_its_own() {
        let mut violations = Violations::new();
        violations.push(violation(
            FieldPath::parse_static("spec.containers").index(0),
            "privileged",
            Some("app\"): fixed\nhttps://evil.example/x.md\n"),
        ));
        let message = violations.rejection_message("p", "Pod a/b");
        assert_eq!(message.lines().count(), 2, "{message}");
        assert!(
            message.contains("app\\\"): fixed\\nhttps://evil.example/x.md\\n"),
            "{message}"
        );
        assert!(!violations.warnings("p")[0].contains('\n'));
    }

    #[test]
    fn violations_differing_only_in_their_details_read_as_one_line() {
        let path = FieldPath::parse_static("spec.containers")
            .index(0)
            .field("image");
        let mut violations = Violations::new();
        for detail in ["rules[0]", "rules[1]"] {
            violations.push(Violation {
                detail: Some(detail.into()),
                ..violation(path.clone(), "signature", Some("app"))
            });
        }
        assert_eq!(violations.len(), 2);
        let message = violations.rejection_message("p", "Pod a/b");
        assert!(
            message.starts_with("p: [signature] spec.containers[0].image"),
            "{message}"
        );
        assert_eq!(message.lines().count(), 2);
    }

    #[test]
    fn one_violation_is_one_line_to_act_on_and_the_page_to_read() {
        let container = FieldPath::parse_static("spec.template.spec.containers").index(0);
        let mut violations = Violations::new();
        violations.push(Violation {
            detail: Some("the host's own words".into()),
            ..violation(
                container.fields("securityContext.privileged"),
                "privileged",
                Some("app"),
            )
        });
        assert_eq!(
            violations.rejection_message("pod-security", "Deployment ns/web"),
            "pod-security: [privileged] spec.template.spec.containers[0].securityContext.privileged (container \"app\"): true, allowed: false or unset\n\
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/privileged.md"
        );
        let audit: serde_json::Value =
            serde_json::from_str(&violations.audit_annotation()).expect("JSON");
        assert_eq!(audit[0]["detail"], "the host's own words");
    }
}
