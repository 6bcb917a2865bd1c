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

use crate::check::Check;
use checks::{
    allow_privilege_escalation, allowed_app_armor_profiles, allowed_csi_drivers,
    allowed_flex_volumes, allowed_proc_mount_types, allowed_seccomp_profiles, forbidden_sysctls,
    fs_group, read_only_root_filesystem, run_as_group, run_as_user, runtime_class, se_linux,
    supplemental_groups, volumes,
};

/// The prefix of every knob's control id.
pub const PREFIX: &str = "psp.";

/// Every knob that narrows the level, sorted by id; each runs at every level and version, and
/// finds nothing while its setting is unset.
pub const KNOBS: [&Check; 15] = [
    &allow_privilege_escalation::CHECK,
    &allowed_app_armor_profiles::CHECK,
    &allowed_csi_drivers::CHECK,
    &allowed_flex_volumes::CHECK,
    &allowed_proc_mount_types::CHECK,
    &allowed_seccomp_profiles::CHECK,
    &forbidden_sysctls::CHECK,
    &fs_group::CHECK,
    &read_only_root_filesystem::CHECK,
    &run_as_group::CHECK,
    &run_as_user::CHECK,
    &runtime_class::CHECK,
    &se_linux::CHECK,
    &supplemental_groups::CHECK,
    &volumes::CHECK,
];

#[cfg(test)]
mod tests;
