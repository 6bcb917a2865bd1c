//! Privileged Containers (`privileged`, baseline, v1.0).
//!
//! Field: every container's `securityContext.privileged`. Allowed: undefined, `false`; `true`
//! with the setting `privileged: true`, with a warning.

use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "privileged",
    level: Level::Baseline,
    fields: &["containers[*].securityContext.privileged"],
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    for container in pod.containers() {
        let privileged = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.privileged);
        if privileged == Some(true) {
            if pod.settings.privileged == Some(true) {
                findings.beyond_level(pod, Some(&container), "is privileged", "privileged: true");
                continue;
            }
            let path = container.path().fields("securityContext.privileged");
            findings.container(&container, path, "true; allowed: false or unset");
        }
    }
}
