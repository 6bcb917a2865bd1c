//! `allowedCapabilities` (`psp.allowedCapabilities`): the only capabilities containers may add.
//!
//! Field: every container's `securityContext.capabilities.add`, entry by entry. Allowed: a
//! listed name, anything with `*`, or a `defaultAddCapabilities` name; unset allows what the
//! level allows. Names are compared verbatim, as Pod Security Admission compares them. What the
//! list allows beyond the level is accepted by the level's check with a warning.

use crate::capabilities::{self, added_capabilities};
use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.allowedCapabilities",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let Some(listed) = pod.allowed_capabilities.as_deref() else {
        return;
    };
    let is_allowed = |name: &str| pod.capability_setting_allowing(name).is_some();
    let mut allowed = if listed.is_empty() {
        "allowedCapabilities is empty".to_owned()
    } else {
        format!("allowedCapabilities: {}", listed.join(", "))
    };
    if !pod.default_adds.is_empty() {
        allowed.push_str(&format!(
            ", defaultAddCapabilities: {}",
            pod.default_adds.join(", ")
        ));
    }
    for container in pod.containers() {
        for (index, added) in added_capabilities(&container) {
            if is_allowed(added) {
                continue;
            }
            findings.container(
                &container,
                container
                    .path()
                    .fields("securityContext.capabilities.add")
                    .index(index),
                format!(
                    "adds {added}; {allowed}{}",
                    capabilities::respelling_hint(added, is_allowed)
                ),
            );
        }
    }
}
