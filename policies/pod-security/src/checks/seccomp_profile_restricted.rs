//! Seccomp, restricted (`seccompProfile_restricted`, restricted, v1.19).
//!
//! Fields: `spec.securityContext.seccompProfile.type` and every container's
//! `securityContext.seccompProfile.type`. Required: `RuntimeDefault` or `Localhost`, set at pod
//! level or on every container; no container may set another type. From v1.25 Windows pods are
//! exempt. Supersedes the baseline seccomp check.

use super::common::SECCOMP_ALLOWED_TYPES;
use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "seccompProfile_restricted",
    level: Level::Restricted,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(19), check_1_19).overriding(&["seccompProfile_baseline"]),
        VersionedCheck::since(Version::v1(25), check_1_25).overriding(&["seccompProfile_baseline"]),
    ],
};

const REQUIRED: &str = "must be RuntimeDefault or Localhost";

fn check_1_19<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    let pod_type = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref())
        .map(|p| p.profile_type.as_str());
    let allowed = |t: &str| SECCOMP_ALLOWED_TYPES.contains(&t);
    let pod_ok = pod_type.is_some_and(allowed);
    if let Some(value) = pod_type.filter(|_| !pod_ok) {
        findings.pod_found(
            Found::Profile(value),
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
        let (found, message) = match container_type {
            Some(t) if allowed(t) => continue,
            Some(t) => (Found::Profile(t), format!("\"{t}\"; {REQUIRED}")),
            None if pod_ok => continue,
            None => (
                Found::ProfileUnset,
                format!(
                    "unset and the pod sets no allowed profile; {REQUIRED} on the pod or the container"
                ),
            ),
        };
        findings.container_found(
            &container,
            found,
            container
                .path()
                .fields("securityContext.seccompProfile.type"),
            message,
        );
    }
}

fn check_1_25<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    if !pod.is_windows() {
        check_1_19(pod, findings);
    }
}
