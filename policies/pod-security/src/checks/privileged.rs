//! Privileged Containers (`privileged`, baseline, v1.0).
//!
//! Field: every container's `securityContext.privileged`. Allowed: undefined, `false`.

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "privileged",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for container in pod.containers() {
        let privileged = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.privileged);
        if privileged == Some(true) {
            let path = container.path().fields("securityContext.privileged");
            findings.container_found(
                &container,
                Found::Privileged,
                path,
                "true; allowed: false or unset",
            );
        }
    }
}
