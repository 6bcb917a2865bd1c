//! The workload model: which kinds carry a pod spec, where it lives, and how to read it.

use serde::Deserialize;

use crate::input::{InputError, from_json_str};
use crate::nullable::nullable;
use crate::path::FieldPath;
use crate::pod::{ObjectMeta, PodSpec};

/// A Kubernetes kind that carries a pod spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    ReplicationController,
    Job,
    CronJob,
    PodTemplate,
}

impl WorkloadKind {
    /// Every pod-bearing kind, in the order the documentation lists them.
    pub const ALL: [WorkloadKind; 9] = [
        WorkloadKind::Pod,
        WorkloadKind::Deployment,
        WorkloadKind::ReplicaSet,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
        WorkloadKind::ReplicationController,
        WorkloadKind::Job,
        WorkloadKind::CronJob,
        WorkloadKind::PodTemplate,
    ];

    /// The kind for its current API group and kind name; `None` for kinds without a pod spec.
    ///
    /// The group is checked too, so a custom resource that happens to be called `Deployment`
    /// is not mistaken for `apps/v1` Deployment. An admission request's kind is read with
    /// [`crate::api_versions::workload_kind`], which also knows the older groups and versions.
    pub fn from_group_kind(group: &str, kind: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|candidate| candidate.group() == group && candidate.name() == kind)
    }

    /// The kind name, e.g. `Deployment`.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "Pod",
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::ReplicationController => "ReplicationController",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::PodTemplate => "PodTemplate",
        }
    }

    /// The API group (`""` for the core group).
    pub fn group(self) -> &'static str {
        match self {
            WorkloadKind::Pod | WorkloadKind::ReplicationController | WorkloadKind::PodTemplate => {
                ""
            }
            WorkloadKind::Deployment
            | WorkloadKind::ReplicaSet
            | WorkloadKind::StatefulSet
            | WorkloadKind::DaemonSet => "apps",
            WorkloadKind::Job | WorkloadKind::CronJob => "batch",
        }
    }

    /// The plural resource name used in admission rules, e.g. `deployments`.
    pub fn resource(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "pods",
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::ReplicaSet => "replicasets",
            WorkloadKind::StatefulSet => "statefulsets",
            WorkloadKind::DaemonSet => "daemonsets",
            WorkloadKind::ReplicationController => "replicationcontrollers",
            WorkloadKind::Job => "jobs",
            WorkloadKind::CronJob => "cronjobs",
            WorkloadKind::PodTemplate => "podtemplates",
        }
    }

    /// Path of the pod spec inside the object.
    pub fn pod_spec_path(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "spec",
            WorkloadKind::CronJob => "spec.jobTemplate.spec.template.spec",
            WorkloadKind::PodTemplate => "template.spec",
            _ => "spec.template.spec",
        }
    }

    /// Path of the pod's metadata (labels, annotations) inside the object.
    pub fn pod_metadata_path(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "metadata",
            WorkloadKind::CronJob => "spec.jobTemplate.spec.template.metadata",
            WorkloadKind::PodTemplate => "template.metadata",
            _ => "spec.template.metadata",
        }
    }
}

/// A pod-bearing object, read from an admission request.
#[derive(Clone, Debug)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// The object's own metadata.
    pub metadata: ObjectMeta,
    /// The metadata the pods get (the template's, or the Pod's own).
    pub pod_metadata: ObjectMeta,
    /// The pod spec.
    pub spec: PodSpec,
    /// Where `spec` lives in the object, e.g. `spec.template.spec`.
    pub spec_path: FieldPath,
    /// Where `pod_metadata` lives in the object.
    pub pod_metadata_path: FieldPath,
}

impl Workload {
    /// Reads a workload of `kind` from the JSON text of the object.
    ///
    /// Text only: an object already parsed (a mutated one) is written out and read again, so
    /// the wasm carries one copy of the pod model's deserializers, not a second one for
    /// `serde_json::Value` (about 76 KB in every policy).
    // Not inlined: the object and the old object go through one copy of the deserializers.
    #[inline(never)]
    pub fn from_json(kind: WorkloadKind, json: &str) -> Result<Self, InputError> {
        let (metadata, template) = match kind {
            WorkloadKind::Pod => {
                let pod: PodShape = from_json_str("object", json)?;
                let template = PodTemplateSpec {
                    metadata: pod.metadata.clone(),
                    spec: pod.spec,
                };
                (pod.metadata, template)
            }
            WorkloadKind::CronJob => {
                let cron: CronJobShape = from_json_str("object", json)?;
                (cron.metadata, cron.spec.job_template.spec.template)
            }
            WorkloadKind::PodTemplate => {
                let shape: PodTemplateShape = from_json_str("object", json)?;
                (shape.metadata, shape.template)
            }
            _ => {
                let shape: TemplatedShape = from_json_str("object", json)?;
                (shape.metadata, shape.spec.template)
            }
        };
        if template.spec.containers.is_empty() {
            // `containers` is required and may not be empty (a null or missing list reads as
            // empty): a pod spec without containers is not a workload the policies can judge.
            return Err(InputError {
                path: format!("{}.containers", kind.pod_spec_path()),
                message: "missing, null or empty: a pod spec needs at least one container".into(),
                context: "object",
            });
        }
        Ok(Workload {
            kind,
            metadata,
            pod_metadata: template.metadata,
            spec: template.spec,
            spec_path: FieldPath::parse_static(kind.pod_spec_path()),
            pod_metadata_path: FieldPath::parse_static(kind.pod_metadata_path()),
        })
    }
}

#[derive(Deserialize)]
struct PodShape {
    #[serde(default, deserialize_with = "nullable")]
    metadata: ObjectMeta,
    spec: PodSpec,
}

#[derive(Deserialize)]
struct PodTemplateSpec {
    #[serde(default, deserialize_with = "nullable")]
    metadata: ObjectMeta,
    spec: PodSpec,
}

#[derive(Deserialize)]
struct TemplatedShape {
    #[serde(default, deserialize_with = "nullable")]
    metadata: ObjectMeta,
    spec: TemplatedSpec,
}

#[derive(Deserialize)]
struct TemplatedSpec {
    template: PodTemplateSpec,
}

#[derive(Deserialize)]
struct CronJobShape {
    #[serde(default, deserialize_with = "nullable")]
    metadata: ObjectMeta,
    spec: CronJobSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CronJobSpec {
    job_template: JobTemplate,
}

#[derive(Deserialize)]
struct JobTemplate {
    spec: TemplatedSpec,
}

#[derive(Deserialize)]
struct PodTemplateShape {
    #[serde(default, deserialize_with = "nullable")]
    metadata: ObjectMeta,
    template: PodTemplateSpec,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::Value;

    #[rstest]
    #[case::pod(
        WorkloadKind::Pod,
        r#"{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}"#
    )]
    #[case::deployment(WorkloadKind::Deployment, r#"{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}}}"#)]
    #[case::replica_set(WorkloadKind::ReplicaSet, r#"{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}}}"#)]
    #[case::stateful_set(WorkloadKind::StatefulSet, r#"{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}}}"#)]
    #[case::daemon_set(WorkloadKind::DaemonSet, r#"{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}}}"#)]
    #[case::replication_controller(WorkloadKind::ReplicationController, r#"{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}}}"#)]
    #[case::job(WorkloadKind::Job, r#"{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}}}"#)]
    #[case::cron_job(WorkloadKind::CronJob, r#"{"spec":{"jobTemplate":{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}}}}}"#)]
    #[case::pod_template(
        WorkloadKind::PodTemplate,
        r#"{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}}"#
    )]
    fn reads_every_kind(#[case] kind: WorkloadKind, #[case] json: &str) {
        let workload = Workload::from_json(kind, json).expect("parses");
        assert_eq!(workload.spec.containers[0].name, "c");
        assert_eq!(
            workload.pod_metadata.labels.get("a").map(String::as_str),
            Some("b")
        );
        assert_eq!(workload.spec_path.to_string(), kind.pod_spec_path());
    }

    #[test]
    fn kinds_are_matched_with_their_group() {
        assert_eq!(
            WorkloadKind::from_group_kind("apps", "Deployment"),
            Some(WorkloadKind::Deployment)
        );
        assert_eq!(
            WorkloadKind::from_group_kind("example.com", "Deployment"),
            None
        );
        assert_eq!(WorkloadKind::from_group_kind("", "ConfigMap"), None);
    }

    #[test]
    fn a_missing_template_is_an_error_naming_the_field() {
        let error = Workload::from_json(WorkloadKind::Deployment, r#"{"spec":{"replicas":1}}"#)
            .expect_err("no template");
        assert_eq!(error.path, "spec");
        assert!(error.message.contains("template"), "{error}");
    }

    /// `value` placed at the dotted `path`.
    fn nest(path: &str, value: Value) -> Value {
        path.rsplit('.').fold(value, |inner, key| {
            let mut map = serde_json::Map::new();
            map.insert(key.to_owned(), inner);
            Value::Object(map)
        })
    }

    #[test]
    fn every_kind_needs_its_containers() {
        for kind in WorkloadKind::ALL {
            let object = |containers: Option<Value>| {
                let mut spec = serde_json::json!({"hostNetwork": true});
                if let Some(containers) = containers {
                    spec["containers"] = containers;
                }
                nest(kind.pod_spec_path(), spec).to_string()
            };
            let expected_path = format!("{}.containers", kind.pod_spec_path());
            let cases = [
                ("missing", None),
                ("null", Some(Value::Null)),
                ("empty", Some(serde_json::json!([]))),
            ];
            for (what, containers) in cases {
                let error = Workload::from_json(kind, &object(containers))
                    .expect_err("containers are required");
                assert_eq!(error.path, expected_path, "{kind:?} {what}");
                assert!(
                    error.message.starts_with("missing, null or empty"),
                    "{error}"
                );
            }
            let wrong = object(Some(serde_json::json!({"name": "c"})));
            let error = Workload::from_json(kind, &wrong).expect_err("wrong type");
            assert_eq!(error.path, expected_path, "{kind:?} wrong type");
        }
    }

    #[test]
    fn a_wrongly_typed_field_is_an_error_naming_the_field() {
        let error = Workload::from_json(
            WorkloadKind::CronJob,
            r#"{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a","securityContext":{"privileged":"yes"}}]}}}}}}"#,
        )
        .expect_err("wrong type");
        assert_eq!(
            error.path,
            "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"
        );
    }

    #[test]
    fn a_wrongly_typed_node_name_is_an_error_naming_the_field_in_every_kind() {
        for kind in WorkloadKind::ALL {
            let spec = serde_json::json!({"nodeName": ["ip-10-0-1-17.ec2.internal"],
                "containers": [{"name": "a", "image": "a"}]});
            let object = nest(kind.pod_spec_path(), spec).to_string();
            let error = Workload::from_json(kind, &object).expect_err("wrong type");
            assert_eq!(
                error.path,
                format!("{}.nodeName", kind.pod_spec_path()),
                "{kind:?}"
            );
        }
    }
}
