//! `runAsGroup` (`psp.runAsGroup`): the primary group every container runs as.
//!
//! Fields: `spec.securityContext.runAsGroup` and the same per container (the container's value
//! wins). `MustRunAs`: set, here or on the pod, within the ranges. `MayRunAs`: unset, or within
//! the ranges. `RunAsAny`: anything. Windows pods are not judged.

use super::ids::check_pod_and_containers;
use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.runAsGroup",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    if let Some(strategy) = pod.settings.run_as_group.as_ref() {
        let pod_group = pod
            .spec()
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_group);
        check_pod_and_containers(
            pod,
            findings,
            ("runAsGroup", strategy),
            "runAsGroup",
            pod_group,
            |sc| sc.run_as_group,
        );
    }
}
