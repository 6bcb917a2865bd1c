//! Seccomp (`seccompProfile_baseline`, baseline).
//!
//! v1.0: annotations `seccomp.security.alpha.kubernetes.io/pod` and
//! `container.seccomp.security.alpha.kubernetes.io/*` must not be `unconfined`.
//! v1.19: `spec.securityContext.seccompProfile.type` and every container's
//! `securityContext.seccompProfile.type`; allowed `RuntimeDefault`, `Localhost`, undefined.
//! `unconfined` is allowed, with a warning, when `allowedSeccompProfiles` lists it (or `*`).

use super::common::SECCOMP_ALLOWED_TYPES;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};
use crate::psp::profiles;

/// With unconfined allowed, the warning for every Unconfined profile field.
pub fn widen_unconfined(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    let unconfined = |p: &pci_shared::pod::SeccompProfile| p.profile_type == "Unconfined";
    if pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref())
        .is_some_and(unconfined)
    {
        findings.beyond_level(
            pod,
            None,
            "runs seccomp Unconfined",
            "allowedSeccompProfiles",
        );
    }
    for container in pod.containers() {
        if container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref())
            .is_some_and(unconfined)
        {
            findings.beyond_level(
                pod,
                Some(&container),
                "runs seccomp Unconfined",
                "allowedSeccompProfiles",
            );
        }
    }
}

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
            if unconfined_allowed(pod) {
                findings.beyond_level(
                    pod,
                    None,
                    format!("sets {key}: unconfined"),
                    "allowedSeccompProfiles",
                );
                continue;
            }
            findings.pod(
                pod.workload.pod_metadata_path.field("annotations").field(key.clone()),
                "\"unconfined\"; allowed: runtime/default, docker/default, localhost/<profile> or unset",
            );
        }
    }
}

/// True when `allowedSeccompProfiles` lets workloads run unconfined.
pub fn unconfined_allowed(pod: &PodContext<'_>) -> bool {
    profiles::allows_unconfined(pod.settings.allowed_seccomp_profiles.as_deref())
}

fn check_1_19(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    const ALLOWED: &str = "allowed: RuntimeDefault, Localhost or unset";
    let unconfined_allowed = unconfined_allowed(pod);
    if unconfined_allowed {
        widen_unconfined(pod, findings);
    }
    let is_bad = |p: &&pci_shared::pod::SeccompProfile| {
        let allowed = SECCOMP_ALLOWED_TYPES.contains(&p.profile_type.as_str())
            || (unconfined_allowed && p.profile_type == "Unconfined");
        !allowed
    };
    let pod_profile = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    if let Some(profile) = pod_profile.filter(is_bad) {
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
        if let Some(profile) = profile.filter(is_bad) {
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
