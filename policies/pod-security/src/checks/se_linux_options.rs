//! SELinux (`seLinuxOptions`, baseline).
//!
//! Fields: `spec.securityContext.seLinuxOptions.{type,user,role}` and the same per container.
//! Allowed `type`: undefined, `""`, `container_t`, `container_init_t`, `container_kvm_t`, and
//! from v1.31 `container_engine_t`. `user` and `role`: undefined or `""`.

use pci_shared::path::FieldPath;
use pci_shared::pod::SeLinuxOptions;

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "seLinuxOptions",
    level: Level::Baseline,
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

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_with(pod, TYPES_1_0, findings);
}

fn check_1_31<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
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

fn check_with<'a>(pod: &PodContext<'a>, types: &[&str], findings: &mut Findings<'_, 'a>) {
    let at = |base: FieldPath, field: &'static str| base.fields("seLinuxOptions").field(field);
    if let Some(options) = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.se_linux_options.as_ref())
    {
        for (field, message) in problems(options, types) {
            findings.pod_found(
                Found::SeLinux(options),
                at(pod.spec_path("securityContext"), field),
                message,
            );
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
        for (field, message) in problems(options, types) {
            findings.container_found(
                &container,
                Found::SeLinux(options),
                at(container.path().field("securityContext"), field),
                message,
            );
        }
    }
}
