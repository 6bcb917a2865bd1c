//! SELinux (`seLinuxOptions`, baseline).
//!
//! Fields: `spec.securityContext.seLinuxOptions.{type,user,role}` and the same per container.
//! Allowed `type`: undefined, `""`, `container_t`, `container_init_t`, `container_kvm_t`, and
//! from v1.31 `container_engine_t`. `user` and `role`: undefined or `""`. Options equal to a
//! `seLinux` `MustRunAs` setting are allowed, with a warning when they break these rules.

use pci_shared::containers::ContainerRef;
use pci_shared::path::FieldPath;
use pci_shared::pod::SeLinuxOptions;

use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};
use crate::psp::settings::{SeLinuxOptionsSetting, SeLinuxRule};

pub const CHECK: Check = Check {
    id: "seLinuxOptions",
    level: Level::Baseline,
    fields: &[
        "spec.securityContext.seLinuxOptions.{type,user,role}",
        "containers[*].securityContext.seLinuxOptions.{type,user,role}",
    ],
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(31), check_1_31),
    ],
};

const TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    check_with(pod, TYPES_1_0, findings);
}

fn check_1_31(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    check_with(pod, TYPES_1_31, findings);
}

/// The problems of one `seLinuxOptions`, as (field, message).
fn problems(options: &SeLinuxOptions, types: &[&str]) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    if let Some(selinux_type) = options.selinux_type.as_deref()
        && !types.contains(&selinux_type)
    {
        let allowed: Vec<&str> = types.iter().filter(|t| !t.is_empty()).copied().collect();
        found.push((
            "type",
            format!(
                "\"{selinux_type}\"; allowed: {} or unset",
                allowed.join(", ")
            ),
        ));
    }
    for (field, value) in [("user", &options.user), ("role", &options.role)] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            found.push((field, format!("\"{value}\"; allowed: unset")));
        }
    }
    found
}

/// The options a `seLinux` `MustRunAs` setting requires, which are then allowed as they are.
fn required<'a>(pod: &PodContext<'a>) -> Option<&'a SeLinuxOptionsSetting> {
    pod.settings
        .se_linux
        .as_ref()
        .filter(|s| s.rule == SeLinuxRule::MustRunAs)
        .and_then(|s| s.se_linux_options.as_ref())
}

/// True when `options` are the ones a `seLinux` `MustRunAs` setting requires; then allowed,
/// with a warning when they break the standard's rules.
fn widened(
    pod: &PodContext<'_>,
    options: &SeLinuxOptions,
    types: &[&str],
    findings: &mut Findings<'_>,
    container: Option<&ContainerRef<'_>>,
) -> bool {
    let allowed = required(pod).filter(|r| r.matches(options));
    if let Some(allowed) = allowed
        && !problems(options, types).is_empty()
    {
        findings.beyond_level(
            pod,
            container,
            format!("uses SELinux options {}", allowed.describe()),
            "seLinux",
        );
    }
    allowed.is_some()
}

fn check_with(pod: &PodContext<'_>, types: &[&str], findings: &mut Findings<'_>) {
    let at = |base: FieldPath, field: &'static str| base.fields("seLinuxOptions").field(field);
    if let Some(options) = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.se_linux_options.as_ref())
        && !widened(pod, options, types, findings, None)
    {
        for (field, message) in problems(options, types) {
            findings.pod(at(pod.spec_path("securityContext"), field), message);
        }
    }
    for container in pod.containers() {
        let Some(options) = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.se_linux_options.as_ref())
        else {
            continue;
        };
        if widened(pod, options, types, findings, Some(&container)) {
            continue;
        }
        for (field, message) in problems(options, types) {
            findings.container(
                &container,
                at(container.path().field("securityContext"), field),
                message,
            );
        }
    }
}
