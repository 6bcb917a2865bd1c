//! AppArmor (`appArmorProfile`, baseline).
//!
//! v1.0: pod annotations `container.apparmor.security.beta.kubernetes.io/*`; allowed values
//! `runtime/default`, `localhost/*`, `""`.
//! v1.30: also `spec.securityContext.appArmorProfile.type` and every container's
//! `securityContext.appArmorProfile.type`; allowed `RuntimeDefault`, `Localhost`, undefined.
//! `unconfined` is allowed, with a warning, when `allowedAppArmorProfiles` lists it (or `*`).

use pci_shared::pod::AppArmorProfile;

use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};
use crate::psp::profiles;

pub const CHECK: Check = Check {
    id: "appArmorProfile",
    level: Level::Baseline,
    fields: &[
        "metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/*\"]",
        "spec.securityContext.appArmorProfile.type",
        "containers[*].securityContext.appArmorProfile.type",
    ],
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(30), check_1_30),
    ],
};

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// True when `allowedAppArmorProfiles` lists the profile `name` (only `unconfined` can be
/// beyond the level).
fn knob_allows(pod: &PodContext<'_>, name: &str) -> bool {
    pod.settings
        .allowed_app_armor_profiles
        .as_deref()
        .is_some_and(|list| profiles::is_allowed(list, name))
}

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    let metadata = &pod.workload.pod_metadata;
    for (key, value) in &metadata.annotations {
        if !key.starts_with(ANNOTATION_PREFIX) {
            continue;
        }
        let allowed =
            value.is_empty() || value == "runtime/default" || value.starts_with("localhost/");
        if !allowed && knob_allows(pod, value) {
            findings.beyond_level(
                pod,
                None,
                format!("sets {key}: {value}"),
                "allowedAppArmorProfiles",
            );
        } else if !allowed {
            findings.pod(
                pod.workload
                    .pod_metadata_path
                    .field("annotations")
                    .field(key.clone()),
                format!("\"{value}\"; allowed: runtime/default, localhost/<profile> or empty"),
            );
        }
    }
}

fn check_1_30(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
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
        if knob_allows(pod, &profiles::field_name(&profile.profile_type, None)) {
            findings.beyond_level(
                pod,
                None,
                format!("runs AppArmor {}", profile.profile_type),
                "allowedAppArmorProfiles",
            );
        } else {
            findings.pod(
                pod.spec_path("securityContext.appArmorProfile.type"),
                format!("\"{}\"; {ALLOWED}", profile.profile_type),
            );
        }
    }
    for container in pod.containers() {
        if let Some(profile) = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.app_armor_profile.as_ref())
            && is_bad(profile)
        {
            if knob_allows(pod, &profiles::field_name(&profile.profile_type, None)) {
                findings.beyond_level(
                    pod,
                    Some(&container),
                    format!("runs AppArmor {}", profile.profile_type),
                    "allowedAppArmorProfiles",
                );
                continue;
            }
            findings.container(
                &container,
                container
                    .path()
                    .fields("securityContext.appArmorProfile.type"),
                format!("\"{}\"; {ALLOWED}", profile.profile_type),
            );
        }
    }
}
