//! The registry: every check of the standard in one list, sorted by id, and the evaluation of
//! the checks a level and version select. A new check is one file under `checks/` and one line here; a new
//! Kubernetes version of a check is one more entry in that check's file.

use pci_shared::workload::Workload;

use crate::check::{Check, Finding, Findings, PodContext, VersionedCheck};
use crate::checks::{
    allow_privilege_escalation, app_armor_profile, capabilities_baseline, capabilities_restricted,
    host_namespaces, host_path_volumes, host_ports, host_probes, privileged, proc_mount,
    proc_mount_restricted, restricted_volumes, run_as_non_root, run_as_user, se_linux_options,
    seccomp_profile_baseline, seccomp_profile_restricted, sysctls, windows_host_process,
};
use crate::level::{Level, Version};
use crate::psp::KNOBS;

/// Every check, sorted by id.
pub const CHECKS: [&Check; 19] = [
    &allow_privilege_escalation::CHECK,
    &app_armor_profile::CHECK,
    &capabilities_baseline::CHECK,
    &capabilities_restricted::CHECK,
    &host_namespaces::CHECK,
    &host_path_volumes::CHECK,
    &host_ports::CHECK,
    &host_probes::CHECK,
    &privileged::CHECK,
    &proc_mount::CHECK,
    &proc_mount_restricted::CHECK,
    &restricted_volumes::CHECK,
    &run_as_non_root::CHECK,
    &run_as_user::CHECK,
    &se_linux_options::CHECK,
    &seccomp_profile_baseline::CHECK,
    &seccomp_profile_restricted::CHECK,
    &sysctls::CHECK,
    &windows_host_process::CHECK,
];

/// The control ids, in registry order (the standard's checks, then the knobs): what violations
/// carry and exceptions name.
pub const CONTROL_IDS: [&str; CHECKS.len() + KNOBS.len()] = {
    let mut ids = [""; CHECKS.len() + KNOBS.len()];
    let mut index = 0;
    while index < CHECKS.len() {
        ids[index] = CHECKS[index].id;
        index += 1;
    }
    while index < CHECKS.len() + KNOBS.len() {
        ids[index] = KNOBS[index - CHECKS.len()].id;
        index += 1;
    }
    ids
};

/// The checks that run at `level` and `version`, with the implementation that applies: every
/// check of that level or below that exists at that version, except those a running restricted
/// implementation overrides.
pub fn applicable(
    level: Level,
    version: Version,
) -> impl Iterator<Item = (&'static Check, &'static VersionedCheck)> {
    let selected = move || {
        CHECKS
            .into_iter()
            .filter(move |check| check.level <= level)
            .filter_map(move |check| check.at(version).map(|versioned| (check, versioned)))
    };
    selected().filter(move |(check, _)| {
        !selected().any(|(_, versioned)| versioned.overrides.contains(&check.id))
    })
}

/// Runs the standard's checks that apply at `level` and `version` on `workload`: the findings,
/// in registry order. Pure: no setting is read ([`crate::psp::apply`] reads them).
pub fn evaluate(workload: &Workload, level: Level, version: Version) -> Vec<Finding<'_>> {
    let pod = PodContext::new(workload, version);
    let mut found = Vec::new();
    for (check, versioned) in applicable(level, version) {
        (versioned.check)(&pod, &mut Findings::new(check.id, &mut found));
    }
    found
}

#[cfg(test)]
mod tests;
