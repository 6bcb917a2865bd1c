//! The organisation's layer: the least-privilege vocabulary of PodSecurityPolicy
//! (policy/v1beta1) on top of the Pod Security Standards level, settings named as
//! PodSecurityPolicySpec names them, so a PSP spec pastes in.
//!
//! The standard's checks ([`crate::checks`]) never read the settings; [`apply`] takes their
//! findings and the settings and
//! - widens: a finding the settings allow becomes a warning on every request using it, by one
//!   rule ([`widen`]);
//! - narrows: every knob in [`checks`] adds its own findings, control id `psp.<setting>`.
//!
//! Where a knob and a Pod Security Standards check reject the same field, the rejection names
//! the standard's check once ([`drop_repeated_knob_findings`]). The defaults a PodSecurityPolicy
//! applied are in [`crate::mutate`].

pub mod checks;
pub mod defaults;
pub mod id_ranges;
mod layer;
pub mod profiles;
pub mod settings;
pub mod sysctl_patterns;
pub mod validate;
pub mod volume_types;
pub mod widen;

use pci_shared::exception::Succession;
use pci_shared::violation::Violations;

use crate::check::{Finding, Findings, PodContext};
use crate::settings::Settings;
use checks::{
    allow_privilege_escalation, allowed_app_armor_profiles, allowed_capabilities,
    allowed_csi_drivers, allowed_flex_volumes, allowed_proc_mount_types, allowed_seccomp_profiles,
    forbidden_sysctls, fs_group, read_only_root_filesystem, required_drop_capabilities,
    run_as_group, run_as_user, runtime_class, se_linux, supplemental_groups, volumes,
};
pub use layer::Layer;
use widen::Widened;

/// The prefix of every knob's control id.
pub const PREFIX: &str = "psp.";

/// A setting that narrows the level: its control id (`psp.<setting>`) and its check, which
/// finds nothing while the setting is unset (the fields it reads are named in its file's doc).
pub struct Knob {
    pub id: &'static str,
    pub check: KnobFn,
}

/// A knob's check: reads the pod and the settings, reports what the setting forbids.
pub type KnobFn = for<'a> fn(&Layer<'a>, &mut Findings<'_, 'a>);

/// Every knob, sorted by id; each runs at every level and version.
pub const KNOBS: [&Knob; 17] = [
    &allow_privilege_escalation::KNOB,
    &allowed_app_armor_profiles::KNOB,
    &allowed_csi_drivers::KNOB,
    &allowed_capabilities::KNOB,
    &allowed_flex_volumes::KNOB,
    &allowed_proc_mount_types::KNOB,
    &allowed_seccomp_profiles::KNOB,
    &forbidden_sysctls::KNOB,
    &fs_group::KNOB,
    &read_only_root_filesystem::KNOB,
    &required_drop_capabilities::KNOB,
    &run_as_group::KNOB,
    &run_as_user::KNOB,
    &runtime_class::KNOB,
    &se_linux::KNOB,
    &supplemental_groups::KNOB,
    &volumes::KNOB,
];

/// The organisation's layer over the standard's `findings` of `pod`: what the settings allow
/// widened into warnings, what the knobs forbid added; the violations and the warnings.
pub fn apply<'a>(
    findings: Vec<Finding<'a>>,
    pod: PodContext<'a>,
    settings: &'a Settings,
) -> (Violations, Vec<String>) {
    let layer = Layer::new(pod, settings);
    let mut widened = Widened::default();
    for finding in findings {
        widened.judge(&layer, finding);
    }
    let mut narrowed = Vec::new();
    for knob in KNOBS {
        (knob.check)(&layer, &mut Findings::new(knob.id, &mut narrowed));
    }
    let Widened {
        mut violations,
        notes,
        ..
    } = widened;
    for finding in narrowed {
        violations.push(finding.violation);
    }
    (violations, notes)
}

/// Drops a knob's violation of a field that a Pod Security Standards check also rejects: the
/// rejection names the field once, under the standard's control. Run after exceptions, so a
/// knob still rejects what an exception to the standard's check waived.
pub fn drop_repeated_knob_findings(violations: &mut Violations) {
    let standard: Vec<_> = violations
        .iter()
        .filter(|v| !v.control.starts_with(PREFIX))
        .map(|v| v.path.clone())
        .collect();
    violations.retain(|v| !v.control.starts_with(PREFIX) || !standard.contains(&v.path));
}

/// The knobs that used to report under the standard's capability checks: for this release an
/// exception naming the standard's id still waives them, and says to name the knob.
pub const SUCCESSIONS: [Succession; 4] = [
    Succession {
        former: "capabilities_baseline",
        current: "psp.allowedCapabilities",
    },
    Succession {
        former: "capabilities_restricted",
        current: "psp.allowedCapabilities",
    },
    Succession {
        former: "capabilities_baseline",
        current: "psp.requiredDropCapabilities",
    },
    Succession {
        former: "capabilities_restricted",
        current: "psp.requiredDropCapabilities",
    },
];

#[cfg(test)]
mod tests;
