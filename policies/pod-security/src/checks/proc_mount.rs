//! /proc Mount Type (`procMount`, baseline).
//!
//! Field: every container's `securityContext.procMount`. Allowed: undefined, `Default`.
//! From v1.35 any value is allowed when the pod sets `hostUsers: false` (user namespaces).

use super::{Check, Findings, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "procMount",
    level: Level::Baseline,
    versions: &[
        VersionedCheck {
            minimum: Version::v1(0),
            check: check_1_0,
            overrides: &[],
        },
        VersionedCheck {
            minimum: Version::v1(35),
            check: check_1_35,
            overrides: &[],
        },
    ],
};

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    report_non_default(pod, findings);
}

fn check_1_35(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    if !pod.spec().uses_user_namespace() {
        report_non_default(pod, findings);
    }
}

/// Reports every container whose `procMount` is set to anything but `Default`.
pub fn report_non_default(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    for container in pod.containers() {
        let proc_mount = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.proc_mount.as_deref());
        if let Some(value) = proc_mount.filter(|v| *v != "Default") {
            findings.container(
                &container,
                container.path().fields("securityContext.procMount"),
                format!("\"{value}\"; allowed: Default or unset"),
            );
        }
    }
}
