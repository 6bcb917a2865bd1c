//! Sysctls (`sysctls`, baseline).
//!
//! Field: `spec.securityContext.sysctls[*].name`. Allowed: the safe set of the version:
//! v1.0 kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies,
//! net.ipv4.ping_group_range, net.ipv4.ip_unprivileged_port_start; v1.27 adds
//! net.ipv4.ip_local_reserved_ports; v1.29 adds net.ipv4.tcp_keepalive_time,
//! net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes;
//! v1.32 adds net.ipv4.tcp_rmem, net.ipv4.tcp_wmem; v1.37 adds
//! net.ipv4.tcp_slow_start_after_idle, net.ipv4.tcp_notsent_lowat.
//!
//! The safe set is compared with the name as written, as Pod Security Admission compares it:
//! `kernel/shm_rmid_forced` is the safe `kernel.shm_rmid_forced` for the kubelet, but not for
//! the standard, and the message says how to write it.

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};
use crate::psp::sysctl_patterns;

pub const CHECK: Check = Check {
    id: "sysctls",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(0), check_1_0),
        VersionedCheck::since(Version::v1(27), check_1_27),
        VersionedCheck::since(Version::v1(29), check_1_29),
        VersionedCheck::since(Version::v1(32), check_1_32),
        VersionedCheck::since(Version::v1(37), check_1_37),
    ],
};

const SAFE_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const ADDED_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const ADDED_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const ADDED_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const ADDED_1_37: &[&str] = &[
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_with(pod, &[SAFE_1_0], findings);
}

fn check_1_27<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_with(pod, &[SAFE_1_0, ADDED_1_27], findings);
}

fn check_1_29<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_with(pod, &[SAFE_1_0, ADDED_1_27, ADDED_1_29], findings);
}

fn check_1_32<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_with(
        pod,
        &[SAFE_1_0, ADDED_1_27, ADDED_1_29, ADDED_1_32],
        findings,
    );
}

fn check_1_37<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    check_with(
        pod,
        &[SAFE_1_0, ADDED_1_27, ADDED_1_29, ADDED_1_32, ADDED_1_37],
        findings,
    );
}

fn check_with<'a>(pod: &PodContext<'a>, safe: &[&[&str]], findings: &mut Findings<'_, 'a>) {
    let Some(context) = pod.spec().security_context.as_ref() else {
        return;
    };
    for (index, sysctl) in context.sysctls.iter().enumerate() {
        if safe.iter().any(|set| set.contains(&sysctl.name.as_str())) {
            continue;
        }
        findings.pod_found(
            Found::Sysctl(&sysctl.name),
            pod.spec_path("securityContext.sysctls")
                .index(index)
                .field("name"),
            format!(
                "\"{}\" is not a safe sysctl at {}{}; allowed: {}",
                sysctl.name,
                pod.version,
                respelling_hint(&sysctl.name, safe),
                safe.concat().join(", ")
            ),
        );
    }
}

/// For a name the standard refuses only for its spelling (`kernel/shm_rmid_forced`): how to
/// write it so that it is the safe sysctl the kubelet applies anyway; else nothing.
fn respelling_hint(name: &str, safe: &[&[&str]]) -> String {
    match sysctl_patterns::normalise(name) {
        std::borrow::Cow::Owned(applied)
            if safe.iter().any(|set| set.contains(&applied.as_str())) =>
        {
            format!(
                " (the standard compares names as written, as Pod Security Admission does: write {applied}, the name the kubelet applies)"
            )
        }
        _ => String::new(),
    }
}
