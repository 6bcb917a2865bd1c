//! Is a workload *guaranteed* to land on a placement? Only what must be obeyed counts: the
//! scheduler name, a nodeSelector, or a required node affinity every term of which pins the
//! label to the one value; a preferred affinity, an `In` list with other values, or a term that
//! does not pin the label leave other nodes open. The tolerations the placement's nodes need
//! must be there too, or the pod would never start there.
//!
//! `spec.nodeName` binds a pod to a node without any scheduler, and the kubelet never reads
//! `schedulerName`: a scheduler requirement (named, or set by EKS for a Fargate profile) then
//! holds nothing, and only a node name of the placement (`nodeNames`) counts in its stead. Node
//! labels still hold: the kubelet re-checks the nodeSelector and the required node affinity
//! when it admits a pod (its NodeAffinity admission check). It re-checks only `NoExecute`
//! taints, so a toleration never pins: it is required beside what pins, never instead of it
//! (a placement pins by schedulerName, nodeSelector or nodeNames, `Placement::validate`).

use pci_shared::pod::{PodSpec, Toleration};
use pci_shared::workload::{Workload, WorkloadKind};

use super::settings::{Os, Placement, RequiredToleration};

/// What a placement says about a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pinning {
    /// Guaranteed to land there; `via` names the route when it is not the placement's own
    /// scheduler or node labels.
    Isolated { via: Option<Route> },
    /// The workload reaches for the placement but is not guaranteed to land there: why.
    Missed(Vec<String>),
    /// The workload does not try to land there.
    NotReached,
}

/// How a workload is guaranteed to land on a placement, when the audit should say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A Fargate profile selects the pods (EKS sets the scheduler name).
    FargateProfile(String),
    /// `spec.nodeName` binds the pod to a node the placement names.
    NodeName(String),
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FargateProfile(profile) => write!(f, "Fargate profile {profile}"),
            Self::NodeName(node) => write!(f, "nodeName {node}"),
        }
    }
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
    let bound = spec.bound_node();
    if let Some(node) = bound.filter(|node| placement.names_node(node).is_some()) {
        return Pinning::Isolated {
            via: Some(Route::NodeName(node.to_owned())),
        };
    }
    let mut missing = Vec::new();
    let mut via = None;
    if let Some(scheduler) = &placement.scheduler_name {
        let scheduled = match bound {
            Some(node) => Err(unscheduled(placement, scheduler, node)),
            None => scheduled_there(placement, scheduler, workload, namespace),
        };
        match scheduled {
            Ok(profile) => via = profile.map(Route::FargateProfile),
            Err(reason) => missing.push(reason),
        }
    }
    if placement.scheduler_name.is_none() && placement.node_selector.is_empty() {
        // Pinned by node names alone: a toleration the pod carries pins nothing.
        missing.push(match bound {
            Some(node) => not_its_node(placement, node),
            None => format!(
                "only nodeName {} places a pod there, and the pod sets no nodeName",
                placement.node_names.join(", ")
            ),
        });
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

/// Why a scheduler requirement holds nothing for a pod bound to `node`.
fn unscheduled(placement: &Placement, scheduler: &str, node: &str) -> String {
    let set_by = if placement.fargate_profiles.is_empty() {
        ""
    } else {
        ", named or set by EKS for a Fargate profile,"
    };
    format!(
        "nodeName binds the pod to a node without any scheduler, so schedulerName {scheduler}{set_by} is never read, and {}",
        not_its_node(placement, node)
    )
}

/// `node` is not one of the placement's nodes, in words.
fn not_its_node(placement: &Placement, node: &str) -> String {
    if placement.node_names.is_empty() {
        format!("node \"{node}\" is not known as one of its nodes (it lists no nodeNames)")
    } else {
        format!(
            "node \"{node}\" is not one of its nodes ({})",
            placement.node_names.join(", ")
        )
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
    let node = spec
        .bound_node()
        .is_some_and(|node| placement.names_node(node).is_some());
    scheduler || profile || label || toleration || node
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
