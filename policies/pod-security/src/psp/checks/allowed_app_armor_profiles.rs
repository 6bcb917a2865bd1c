//! `allowedAppArmorProfiles` (`psp.allowedAppArmorProfiles`): the AppArmor profiles containers
//! run with, as PodSecurityPolicy's `apparmor.security.beta.kubernetes.io/allowedProfileNames`
//! annotation listed them.
//!
//! Fields: `spec.securityContext.appArmorProfile`, every container's
//! `securityContext.appArmorProfile`, and the legacy annotation
//! `container.apparmor.security.beta.kubernetes.io/<container>`. Allowed: a listed name; a
//! container without a profile of its own or from the pod is refused; `*` allows anything,
//! unset included. An empty list constrains nothing, like an absent annotation. Windows pods
//! are not judged.

use pci_shared::containers::ContainerRef;

use super::profile_sources::{self, Named, Sources, annotation};
use pci_shared::profile_annotations::APPARMOR_CONTAINER_PREFIX;

use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.allowedAppArmorProfiles",
    check,
};

const SOURCES: Sources = Sources {
    setting: "allowedAppArmorProfiles",
    pod: pod_profile,
    container: container_profile,
    unset_field: "securityContext.appArmorProfile.type",
};

fn pod_profile(pod: &Layer<'_>) -> Option<Named> {
    let profile = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.app_armor_profile.as_ref())?;
    Some(Named::from_field(
        &profile.profile_type,
        profile.localhost_profile.as_deref(),
        pod.spec_path("securityContext.appArmorProfile"),
    ))
}

fn container_profile(pod: &Layer<'_>, container: &ContainerRef<'_>) -> Option<Named> {
    let field = container
        .container
        .security_context
        .as_ref()
        .and_then(|sc| sc.app_armor_profile.as_ref());
    match field {
        Some(profile) => Some(Named::from_field(
            &profile.profile_type,
            profile.localhost_profile.as_deref(),
            container.path().fields("securityContext.appArmorProfile"),
        )),
        None => annotation(
            pod,
            &format!("{APPARMOR_CONTAINER_PREFIX}{}", container.name()),
        ),
    }
}

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    if let Some(allowed) = pod.settings.allowed_app_armor_profiles.as_deref()
        && !allowed.is_empty()
        && !pod.is_windows()
    {
        profile_sources::check(pod, findings, allowed, &SOURCES);
    }
}
