//! Seccomp, restricted (`seccompProfile_restricted`, restricted, v1.19).
//!
//! Fields: `spec.securityContext.seccompProfile.type` and every container's
//! `securityContext.seccompProfile.type`. Required: `RuntimeDefault` or `Localhost`, set at pod
//! level or on every container; no container may set another type. From v1.25 Windows pods are
//! exempt. Supersedes the baseline seccomp check. `Unconfined` is allowed, with a warning, when
//! `allowedSeccompProfiles` lists `unconfined` (or `*`); unset still is not.

use super::common::SECCOMP_ALLOWED_TYPES;
use super::seccomp_profile_baseline;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "seccompProfile_restricted",
    level: Level::Restricted,
    fields: &[
        "spec.securityContext.seccompProfile.type",
        "containers[*].securityContext.seccompProfile.type",
    ],
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(19), check_1_19).overriding(&["seccompProfile_baseline"]),
        VersionedCheck::since(Version::v1(25), check_1_25).overriding(&["seccompProfile_baseline"]),
    ],
};

const REQUIRED: &str = "must be RuntimeDefault or Localhost";

fn check_1_19(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    let pod_type = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref())
        .map(|p| p.profile_type.as_str());
    let unconfined_allowed = seccomp_profile_baseline::unconfined_allowed(pod);
    if unconfined_allowed {
        seccomp_profile_baseline::widen_unconfined(pod, findings);
    }
    let allowed =
        |t: &str| SECCOMP_ALLOWED_TYPES.contains(&t) || (unconfined_allowed && t == "Unconfined");
    let pod_ok = pod_type.is_some_and(allowed);
    if let Some(value) = pod_type.filter(|_| !pod_ok) {
        findings.pod(
            pod.spec_path("securityContext.seccompProfile.type"),
            format!("\"{value}\"; {REQUIRED}"),
        );
    }
    for container in pod.containers() {
        let container_type = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref())
            .map(|p| p.profile_type.as_str());
        let message = match container_type {
            Some(t) if allowed(t) => continue,
            Some(t) => format!("\"{t}\"; {REQUIRED}"),
            None if pod_ok => continue,
            None => format!(
                "unset and the pod sets no allowed profile; {REQUIRED} on the pod or the container"
            ),
        };
        findings.container(
            &container,
            container
                .path()
                .fields("securityContext.seccompProfile.type"),
            message,
        );
    }
}

fn check_1_25(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    if !pod.is_windows() {
        check_1_19(pod, findings);
    }
}
