//! `supplementalGroups` (`psp.supplementalGroups`): the extra groups of the pod's processes.
//!
//! Field: `spec.securityContext.supplementalGroups`. `MustRunAs`: at least one group, each
//! within the ranges. `MayRunAs`: each group within the ranges. `RunAsAny`: anything. Windows
//! pods are not judged.

use super::ids::{out_of_range, unset};
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};
use crate::psp::id_ranges::IdRule;

pub const CHECK: Check = Check {
    id: "psp.supplementalGroups",
    level: Level::Baseline,
    fields: &["spec.securityContext.supplementalGroups[*]"],
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check)],
};

fn check(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
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
