//! What a request asks a policy to judge: one rule for every policy, so that a cluster keeps
//! working on day 2 without opening a bypass.
//!
//! - CREATE (and the audit scanner's replay, which is a CREATE): everything.
//! - Pod UPDATE: only when it is *significant* as Pod Security Admission defines it
//!   (`isSignificantPodUpdate`): a container or init container added or removed, a container's
//!   image changed, an ephemeral container added or its image changed, or a seccomp annotation
//!   changed (plus the AppArmor container annotations, which pod-security reads too). A
//!   metadata-only UPDATE (labels, annotations, finalizers, ownerReferences) is allowed and
//!   what the Pod still violates is returned as warnings.
//! - `pods/ephemeralcontainers` (`kubectl debug`): the added ephemeral containers, and the
//!   pod-level fields they share with the rest of the Pod.
//! - Controllers (Deployment, …, CronJob, PodTemplate): judged in full when the pod template
//!   changed (its text differs from the old object's), allowed with warnings when it did not.
//! - An UPDATE without a readable `oldObject`: judged in full (fail closed).
//!
//! Each object is parsed into the workload model once: a controller's old object only when its
//! template changed, a Pod's old object always (the rule needs its containers).

use std::cell::OnceCell;

use serde_json::value::RawValue;

use crate::containers::ContainerRef;
use crate::input::InputError;
use crate::json_span::value_at;
use crate::pod::Container;
use crate::request::{AdmissionRequest, Operation};
use crate::response::Outcome;
use crate::violation::Violations;
use crate::workload::{Workload, WorkloadKind};

/// The Pod-wide seccomp annotation (deprecated, still compared as Pod Security Admission did).
pub const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// Prefix of the per-container seccomp annotation (`…/<container name>`).
pub const SECCOMP_CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";
/// Prefix of the per-container AppArmor annotation (`…/<container name>`).
pub const APPARMOR_CONTAINER_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

/// The subresource through which `kubectl debug` adds ephemeral containers.
pub const EPHEMERAL_CONTAINERS: &str = "ephemeralcontainers";

/// What a policy enforces on this request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    Full,
    /// Only the named containers (added by `kubectl debug`, in the Pod's order) and the
    /// pod-level fields.
    AddedContainers(Vec<String>),
    /// Nothing the policies judge changed.
    Unchanged(Unchanged),
}

/// Why an UPDATE changes nothing the policies judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unchanged {
    /// A Pod UPDATE that is not significant (metadata, finalizers, ownerReferences…).
    PodMetadata,
    /// A controller UPDATE that leaves the pod template as it was (scale, labels…).
    Template,
}

impl Scope {
    /// True when violations of container `name` are enforced.
    pub fn judges_container(&self, name: &str) -> bool {
        match self {
            Scope::Full => true,
            Scope::AddedContainers(names) => names.iter().any(|added| added == name),
            Scope::Unchanged(_) => false,
        }
    }

    /// True when a violation on container `container` (or on the pod, for `None`) is enforced.
    pub fn judges(&self, container: Option<&str>) -> bool {
        match container {
            Some(name) => self.judges_container(name),
            // Pod-level fields are shared by the added containers: only an unchanged workload
            // leaves them unjudged.
            None => !matches!(self, Scope::Unchanged(_)),
        }
    }

    /// True when a policy may edit the object: never when the UPDATE changed nothing judged.
    pub fn may_mutate(&self) -> bool {
        !matches!(self, Scope::Unchanged(_))
    }

    /// Why violations outside the scope are not enforced, for messages.
    pub fn why(&self) -> &'static str {
        match self {
            Scope::Full => "",
            Scope::AddedContainers(_) => {
                "kubectl debug: only the added ephemeral containers and the pod-level fields they share are judged"
            }
            Scope::Unchanged(Unchanged::PodMetadata) => {
                "it changes no container image, container list or seccomp/AppArmor annotation of the Pod"
            }
            Scope::Unchanged(Unchanged::Template) => "the pod template is unchanged",
        }
    }
}

/// A workload read from an admission request, with what the request changed.
#[derive(Clone, Debug)]
pub struct Review<'a> {
    /// The admitted workload.
    pub workload: Workload,
    /// What is enforced.
    pub scope: Scope,
    /// Notes for the user (an UPDATE judged in full because `oldObject` could not be read).
    pub notes: Vec<String>,
    /// The text of `oldObject` on an UPDATE of a pod template that changed, read on demand.
    old_text: Option<&'a str>,
    /// The workload of `oldObject`: read at once for a Pod (the rule needs it), on demand
    /// otherwise; `None` inside when it cannot be read.
    old: OnceCell<Option<Workload>>,
}

impl<'a> Review<'a> {
    /// Reads the workload of `kind` from `object` and decides the scope from the request.
    pub fn read(
        request: &AdmissionRequest<'a>,
        kind: WorkloadKind,
        object: &str,
    ) -> Result<Self, InputError> {
        let workload = Workload::from_json(kind, object)?;
        let mut review = Self {
            workload,
            scope: Scope::Full,
            notes: Vec::new(),
            old_text: None,
            old: OnceCell::new(),
        };
        if request.operation != Operation::Update {
            return Ok(review);
        }
        let Some(old_text) = request
            .old_object
            .map(RawValue::get)
            .filter(|text| *text != "null")
        else {
            review
                .notes
                .push("the UPDATE carries no oldObject, so it is judged in full".into());
            return Ok(review);
        };
        if kind != WorkloadKind::Pod {
            match (template_text(kind, object), template_text(kind, old_text)) {
                (Some(new), Some(old)) if new == old => {
                    review.scope = Scope::Unchanged(Unchanged::Template);
                }
                _ => review.old_text = Some(old_text),
            }
            return Ok(review);
        }
        match Workload::from_json(kind, old_text) {
            Ok(old) => {
                let debug = request.sub_resource.as_deref() == Some(EPHEMERAL_CONTAINERS);
                review.scope = pod_update_scope(&review.workload, &old, debug);
                review.old = OnceCell::from(Some(old));
            }
            Err(error) => review.notes.push(format!(
                "oldObject cannot be read ({error}), so the UPDATE is judged in full"
            )),
        }
        Ok(review)
    }

    /// The workload of `oldObject`, when the UPDATE has one that can be read (a controller's is
    /// read on the first call, so only the policies that need it pay for it).
    pub fn old(&self) -> Option<&Workload> {
        self.old
            .get_or_init(|| {
                let text = self.old_text?;
                Workload::from_json(self.workload.kind, text).ok()
            })
            .as_ref()
    }

    /// True when `container` runs the image it ran in `oldObject` (same list, same name): such
    /// an image is never rewritten, since changing a Pod's image restarts its container.
    pub fn image_unchanged(&self, container: &ContainerRef<'_>) -> bool {
        let Some(old) = self.old() else { return false };
        container
            .kind
            .list_in(&old.spec)
            .iter()
            .find(|c| c.name == container.name())
            .is_some_and(|c| c.image == container.container.image)
    }

    /// Applies the scope to a policy's outcome: violations outside it become warnings (and the
    /// `notEnforced` audit annotation), an unchanged workload is never mutated, and the notes
    /// are added to the warnings.
    pub fn settle(&self, mut outcome: Outcome, policy: &str) -> Outcome {
        outcome
            .warnings
            .extend(self.notes.iter().map(|note| format!("{policy}: {note}")));
        if self.scope == Scope::Full {
            return outcome;
        }
        let (enforced, deferred): (Violations, Violations) = outcome
            .violations
            .into_iter()
            .partition(|v| self.scope.judges(v.container.as_deref()));
        outcome.violations = enforced;
        if !deferred.is_empty() {
            let why = self.scope.why();
            outcome.warnings.extend(deferred.iter().map(|v| {
                format!(
                    "{policy}: not enforced on this UPDATE ({why}): {v} (PCI DSS {})",
                    v.pci
                )
            }));
            outcome
                .audit
                .insert("notEnforced".into(), deferred.audit_annotation());
        }
        if !self.scope.may_mutate() {
            outcome.mutated = None;
        }
        outcome
    }
}

/// Pod Security Admission's significance rule, with the AppArmor annotations added.
fn pod_update_scope(new: &Workload, old: &Workload, debug: bool) -> Scope {
    let (annotations, old_annotations) =
        (&new.pod_metadata.annotations, &old.pod_metadata.annotations);
    let annotation_changed = |key: &str| annotations.get(key) != old_annotations.get(key);
    let container_changed = |container: &Container, old: &Container| {
        container.image != old.image
            || annotation_changed(&format!("{SECCOMP_CONTAINER_ANNOTATION}{}", container.name))
            || annotation_changed(&format!(
                "{APPARMOR_CONTAINER_ANNOTATION}{}",
                container.name
            ))
    };
    let (spec, old_spec) = (&new.spec, &old.spec);
    let significant = annotation_changed(SECCOMP_POD_ANNOTATION)
        || spec.containers.len() != old_spec.containers.len()
        || spec.init_containers.len() != old_spec.init_containers.len()
        || spec
            .containers
            .iter()
            .zip(&old_spec.containers)
            .chain(spec.init_containers.iter().zip(&old_spec.init_containers))
            .any(|(c, o)| container_changed(c, o));
    let mut added = Vec::new();
    let mut ephemeral_changed = false;
    for container in &spec.ephemeral_containers {
        match old_spec
            .ephemeral_containers
            .iter()
            .find(|o| o.name == container.name)
        {
            None => added.push(container.name.clone()),
            Some(old) => ephemeral_changed |= container_changed(container, old),
        }
    }
    if significant || ephemeral_changed || (!added.is_empty() && !debug) {
        Scope::Full
    } else if added.is_empty() {
        Scope::Unchanged(Unchanged::PodMetadata)
    } else {
        Scope::AddedContainers(added)
    }
}

/// The JSON text of a controller's pod template, found without parsing ([`value_at`]); `None`
/// when it cannot be found that way (the UPDATE is then judged in full).
///
/// The API server serialises `object` and `oldObject` with the same encoder, so an unchanged
/// template has the same text; any difference (even of layout, in a hand-written request)
/// counts as a change and is judged in full.
fn template_text(kind: WorkloadKind, object: &str) -> Option<&str> {
    let path: &[&str] = match kind {
        WorkloadKind::Pod => return None,
        WorkloadKind::PodTemplate => &["template"],
        WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template"],
        _ => &["spec", "template"],
    };
    value_at(object, path)
}

#[cfg(test)]
mod tests;
