//! HostProcess (`windowsHostProcess`, baseline, v1.0).
//!
//! Fields: `spec.securityContext.windowsOptions.hostProcess` and every container's
//! `securityContext.windowsOptions.hostProcess`. Allowed: undefined, `false`.

use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "windowsHostProcess",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

const ALLOWED: &str = "allowed: false or unset";

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    let pod_level = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.windows_options.as_ref());
    if pod_level.and_then(|w| w.host_process) == Some(true) {
        findings.pod(
            pod.spec_path("securityContext.windowsOptions.hostProcess"),
            format!("true; {ALLOWED}"),
        );
    }
    for container in pod.containers() {
        let options = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.windows_options.as_ref());
        if options.and_then(|w| w.host_process) == Some(true) {
            let path = container
                .path()
                .fields("securityContext.windowsOptions.hostProcess");
            findings.container(&container, path, format!("true; {ALLOWED}"));
        }
    }
}
