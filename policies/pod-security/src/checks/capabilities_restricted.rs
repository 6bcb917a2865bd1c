//! Capabilities, restricted (`capabilities_restricted`, restricted, v1.22).
//!
//! Fields: every container's `securityContext.capabilities.drop` and `.add`. Required: `drop`
//! includes `ALL`; `add` only `NET_BIND_SERVICE`, entry by entry. Names are compared verbatim,
//! as Pod Security Admission compares them.
//! From v1.25 Windows pods are exempt. Supersedes the baseline capabilities check.

use super::common::check_added;
use crate::capabilities::{self, ALL, RESTRICTED_ALLOWED};
use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "capabilities_restricted",
    level: Level::Restricted,
    pci: PCI_REFERENCE,
    versions: &[
        VersionedCheck::since(Version::v1(22), check_1_22).overriding(&["capabilities_baseline"]),
        VersionedCheck::since(Version::v1(25), check_1_25).overriding(&["capabilities_baseline"]),
    ],
};

fn check_1_22<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for container in pod.containers() {
        let capabilities = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref());
        let dropped: &[String] = capabilities.map_or(&[], |caps| caps.drop.as_slice());
        // Verbatim, as Pod Security Admission reads it: `all` or `CAP_ALL` is not `ALL`.
        if !dropped.iter().any(|c| c == ALL) {
            let listed = if dropped.is_empty() {
                "nothing".to_owned()
            } else {
                dropped.join(", ")
            };
            let respelled = dropped
                .iter()
                .find(|c| capabilities::normalize(c) == ALL)
                .map(|c| format!(" (names are compared exactly, as Pod Security Admission does: write ALL for {c})"))
                .unwrap_or_default();
            findings.container(
                &container,
                container.path().fields("securityContext.capabilities.drop"),
                format!("drops {listed}; must include ALL{respelled}"),
            );
        }
        check_added(&container, &RESTRICTED_ALLOWED, findings);
    }
}

fn check_1_25<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    if !pod.is_windows() {
        check_1_22(pod, findings);
    }
}
