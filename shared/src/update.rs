//! What a request asks a policy to judge: one rule for every policy, so that a cluster keeps
//! working on day 2 without opening a bypass.
//!
//! - CREATE (and the audit scanner's replay, which is a CREATE): everything.
//! - Pod UPDATE, `pods/ephemeralcontainers` (`kubectl debug`) included: the whole Pod, when the
//!   UPDATE is *significant* as Pod Security Admission defines it (`isSignificantPodUpdate`): a
//!   container, init container or ephemeral container added or removed, one of their images
//!   changed, or a seccomp annotation changed (plus the AppArmor container annotations, which
//!   pod-security reads too). `kubectl debug` adds an ephemeral container, so the Pod it joins is
//!   judged in full, as Pod Security Admission judges it: a Pod whose own containers violate
//!   cannot be debugged into without an exception. A metadata-only UPDATE (labels, annotations,
//!   finalizers, ownerReferences) is allowed and what the Pod still violates is returned as
//!   warnings.
//! - Controllers (Deployment, …, CronJob, PodTemplate): judged in full when the pod template
//!   changed (its text differs from the old object's), allowed with warnings when it did not.
//! - An UPDATE without a readable `oldObject`: judged in full (fail closed).
//!
//! Each object is parsed into the workload model once: a Pod's old object always (the rule and
//! [`Review::keeps_running_image`] need its containers), a controller's never (the rule compares
//! the template's text, and a new template rolls out new pods whatever it held before).

use serde_json::value::RawValue;

use crate::containers::{ContainerKind, ContainerRef};
use crate::input::InputError;
use crate::json_span::value_at;
use crate::pod::Container;
use crate::profile_annotations::{
    APPARMOR_CONTAINER_PREFIX, SECCOMP_CONTAINER_PREFIX, SECCOMP_POD,
};
use crate::request::{AdmissionRequest, Operation};
use crate::response::Outcome;
use crate::violation::Violations;
use crate::workload::{Workload, WorkloadKind};

/// The subresource through which `kubectl debug` adds ephemeral containers: the one Pod
/// subresource that carries a pod spec change.
pub const EPHEMERAL_CONTAINERS: &str = "ephemeralcontainers";

/// What a policy enforces on this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    Full,
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
    /// True when violations are enforced (and images are checked against the registry).
    pub fn enforces(self) -> bool {
        self == Scope::Full
    }

    /// True when a policy may edit the object: never when the UPDATE changed nothing judged.
    pub fn may_mutate(self) -> bool {
        self.enforces()
    }

    /// Why violations are not enforced, for messages (empty for [`Scope::Full`]).
    pub fn why(self) -> &'static str {
        match self {
            Scope::Full => "",
            Scope::Unchanged(Unchanged::PodMetadata) => {
                "it changes no container image, container list or seccomp/AppArmor annotation of the Pod"
            }
            Scope::Unchanged(Unchanged::Template) => "the pod template is unchanged",
        }
    }
}

/// A workload read from an admission request, with what the request changed.
#[derive(Clone, Debug)]
pub struct Review {
    /// The admitted workload.
    pub workload: Workload,
    /// What is enforced.
    pub scope: Scope,
    /// Notes for the user (an UPDATE judged in full because `oldObject` could not be read).
    pub notes: Vec<String>,
    /// The workload of a Pod UPDATE's `oldObject`, when it can be read (never a controller's).
    old: Option<Workload>,
}

impl Review {
    /// Reads the workload of `kind` from `object` and decides the scope from the request.
    pub fn read(
        request: &AdmissionRequest<'_>,
        kind: WorkloadKind,
        object: &str,
    ) -> Result<Self, InputError> {
        let workload = Workload::from_json(kind, object)?;
        let mut review = Self {
            workload,
            scope: Scope::Full,
            notes: Vec::new(),
            old: None,
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
            if let (Some(new), Some(old)) =
                (template_text(kind, object), template_text(kind, old_text))
                && new == old
            {
                review.scope = Scope::Unchanged(Unchanged::Template);
            }
            return Ok(review);
        }
        match Workload::from_json(kind, old_text) {
            Ok(old) => {
                review.scope = pod_update_scope(&review.workload, &old);
                review.old = Some(old);
            }
            Err(error) => review.notes.push(format!(
                "oldObject cannot be read ({error}), so the UPDATE is judged in full"
            )),
        }
        Ok(review)
    }

    /// The workload of a Pod UPDATE's `oldObject`, when it can be read; `None` for a CREATE
    /// and for controllers.
    pub fn old(&self) -> Option<&Workload> {
        self.old.as_ref()
    }

    /// True when `container` belongs to a running Pod and keeps the image it ran in
    /// `oldObject` (same list, same name): such an image is never rewritten, since changing a
    /// Pod's image restarts its container. Never true for a controller: a new pod template
    /// rolls out new pods anyway, so every image of it may be rewritten.
    pub fn keeps_running_image(&self, container: &ContainerRef<'_>) -> bool {
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
        if self.scope.enforces() {
            return outcome;
        }
        let deferred: Violations = std::mem::take(&mut outcome.violations);
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
        outcome.mutated = None;
        outcome
    }
}

/// Pod Security Admission's significance rule (`isSignificantPodUpdate`), with the AppArmor
/// container annotations added: every container list compared by length, then container by
/// container in order (image, seccomp and AppArmor annotations).
fn pod_update_scope(new: &Workload, old: &Workload) -> Scope {
    let (annotations, old_annotations) =
        (&new.pod_metadata.annotations, &old.pod_metadata.annotations);
    let annotation_changed = |key: &str| annotations.get(key) != old_annotations.get(key);
    let container_changed = |container: &Container, old: &Container| {
        container.image != old.image
            || annotation_changed(&format!("{SECCOMP_CONTAINER_PREFIX}{}", container.name))
            || annotation_changed(&format!("{APPARMOR_CONTAINER_PREFIX}{}", container.name))
    };
    let list_changed = |kind: ContainerKind| {
        let (list, old_list) = (kind.list_in(&new.spec), kind.list_in(&old.spec));
        list.len() != old_list.len()
            || list
                .iter()
                .zip(old_list)
                .any(|(container, old)| container_changed(container, old))
    };
    if annotation_changed(SECCOMP_POD) || ContainerKind::ALL.into_iter().any(list_changed) {
        Scope::Full
    } else {
        Scope::Unchanged(Unchanged::PodMetadata)
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
