//! `readOnlyRootFilesystem` (`psp.readOnlyRootFilesystem`): with `true`, every container's
//! root filesystem is read-only.
//!
//! Field: every container's `securityContext.readOnlyRootFilesystem`. Required: `true`.
//! Windows pods are not judged (the field is Linux-only).

use super::flags::require_on_every_container;
use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.readOnlyRootFilesystem",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    if pod.settings.read_only_root_filesystem {
        require_on_every_container(
            pod,
            findings,
            ("readOnlyRootFilesystem", |sc| sc.read_only_root_filesystem),
            true,
            "readOnlyRootFilesystem",
        );
    }
}
