//! Helpers several checks share: a baseline check and the restricted check that supersedes it
//! read the same fields the same way.

use pci_shared::containers::ContainerRef;

use crate::capabilities::{self, ALL};
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

/// Reports the capabilities `container` adds beyond `level_allowed` (or `allowedCapabilities`),
/// and notes the ones only `allowedCapabilities` allows.
///
/// Names are compared verbatim, as Pod Security Admission compares them: `CAP_CHOWN` and
/// `chown` are not `CHOWN` (the message says which spelling would be allowed).
pub fn check_added(
    pod: &PodContext<'_>,
    container: &ContainerRef<'_>,
    level_allowed: &[&str],
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
    let configured = pod.allowed_capabilities.as_deref();
    let by_default = |name: &str| pod.default_adds.iter().any(|c| c == name);
    let is_allowed = |name: &str| {
        by_default(name)
            || match configured {
                Some(list) => list.iter().any(|c| c == name || c == capabilities::ANY),
                None => level_allowed.contains(&name),
            }
    };
    let mut refused = Vec::new();
    let mut respell = Vec::new();
    for added in &caps.add {
        if !is_allowed(added) {
            refused.push(added.as_str());
            let canonical = capabilities::normalize(added);
            if canonical != *added && is_allowed(&canonical) {
                respell.push(format!("write {canonical} for {added}"));
            }
        } else if !level_allowed.contains(&added.as_str()) {
            let setting = if by_default(added) {
                "defaultAddCapabilities"
            } else {
                "allowedCapabilities"
            };
            findings.beyond_level(pod, Some(container), format!("adds {added}"), setting);
        }
    }
    if !refused.is_empty() {
        let allowed = match configured {
            Some([]) => "none (allowedCapabilities is empty)".to_owned(),
            Some(list) => list.join(", "),
            None => level_allowed.join(", "),
        };
        let mut message = format!("adds {}; allowed: {allowed}", refused.join(", "));
        if !respell.is_empty() {
            message.push_str(&format!(
                " (names are compared exactly, as Pod Security Admission does: {})",
                respell.join(", ")
            ));
        }
        findings.container(
            container,
            container.path().fields("securityContext.capabilities.add"),
            message,
        );
    }
}

/// Reports the `requiredDropCapabilities` that `container` does not drop.
pub fn check_required_drops(
    pod: &PodContext<'_>,
    container: &ContainerRef<'_>,
    findings: &mut Findings<'_>,
) {
    let required = &pod.required_drops;
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
                .map(|d| capabilities::normalize(d))
                .collect()
        })
        .unwrap_or_default();
    if dropped.iter().any(|d| d == ALL) {
        return;
    }
    let missing: Vec<&str> = required
        .iter()
        .map(String::as_str)
        .filter(|name| !dropped.iter().any(|d| d == name))
        .collect();
    if !missing.is_empty() {
        findings.container(
            container,
            container.path().fields("securityContext.capabilities.drop"),
            format!(
                "does not drop {}; requiredDropCapabilities: {} (ALL in drop covers them all)",
                missing.join(", "),
                required.join(", ")
            ),
        );
    }
}
