//! The Pod Security Standards checks, one module per check, registered in [`CHECKS`].
//!
//! Like Kubernetes' pod-security-admission, a check has an id, a level and a list of versioned
//! implementations: the one with the highest minimum version not above the configured version
//! applies. A new Kubernetes version that changes a check is one new entry in its module.
//! A restricted check may override a baseline check it supersedes (as PSA does), so a field is
//! reported once.

mod allow_privilege_escalation;
mod app_armor_profile;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes;
mod privileged;
mod proc_mount;
mod proc_mount_restricted;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux_options;
mod seccomp_profile_baseline;
mod seccomp_profile_restricted;
mod sysctls;
mod windows_host_process;

use std::collections::BTreeSet;

use pci_shared::containers::{ContainerRef, all_containers};
use pci_shared::path::FieldPath;
use pci_shared::pod::PodSpec;
use pci_shared::violation::{Violation, Violations};
use pci_shared::workload::Workload;

use crate::level::{Level, Version};
use crate::settings::Settings;

/// The PCI guidance this policy enforces.
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

/// A Pod Security Standards check.
pub struct Check {
    /// The PSA check id, also the control id used in messages and exceptions.
    pub id: &'static str,
    pub level: Level,
    pub versions: &'static [VersionedCheck],
}

impl Check {
    /// The implementation that applies at `version`, if the check exists at that version.
    pub fn at(&self, version: Version) -> Option<&VersionedCheck> {
        self.versions.iter().rev().find(|v| v.minimum <= version)
    }
}

/// Every check, in the order of the Pod Security Standards table.
pub const CHECKS: [&Check; 19] = [
    &windows_host_process::CHECK,
    &host_namespaces::CHECK,
    &privileged::CHECK,
    &capabilities_baseline::CHECK,
    &host_path_volumes::CHECK,
    &host_ports::CHECK,
    &host_probes::CHECK,
    &app_armor_profile::CHECK,
    &se_linux_options::CHECK,
    &proc_mount::CHECK,
    &seccomp_profile_baseline::CHECK,
    &sysctls::CHECK,
    &restricted_volumes::CHECK,
    &allow_privilege_escalation::CHECK,
    &run_as_non_root::CHECK,
    &run_as_user::CHECK,
    &seccomp_profile_restricted::CHECK,
    &capabilities_restricted::CHECK,
    &proc_mount_restricted::CHECK,
];

/// The control ids exceptions may name.
pub fn control_ids() -> Vec<&'static str> {
    CHECKS.iter().map(|check| check.id).collect()
}

/// What a check reads: the workload and the settings that tune it.
pub struct PodContext<'a> {
    pub workload: &'a Workload,
    pub settings: &'a Settings,
}

impl<'a> PodContext<'a> {
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

    /// True for a Windows pod, exempt from some restricted checks from v1.25.
    pub fn is_windows(&self) -> bool {
        self.workload.spec.is_windows()
    }
}

/// Collects one check's violations and notes.
pub struct Findings<'a> {
    control: &'static str,
    violations: &'a mut Violations,
    notes: &'a mut Vec<String>,
}

impl Findings<'_> {
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

    fn push(&mut self, path: FieldPath, container: Option<String>, message: String) {
        self.violations.push(Violation {
            path,
            control: self.control,
            container,
            message,
            pci: PCI_REFERENCE,
        });
    }
}

/// Runs every check of the configured level and version.
pub fn evaluate(workload: &Workload, settings: &Settings) -> (Violations, Vec<String>) {
    let context = PodContext { workload, settings };
    let applicable: Vec<(&Check, &VersionedCheck)> = CHECKS
        .iter()
        .filter(|check| check.level <= settings.level)
        .filter_map(|check| check.at(settings.version).map(|v| (*check, v)))
        .collect();
    let overridden: BTreeSet<&str> = applicable
        .iter()
        .flat_map(|(_, versioned)| versioned.overrides.iter().copied())
        .collect();
    let mut violations = Violations::new();
    let mut notes = Vec::new();
    for (check, versioned) in applicable {
        if overridden.contains(check.id) {
            continue;
        }
        let mut findings = Findings {
            control: check.id,
            violations: &mut violations,
            notes: &mut notes,
        };
        (versioned.check)(&context, &mut findings);
    }
    (violations, notes)
}

/// `value` or `unset`, for messages.
pub fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "unset".to_owned(), |v| format!("{v}"))
}
