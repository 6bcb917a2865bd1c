//! The API versions Kubernetes has served each workload kind in, and what an admission request
//! says it admits, read against them.
//!
//! Kubernetes served the workload kinds in older groups and versions (`extensions/v1beta1`
//! Deployment, `apps/v1beta2` DaemonSet, `batch/v1beta1` CronJob…), each with its pod template at
//! the path of the current version. An old cluster, a webhook registered with
//! `matchPolicy: Exact`, or a hand-written request (`kwctl run`, `pci-policies run`) may send
//! them: they are judged as their current form. A workload kind's name in a group Kubernetes
//! serves workloads in, at a version that never served it (`apps/v2` Deployment, `batch/v1`
//! Deployment), is refused as unreadable, naming kind, group and version: a workload is never
//! let through unread. A kind of another group (a custom resource called `Job` in
//! `batch.volcano.sh`) carries no pod spec we know: a custom resource's group has a dot, so it
//! can never be one of these.
//!
//! The object must say what the request says it is: in a request from the API server its
//! `apiVersion` and `kind` are always those of `request.kind`; when they differ, the request
//! cannot be read as one object and is refused.

use crate::input::{InputError, from_json_str};
use crate::json_span::value_at;
use crate::request::GroupVersionKind;
use crate::workload::WorkloadKind;

/// What an object says it is: `apiVersion` and `kind`, empty when the object does not say
/// (the API server always does; a hand-written request may not).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeMeta {
    pub api_version: String,
    pub kind: String,
}

impl TypeMeta {
    /// Reads `apiVersion` and `kind` from the object's JSON text (valid JSON, as the payload
    /// parse checked) without parsing the rest ([`value_at`]; the API server writes them
    /// first). Absent or `null` reads as empty; a value that is not a string is an error naming
    /// the field.
    pub fn read(object: &str) -> Result<Self, InputError> {
        Ok(Self {
            api_version: string_member(object, "apiVersion")?,
            kind: string_member(object, "kind")?,
        })
    }
}

fn string_member(object: &str, key: &'static str) -> Result<String, InputError> {
    match value_at(object, &[key]) {
        None | Some("null") => Ok(String::new()),
        Some(raw) => from_json_str::<String>("object", raw).map_err(|_| InputError {
            path: key.into(),
            message: format!("{raw} is not a string"),
            context: "object",
        }),
    }
}

/// The API groups Kubernetes has served workload kinds in (`""` is the core group).
const WORKLOAD_GROUPS: [&str; 4] = ["", "apps", "batch", "extensions"];

impl WorkloadKind {
    /// The `apiVersion`s Kubernetes has served this kind in, the current one first. In each, the
    /// pod template sits where the current version keeps it (the types of k8s.io/api: the
    /// `template` of DeploymentSpec, DaemonSetSpec, ReplicaSetSpec and StatefulSetSpec in
    /// `extensions/v1beta1`, `apps/v1beta1` and `apps/v1beta2`; `jobTemplate.spec.template` of
    /// CronJobSpec in `batch/v1beta1` and `batch/v2alpha1`), and the pod spec is core/v1's.
    pub fn api_versions(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::Pod | WorkloadKind::ReplicationController | WorkloadKind::PodTemplate => {
                &["v1"]
            }
            WorkloadKind::Deployment => &[
                "apps/v1",
                "apps/v1beta2",
                "apps/v1beta1",
                "extensions/v1beta1",
            ],
            WorkloadKind::ReplicaSet | WorkloadKind::DaemonSet => {
                &["apps/v1", "apps/v1beta2", "extensions/v1beta1"]
            }
            WorkloadKind::StatefulSet => &["apps/v1", "apps/v1beta2", "apps/v1beta1"],
            WorkloadKind::Job => &["batch/v1"],
            WorkloadKind::CronJob => &["batch/v1", "batch/v1beta1", "batch/v2alpha1"],
        }
    }
}

/// `group/version` as `apiVersion` writes it: the version alone for the core group.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// The workload kind `request.kind` admits: `Some` for a workload kind in any version
/// Kubernetes served it in, `None` for a kind that carries no pod spec, an error naming kind,
/// group and version for a workload kind's name in a workload group at a version that never
/// served it.
pub fn workload_kind(kind: &GroupVersionKind) -> Result<Option<WorkloadKind>, InputError> {
    if !WORKLOAD_GROUPS.contains(&kind.group.as_str()) {
        return Ok(None);
    }
    let Some(workload) = WorkloadKind::ALL
        .into_iter()
        .find(|candidate| candidate.name() == kind.kind)
    else {
        return Ok(None);
    };
    let written = api_version(&kind.group, &kind.version);
    if workload.api_versions().contains(&written.as_str()) {
        return Ok(Some(workload));
    }
    Err(InputError {
        path: "request.kind".into(),
        message: format!(
            "{} in apiVersion \"{written}\" (group \"{}\", version \"{}\") cannot be read: Kubernetes serves {} as {}, and only those are read; \
             a webhook registered with matchPolicy: Equivalent receives {}",
            kind.kind,
            kind.group,
            kind.version,
            kind.kind,
            workload.api_versions().join(", "),
            workload.api_versions()[0],
        ),
        context: "request",
    })
}

/// Checks that the object (its JSON text) says what `request.kind` says it is: each of
/// `apiVersion` and `kind` when the object states it.
pub fn check_object_agrees(kind: &GroupVersionKind, object: &str) -> Result<(), InputError> {
    agrees(kind, &TypeMeta::read(object)?)
}

fn agrees(kind: &GroupVersionKind, object: &TypeMeta) -> Result<(), InputError> {
    let expected = api_version(&kind.group, &kind.version);
    let disagreement = if !object.api_version.is_empty() && object.api_version != expected {
        Some(("apiVersion", &object.api_version))
    } else if !object.kind.is_empty() && object.kind != kind.kind {
        Some(("kind", &object.kind))
    } else {
        None
    };
    match disagreement {
        None => Ok(()),
        Some((field, stated)) => Err(InputError {
            path: field.into(),
            message: format!(
                "\"{stated}\" is not the {field} request.kind names ({} {expected}): the request does not say what its object is",
                kind.kind
            ),
            context: "object",
        }),
    }
}

/// For a request whose kind carries no pod spec: refuses an object that says it is a workload
/// (a Pod sent as a ConfigMap would otherwise go unread). An object that does not say, or
/// cannot be read, is left alone: the policies do not judge it.
pub fn check_not_a_workload_inside(
    kind: &GroupVersionKind,
    object: Option<&str>,
) -> Result<(), InputError> {
    let Some(stated) = object.and_then(|text| TypeMeta::read(text).ok()) else {
        return Ok(());
    };
    let (group, version) = match stated.api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", stated.api_version.as_str()),
    };
    let as_stated = GroupVersionKind {
        group: group.to_owned(),
        version: version.to_owned(),
        kind: stated.kind.clone(),
    };
    if stated.kind.is_empty() || matches!(workload_kind(&as_stated), Ok(None)) {
        return Ok(());
    }
    agrees(kind, &stated)
}

#[cfg(test)]
mod tests;
