//! Helpers several checks share: a baseline check and the restricted check that supersedes it
//! read the same fields the same way.

use pci_shared::containers::ContainerRef;

use crate::capabilities::{self, added_capabilities};
use crate::check::{Findings, PodContext};
use crate::host_path::is_under;
use crate::settings::AllowedHostPath;

/// Allowed values of a `seccompProfile.type` (`seccompProfile_baseline`,
/// `seccompProfile_restricted`).
pub const SECCOMP_ALLOWED_TYPES: [&str; 2] = ["RuntimeDefault", "Localhost"];

/// The `allowedHostPaths` entries covering `path`.
pub fn allowing_entries<'a>(
    allowed: &'a [AllowedHostPath],
    path: &str,
) -> Vec<&'a AllowedHostPath> {
    allowed
        .iter()
        .filter(|entry| is_under(path, &entry.path_prefix))
        .collect()
}

/// Reports every container whose `procMount` is set to anything but `Default`, unless
/// `allowedProcMountTypes` lists it (then with a warning).
pub fn report_non_default_proc_mount(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    let listed = pod
        .settings
        .allowed_proc_mount_types
        .as_deref()
        .unwrap_or_default();
    for container in pod.containers() {
        let proc_mount = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.proc_mount.as_deref());
        if let Some(value) = proc_mount.filter(|v| *v != "Default") {
            if listed.iter().any(|t| t == value) {
                findings.beyond_level(
                    pod,
                    Some(&container),
                    format!("uses procMount {value}"),
                    "allowedProcMountTypes",
                );
                continue;
            }
            findings.container(
                &container,
                container.path().fields("securityContext.procMount"),
                format!("\"{value}\"; allowed: Default or unset"),
            );
        }
    }
}

/// Reports every capability `container` adds beyond `level_allowed`, one violation per
/// `capabilities.add` entry; a capability `allowedCapabilities` or `defaultAddCapabilities`
/// allows is accepted with a warning instead (those settings also narrow: see
/// `psp.allowedCapabilities`).
///
/// Names are compared verbatim, as Pod Security Admission compares them: `CAP_CHOWN` and
/// `chown` are not `CHOWN` (the message says which spelling would be allowed).
pub fn check_added(
    pod: &PodContext<'_>,
    container: &ContainerRef<'_>,
    level_allowed: &[&str],
    findings: &mut Findings<'_>,
) {
    let settings_allow = |name: &str| pod.capability_setting_allowing(name);
    let is_allowed = |name: &str| level_allowed.contains(&name) || settings_allow(name).is_some();
    for (index, added) in added_capabilities(container) {
        if level_allowed.contains(&added) {
            continue;
        }
        if let Some(setting) = settings_allow(added) {
            findings.beyond_level(pod, Some(container), format!("adds {added}"), setting);
            continue;
        }
        let mut allowed = level_allowed.join(", ");
        // Named once each, though both settings may list a capability.
        let beyond: std::collections::BTreeSet<&str> = pod
            .default_adds
            .iter()
            .chain(pod.allowed_capabilities.iter().flatten())
            .map(String::as_str)
            .filter(|name| !level_allowed.contains(name))
            .collect();
        if !beyond.is_empty() {
            let beyond: Vec<&str> = beyond.into_iter().collect();
            allowed.push_str(&format!(", and {} by the settings", beyond.join(", ")));
        }
        findings.container(
            container,
            container
                .path()
                .fields("securityContext.capabilities.add")
                .index(index),
            format!(
                "adds {added}; allowed: {allowed}{}",
                capabilities::respelling_hint(added, is_allowed)
            ),
        );
    }
}
