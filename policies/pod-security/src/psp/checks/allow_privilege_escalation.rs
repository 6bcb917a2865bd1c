//! `allowPrivilegeEscalation` (`psp.allowPrivilegeEscalation`): with `false`, no container may
//! gain more privileges than its parent process, at every level.
//!
//! Field: every container's `securityContext.allowPrivilegeEscalation`. Required: `false`
//! (unset is refused: PodSecurityPolicy defaulted it to false first; turn on
//! `mutate.podSecurityPolicyDefaults` to do the same). Windows pods are not judged.

use super::flags::require_on_every_container;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "psp.allowPrivilegeEscalation",
    level: Level::Baseline,
    fields: &["containers[*].securityContext.allowPrivilegeEscalation"],
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check)],
};

fn check(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    if pod.settings.allow_privilege_escalation == Some(false) {
        require_on_every_container(
            pod,
            findings,
            ("allowPrivilegeEscalation", |sc| {
                sc.allow_privilege_escalation
            }),
            false,
            "allowPrivilegeEscalation: false",
        );
    }
}
