//! Is the workload high-risk, and if so, does it run behind a boundary stronger than a shared
//! kernel (PCI 9.1: a sandbox such as gVisor or Kata) or, on Windows, in Hyper-V (PCI 9.2)?

use pci_shared::containers::all_containers;
use pci_shared::glob::{SEGMENT, glob};
use pci_shared::path::FieldPath;
use pci_shared::request::Operation;
use pci_shared::violation::{Violation, Violations};
use pci_shared::workload::Workload;
use serde_json::Value;

use crate::cluster::{ClusterLookup, Lookup};
use crate::decision::{Class, Handler, class_of, decide};
use crate::placement::{self, Options, Os, Placed};
use crate::settings::{HighRisk, Selectors, Settings};

/// PCI guidance for Linux sandboxes.
pub const PCI_LINUX: &str = "9.1";
/// PCI guidance for Windows isolation.
pub const PCI_WINDOWS: &str = "9.2";

/// What the policy concluded about a workload.
#[derive(Debug, Default)]
pub struct Judgement {
    pub violations: Violations,
    /// The runtime class to set (`defaultRuntimeClass`, on CREATE), when no violation is left
    /// after exceptions.
    pub default_class: Option<(FieldPath, String)>,
    /// The isolated placement a high-risk workload is guaranteed to land on, if any.
    pub isolated_by: Option<String>,
    /// The placements a high-risk workload reached but is not guaranteed to land on, each with
    /// why (said also when `defaultRuntimeClass` isolates it instead).
    pub missed_placements: Vec<String>,
}

/// Judges `workload`, admitted in `namespace`.
pub fn judge<C: ClusterLookup>(
    workload: &Workload,
    namespace: Option<&str>,
    operation: Operation,
    settings: &Settings,
) -> Judgement {
    let mut judgement = Judgement::default();
    let class_path = workload.spec_path.field("runtimeClassName");
    match is_high_risk::<C>(workload, namespace, &settings.high_risk) {
        Ok(false) => return judgement,
        Ok(true) => {}
        Err(reason) => {
            push(
                &mut judgement,
                "context",
                class_path,
                PCI_LINUX,
                format!("cannot tell whether the workload is high-risk: {reason}"),
            );
            return judgement;
        }
    }
    let os = if workload.spec.targets_windows() {
        Os::Windows
    } else {
        Os::Linux
    };
    let placed = placement::place(
        &settings.isolated_placements,
        workload,
        namespace.unwrap_or_default(),
        os,
    );
    let missed = match placed {
        Placed::Isolated(by) => {
            judgement.isolated_by = Some(by);
            if os == Os::Windows {
                refuse_host_process(workload, &mut judgement);
            }
            return judgement;
        }
        Placed::No(missed) => missed,
    };
    judgement.missed_placements.clone_from(&missed);
    match os {
        Os::Windows => judge_windows::<C>(workload, settings, &missed, &mut judgement),
        Os::Linux => judge_linux::<C>(workload, operation, settings, &missed, &mut judgement),
    }
    judgement
}

/// On a Pod UPDATE, the violation for labels or annotations that make a running, unisolated Pod
/// high-risk: a Pod's runtime class cannot change, so only a new Pod can comply. `None` when
/// the Pod was already high-risk, is not now, or is isolated (`judgement` of `new` is clean).
pub fn relabelled_into_high_risk<C: ClusterLookup>(
    old: &Workload,
    new: &Workload,
    namespace: Option<&str>,
    settings: &Settings,
    judgement: &Judgement,
) -> Option<Violation> {
    if judgement.violations.is_empty()
        || is_high_risk::<C>(old, namespace, &settings.high_risk) != Ok(false)
        || is_high_risk::<C>(new, namespace, &settings.high_risk) != Ok(true)
    {
        return None;
    }
    let (control, pci, boundary) = if new.spec.targets_windows() {
        ("windowsIsolation", PCI_WINDOWS, "a Hyper-V runtime class")
    } else {
        ("runtimeClass", PCI_LINUX, "a sandboxed runtime class")
    };
    Some(Violation {
        path: new.pod_metadata_path.clone(),
        control,
        container: None,
        message: format!(
            "this UPDATE makes the running Pod high-risk (its labels or annotations now match settings.highRisk), but a Pod's runtimeClassName cannot change: delete the Pod and create it again in {boundary}"
        ),
        pci,
        detail: None,
    })
}

fn push(
    judgement: &mut Judgement,
    control: &'static str,
    path: FieldPath,
    pci: &'static str,
    message: String,
) {
    judgement.violations.push(Violation {
        path,
        control,
        container: None,
        message,
        pci,
        detail: None,
    });
}

fn is_high_risk<C: ClusterLookup>(
    workload: &Workload,
    namespace: Option<&str>,
    high_risk: &HighRisk,
) -> Result<bool, String> {
    let selectors: &Selectors = match high_risk {
        HighRisk::All => return Ok(true),
        HighRisk::Selected(selectors) => selectors,
    };
    let pod = &workload.pod_metadata;
    if selectors
        .pod_selector
        .as_ref()
        .is_some_and(|s| s.matches(&pod.labels))
    {
        return Ok(true);
    }
    if !selectors.pod_annotations.is_empty()
        && selectors
            .pod_annotations
            .iter()
            .all(|(k, v)| pod.annotations.get(k) == Some(v))
    {
        return Ok(true);
    }
    let Some(selector) = &selectors.namespace_selector else {
        return Ok(false);
    };
    let namespace = namespace
        .filter(|ns| !ns.is_empty())
        .ok_or_else(|| "the request names no namespace, so its labels cannot be read".to_owned())?;
    match C::get("v1", "Namespace", namespace) {
        Ok(Lookup::Found(object)) => Ok(selector.matches(&labels(&object))),
        Ok(Lookup::Missing) => Err(format!("namespace \"{namespace}\" does not exist")),
        Err(error) => Err(format!(
            "cannot read namespace \"{namespace}\" (tell the platform team): {error}"
        )),
    }
}

fn labels(object: &Value) -> std::collections::BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The handler of RuntimeClass `class`, or why it cannot be known.
fn handler<C: ClusterLookup>(class: &str) -> Result<String, String> {
    match C::get("node.k8s.io/v1", "RuntimeClass", class) {
        Ok(Lookup::Found(object)) => object["handler"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("RuntimeClass \"{class}\" has no handler")),
        Ok(Lookup::Missing) => Err(format!("RuntimeClass \"{class}\" does not exist")),
        Err(error) => Err(format!(
            "cannot look up RuntimeClass \"{class}\" (tell the platform team): {error}"
        )),
    }
}

/// Checks that `class` maps to a handler matching `allowed`; the error explains.
fn verify_handler<C: ClusterLookup>(
    class: &str,
    allowed: &[String],
    what: &str,
) -> Result<(), String> {
    let handler = handler::<C>(class)?;
    if allowed
        .iter()
        .any(|pattern| glob(pattern, &handler, SEGMENT))
    {
        Ok(())
    } else {
        Err(format!(
            "RuntimeClass \"{class}\" maps to handler \"{handler}\", which is not {what} (approved handlers: {})",
            allowed.join(", ")
        ))
    }
}

fn judge_linux<C: ClusterLookup>(
    workload: &Workload,
    operation: Operation,
    settings: &Settings,
    missed: &[String],
    judgement: &mut Judgement,
) {
    let path = workload.spec_path.field("runtimeClassName");
    let class = class_of(
        workload.spec.runtime_class_name.as_deref(),
        settings,
        operation,
    );
    let handler = match (&class, &settings.verify_handlers) {
        (Class::Explicit(name) | Class::Defaulted(name), Some(check)) => {
            match verify_handler::<C>(name, &check.allowed, "an approved sandbox") {
                Ok(()) => Handler::Verified,
                Err(reason) => Handler::Refused(reason),
            }
        }
        _ => Handler::NotChecked,
    };
    let options = Options::new(
        &settings.allowed_runtime_classes,
        &settings.isolated_placements,
        Os::Linux,
        missed,
    );
    let allowed = if options.allowed.is_empty() {
        format!("none for Linux workloads{}", options.missed)
    } else {
        options.to_string()
    };
    let decision = decide(&class, handler, &allowed);
    if let Some((control, message)) = decision.violation {
        push(judgement, control, path.clone(), PCI_LINUX, message);
    }
    judgement.default_class = decision.default_class.map(|class| (path, class));
}

/// Refuses HostProcess containers of a high-risk Windows workload: they run on the node itself,
/// whatever isolates the others.
fn refuse_host_process(workload: &Workload, judgement: &mut Judgement) {
    let spec = &workload.spec;
    let pod_host_process = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.windows_options.as_ref())
        .and_then(|w| w.host_process);
    const HOST_PROCESS: &str = "true: a HostProcess container runs on the Windows node itself, which a high-risk workload must not";
    if pod_host_process == Some(true) {
        push(
            judgement,
            "windowsHostProcess",
            workload
                .spec_path
                .fields("securityContext.windowsOptions.hostProcess"),
            PCI_WINDOWS,
            HOST_PROCESS.into(),
        );
    }
    for container in all_containers(spec, &workload.spec_path) {
        let host_process = container
            .container
            .security_context
            .as_ref()
            .and_then(|sc| sc.windows_options.as_ref())
            .and_then(|w| w.host_process);
        if host_process == Some(true) {
            judgement.violations.push(Violation {
                path: container
                    .path()
                    .fields("securityContext.windowsOptions.hostProcess"),
                control: "windowsHostProcess",
                container: Some(container.name().to_owned()),
                message: HOST_PROCESS.into(),
                pci: PCI_WINDOWS,
                detail: None,
            });
        }
    }
}

fn judge_windows<C: ClusterLookup>(
    workload: &Workload,
    settings: &Settings,
    missed: &[String],
    judgement: &mut Judgement,
) {
    refuse_host_process(workload, judgement);
    let spec = &workload.spec;
    let path = workload.spec_path.field("runtimeClassName");
    let windows_classes = settings
        .windows
        .as_ref()
        .map(|w| w.allowed_runtime_classes.as_slice())
        .unwrap_or_default();
    let options = Options::new(
        windows_classes,
        &settings.isolated_placements,
        Os::Windows,
        missed,
    );
    const WHY: &str = "Windows process-isolated containers are not a security boundary (Microsoft); only Hyper-V isolation is";
    let Some(windows) = &settings.windows else {
        let instead = if options.allowed.is_empty() {
            "Run it in a cluster or serverless service that isolates it".to_owned()
        } else {
            format!("Use {}", options.allowed)
        };
        let message = format!(
            "a high-risk Windows workload needs Hyper-V isolation and this policy has no Hyper-V runtime class configured (settings.windows); {WHY}. {instead}{}",
            options.missed
        );
        push(judgement, "windowsIsolation", path, PCI_WINDOWS, message);
        return;
    };
    let allowed = options.to_string();
    match &spec.runtime_class_name {
        None => push(
            judgement,
            "windowsIsolation",
            path,
            PCI_WINDOWS,
            format!(
                "unset, so the containers are process-isolated; {WHY}. Use a Hyper-V runtime class: {allowed}"
            ),
        ),
        Some(class) if !windows.allowed_runtime_classes.contains(class) => push(
            judgement,
            "windowsIsolation",
            path,
            PCI_WINDOWS,
            format!("\"{class}\" is not a Hyper-V runtime class; {WHY}. Use one of: {allowed}"),
        ),
        Some(class) => {
            // Always looked up: `windows.allowedHandlers` is never empty (settings validation),
            // and `verifyHandlers` is for the Linux classes.
            if let Err(reason) =
                verify_handler::<C>(class, &windows.allowed_handlers, "Hyper-V isolation")
            {
                push(judgement, "runtimeHandler", path, PCI_WINDOWS, reason);
            }
        }
    }
}
