//! HostPath Volumes (`hostPathVolumes`, baseline, v1.0).
//!
//! Field: `spec.volumes[*].hostPath`. Allowed: undefined; or, with `allowedHostPaths`, a path
//! at or below an allowed prefix (compared by path component), mounted read-only by every
//! container when the entry says `readOnly: true`.

use super::common::allowing_entries;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "hostPathVolumes",
    level: Level::Baseline,
    fields: &["spec.volumes[*].hostPath"],
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    let allowed = &pod.settings.allowed_host_paths;
    for (index, volume) in pod.spec().volumes.iter().enumerate() {
        let Some(host_path) = &volume.host_path else {
            continue;
        };
        let entries = allowing_entries(allowed, &host_path.path);
        if entries.is_empty() {
            let permitted = if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed
                    .iter()
                    .map(|e| e.path_prefix.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            findings.pod(
                pod.spec_path("volumes").index(index).field("hostPath"),
                format!(
                    "volume \"{}\" mounts host path \"{}\"; allowed host paths: {permitted}",
                    volume.name, host_path.path
                ),
            );
            continue;
        }
        if entries.iter().any(|entry| !entry.read_only) {
            continue;
        }
        for container in pod.containers() {
            for (mount_index, mount) in container.container.volume_mounts.iter().enumerate() {
                if mount.name == volume.name && mount.read_only != Some(true) {
                    findings.container(
                        &container,
                        container.path().field("volumeMounts").index(mount_index).field("readOnly"),
                        format!(
                            "mounts host path \"{}\" writable; allowedHostPaths entry \"{}\" requires readOnly: true",
                            host_path.path, entries[0].path_prefix
                        ),
                    );
                }
            }
        }
    }
}
