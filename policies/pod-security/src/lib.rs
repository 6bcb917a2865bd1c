//! pod-security: the Pod Security Standards (baseline or restricted, as of a chosen Kubernetes
//! version) in one evaluation, with least-privilege knobs, opt-in safe defaults and narrow,
//! visible exceptions (PCI DSS container orchestration guidance 3.1).
//!
//! This file is glue: what a check is in [`check`], the checks in [`checks`] (one file each),
//! their list and evaluation in [`registry`]; PodSecurityPolicy's vocabulary in [`psp`]; the
//! defaults in [`mutate`]; the settings in [`settings`].

pub mod capabilities;
pub mod check;
pub mod checks;
pub mod host_path;
pub mod level;
pub mod mutate;
pub mod psp;
pub mod registry;
pub mod settings;
pub mod settings_check;

use pci_shared::exception::apply_to_workload;
use pci_shared::input::InputError;
use pci_shared::policy::{Policy, Target, object_value, read_workload};
use pci_shared::request::{AdmissionRequest, Operation};
use pci_shared::response::{MutatedObject, Outcome};
use pci_shared::time::Now;
use pci_shared::update::Review;
use pci_shared::workload::{Workload, WorkloadKind};

use settings::Settings;

/// The pod-security policy.
pub struct PodSecurity;

impl Policy for PodSecurity {
    const NAME: &'static str = "pod-security";
    const CONTROLS: &'static [&'static str] = &registry::CONTROL_IDS;
    type Settings = Settings;

    fn evaluate(
        request: &AdmissionRequest<'_>,
        settings: &Settings,
        now: Now,
    ) -> Result<Outcome, InputError> {
        let review = match read_workload(request)? {
            Target::Workload(review) => review,
            Target::NotApplicable(_) => return Ok(Outcome::default()),
        };
        let (edited, mutated) = apply_defaults(request, &review, settings)?;
        let workload = edited.as_ref().unwrap_or(&review.workload);
        // pod → the standard → the organisation's layer → exceptions → the response.
        let findings = registry::evaluate(workload, settings.level, settings.version);
        let pod = check::PodContext::new(workload, settings.version);
        let (violations, notes) = psp::apply(findings, pod, settings);
        let namespace = request.namespace.as_deref();
        let mut report = apply_to_workload(
            Self::NAME,
            &settings.exceptions,
            &psp::SUCCESSIONS,
            violations,
            workload,
            namespace,
            now,
        );
        psp::drop_repeated_knob_findings(&mut report.remaining);
        let mut outcome = Outcome::from_exceptions(report);
        outcome.warnings.extend(notes);
        outcome.mutated = mutated;
        Ok(review.settle(outcome, Self::NAME))
    }
}

/// Applies the enabled safe defaults; the workload read again from the edited object, and the
/// object, when anything changed.
///
/// A Pod's spec is immutable once created, so Pod UPDATEs are never mutated; nor is a workload
/// whose UPDATE changes nothing judged.
fn apply_defaults(
    request: &AdmissionRequest<'_>,
    review: &Review,
    settings: &Settings,
) -> Result<(Option<Workload>, Option<MutatedObject>), InputError> {
    let workload = &review.workload;
    let immutable = workload.kind == WorkloadKind::Pod && request.operation == Operation::Update;
    if !settings.mutate.any() || immutable || !review.scope.may_mutate() {
        return Ok((None, None));
    }
    let object = object_value(request)?;
    match mutate::apply(object, workload, settings) {
        Ok(Some(edited)) => {
            // Written once: read again as the workload, and answered as the mutated object.
            // `serde_json::to_string` writes into one buffer (`Value`'s `Display` goes through
            // the formatter, several times slower in wasm).
            let text = serde_json::to_string(&edited)
                .map_err(|error| InputError::new("object", error.to_string()))?;
            let workload = Workload::from_json(workload.kind, &text)?;
            Ok((Some(workload), Some(MutatedObject::from_text(text)?)))
        }
        Ok(None) => Ok((None, None)),
        Err(error) => Err(InputError::new("object", error.to_string())),
    }
}

pci_shared::export_policy!(PodSecurity);

#[cfg(test)]
mod tests;
