//! AppArmor (`appArmorProfile`, baseline).
//!
//! v1.0: pod annotations `container.apparmor.security.beta.kubernetes.io/*`; allowed values
//! `runtime/default`, `localhost/*`, `""`.
//! v1.30: also `spec.securityContext.appArmorProfile.type` and every container's
//! `securityContext.appArmorProfile.type`; allowed `RuntimeDefault`, `Localhost`, undefined.

use pci_shared::pod::AppArmorProfile;
use pci_shared::profile_annotations::APPARMOR_CONTAINER_PREFIX;

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "appArmorProfile",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(30), check_1_30),
    ],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    let metadata = &pod.workload.pod_metadata;
    for (key, value) in &metadata.annotations {
        if !key.starts_with(APPARMOR_CONTAINER_PREFIX) {
            continue;
        }
        let allowed =
            value.is_empty() || value == "runtime/default" || value.starts_with("localhost/");
        if !allowed {
            findings.pod_found(
                Found::Annotation(key, value),
                pod.workload
                    .pod_metadata_path
                    .field("annotations")
                    .field(key.clone()),
                format!("\"{value}\"; allowed: runtime/default, localhost/<profile> or empty"),
            );
        }
    }
}

fn check_1_30<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_1_0(pod, findings);
    const ALLOWED: &str = "allowed: RuntimeDefault, Localhost or unset";
    let is_bad = |profile: &AppArmorProfile| {
        !matches!(
            profile.profile_type.as_str(),
            "RuntimeDefault" | "Localhost"
        )
    };

    if let Some(profile) = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.app_armor_profile.as_ref())
        && is_bad(profile)
    {
        findings.pod_found(
            Found::Profile(&profile.profile_type),
            pod.spec_path("securityContext.appArmorProfile.type"),
            format!("\"{}\"; {ALLOWED}", profile.profile_type),
        );
    }
    for container in pod.containers() {
        if let Some(profile) = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.app_armor_profile.as_ref())
            && is_bad(profile)
        {
            findings.container_found(
                &container,
                Found::Profile(&profile.profile_type),
                container
                    .path()
                    .fields("securityContext.appArmorProfile.type"),
                format!("\"{}\"; {ALLOWED}", profile.profile_type),
            );
        }
    }
}
