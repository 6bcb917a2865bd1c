//! `allowedSeccompProfiles` (`psp.allowedSeccompProfiles`): the seccomp profiles pods and
//! containers run with, as PodSecurityPolicy's `seccomp.security.alpha.kubernetes.io/
//! allowedProfileNames` annotation listed them.
//!
//! Fields: `spec.securityContext.seccompProfile`, every container's
//! `securityContext.seccompProfile`, and the legacy annotations
//! `seccomp.security.alpha.kubernetes.io/pod` and
//! `container.seccomp.security.alpha.kubernetes.io/<container>`. Allowed: a listed name; a
//! container without a profile of its own or from the pod is refused; `*` allows anything,
//! unset included. An empty list constrains nothing, like an absent annotation. Windows pods
//! are not judged.

use pci_shared::containers::ContainerRef;

use super::profile_sources::{self, Named, Sources, annotation};
use pci_shared::profile_annotations::{SECCOMP_CONTAINER_PREFIX, SECCOMP_POD};

use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.allowedSeccompProfiles",
    check,
};

const SOURCES: Sources = Sources {
    setting: "allowedSeccompProfiles",
    pod: pod_profile,
    container: container_profile,
    unset_field: "securityContext.seccompProfile.type",
};

fn pod_profile(pod: &Layer<'_>) -> Option<Named> {
    let field = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    match field {
        Some(profile) => Some(Named::from_field(
            &profile.profile_type,
            profile.localhost_profile.as_deref(),
            pod.spec_path("securityContext.seccompProfile"),
        )),
        None => annotation(pod, SECCOMP_POD),
    }
}

fn container_profile(pod: &Layer<'_>, container: &ContainerRef<'_>) -> Option<Named> {
    let field = container
        .container
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    match field {
        Some(profile) => Some(Named::from_field(
            &profile.profile_type,
            profile.localhost_profile.as_deref(),
            container.path().fields("securityContext.seccompProfile"),
        )),
        None => annotation(
            pod,
            &format!("{SECCOMP_CONTAINER_PREFIX}{}", container.name()),
        ),
    }
}

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    if let Some(allowed) = pod.settings.allowed_seccomp_profiles.as_deref()
        && !allowed.is_empty()
        && !pod.is_windows()
    {
        profile_sources::check(pod, findings, allowed, &SOURCES);
    }
}
