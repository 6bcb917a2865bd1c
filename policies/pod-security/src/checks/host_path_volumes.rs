//! HostPath Volumes (`hostPathVolumes`, baseline, v1.0).
//!
//! Field: `spec.volumes[*].hostPath`. Allowed: undefined.

use pci_shared::pod::Volume;

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "hostPathVolumes",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for (index, volume) in pod.spec().volumes.iter().enumerate() {
        if let Some(host_path) = &volume.host_path {
            findings.pod_found(
                Found::HostPath(volume),
                pod.spec_path("volumes").index(index).field("hostPath"),
                message(volume, &host_path.path, &[]),
            );
        }
    }
}

/// The message for `volume` mounting host `path`, the organisation's allowed `prefixes` listed.
pub fn message(volume: &Volume, path: &str, prefixes: &[&str]) -> String {
    let permitted = if prefixes.is_empty() {
        "none".to_owned()
    } else {
        prefixes.join(", ")
    };
    format!(
        "volume \"{}\" mounts host path \"{path}\"; allowed host paths: {permitted}",
        volume.name
    )
}
