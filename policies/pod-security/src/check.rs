//! What a Pod Security Standards check is, what it reads and how it reports.
//!
//! Like Kubernetes' pod-security-admission, a check has an id, a level and a list of versioned
//! implementations: the one with the highest minimum version not above the configured version
//! applies. A restricted implementation may override baseline checks it supersedes, so a field
//! is reported once. Each check lives in its own file under `checks/`; [`crate::registry`] lists
//! them.

use pci_shared::containers::{ContainerRef, all_containers};
use pci_shared::path::FieldPath;
use pci_shared::pod::PodSpec;
use pci_shared::violation::{Violation, Violations};
use pci_shared::workload::Workload;

use crate::capabilities;
use crate::level::{Level, Version};
use crate::settings::Settings;

/// The PCI guidance the checks serve: 3.1, workload security.
pub const PCI_REFERENCE: &str = "3.1";

/// A check implementation: reads the pod, reports what it finds.
pub type CheckFn = fn(&PodContext<'_>, &mut Findings<'_>);

/// One implementation of a check, valid from `minimum` on.
pub struct VersionedCheck {
    pub minimum: Version,
    pub check: CheckFn,
    /// Baseline checks this implementation supersedes at the restricted level.
    pub overrides: &'static [&'static str],
}

impl VersionedCheck {
    /// The implementation `check`, from Kubernetes version `minimum` on.
    pub const fn since(minimum: Version, check: CheckFn) -> Self {
        Self {
            minimum,
            check,
            overrides: &[],
        }
    }

    /// The same implementation, superseding the baseline checks `ids`.
    pub const fn overriding(self, ids: &'static [&'static str]) -> Self {
        Self {
            overrides: ids,
            ..self
        }
    }
}

/// A Pod Security Standards check.
pub struct Check {
    /// The PSA check id, also the control id used in messages and exceptions.
    pub id: &'static str,
    pub level: Level,
    /// The fields of the standard it reads, as the standard names them.
    pub fields: &'static [&'static str],
    /// The PCI guidance it serves.
    pub pci: &'static str,
    /// Its implementations, oldest first.
    pub versions: &'static [VersionedCheck],
}

impl Check {
    /// The implementation that applies at `version`, if the check exists at that version.
    pub fn at(&self, version: Version) -> Option<&VersionedCheck> {
        self.versions.iter().rev().find(|v| v.minimum <= version)
    }
}

/// What a check reads: the workload, the settings that tune it, and what is derived from the
/// settings once per request (normalised capability names).
pub struct PodContext<'a> {
    pub workload: &'a Workload,
    pub settings: &'a Settings,
    /// `allowedCapabilities`, normalised (`cap_net_raw` is `NET_RAW`).
    pub allowed_capabilities: Option<Vec<String>>,
    /// `requiredDropCapabilities`, normalised.
    pub required_drops: Vec<String>,
    /// `defaultAddCapabilities`, normalised: containers may add them.
    pub default_adds: Vec<String>,
}

impl<'a> PodContext<'a> {
    /// The context of one evaluation.
    pub fn new(workload: &'a Workload, settings: &'a Settings) -> Self {
        let normalised = |names: &[String]| -> Vec<String> {
            names.iter().map(|n| capabilities::normalize(n)).collect()
        };
        Self {
            workload,
            settings,
            allowed_capabilities: settings.allowed_capabilities.as_deref().map(normalised),
            required_drops: normalised(settings.required_drop_capabilities.as_slice()),
            default_adds: normalised(settings.default_add_capabilities.as_slice()),
        }
    }

    /// The pod spec.
    pub fn spec(&self) -> &'a PodSpec {
        &self.workload.spec
    }

    /// Path of a pod spec field, e.g. `spec.template.spec.hostNetwork`.
    pub fn spec_path(&self, dotted: &'static str) -> FieldPath {
        self.workload.spec_path.fields(dotted)
    }

    /// Every container: init containers, containers, ephemeral containers.
    pub fn containers(&self) -> impl Iterator<Item = ContainerRef<'a>> + 'a {
        all_containers(&self.workload.spec, &self.workload.spec_path)
    }

    /// The setting that lets containers add capability `name` (compared verbatim):
    /// `defaultAddCapabilities` or `allowedCapabilities` (a name or `*`), if any.
    pub fn capability_setting_allowing(&self, name: &str) -> Option<&'static str> {
        if self.default_adds.iter().any(|c| c == name) {
            return Some("defaultAddCapabilities");
        }
        self.allowed_capabilities
            .as_deref()
            .is_some_and(|list| list.iter().any(|c| c == name || c == capabilities::ANY))
            .then_some("allowedCapabilities")
    }

    /// True for a Windows pod, exempt from some restricted checks from v1.25.
    pub fn is_windows(&self) -> bool {
        self.workload.spec.is_windows()
    }
}

/// Collects one check's violations and notes.
pub struct Findings<'a> {
    check: &'a Check,
    violations: &'a mut Violations,
    notes: &'a mut Vec<String>,
}

impl<'a> Findings<'a> {
    /// Findings of `check`, collected into `violations` and `notes`.
    pub fn new(
        check: &'a Check,
        violations: &'a mut Violations,
        notes: &'a mut Vec<String>,
    ) -> Self {
        Self {
            check,
            violations,
            notes,
        }
    }

    /// A violation of a pod-level field.
    pub fn pod(&mut self, path: FieldPath, message: impl Into<String>) {
        self.push(path, None, message.into());
    }

    /// A violation of a field of `container`.
    pub fn container(
        &mut self,
        container: &ContainerRef<'_>,
        path: FieldPath,
        message: impl Into<String>,
    ) {
        self.push(path, Some(container.name().to_owned()), message.into());
    }

    /// Something the user should know that is not a violation.
    pub fn note(&mut self, message: String) {
        self.notes.push(message);
    }

    /// The warning for what a setting allows beyond the level: `pod-security: container "app"
    /// is privileged, allowed by privileged: true beyond the baseline level`.
    pub fn beyond_level(
        &mut self,
        pod: &PodContext<'_>,
        container: Option<&ContainerRef<'_>>,
        what: impl std::fmt::Display,
        setting: &str,
    ) {
        let subject = match container {
            Some(container) => format!("container \"{}\"", container.name()),
            None => "the pod".to_owned(),
        };
        self.notes.push(format!(
            "pod-security: {subject} {what}, allowed by {setting} beyond the {} level",
            pod.settings.level
        ));
    }

    fn push(&mut self, path: FieldPath, container: Option<String>, message: String) {
        self.violations.push(Violation {
            path,
            control: self.check.id,
            container,
            message,
            pci: self.check.pci,
            detail: None,
        });
    }
}

/// `value` or `unset`, for messages.
pub fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "unset".to_owned(), |v| format!("{v}"))
}
