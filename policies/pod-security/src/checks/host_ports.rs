//! Host Ports (`hostPorts`, baseline, v1.0).
//!
//! Field: every container's `ports[*].hostPort`. Allowed: undefined, `0`.

use crate::check::{Check, Findings, Found, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "hostPorts",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for container in pod.containers() {
        for (index, port) in container.container.ports.iter().enumerate() {
            let Some(host_port) = port.host_port.filter(|p| *p != 0) else {
                continue;
            };
            findings.container_found(
                &container,
                Found::HostPort(host_port),
                container
                    .path()
                    .field("ports")
                    .index(index)
                    .field("hostPort"),
                message(host_port, &[]),
            );
        }
    }
}

/// The message for host port `port`, the organisation's `ranges` (`(min, max)`) listed as
/// allowed after the standard's.
pub fn message(port: i32, ranges: &[(i64, i64)]) -> String {
    let mut message = format!("{port}; allowed: 0 or unset");
    for (min, max) in ranges {
        message.push_str(&format!(", {min}-{max}"));
    }
    message
}
