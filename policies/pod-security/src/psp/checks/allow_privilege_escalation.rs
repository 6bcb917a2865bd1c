//! `allowPrivilegeEscalation` (`psp.allowPrivilegeEscalation`): with `false`, no container may
//! gain more privileges than its parent process, at every level.
//!
//! Field: every container's `securityContext.allowPrivilegeEscalation`. Required: `false`
//! (unset is refused: PodSecurityPolicy defaulted it to false first; turn on
//! `mutate.podSecurityPolicyDefaults` to do the same). Windows pods are not judged.

use super::flags::require_on_every_container;
use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.allowPrivilegeEscalation",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    if pod.settings.allow_privilege_escalation == Some(false) {
        require_on_every_container(
            pod,
            findings,
            ("allowPrivilegeEscalation", |sc| {
                sc.allow_privilege_escalation
            }),
            false,
            "allowPrivilegeEscalation: false",
        );
    }
}
