//! Is a workload *guaranteed* to land on a placement? Only what the scheduler must obey counts:
//! the scheduler name, a nodeSelector, or a required node affinity every term of which pins the
//! label to the one value; a preferred affinity, an `In` list with other values, or a term that
//! does not pin the label leave other nodes open. The tolerations the placement's nodes need
//! must be there too, or the pod would never start there.

use pci_shared::pod::{PodSpec, Toleration};
use pci_shared::workload::{Workload, WorkloadKind};

use super::settings::{Os, Placement, RequiredToleration};

/// What a placement says about a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pinning {
    /// Guaranteed to land there; `via` names a Fargate profile when that is what pins it.
    Isolated { via: Option<String> },
    /// The workload reaches for the placement but is not guaranteed to land there: why.
    Missed(Vec<String>),
    /// The workload does not try to land there.
    NotReached,
}

/// Judges `workload` (admitted in `namespace`, running `os`) against `placement`.
pub fn pinning(placement: &Placement, workload: &Workload, namespace: &str, os: Os) -> Pinning {
    let spec = &workload.spec;
    if !reaches(placement, workload, namespace) {
        return Pinning::NotReached;
    }
    if !placement.runs(os) {
        return Pinning::Missed(vec![format!("it runs no {} workloads", os_name(os))]);
    }
    if workload.kind == WorkloadKind::DaemonSet && !placement.runs_daemon_sets {
        return Pinning::Missed(vec![
            "it runs no DaemonSet pods (its nodes are virtual)".into(),
        ]);
    }
    let mut missing = Vec::new();
    let mut via = None;
    if let Some(scheduler) = &placement.scheduler_name {
        match scheduled_there(placement, scheduler, workload, namespace) {
            Ok(profile) => via = profile,
            Err(reason) => missing.push(reason),
        }
    }
    for (key, value) in &placement.node_selector {
        if let Err(reason) = node_label_pinned(spec, key, value) {
            missing.push(reason);
        }
    }
    for required in &placement.tolerations {
        if !spec.tolerations.iter().any(|t| tolerates(t, required)) {
            missing.push(format!(
                "no toleration for {required}: the pod would never start on its nodes"
            ));
        }
    }
    if missing.is_empty() {
        Pinning::Isolated { via }
    } else {
        Pinning::Missed(missing)
    }
}

fn os_name(os: Os) -> &'static str {
    match os {
        Os::Linux => "Linux",
        Os::Windows => "Windows",
    }
}

/// True when anything in the workload points at the placement.
fn reaches(placement: &Placement, workload: &Workload, namespace: &str) -> bool {
    let spec = &workload.spec;
    let scheduler =
        placement.scheduler_name.is_some() && spec.scheduler_name == placement.scheduler_name;
    let profile = placement
        .fargate_profiles
        .iter()
        .flat_map(|p| &p.selectors)
        .any(|s| s.matches_namespace(namespace));
    let label = placement.node_selector.keys().any(|key| {
        spec.node_selector.contains_key(key)
            || spec
                .required_node_terms()
                .iter()
                .chain(spec.preferred_node_terms())
                .any(|term| term.match_expressions.iter().any(|e| &e.key == key))
    });
    let toleration = placement.tolerations.iter().any(|required| {
        spec.tolerations
            .iter()
            .any(|t| t.key.as_deref() == Some(required.key.as_str()))
    });
    scheduler || profile || label || toleration
}

/// Whether the pods run under the placement's scheduler: named, or set by EKS for a Fargate
/// profile (only when the pod names no other scheduler). `Ok` names the profile, if any.
fn scheduled_there(
    placement: &Placement,
    scheduler: &str,
    workload: &Workload,
    namespace: &str,
) -> Result<Option<String>, String> {
    let named = workload.spec.scheduler_name.as_deref();
    if named == Some(scheduler) {
        return Ok(None);
    }
    if let Some(other) = named.filter(|n| *n != "default-scheduler") {
        return Err(format!("schedulerName is \"{other}\", not {scheduler}"));
    }
    let labels = &workload.pod_metadata.labels;
    if let Some(profile) = placement
        .fargate_profiles
        .iter()
        .find(|p| p.selects(namespace, labels).is_some())
    {
        return Ok(Some(profile.name.clone()));
    }
    let near = placement.fargate_profiles.iter().find_map(|profile| {
        profile
            .selectors
            .iter()
            .find(|s| s.matches_namespace(namespace))
            .map(|s| (profile, s))
    });
    Err(match near {
        Some((profile, selector)) => format!(
            "Fargate profile {} selects namespace \"{namespace}\" only for pods labelled {}, and the pod (template) is not",
            profile.name,
            selector.describe_labels()
        ),
        None if placement.fargate_profiles.is_empty() => {
            format!("schedulerName is not {scheduler}")
        }
        None => format!(
            "schedulerName is not {scheduler} and no Fargate profile selects namespace \"{namespace}\""
        ),
    })
}

/// Whether the scheduler must put the pod on a node labelled `key=value`.
fn node_label_pinned(spec: &PodSpec, key: &str, value: &str) -> Result<(), String> {
    if let Some(selected) = spec.node_selector.get(key) {
        return if selected == value {
            Ok(())
        } else {
            Err(format!("nodeSelector {key}={selected}, not {value}"))
        };
    }
    let terms = spec.required_node_terms();
    let pins = |term: &pci_shared::pod::NodeSelectorTerm| {
        term.match_expressions.iter().any(|e| {
            e.key == key
                && e.operator == "In"
                && !e.values.is_empty()
                && e.values.iter().all(|v| v == value)
        })
    };
    if !terms.is_empty() && terms.iter().all(pins) {
        return Ok(());
    }
    let wider = terms
        .iter()
        .flat_map(|t| &t.match_expressions)
        .find(|e| e.key == key && e.operator == "In" && e.values.iter().any(|v| v == value));
    if let Some(expression) = wider.filter(|e| e.values.iter().any(|v| v != value)) {
        return Err(format!(
            "the required node affinity allows {key} in [{}]: other nodes too",
            expression.values.join(", ")
        ));
    }
    if let Some(index) = terms.iter().position(|t| !pins(t))
        && terms.iter().any(pins)
    {
        return Err(format!(
            "required node affinity term {index} does not require {key}={value}: the terms are alternatives, so the pod may land on other nodes"
        ));
    }
    if spec
        .preferred_node_terms()
        .any(|t| t.match_expressions.iter().any(|e| e.key == key))
    {
        return Err(format!(
            "{key}={value} is only a preferred node affinity: the scheduler may place the pod on other nodes"
        ));
    }
    Err(format!(
        "neither nodeSelector nor a required node affinity requires {key}={value}"
    ))
}

/// Whether the pod's toleration tolerates the placement's taint.
fn tolerates(toleration: &Toleration, required: &RequiredToleration) -> bool {
    let exists = toleration.operator.as_deref() == Some("Exists");
    let key = match toleration.key.as_deref().filter(|k| !k.is_empty()) {
        Some(key) => key == required.key,
        None => exists,
    };
    let value = exists
        || (required.operator == "Equal"
            && toleration.value.as_deref().unwrap_or_default()
                == required.value.as_deref().unwrap_or_default());
    let effect = match toleration.effect.as_deref().filter(|e| !e.is_empty()) {
        None => true,
        Some(effect) => required.effect.as_deref() == Some(effect),
    };
    key && value && effect
}
