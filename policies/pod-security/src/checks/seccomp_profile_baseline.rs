//! Seccomp (`seccompProfile_baseline`, baseline).
//!
//! v1.0: annotations `seccomp.security.alpha.kubernetes.io/pod` and
//! `container.seccomp.security.alpha.kubernetes.io/*` must not be `unconfined`.
//! v1.19: `spec.securityContext.seccompProfile.type` and every container's
//! `securityContext.seccompProfile.type`; allowed `RuntimeDefault`, `Localhost`, undefined.

use super::common::SECCOMP_ALLOWED_TYPES;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "seccompProfile_baseline",
    level: Level::Baseline,
    fields: &[
        "metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]",
        "metadata.annotations[\"container.seccomp.security.alpha.kubernetes.io/*\"]",
        "spec.securityContext.seccompProfile.type",
        "containers[*].securityContext.seccompProfile.type",
    ],
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(19), check_1_19),
    ],
};

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    for (key, value) in &pod.workload.pod_metadata.annotations {
        let seccomp = key == POD_ANNOTATION || key.starts_with(CONTAINER_ANNOTATION_PREFIX);
        if seccomp && value == "unconfined" {
            findings.pod(
                pod.workload.pod_metadata_path.field("annotations").field(key.clone()),
                "\"unconfined\"; allowed: runtime/default, docker/default, localhost/<profile> or unset",
            );
        }
    }
}

fn check_1_19(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    const ALLOWED: &str = "allowed: RuntimeDefault, Localhost or unset";
    let pod_profile = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    if let Some(profile) =
        pod_profile.filter(|p| !SECCOMP_ALLOWED_TYPES.contains(&p.profile_type.as_str()))
    {
        findings.pod(
            pod.spec_path("securityContext.seccompProfile.type"),
            format!("\"{}\"; {ALLOWED}", profile.profile_type),
        );
    }
    for container in pod.containers() {
        let profile = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref());
        if let Some(profile) =
            profile.filter(|p| !SECCOMP_ALLOWED_TYPES.contains(&p.profile_type.as_str()))
        {
            findings.container(
                &container,
                container
                    .path()
                    .fields("securityContext.seccompProfile.type"),
                format!("\"{}\"; {ALLOWED}", profile.profile_type),
            );
        }
    }
}
