//! Seccomp (`seccompProfile_baseline`, baseline).
//!
//! v1.0: annotations `seccomp.security.alpha.kubernetes.io/pod` and
//! `container.seccomp.security.alpha.kubernetes.io/*` must not be `unconfined`.
//! v1.19: `spec.securityContext.seccompProfile.type` and every container's
//! `securityContext.seccompProfile.type`; allowed `RuntimeDefault`, `Localhost`, undefined.

use super::common::SECCOMP_ALLOWED_TYPES;
use pci_shared::profile_annotations::{SECCOMP_CONTAINER_PREFIX, SECCOMP_POD};

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "seccompProfile_baseline",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(19), check_1_19),
    ],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for (key, value) in &pod.workload.pod_metadata.annotations {
        let seccomp = key == SECCOMP_POD || key.starts_with(SECCOMP_CONTAINER_PREFIX);
        if seccomp && value == "unconfined" {
            findings.pod_found(
                Found::Annotation(key, value),
                pod.workload.pod_metadata_path.field("annotations").field(key.clone()),
                "\"unconfined\"; allowed: runtime/default, docker/default, localhost/<profile> or unset",
            );
        }
    }
}

fn check_1_19<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    const ALLOWED: &str = "allowed: RuntimeDefault, Localhost or unset";
    let is_bad = |p: &&pci_shared::pod::SeccompProfile| {
        !SECCOMP_ALLOWED_TYPES.contains(&p.profile_type.as_str())
    };
    let pod_profile = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    if let Some(profile) = pod_profile.filter(is_bad) {
        findings.pod_found(
            Found::Profile(&profile.profile_type),
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
        if let Some(profile) = profile.filter(is_bad) {
            findings.container_found(
                &container,
                Found::Profile(&profile.profile_type),
                container
                    .path()
                    .fields("securityContext.seccompProfile.type"),
                format!("\"{}\"; {ALLOWED}", profile.profile_type),
            );
        }
    }
}
