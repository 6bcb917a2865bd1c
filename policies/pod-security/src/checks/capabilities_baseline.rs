//! Capabilities (`capabilities_baseline`, baseline, v1.0).
//!
//! Field: every container's `securityContext.capabilities.add`, judged entry by entry.
//! Allowed: AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE,
//! SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT. Names are compared verbatim, as Pod Security
//! Admission compares them (`CAP_CHOWN` and `chown` are refused).

use super::common::check_added;
use crate::capabilities::BASELINE_ALLOWED;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "capabilities_baseline",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for container in pod.containers() {
        check_added(&container, &BASELINE_ALLOWED, findings);
    }
}
