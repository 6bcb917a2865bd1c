//! `allowedFlexVolumes` (`psp.allowedFlexVolumes`): the flexVolume drivers pods may use.
//!
//! Field: `spec.volumes[*].flexVolume.driver`. Allowed: a listed driver; an empty list allows
//! any driver, as in PodSecurityPolicy (the `volumes` setting decides whether flexVolume is
//! allowed at all).

use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.allowedFlexVolumes",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let allowed = &pod.settings.allowed_flex_volumes;
    if allowed.is_empty() {
        return;
    }
    for (index, volume) in pod.spec().volumes.iter().enumerate() {
        if !volume.sources.iter().any(|s| s == "flexVolume") {
            continue;
        }
        let driver = volume.driver.as_deref().unwrap_or_default();
        if !allowed.iter().any(|entry| entry.driver == driver) {
            let listed: Vec<&str> = allowed.iter().map(|e| e.driver.as_str()).collect();
            findings.pod(
                pod.spec_path("volumes")
                    .index(index)
                    .fields("flexVolume.driver"),
                format!(
                    "volume \"{}\" uses flexVolume driver \"{driver}\"; allowedFlexVolumes: {}",
                    volume.name,
                    listed.join(", ")
                ),
            );
        }
    }
}
