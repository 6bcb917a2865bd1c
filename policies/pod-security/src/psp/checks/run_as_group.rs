//! `runAsGroup` (`psp.runAsGroup`): the primary group every container runs as.
//!
//! Fields: `spec.securityContext.runAsGroup` and the same per container (the container's value
//! wins). `MustRunAs`: set, here or on the pod, within the ranges. `MayRunAs`: unset, or within
//! the ranges. `RunAsAny`: anything. Windows pods are not judged.

use super::ids::check_pod_and_containers;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "psp.runAsGroup",
    level: Level::Baseline,
    fields: &[
        "spec.securityContext.runAsGroup",
        "containers[*].securityContext.runAsGroup",
    ],
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check)],
};

fn check(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
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
