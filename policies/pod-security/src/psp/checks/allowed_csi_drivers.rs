//! `allowedCSIDrivers` (`psp.allowedCSIDrivers`): the inline CSI drivers pods may use.
//!
//! Field: `spec.volumes[*].csi.driver`. Allowed: a listed driver; an empty list allows any
//! driver, as in PodSecurityPolicy.

use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.allowedCSIDrivers",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let allowed = &pod.settings.allowed_csi_drivers;
    if allowed.is_empty() {
        return;
    }
    for (index, volume) in pod.spec().volumes.iter().enumerate() {
        if !volume.sources.iter().any(|s| s == "csi") {
            continue;
        }
        let driver = volume.driver.as_deref().unwrap_or_default();
        if !allowed.iter().any(|entry| entry.name == driver) {
            let listed: Vec<&str> = allowed.iter().map(|e| e.name.as_str()).collect();
            findings.pod(
                pod.spec_path("volumes").index(index).fields("csi.driver"),
                format!(
                    "volume \"{}\" uses CSI driver \"{driver}\"; allowedCSIDrivers: {}",
                    volume.name,
                    listed.join(", ")
                ),
            );
        }
    }
}
