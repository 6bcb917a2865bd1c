//! `readOnlyRootFilesystem` (`psp.readOnlyRootFilesystem`): with `true`, every container's
//! root filesystem is read-only.
//!
//! Field: every container's `securityContext.readOnlyRootFilesystem`. Required: `true`.
//! Windows pods are not judged (the field is Linux-only).

use super::flags::require_on_every_container;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "psp.readOnlyRootFilesystem",
    level: Level::Baseline,
    fields: &["containers[*].securityContext.readOnlyRootFilesystem"],
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check)],
};

fn check(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    if pod.settings.read_only_root_filesystem {
        require_on_every_container(
            pod,
            findings,
            ("readOnlyRootFilesystem", |sc| sc.read_only_root_filesystem),
            true,
            "readOnlyRootFilesystem",
        );
    }
}
