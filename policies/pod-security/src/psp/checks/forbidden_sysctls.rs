//! `forbiddenSysctls` (`psp.forbiddenSysctls`): sysctls no pod may set, even safe ones.
//!
//! Field: `spec.securityContext.sysctls[*].name`. Forbidden: every name a pattern matches
//! (`kernel.shm_rmid_forced`, `kernel.*`, `*`), names and patterns read as the kubelet applies
//! them (`kernel/msgmax` is `kernel.msgmax`: [`sysctl_patterns::normalise`]).

use crate::check::Findings;
use crate::psp::sysctl_patterns;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.forbiddenSysctls",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let forbidden = &pod.settings.forbidden_sysctls;
    let Some(context) = pod.spec().security_context.as_ref() else {
        return;
    };
    if forbidden.is_empty() {
        return;
    }
    for (index, sysctl) in context.sysctls.iter().enumerate() {
        if let Some(pattern) = forbidden
            .iter()
            .find(|pattern| sysctl_patterns::matches(pattern, &sysctl.name))
        {
            findings.pod(
                pod.spec_path("securityContext.sysctls")
                    .index(index)
                    .field("name"),
                format!(
                    "\"{}\"{} is forbidden by forbiddenSysctls \"{pattern}\"",
                    sysctl.name,
                    sysctl_patterns::applied_note(&sysctl.name)
                ),
            );
        }
    }
}
