//! `runAsUser` (`psp.runAsUser`): the user every container runs as.
//!
//! Fields: `spec.securityContext.runAsUser`, `runAsNonRoot` and the same per container (the
//! container's value wins). `MustRunAs`: set, here or on the pod, within the ranges.
//! `MustRunAsNonRoot`: `runAsNonRoot` not false, user not 0, and one of them set. `RunAsAny`:
//! nothing beyond the level. Windows pods are not judged (the fields are Linux-only).

use super::ids::check_pod_and_containers;
use crate::check::Findings;
use crate::psp::id_ranges::IdRule;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.runAsUser",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let Some(strategy) = pod.settings.run_as_user.as_ref() else {
        return;
    };
    let pod_context = pod.spec().security_context.as_ref();
    let pod_user = pod_context.and_then(|sc| sc.run_as_user);
    if strategy.rule != IdRule::MustRunAsNonRoot {
        check_pod_and_containers(
            pod,
            findings,
            ("runAsUser", strategy),
            "runAsUser",
            pod_user,
            |sc| sc.run_as_user,
        );
        return;
    }
    if pod.is_windows() {
        return;
    }
    let pod_non_root = pod_context.and_then(|sc| sc.run_as_non_root);
    for container in pod.containers() {
        let own = container.container.security_context.as_ref();
        let user = own.and_then(|sc| sc.run_as_user).or(pod_user);
        let non_root = own.and_then(|sc| sc.run_as_non_root).or(pod_non_root);
        let at = |field: &'static str| container.path().field("securityContext").field(field);
        if user == Some(0) {
            findings.container(
                &container,
                at("runAsUser"),
                "0 (root); runAsUser MustRunAsNonRoot forbids the root user",
            );
        }
        let message = match (non_root, user) {
            (Some(false), _) => "false; runAsUser MustRunAsNonRoot requires true",
            (None, None) => {
                "unset, and no user is set; runAsUser MustRunAsNonRoot requires runAsNonRoot: true or a non-zero runAsUser"
            }
            _ => continue,
        };
        findings.container(&container, at("runAsNonRoot"), message);
    }
}
