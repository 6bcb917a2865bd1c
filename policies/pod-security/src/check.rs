//! What a Pod Security Standards check is, what it reads and how it reports.
//!
//! Like Kubernetes' pod-security-admission, a check has an id, a level and a list of versioned
//! implementations: the one with the highest minimum version not above the configured version
//! applies. A restricted implementation may override baseline checks it supersedes, so a field
//! is reported once. Each check lives in its own file under `checks/`; [`crate::registry`] lists
//! them.
//!
//! A check is pure, as Pod Security Admission's are: it reads the pod and the version, never
//! the settings, and reports [`Finding`]s. What the settings allow beyond the standard or add to
//! it is the organisation's layer's ([`crate::psp`]).

use pci_shared::containers::{ContainerRef, all_containers};
use pci_shared::path::FieldPath;
use pci_shared::pod::{PodSpec, SeLinuxOptions, Volume};
use pci_shared::violation::Violation;
use pci_shared::workload::Workload;

use crate::level::{Level, Version};

/// The PCI guidance the checks serve: 3.1, workload security.
pub const PCI_REFERENCE: &str = "3.1";

/// A check implementation: reads the pod, reports what it finds.
pub type CheckFn = for<'a> fn(&PodContext<'a>, &mut Findings<'_, 'a>);

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

/// What a check reads: the workload and the version of the standard, nothing else (the
/// settings are the organisation's layer's: [`crate::psp`]).
pub struct PodContext<'a> {
    pub workload: &'a Workload,
    /// The Kubernetes version whose standard applies.
    pub version: Version,
}

impl<'a> PodContext<'a> {
    /// The context of one evaluation.
    pub fn new(workload: &'a Workload, version: Version) -> Self {
        Self { workload, version }
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

    /// True for a Windows pod, exempt from some restricted checks from v1.25.
    pub fn is_windows(&self) -> bool {
        self.workload.spec.is_windows()
    }
}

/// What a check found at a field: the value the organisation's layer judges when its settings
/// allow more than the standard ([`crate::psp::widen`]).
#[derive(Clone, Copy, Debug)]
pub enum Found<'a> {
    /// Nothing a setting can allow.
    Fixed,
    /// `privileged: true`.
    Privileged,
    /// `hostNetwork`, `hostPID` or `hostIPC` set to `true` (the field's name).
    HostNamespace(&'static str),
    /// `allowPrivilegeEscalation` not `false` (its value).
    Escalation(Option<bool>),
    /// A `capabilities.add` entry beyond the level.
    Capability(&'a str),
    /// A hostPath volume.
    HostPath(&'a Volume),
    /// A host port.
    HostPort(i32),
    /// A volume of a source the level does not allow.
    VolumeSource(&'a Volume, &'a str),
    /// A user id 0.
    RootUser,
    /// `runAsNonRoot` not `true`.
    NonRoot,
    /// SELinux options breaking the standard (one finding per bad field of that object).
    SeLinux(&'a SeLinuxOptions),
    /// A profile annotation (key, value).
    Annotation(&'a str, &'a str),
    /// A seccomp or AppArmor profile `type`.
    Profile(&'a str),
    /// A container without a seccomp profile, in a pod without an allowed one.
    ProfileUnset,
    /// A sysctl outside the safe set.
    Sysctl(&'a str),
    /// A `procMount` other than `Default`.
    ProcMount(&'a str),
}

/// One finding: the violation as the standard words it, and what was found.
pub struct Finding<'a> {
    pub violation: Violation,
    pub found: Found<'a>,
}

/// Collects one check's findings.
pub struct Findings<'f, 'a> {
    control: &'static str,
    found: &'f mut Vec<Finding<'a>>,
}

impl<'f, 'a> Findings<'f, 'a> {
    /// Findings of control `control`, collected into `found`.
    pub fn new(control: &'static str, found: &'f mut Vec<Finding<'a>>) -> Self {
        Self { control, found }
    }

    /// A violation of a pod-level field.
    pub fn pod(&mut self, path: FieldPath, message: impl Into<String>) {
        self.pod_found(Found::Fixed, path, message);
    }

    /// A violation of a pod-level field, with what was found there.
    pub fn pod_found(&mut self, found: Found<'a>, path: FieldPath, message: impl Into<String>) {
        self.push(found, path, None, message.into());
    }

    /// A violation of a field of `container`.
    pub fn container(
        &mut self,
        container: &ContainerRef<'_>,
        path: FieldPath,
        message: impl Into<String>,
    ) {
        self.container_found(container, Found::Fixed, path, message);
    }

    /// A violation of a field of `container`, with what was found there.
    pub fn container_found(
        &mut self,
        container: &ContainerRef<'_>,
        found: Found<'a>,
        path: FieldPath,
        message: impl Into<String>,
    ) {
        let name = Some(container.name().to_owned());
        self.push(found, path, name, message.into());
    }

    fn push(
        &mut self,
        found: Found<'a>,
        path: FieldPath,
        container: Option<String>,
        message: String,
    ) {
        self.found.push(Finding {
            violation: Violation {
                path,
                control: self.control,
                container,
                message,
                pci: PCI_REFERENCE,
                detail: None,
            },
            found,
        });
    }
}

/// `value` or `unset`, for messages.
pub fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "unset".to_owned(), |v| format!("{v}"))
}
