//! Volume Types (`restrictedVolumes`, restricted).
//!
//! Field: `spec.volumes[*]`. Allowed sources: configMap, csi, downwardAPI, emptyDir, ephemeral,
//! persistentVolumeClaim, projected, secret; from v1.33 also `image`. A volume without a source
//! defaults to emptyDir.

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "restrictedVolumes",
    level: Level::Restricted,
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

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_with(pod, ALLOWED_1_0, findings);
}

fn check_1_33<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_with(pod, ALLOWED_1_33, findings);
}

fn check_with<'a>(pod: &PodContext<'a>, allowed: &[&str], findings: &mut Findings<'_, 'a>) {
    for (index, volume) in pod.spec().volumes.iter().enumerate() {
        for source in &volume.sources {
            if allowed.contains(&source.as_str()) {
                continue;
            }
            findings.pod_found(
                Found::VolumeSource(volume, source),
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
