//! runtime-isolation: high-risk workloads run behind a boundary stronger than a shared kernel —
//! a sandboxed runtime class on Linux (PCI DSS container orchestration guidance 9.1), Hyper-V
//! isolation on Windows (9.2).
//!
//! Unlike upstream `pod-runtime-class-policy`, a workload that asks for an allowed class is
//! accepted, and `runtimeClassName` is only ever set on CREATE (it is immutable on a Pod). This
//! file is glue: the verdict is in [`evaluate`] (the Linux decision table in [`decision`]), the
//! cluster lookups in [`cluster`].

pub mod cluster;
pub mod decision;
pub mod evaluate;
pub mod placement;
pub mod settings;

use std::marker::PhantomData;

use pci_shared::exception::apply_to_workload;
use pci_shared::input::InputError;
use pci_shared::patch::ObjectEditor;
use pci_shared::policy::{Policy, Target, object_value, read_workload};
use pci_shared::request::AdmissionRequest;
use pci_shared::response::Outcome;
use pci_shared::time::Now;
use pci_shared::update::Scope;
use pci_shared::workload::WorkloadKind;
use serde_json::Value;

use cluster::{ClusterLookup, HostCluster};
use settings::Settings;

/// The runtime-isolation policy, reading the cluster through `C`.
pub struct RuntimeIsolation<C: ClusterLookup>(PhantomData<C>);

impl<C: ClusterLookup> Policy for RuntimeIsolation<C> {
    const NAME: &'static str = "runtime-isolation";
    const CONTROLS: &'static [&'static str] = &[
        "runtimeClass",
        "runtimeHandler",
        "windowsIsolation",
        "windowsHostProcess",
        "context",
    ];
    type Settings = Settings;

    fn evaluate(
        request: &AdmissionRequest<'_>,
        settings: &Settings,
        now: Now,
    ) -> Result<Outcome, InputError> {
        let mut review = match read_workload(request)? {
            Target::Workload(review) => *review,
            Target::NotApplicable(_) => return Ok(Outcome::default()),
        };
        let namespace = request.namespace.as_deref();
        let workload = &review.workload;
        let mut judgement = evaluate::judge::<C>(workload, namespace, request.operation, settings);
        // Only a Pod's labels can make it high-risk behind a class that cannot change; a
        // controller's old object is not read for this.
        if workload.kind == WorkloadKind::Pod
            && let Some(old) = review.old()
            && let Some(relabelled) = evaluate::relabelled_into_high_risk::<C>(
                old, workload, namespace, settings, &judgement,
            )
        {
            // Not a metadata-only change for this policy: it is what makes the Pod high-risk.
            judgement.violations.push(relabelled);
            review.scope = Scope::Full;
        }
        let report = apply_to_workload(
            Self::NAME,
            &settings.exceptions,
            &[],
            judgement.violations,
            &review.workload,
            namespace,
            now,
        );
        let mut outcome = Outcome::from_exceptions(report);
        if let Some(placement) = judgement.isolated_by {
            // For the assessor: which serverless placement stands in for a sandbox class.
            outcome.audit.insert("isolated-by".into(), placement);
        }
        if outcome.violations.is_empty()
            && review.scope.may_mutate()
            && let Some((path, class)) = judgement.default_class
        {
            let missed: String = judgement
                .missed_placements
                .iter()
                .map(|placement| format!(". Not guaranteed to land on {placement}"))
                .collect();
            outcome.warnings.push(format!(
                "runtime-isolation: high-risk workload set to runtimeClassName \"{class}\" (defaultRuntimeClass){missed}"
            ));
            let mut editor = ObjectEditor::new(object_value(request)?);
            editor
                .set(&path, Value::String(class))
                .map_err(|error| InputError::new("object", error.to_string()))?;
            outcome.mutated = editor.into_mutated()?;
        }
        Ok(review.settle(outcome, Self::NAME))
    }
}

pci_shared::export_policy!(RuntimeIsolation<HostCluster>);

#[cfg(test)]
mod tests;
