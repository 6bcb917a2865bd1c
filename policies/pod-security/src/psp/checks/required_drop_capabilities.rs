//! `requiredDropCapabilities` (`psp.requiredDropCapabilities`): capabilities every container
//! must drop.
//!
//! Field: every container's `securityContext.capabilities.drop`. Required: each listed name (in
//! any spelling), or `ALL`. Windows pods are not judged (capabilities are Linux-only).

use crate::capabilities::{self, ALL};
use crate::check::Findings;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.requiredDropCapabilities",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let required = &pod.required_drops;
    if required.is_empty() || pod.is_windows() {
        return;
    }
    for container in pod.containers() {
        let dropped: Vec<String> = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref())
            .map(|caps| {
                caps.drop
                    .iter()
                    .map(|d| capabilities::normalize(d))
                    .collect()
            })
            .unwrap_or_default();
        if dropped.iter().any(|d| d == ALL) {
            continue;
        }
        let missing: Vec<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|name| !dropped.iter().any(|d| d == name))
            .collect();
        if !missing.is_empty() {
            findings.container(
                &container,
                container.path().fields("securityContext.capabilities.drop"),
                format!(
                    "does not drop {}; requiredDropCapabilities: {} (ALL in drop covers them all)",
                    missing.join(", "),
                    required.join(", ")
                ),
            );
        }
    }
}
