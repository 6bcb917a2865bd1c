//! `fsGroup` (`psp.fsGroup`): the group that owns the pod's volumes.
//!
//! Field: `spec.securityContext.fsGroup`. `MustRunAs`: set, within the ranges. `MayRunAs`:
//! unset, or within the ranges. `RunAsAny`: anything. Windows pods are not judged.

use super::ids::{out_of_range, unset};
use crate::check::Findings;
use crate::psp::id_ranges::IdRule;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.fsGroup",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let Some(strategy) = pod.settings.fs_group.as_ref() else {
        return;
    };
    if pod.is_windows() {
        return;
    }
    let value = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.fs_group);
    let path = pod.spec_path("securityContext.fsGroup");
    match (strategy.rule, value) {
        (IdRule::MustRunAs | IdRule::MayRunAs, Some(id)) if !strategy.contains(id) => {
            findings.pod(path, out_of_range(id, "fsGroup", strategy));
        }
        (IdRule::MustRunAs, None) => findings.pod(path, unset("fsGroup", strategy)),
        _ => {}
    }
}
