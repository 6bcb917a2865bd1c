//! Host Namespaces (`hostNamespaces`, baseline, v1.0).
//!
//! Fields: `spec.hostNetwork`, `spec.hostPID`, `spec.hostIPC`. Allowed: undefined, `false`.

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "hostNamespaces",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    let spec = pod.spec();
    for (field, value) in [
        ("hostNetwork", spec.host_network),
        ("hostPID", spec.host_pid),
        ("hostIPC", spec.host_ipc),
    ] {
        if value == Some(true) {
            findings.pod_found(
                Found::HostNamespace(field),
                pod.spec_path(field),
                "true; allowed: false or unset",
            );
        }
    }
}
