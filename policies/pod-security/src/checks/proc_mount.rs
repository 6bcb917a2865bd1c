//! /proc Mount Type (`procMount`, baseline).
//!
//! Field: every container's `securityContext.procMount`. Allowed: undefined, `Default`.
//! From v1.35 any value is allowed when the pod sets `hostUsers: false` (user namespaces).

use super::common::report_non_default_proc_mount;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "procMount",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(35), check_1_35),
    ],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    report_non_default_proc_mount(pod, findings);
}

fn check_1_35<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    if !pod.spec().uses_user_namespace() {
        report_non_default_proc_mount(pod, findings);
    }
}
