//! Host Namespaces (`hostNamespaces`, baseline, v1.0).
//!
//! Fields: `spec.hostNetwork`, `spec.hostPID`, `spec.hostIPC`. Allowed: undefined, `false`;
//! `true` with the setting of the same name `true`, with a warning.

use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "hostNamespaces",
    level: Level::Baseline,
    fields: &["spec.hostNetwork", "spec.hostPID", "spec.hostIPC"],
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    let spec = pod.spec();
    let settings = pod.settings;
    for (field, value, allowed) in [
        ("hostNetwork", spec.host_network, settings.host_network),
        ("hostPID", spec.host_pid, settings.host_pid),
        ("hostIPC", spec.host_ipc, settings.host_ipc),
    ] {
        if value == Some(true) {
            if allowed == Some(true) {
                findings.beyond_level(
                    pod,
                    None,
                    format!("uses {field}"),
                    &format!("{field}: true"),
                );
                continue;
            }
            findings.pod(pod.spec_path(field), "true; allowed: false or unset");
        }
    }
}
