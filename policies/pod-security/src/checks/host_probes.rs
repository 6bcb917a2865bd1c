//! Host Probes / Lifecycle Hooks (`hostProbesAndHostLifecycle`, baseline, v1.34).
//!
//! Fields: every container's `{liveness,readiness,startup}Probe.{httpGet,tcpSocket}.host` and
//! `lifecycle.{postStart,preStop}.{httpGet,tcpSocket}.host`. Allowed: undefined, `""`.

use pci_shared::pod::Probe;

use crate::check::{Check, Findings, PCI_REFERENCE, PodContext, VersionedCheck};
use crate::level::{Level, Version};

pub const CHECK: Check = Check {
    id: "hostProbesAndHostLifecycle",
    level: Level::Baseline,
    pci: PCI_REFERENCE,
    versions: &[VersionedCheck::since(Version::v1(34), check_1_34)],
};

fn check_1_34<'a>(pod: &PodContext<'a>, findings: &mut Findings<'_, 'a>) {
    for container in pod.containers() {
        let c = container.container;
        let lifecycle = c.lifecycle.as_ref();
        let handlers: [(&'static str, Option<&Probe>); 5] = [
            ("livenessProbe", c.liveness_probe.as_ref()),
            ("readinessProbe", c.readiness_probe.as_ref()),
            ("startupProbe", c.startup_probe.as_ref()),
            (
                "lifecycle.postStart",
                lifecycle.and_then(|l| l.post_start.as_ref()),
            ),
            (
                "lifecycle.preStop",
                lifecycle.and_then(|l| l.pre_stop.as_ref()),
            ),
        ];
        for (field, handler) in handlers {
            let Some(handler) = handler else { continue };
            for (kind, target) in [
                ("httpGet", &handler.http_get),
                ("tcpSocket", &handler.tcp_socket),
            ] {
                let Some(host) = target
                    .as_ref()
                    .and_then(|t| t.host.as_deref())
                    .filter(|h| !h.is_empty())
                else {
                    continue;
                };
                findings.container(
                    &container,
                    container.path().fields(field).field(kind).field("host"),
                    format!("\"{host}\"; allowed: \"\" or unset (the kubelet must only probe its own pod)"),
                );
            }
        }
    }
}
