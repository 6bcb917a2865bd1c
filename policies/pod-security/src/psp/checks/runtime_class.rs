//! `runtimeClass` (`psp.runtimeClass`): the runtime classes pods may name.
//!
//! Field: `spec.runtimeClassName`. Allowed: a name in `allowedRuntimeClassNames` (`*`: any);
//! with an empty list, none may be named. Unset passes only with an empty list or `*` (turn on
//! `mutate.podSecurityPolicyDefaults` to fill in `defaultRuntimeClassName`).

use crate::check::{Findings, shown};
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.runtimeClass",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let Some(strategy) = pod.settings.runtime_class.as_ref() else {
        return;
    };
    let allowed = &strategy.allowed_runtime_class_names;
    if allowed.iter().any(|name| name == "*") {
        return;
    }
    let name = pod.spec().runtime_class_name.as_deref();
    let passes = match name {
        Some(name) => allowed.iter().any(|a| a == name),
        None => allowed.is_empty(),
    };
    if !passes {
        let listed = if allowed.is_empty() {
            "none may be named".to_owned()
        } else {
            allowed.join(", ")
        };
        findings.pod(
            pod.spec_path("runtimeClassName"),
            format!(
                "{}; runtimeClass.allowedRuntimeClassNames: {listed}",
                shown(name)
            ),
        );
    }
}
