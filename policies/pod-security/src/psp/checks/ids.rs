//! Id rules on a field that the pod and each container may set (`runAsUser`, `runAsGroup`:
//! a container's value overrides the pod's), or on a pod-only field (`fsGroup`,
//! `supplementalGroups`).

use pci_shared::pod::SecurityContext;

use crate::check::Findings;
use crate::psp::Layer;
use crate::psp::id_ranges::{IdRule, IdStrategy};

/// Judges `field` of the pod and of every container against `strategy` (the setting `setting`).
/// Under `MustRunAs`, a container with no value of its own nor from the pod is reported once,
/// on its own field.
pub fn check_pod_and_containers(
    pod: &Layer<'_>,
    findings: &mut Findings<'_, '_>,
    (setting, strategy): (&str, &IdStrategy),
    field: &'static str,
    pod_value: Option<i64>,
    container_value: fn(&SecurityContext) -> Option<i64>,
) {
    if pod.is_windows() || !matches!(strategy.rule, IdRule::MustRunAs | IdRule::MayRunAs) {
        return;
    }
    if let Some(id) = pod_value.filter(|id| !strategy.contains(*id)) {
        findings.pod(
            pod.spec_path("securityContext").field(field),
            out_of_range(id, setting, strategy),
        );
    }
    for container in pod.containers() {
        let own = container
            .container
            .security_context
            .as_ref()
            .and_then(container_value);
        let path = container.path().field("securityContext").field(field);
        match own {
            Some(id) if !strategy.contains(id) => {
                findings.container(&container, path, out_of_range(id, setting, strategy));
            }
            None if pod_value.is_none() && strategy.rule == IdRule::MustRunAs => {
                findings.container(&container, path, unset(setting, strategy));
            }
            _ => {}
        }
    }
}

/// The message for an id outside the ranges.
pub fn out_of_range(id: i64, setting: &str, strategy: &IdStrategy) -> String {
    format!(
        "{id}; {setting} {} allows {}",
        strategy.rule,
        strategy.describe()
    )
}

/// The message for an unset id that `MustRunAs` requires.
pub fn unset(setting: &str, strategy: &IdStrategy) -> String {
    format!(
        "unset; {setting} MustRunAs requires an id in {}",
        strategy.describe()
    )
}
