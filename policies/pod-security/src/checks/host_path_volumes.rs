//! HostPath Volumes (`hostPathVolumes`, baseline, v1.0).
//!
//! Field: `spec.volumes[*].hostPath`. Allowed: undefined. Beyond the level, with a warning on
//! every request: with `allowedHostPaths`, a path at or below an allowed prefix (compared by
//! path component), mounted read-only by every container when the entry says `readOnly: true`;
//! with `volumes` allowing hostPath and no `allowedHostPaths`, any path (PodSecurityPolicy's
//! reading of an empty list). The setting only widens the level, so it has no control of its own.

use super::common::allowing_entries;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};
use crate::psp::volume_types;

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
        let any_path = allowed.is_empty()
            && pod
                .settings
                .volumes
                .as_deref()
                .is_some_and(|v| volume_types::allows(v, "hostPath"));
        if entries.is_empty() && any_path {
            findings.beyond_level(
                pod,
                None,
                format!(
                    "mounts host path \"{}\" (volume \"{}\")",
                    host_path.path, volume.name
                ),
                "volumes with hostPath and no allowedHostPaths",
            );
            continue;
        }
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
        let allowed_by = format!("allowedHostPaths \"{}\"", entries[0].path_prefix);
        let what = format!(
            "mounts host path \"{}\" (volume \"{}\")",
            host_path.path, volume.name
        );
        if entries.iter().any(|entry| !entry.read_only) {
            findings.beyond_level(pod, None, what, &allowed_by);
            continue;
        }
        let mut writable = false;
        for container in pod.containers() {
            for (mount_index, mount) in container.container.volume_mounts.iter().enumerate() {
                if mount.name == volume.name && mount.read_only != Some(true) {
                    writable = true;
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
        if !writable {
            findings.beyond_level(pod, None, format!("{what} read-only"), &allowed_by);
        }
    }
}
