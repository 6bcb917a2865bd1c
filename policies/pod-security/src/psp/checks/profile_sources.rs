//! Where a pod and its containers name their seccomp or AppArmor profile: the field, or the
//! legacy annotation, read as one profile name ([`crate::psp::profiles`]), and the allowlist
//! judgement both knobs share.

use pci_shared::containers::ContainerRef;
use pci_shared::path::FieldPath;

use crate::check::Findings;
use crate::psp::Layer;
use crate::psp::profiles;

/// A profile named somewhere: its name and the path of the field or annotation naming it.
pub struct Named {
    pub name: String,
    pub path: FieldPath,
}

impl Named {
    /// The profile a `seccompProfile` or `appArmorProfile` field at `base` names.
    pub fn from_field(
        profile_type: &str,
        localhost_profile: Option<&str>,
        base: FieldPath,
    ) -> Self {
        Self {
            name: profiles::field_name(profile_type, localhost_profile),
            path: field_path(base, profile_type),
        }
    }
}

/// How one family of profiles is named on a pod.
pub struct Sources {
    /// The setting, for messages.
    pub setting: &'static str,
    /// The pod's own profile (field first, then annotation).
    pub pod: fn(&Layer<'_>) -> Option<Named>,
    /// A container's own profile (field first, then annotation).
    pub container: fn(&Layer<'_>, &ContainerRef<'_>) -> Option<Named>,
    /// The path reported for a container that names no profile and whose pod names none.
    pub unset_field: &'static str,
}

/// The field that names a profile: `localhostProfile` for a Localhost profile, else `type`
/// (where the Pod Security Standards checks report a refused type too).
pub fn field_path(profile: FieldPath, profile_type: &str) -> FieldPath {
    if profile_type == "Localhost" {
        profile.field("localhostProfile")
    } else {
        profile.field("type")
    }
}

/// The annotation `key` of the pod template, as a named profile.
pub fn annotation(pod: &Layer<'_>, key: &str) -> Option<Named> {
    let value = pod.workload.pod_metadata.annotations.get(key)?;
    Some(Named {
        name: value.clone(),
        path: pod
            .workload
            .pod_metadata_path
            .field("annotations")
            .field(key.to_owned()),
    })
}

/// Judges the pod's and every container's profile against `allowed`: a named profile must be
/// listed; a container naming none, in a pod naming none, is refused too.
pub fn check(
    pod: &Layer<'_>,
    findings: &mut Findings<'_, '_>,
    allowed: &[String],
    sources: &Sources,
) {
    if allowed.iter().any(|entry| entry == "*") {
        return;
    }
    let listed = allowed.join(", ");
    let pod_profile = (sources.pod)(pod);
    if let Some(named) = &pod_profile
        && !profiles::is_allowed(allowed, &named.name)
    {
        findings.pod(
            named.path.clone(),
            format!("\"{}\"; {}: {listed}", named.name, sources.setting),
        );
    }
    for container in pod.containers() {
        match (sources.container)(pod, &container) {
            Some(named) if !profiles::is_allowed(allowed, &named.name) => findings.container(
                &container,
                named.path,
                format!("\"{}\"; {}: {listed}", named.name, sources.setting),
            ),
            None if pod_profile.is_none() => findings.container(
                &container,
                container.path().fields(sources.unset_field),
                format!(
                    "unset on the container and the pod; {}: {listed}",
                    sources.setting
                ),
            ),
            _ => {}
        }
    }
}
