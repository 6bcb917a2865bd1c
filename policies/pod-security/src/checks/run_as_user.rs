//! Running as Non-root user (`runAsUser`, restricted, v1.23).
//!
//! Fields: `spec.securityContext.runAsUser` and every container's `securityContext.runAsUser`.
//! Allowed: any non-zero value, undefined. From v1.35 any value is allowed when the pod sets
//! `hostUsers: false`. User 0 is allowed, with a warning, when the `runAsUser` setting is
//! `MustRunAs` with a range that includes 0.

use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "runAsUser",
    level: Level::Restricted,
    fields: &[
        "spec.securityContext.runAsUser",
        "containers[*].securityContext.runAsUser",
    ],
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(23), check_1_23),
        VersionedCheck::since(Version::v1(35), check_1_35),
    ],
};

const MESSAGE: &str = "0 (root); allowed: a non-zero user id or unset";

fn check_1_23(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    if root_allowed(pod) {
        let pod_root = pod
            .spec()
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_user)
            == Some(0);
        let containers_root = pod.containers().any(|c| {
            c.container
                .security_context
                .as_ref()
                .and_then(|sc| sc.run_as_user)
                == Some(0)
        });
        if pod_root || containers_root {
            findings.beyond_level(pod, None, "runs as user 0", "runAsUser ranges including 0");
        }
        return;
    }
    if pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_user)
        == Some(0)
    {
        findings.pod(pod.spec_path("securityContext.runAsUser"), MESSAGE);
    }
    for container in pod.containers() {
        if container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_user)
            == Some(0)
        {
            findings.container(
                &container,
                container.path().fields("securityContext.runAsUser"),
                MESSAGE,
            );
        }
    }
}

/// True when the `runAsUser` setting's ranges include root.
pub fn root_allowed(pod: &PodContext<'_>) -> bool {
    pod.settings
        .run_as_user
        .as_ref()
        .is_some_and(|s| s.allows_root())
}

fn check_1_35(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    if !pod.spec().uses_user_namespace() {
        check_1_23(pod, findings);
    }
}
