//! `supplementalGroups` (`psp.supplementalGroups`): the extra groups of the pod's processes.
//!
//! Field: `spec.securityContext.supplementalGroups`. `MustRunAs`: at least one group, each
//! within the ranges. `MayRunAs`: each group within the ranges. `RunAsAny`: anything. Windows
//! pods are not judged.

use super::ids::{out_of_range, unset};
use crate::check::Findings;
use crate::psp::id_ranges::IdRule;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.supplementalGroups",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let Some(strategy) = pod.settings.supplemental_groups.as_ref() else {
        return;
    };
    if pod.is_windows() || strategy.rule == IdRule::RunAsAny {
        return;
    }
    let groups = pod
        .spec()
        .security_context
        .as_ref()
        .map(|sc| sc.supplemental_groups.as_slice())
        .unwrap_or_default();
    let path = pod.spec_path("securityContext.supplementalGroups");
    if groups.is_empty() && strategy.rule == IdRule::MustRunAs {
        findings.pod(path.clone(), unset("supplementalGroups", strategy));
    }
    for (index, id) in groups.iter().enumerate() {
        if !strategy.contains(*id) {
            findings.pod(
                path.index(index),
                out_of_range(*id, "supplementalGroups", strategy),
            );
        }
    }
}
