//! /proc Mount Type, restricted (`procMount_restricted`, restricted, v1.35).
//!
//! Field: every container's `securityContext.procMount`. Allowed: undefined, `Default`, even
//! when the pod sets `hostUsers: false`. Supersedes the baseline `procMount` check.

use super::{Check, Findings, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "procMount_restricted",
    level: Level::Restricted,
    versions: &[VersionedCheck {
        minimum: Version::v1(35),
        check: check_1_35,
        overrides: &["procMount"],
    }],
};

fn check_1_35(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    super::proc_mount::report_non_default(pod, findings);
}
