//! Helpers several checks share: a baseline check and the restricted check that supersedes it
//! read the same fields the same way.

use pci_shared::containers::ContainerRef;

use crate::capabilities::{self, added_capabilities};
use crate::check::{Findings, Found, PodContext};

/// Allowed values of a `seccompProfile.type` (`seccompProfile_baseline`,
/// `seccompProfile_restricted`).
pub const SECCOMP_ALLOWED_TYPES: [&str; 2] = ["RuntimeDefault", "Localhost"];

/// Reports every container whose `procMount` is set to anything but `Default`.
pub fn report_non_default_proc_mount<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for container in pod.containers() {
        let proc_mount = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.proc_mount.as_deref());
        if let Some(value) = proc_mount.filter(|v| *v != "Default") {
            findings.container_found(
                &container,
                Found::ProcMount(value),
                container.path().fields("securityContext.procMount"),
                format!("\"{value}\"; allowed: Default or unset"),
            );
        }
    }
}

/// Reports every capability `container` adds beyond `level_allowed`, one violation per
/// `capabilities.add` entry.
///
/// Names are compared verbatim, as Pod Security Admission compares them: `CAP_CHOWN` and
/// `chown` are not `CHOWN` (the message says which spelling would be allowed).
pub fn check_added<'a>(
    container: &ContainerRef<'a>,
    level_allowed: &[&str],
    findings: &mut Findings<'_, 'a>,
) {
    for (index, added) in added_capabilities(container) {
        if level_allowed.contains(&added) {
            continue;
        }
        findings.container_found(
            container,
            Found::Capability(added),
            container
                .path()
                .fields("securityContext.capabilities.add")
                .index(index),
            added_message(added, level_allowed, &[]),
        );
    }
}

/// The message for capability `added`, refused by the level (`level_allowed`) and not among
/// what the organisation allows beyond it (`beyond`, sorted, without duplicates).
pub fn added_message(added: &str, level_allowed: &[&str], beyond: &[&str]) -> String {
    let mut allowed = level_allowed.join(", ");
    if !beyond.is_empty() {
        allowed.push_str(&format!(", and {} by the settings", beyond.join(", ")));
    }
    let is_allowed = |name: &str| level_allowed.contains(&name) || beyond.contains(&name);
    format!(
        "adds {added}; allowed: {allowed}{}",
        capabilities::respelling_hint(added, is_allowed)
    )
}
