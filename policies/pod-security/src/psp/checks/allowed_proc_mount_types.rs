//! `allowedProcMountTypes` (`psp.allowedProcMountTypes`): the /proc mount types containers may
//! use, whatever the level allows with user namespaces.
//!
//! Field: every container's `securityContext.procMount` (unset is `Default`). Allowed: the
//! listed types. An empty list leaves the level's rule, which is PodSecurityPolicy's reading of
//! it (only `Default`). Windows pods are not judged.

use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.allowedProcMountTypes",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let Some(allowed) = pod.settings.allowed_proc_mount_types.as_deref() else {
        return;
    };
    if allowed.is_empty() || pod.is_windows() {
        return;
    }
    for container in pod.containers() {
        let value = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.proc_mount.as_deref())
            .unwrap_or("Default");
        if !allowed.iter().any(|t| t == value) {
            findings.container(
                &container,
                container.path().fields("securityContext.procMount"),
                format!("{value}; allowedProcMountTypes: {}", allowed.join(", ")),
            );
        }
    }
}
