//! Volume Types (`restrictedVolumes`, restricted).
//!
//! Field: `spec.volumes[*]`. Allowed sources: configMap, csi, downwardAPI, emptyDir, ephemeral,
//! persistentVolumeClaim, projected, secret; from v1.33 also `image`. A volume without a source
//! defaults to emptyDir. A hostPath volume allowed by `allowedHostPaths` is not reported again;
//! a type the `volumes` setting lists is allowed, with a warning.

use super::common::allowing_entries;
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};
use crate::psp::volume_types;

pub const CHECK: Check = Check {
    id: "restrictedVolumes",
    level: Level::Restricted,
    fields: &["spec.volumes[*]"],
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(33), check_1_33),
    ],
};

const ALLOWED_1_0: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
const ALLOWED_1_33: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    check_with(pod, ALLOWED_1_0, findings);
}

fn check_1_33(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    check_with(pod, ALLOWED_1_33, findings);
}

fn check_with(pod: &PodContext<'_>, allowed: &[&str], findings: &mut Findings<'_>) {
    for (index, volume) in pod.spec().volumes.iter().enumerate() {
        for source in &volume.sources {
            if allowed.contains(&source.as_str()) {
                continue;
            }
            let reviewed_host_path = source == "hostPath"
                && volume.host_path.as_ref().is_some_and(|h| {
                    !allowing_entries(&pod.settings.allowed_host_paths, &h.path).is_empty()
                });
            if reviewed_host_path {
                continue;
            }
            if let Some(listed) = pod.settings.volumes.as_deref()
                && volume_types::allows(listed, source)
            {
                findings.beyond_level(
                    pod,
                    None,
                    format!("uses {source} volume \"{}\"", volume.name),
                    "volumes",
                );
                continue;
            }
            findings.pod(
                pod.spec_path("volumes").index(index).field(source.clone()),
                format!(
                    "volume \"{}\" is of type {source}; allowed: {}",
                    volume.name,
                    allowed.join(", ")
                ),
            );
        }
    }
}
