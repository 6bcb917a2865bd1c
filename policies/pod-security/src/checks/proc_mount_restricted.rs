//! /proc Mount Type, restricted (`procMount_restricted`, restricted, v1.35).
//!
//! Field: every container's `securityContext.procMount`. Allowed: undefined, `Default`, even
//! when the pod sets `hostUsers: false`. Supersedes the baseline `procMount` check.

use super::common::report_non_default_proc_mount;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "procMount_restricted",
    level: Level::Restricted,
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(35), check_1_35).overriding(&["procMount"])],
};

fn check_1_35<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    report_non_default_proc_mount(pod, findings);
}
