//! Running as Non-root (`runAsNonRoot`, restricted).
//!
//! Fields: `spec.securityContext.runAsNonRoot` and every container's
//! `securityContext.runAsNonRoot`. Allowed: `true`; a container may leave it unset when the pod
//! sets `true`; nobody may set `false`. From v1.35 any value is allowed when the pod sets
//! `hostUsers: false`.

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "runAsNonRoot",
    level: Level::Restricted,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(35), check_1_35),
    ],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    let pod_value = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_non_root);
    if pod_value == Some(false) {
        findings.pod_found(
            Found::NonRoot,
            pod.spec_path("securityContext.runAsNonRoot"),
            "false; must be true",
        );
    }
    for container in pod.containers() {
        let value = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_non_root);
        let message = match (value, pod_value) {
            (Some(true), _) | (None, Some(true)) => continue,
            (Some(false), _) => "false; must be true".to_owned(),
            (None, _) => {
                "unset and spec.securityContext.runAsNonRoot is not true; must be true".to_owned()
            }
        };
        findings.container_found(
            &container,
            Found::NonRoot,
            container.path().fields("securityContext.runAsNonRoot"),
            message,
        );
    }
}

fn check_1_35<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    if !pod.spec().uses_user_namespace() {
        check_1_0(pod, findings);
    }
}
