//! Running as Non-root user (`runAsUser`, restricted, v1.23).
//!
//! Fields: `spec.securityContext.runAsUser` and every container's `securityContext.runAsUser`.
//! Allowed: any non-zero value, undefined. From v1.35 any value is allowed when the pod sets
//! `hostUsers: false`.

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "runAsUser",
    level: Level::Restricted,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(23), check_1_23),
        VersionedCheck::since(Version::v1(35), check_1_35),
    ],
};

const MESSAGE: &str = "0 (root); allowed: a non-zero user id or unset";

fn check_1_23<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    if pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_user)
        == Some(0)
    {
        findings.pod_found(
            Found::RootUser,
            pod.spec_path("securityContext.runAsUser"),
            MESSAGE,
        );
    }
    for container in pod.containers() {
        if container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_user)
            == Some(0)
        {
            findings.container_found(
                &container,
                Found::RootUser,
                container.path().fields("securityContext.runAsUser"),
                MESSAGE,
            );
        }
    }
}

fn check_1_35<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    if !pod.spec().uses_user_namespace() {
        check_1_23(pod, findings);
    }
}
