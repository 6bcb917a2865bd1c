//! The least-privilege vocabulary of PodSecurityPolicy (policy/v1beta1), on top of the Pod
//! Security Standards level: settings named as PodSecurityPolicySpec names them, so a PSP spec
//! pastes in.
//!
//! A setting either narrows the level, with a check of its own in [`checks`] whose control id is
//! `psp.<setting>`, or allows something beyond the level: the standard's check then accepts it
//! and warns on every request that uses it (`Findings::beyond_level`). Where a knob and a Pod
//! Security Standards check reject the same field, the rejection names the standard's check once
//! (`lib.rs`). The defaults a PodSecurityPolicy applied are in [`crate::mutate`].

pub mod checks;
pub mod defaults;
pub mod id_ranges;
pub mod profiles;
pub mod settings;
pub mod sysctl_patterns;
pub mod validate;
pub mod volume_types;

use pci_shared::exception::Succession;

use crate::check::Check;
use checks::{
    allow_privilege_escalation, allowed_app_armor_profiles, allowed_capabilities,
    allowed_csi_drivers, allowed_flex_volumes, allowed_proc_mount_types, allowed_seccomp_profiles,
    forbidden_sysctls, fs_group, read_only_root_filesystem, required_drop_capabilities,
    run_as_group, run_as_user, runtime_class, se_linux, supplemental_groups, volumes,
};

/// The prefix of every knob's control id.
pub const PREFIX: &str = "psp.";

/// Every knob that narrows the level, sorted by id; each runs at every level and version, and
/// finds nothing while its setting is unset.
pub const KNOBS: [&Check; 17] = [
    &allow_privilege_escalation::CHECK,
    &allowed_app_armor_profiles::CHECK,
    &allowed_csi_drivers::CHECK,
    &allowed_capabilities::CHECK,
    &allowed_flex_volumes::CHECK,
    &allowed_proc_mount_types::CHECK,
    &allowed_seccomp_profiles::CHECK,
    &forbidden_sysctls::CHECK,
    &fs_group::CHECK,
    &read_only_root_filesystem::CHECK,
    &required_drop_capabilities::CHECK,
    &run_as_group::CHECK,
    &run_as_user::CHECK,
    &runtime_class::CHECK,
    &se_linux::CHECK,
    &supplemental_groups::CHECK,
    &volumes::CHECK,
];

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
