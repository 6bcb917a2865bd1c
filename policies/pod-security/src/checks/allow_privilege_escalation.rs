//! Privilege Escalation (`allowPrivilegeEscalation`, restricted).
//!
//! Field: every container's `securityContext.allowPrivilegeEscalation`. Allowed: `false`
//! (explicitly). From v1.8 (the field's first version); from v1.25 Windows pods are exempt.

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck, shown};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "allowPrivilegeEscalation",
    level: Level::Restricted,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(8), check_1_8),
        VersionedCheck::since(Version::v1(25), check_1_25),
    ],
};

fn check_1_8<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for container in pod.containers() {
        let value = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.allow_privilege_escalation);
        if value != Some(false) {
            findings.container_found(
                &container,
                Found::Escalation(value),
                container
                    .path()
                    .fields("securityContext.allowPrivilegeEscalation"),
                format!("{}; must be false", shown(value)),
            );
        }
    }
}

fn check_1_25<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    if !pod.is_windows() {
        check_1_8(pod, findings);
    }
}
