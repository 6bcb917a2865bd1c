//! Host Ports (`hostPorts`, baseline, v1.0).
//!
//! Field: every container's `ports[*].hostPort`. Allowed: undefined, `0`; beyond the level, with
//! a warning on every request, a port inside an `allowedHostPorts` (`hostPorts`) range. The
//! setting only widens the level, so it has no control of its own.

use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "hostPorts",
    level: Level::Baseline,
    fields: &["containers[*].ports[*].hostPort"],
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(0), check_1_0)],
};

fn check_1_0(pod: &PodContext<'_>, findings: &mut Findings<'_>) {
    let ranges = &pod.settings.allowed_host_ports;
    for container in pod.containers() {
        for (index, port) in container.container.ports.iter().enumerate() {
            let Some(host_port) = port.host_port.filter(|p| *p != 0) else {
                continue;
            };
            let port_number = i64::from(host_port);
            if let Some(range) = ranges
                .iter()
                .find(|r| (r.min..=r.max).contains(&port_number))
            {
                findings.beyond_level(
                    pod,
                    Some(&container),
                    format!("uses host port {host_port}"),
                    &format!("allowedHostPorts {}-{}", range.min, range.max),
                );
                continue;
            }
            let mut allowed = "allowed: 0 or unset".to_owned();
            for range in ranges {
                allowed.push_str(&format!(", {}-{}", range.min, range.max));
            }
            findings.container(
                &container,
                container
                    .path()
                    .field("ports")
                    .index(index)
                    .field("hostPort"),
                format!("{host_port}; {allowed}"),
            );
        }
    }
}
