//! Capabilities (`capabilities_baseline`, baseline, v1.0).
//!
//! Field: every container's `securityContext.capabilities.add`. Allowed: a subset of
//! AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP,
//! SETGID, SETPCAP, SETUID, SYS_CHROOT; or of `allowedCapabilities` when set.
//! With `requiredDropCapabilities`, `capabilities.drop` must also name each of them (or ALL).

use pci_shared::containers::ContainerRef;

use super::{Check, Findings, PodContext, VersionedCheck};
use crate::capabilities::{self, ALL, BASELINE_ALLOWED};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "capabilities_baseline",
    level: Level::Baseline,
    versions: &[VersionedCheck {
        minimum: Version::v1(0),
        check: check_1_0,
        overrides: &[],
    }],
};

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    for container in pod.containers() {
        check_added(pod, &container, &BASELINE_ALLOWED, "baseline", findings);
        check_required_drops(pod, &container, findings);
    }
}

/// Reports the capabilities `container` adds beyond `level_allowed` (or `allowedCapabilities`),
/// and notes the ones only `allowedCapabilities` allows.
pub fn check_added(
    pod: &PodContext<'_>,
    container: &ContainerRef<'_>,
    level_allowed: &[&str],
    level_name: &str,
    findings: &mut Findings<'_>,
) {
    let Some(caps) = container
        .container
        .security_context
        .as_ref()
        .and_then(|sc| sc.capabilities.as_ref())
    else {
        return;
    };
    let configured: Option<Vec<String>> = pod
        .settings
        .allowed_capabilities
        .as_ref()
        .map(|list| list.iter().map(|c| capabilities::normalize(c)).collect());
    let is_allowed = |name: &str| match &configured {
        Some(list) => list.iter().any(|c| c == name),
        None => level_allowed.contains(&name),
    };
    let mut refused = Vec::new();
    for added in &caps.add {
        let name = capabilities::normalize(added);
        if !is_allowed(&name) {
            refused.push(added.as_str());
        } else if !level_allowed.contains(&name.as_str()) {
            findings.note(format!(
                "pod-security: container \"{}\" adds {added}, allowed by allowedCapabilities beyond the {level_name} level",
                container.name()
            ));
        }
    }
    if !refused.is_empty() {
        let allowed = match &configured {
            Some(list) if list.is_empty() => "none (allowedCapabilities is empty)".to_owned(),
            Some(list) => list.join(", "),
            None => level_allowed.join(", "),
        };
        findings.container(
            container,
            container.path().fields("securityContext.capabilities.add"),
            format!("adds {}; allowed: {allowed}", refused.join(", ")),
        );
    }
}

/// Reports the `requiredDropCapabilities` that `container` does not drop.
pub fn check_required_drops(
    pod: &PodContext<'_>,
    container: &ContainerRef<'_>,
    findings: &mut Findings<'_>,
) {
    let required = &pod.settings.required_drop_capabilities;
    if required.is_empty() || pod.is_windows() {
        return;
    }
    let dropped: Vec<String> = container
        .container
        .security_context
        .as_ref()
        .and_then(|sc| sc.capabilities.as_ref())
        .map(|caps| {
            caps.drop
                .iter()
                .map(|c| capabilities::normalize(c))
                .collect()
        })
        .unwrap_or_default();
    if dropped.iter().any(|c| c == ALL) {
        return;
    }
    let missing: Vec<String> = required
        .iter()
        .map(|c| capabilities::normalize(c))
        .filter(|c| !dropped.contains(c))
        .collect();
    if !missing.is_empty() {
        findings.container(
            container,
            container.path().fields("securityContext.capabilities.drop"),
            format!(
                "does not drop {}; requiredDropCapabilities: {} (ALL covers them)",
                missing.join(", "),
                missing.join(", ")
            ),
        );
    }
}
