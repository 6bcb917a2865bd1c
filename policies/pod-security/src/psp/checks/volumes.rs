//! `volumes` (`psp.volumes`): the volume types pods may use.
//!
//! Field: `spec.volumes[*]`. Allowed: the listed types (`*`: any; `none`: no volume). A volume
//! without a source is an emptyDir, as the API server defaults it.

use crate::check::Findings;
use crate::psp::volume_types;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.volumes",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let Some(listed) = pod.settings.volumes.as_deref() else {
        return;
    };
    for (index, volume) in pod.spec().volumes.iter().enumerate() {
        let path = pod.spec_path("volumes").index(index);
        let message = |kind: &str| {
            format!(
                "volume \"{}\" is of type {kind}; volumes allows {}",
                volume.name,
                listed.join(", ")
            )
        };
        if volume.sources.is_empty() && !volume_types::allows(listed, "emptyDir") {
            findings.pod(path.clone(), message("emptyDir (no source)"));
        }
        for source in &volume.sources {
            if !volume_types::allows(listed, source) {
                findings.pod(
                    path.field(source.clone()),
                    message(volume_types::of_source(source)),
                );
            }
        }
    }
}
