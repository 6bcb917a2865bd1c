//! The registry: every check in one list, sorted by id, and the evaluation of the checks a
//! level and version select. A new check is one file under `checks/` and one line here; a new
//! Kubernetes version of a check is one more entry in that check's file.

use pci_shared::violation::Violations;
use pci_shared::workload::Workload;

use crate::check::{Check, Findings, PodContext, VersionedCheck};
use crate::checks::{
    allow_privilege_escalation, app_armor_profile, capabilities_baseline, capabilities_restricted,
    host_namespaces, host_path_volumes, host_ports, host_probes, privileged, proc_mount,
    proc_mount_restricted, restricted_volumes, run_as_non_root, run_as_user, se_linux_options,
    seccomp_profile_baseline, seccomp_profile_restricted, sysctls, windows_host_process,
};
use crate::level::{Level, Version};
use crate::psp::{KNOBS, PREFIX};
use crate::settings::Settings;

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

/// Runs every applicable check and every knob: the violations, and notes for the user.
pub fn evaluate(workload: &Workload, settings: &Settings) -> (Violations, Vec<String>) {
    let context = PodContext::new(workload, settings);
    let mut violations = Violations::new();
    let mut notes = Vec::new();
    let knobs = KNOBS
        .into_iter()
        .filter_map(|knob| knob.at(settings.version).map(|versioned| (knob, versioned)));
    for (check, versioned) in applicable(settings.level, settings.version).chain(knobs) {
        let mut findings = Findings::new(check, &mut violations, &mut notes);
        (versioned.check)(&context, &mut findings);
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

#[cfg(test)]
mod tests;
