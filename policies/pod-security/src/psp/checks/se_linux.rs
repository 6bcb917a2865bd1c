//! `seLinux` (`psp.seLinux`): with `MustRunAs`, the SELinux options every pod and container
//! carries.
//!
//! Fields: `spec.securityContext.seLinuxOptions` and the same per container (the container's
//! value wins). Required: exactly the configured `user`, `role`, `type` and `level` (MLS
//! categories in any order), set on the pod or on every container. Windows pods are not judged.

use crate::check::Findings;
use crate::psp::settings::SeLinuxRule;
use crate::psp::{Knob, Layer};

pub const KNOB: Knob = Knob {
    id: "psp.seLinux",
    check,
};

fn check<'a>(pod: &Layer<'_>, findings: &mut Findings<'_, 'a>) {
    let Some(required) = pod
        .settings
        .se_linux
        .as_ref()
        .filter(|s| s.rule == SeLinuxRule::MustRunAs)
        .and_then(|s| s.se_linux_options.as_ref())
    else {
        return;
    };
    if pod.is_windows() {
        return;
    }
    let expected = format!("seLinux MustRunAs requires {}", required.describe());
    let pod_options = pod
        .spec()
        .security_context
        .as_ref()
        .and_then(|sc| sc.se_linux_options.as_ref());
    if pod_options.is_some_and(|options| !required.matches(options)) {
        findings.pod(
            pod.spec_path("securityContext.seLinuxOptions"),
            format!("other options; {expected}"),
        );
    }
    for container in pod.containers() {
        let own = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.se_linux_options.as_ref());
        let message = match own {
            Some(options) if !required.matches(options) => format!("other options; {expected}"),
            None if pod_options.is_none() => {
                format!("unset on the container and the pod; {expected}")
            }
            _ => continue,
        };
        findings.container(
            &container,
            container.path().fields("securityContext.seLinuxOptions"),
            message,
        );
    }
}
