use rstest::rstest;
use serde_json::{Value, json};

use super::*;
use crate::policy::{Target, read_workload};
use crate::request::ValidationPayload;

fn gvk(group: &str, version: &str, kind: &str) -> GroupVersionKind {
    GroupVersionKind {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
    }
}

#[rstest]
#[case("", "v1", "Pod", WorkloadKind::Pod)]
#[case("", "v1", "ReplicationController", WorkloadKind::ReplicationController)]
#[case("", "v1", "PodTemplate", WorkloadKind::PodTemplate)]
#[case("apps", "v1", "Deployment", WorkloadKind::Deployment)]
#[case("apps", "v1beta2", "Deployment", WorkloadKind::Deployment)]
#[case("apps", "v1beta1", "Deployment", WorkloadKind::Deployment)]
#[case("extensions", "v1beta1", "Deployment", WorkloadKind::Deployment)]
#[case("apps", "v1beta2", "ReplicaSet", WorkloadKind::ReplicaSet)]
#[case("extensions", "v1beta1", "ReplicaSet", WorkloadKind::ReplicaSet)]
#[case("apps", "v1beta2", "DaemonSet", WorkloadKind::DaemonSet)]
#[case("extensions", "v1beta1", "DaemonSet", WorkloadKind::DaemonSet)]
#[case("apps", "v1beta1", "StatefulSet", WorkloadKind::StatefulSet)]
#[case("apps", "v1beta2", "StatefulSet", WorkloadKind::StatefulSet)]
#[case("batch", "v1", "Job", WorkloadKind::Job)]
#[case("batch", "v1beta1", "CronJob", WorkloadKind::CronJob)]
#[case("batch", "v2alpha1", "CronJob", WorkloadKind::CronJob)]
fn every_version_kubernetes_served_a_kind_in_reads_as_that_kind(
    #[case] group: &str,
    #[case] version: &str,
    #[case] kind: &str,
    #[case] expected: WorkloadKind,
) {
    assert_eq!(
        workload_kind(&gvk(group, version, kind)),
        Ok(Some(expected))
    );
}

#[rstest]
#[case("apps", "v2", "Deployment")]
#[case("apps", "", "Deployment")]
#[case("batch", "v1", "Deployment")]
#[case("apps", "v1beta1", "DaemonSet")]
#[case("apps", "v1beta1", "ReplicaSet")]
#[case("extensions", "v1beta1", "StatefulSet")]
#[case("extensions", "v1beta1", "Job")]
#[case("batch", "v2alpha1", "Job")]
#[case("", "v2", "Pod")]
#[case("", "", "Pod")]
#[case("apps", "v1", "Pod")]
fn a_workload_kind_in_a_version_that_never_served_it_is_unreadable(
    #[case] group: &str,
    #[case] version: &str,
    #[case] kind: &str,
) {
    let error = workload_kind(&gvk(group, version, kind)).expect_err("unreadable");
    assert_eq!(error.path, "request.kind");
    assert!(
        error.message.starts_with(&format!(
            "{kind} in apiVersion \"{}\" (group \"{group}\", version \"{version}\") cannot be read",
            api_version(group, version)
        )),
        "{error}"
    );
}

#[test]
fn the_error_says_which_forms_are_read_and_what_an_equivalent_webhook_receives() {
    let error = workload_kind(&gvk("extensions", "v2", "Deployment")).expect_err("unreadable");
    assert_eq!(
        error.to_string(),
        "invalid request: request.kind: Deployment in apiVersion \"extensions/v2\" (group \"extensions\", version \"v2\") cannot be read: \
         Kubernetes serves Deployment as apps/v1, apps/v1beta2, apps/v1beta1, extensions/v1beta1, and only those are read; \
         a webhook registered with matchPolicy: Equivalent receives apps/v1"
    );
}

#[rstest]
#[case("batch.volcano.sh", "v1alpha1", "Job")]
#[case("example.com", "v1", "Deployment")]
#[case("apps.example.com", "v1", "Deployment")]
#[case("", "v1", "ConfigMap")]
#[case("apps", "v1", "ControllerRevision")]
#[case("extensions", "v1beta1", "Ingress")]
#[case("autoscaling", "v1", "Scale")]
fn other_kinds_and_kinds_of_other_groups_carry_no_pod_spec(
    #[case] group: &str,
    #[case] version: &str,
    #[case] kind: &str,
) {
    assert_eq!(workload_kind(&gvk(group, version, kind)), Ok(None));
}

#[test]
fn every_kind_is_read_in_the_version_the_testkit_and_the_scanner_send() {
    for kind in WorkloadKind::ALL {
        let current = kind.api_versions()[0];
        assert_eq!(current, api_version(kind.group(), "v1"), "{kind:?}");
        assert_eq!(
            workload_kind(&gvk(kind.group(), "v1", kind.name())),
            Ok(Some(kind))
        );
    }
}

/// The `validate` payload of a CREATE of `object` as `request.kind` `group/version/kind`.
fn payload(group: &str, version: &str, kind: &str, object: &Value) -> Vec<u8> {
    json!({"request": {
        "uid": "u", "kind": {"group": group, "version": version, "kind": kind},
        "operation": "CREATE", "namespace": "default", "name": "web", "object": object,
    }})
    .to_string()
    .into_bytes()
}

fn privileged_template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx", "securityContext": {"privileged": true}}]}})
}

/// What `read_workload` makes of a payload: the kind and containers it judges, or its error.
fn read(payload: &[u8]) -> Result<Option<(WorkloadKind, Vec<String>)>, String> {
    let parsed = ValidationPayload::parse(payload).map_err(|e| e.to_string())?;
    match read_workload(&parsed.request).map_err(|e| e.to_string())? {
        Target::NotApplicable(_) => Ok(None),
        Target::Workload(review) => Ok(Some((
            review.workload.kind,
            review
                .workload
                .spec
                .containers
                .iter()
                .map(|c| c.name.clone())
                .collect(),
        ))),
    }
}

#[rstest]
#[case("extensions", "v1beta1", "Deployment", WorkloadKind::Deployment)]
#[case("apps", "v1beta1", "Deployment", WorkloadKind::Deployment)]
#[case("apps", "v1beta2", "Deployment", WorkloadKind::Deployment)]
#[case("extensions", "v1beta1", "DaemonSet", WorkloadKind::DaemonSet)]
#[case("apps", "v1beta2", "DaemonSet", WorkloadKind::DaemonSet)]
#[case("extensions", "v1beta1", "ReplicaSet", WorkloadKind::ReplicaSet)]
#[case("apps", "v1beta2", "ReplicaSet", WorkloadKind::ReplicaSet)]
#[case("apps", "v1beta1", "StatefulSet", WorkloadKind::StatefulSet)]
#[case("apps", "v1beta2", "StatefulSet", WorkloadKind::StatefulSet)]
fn an_old_form_of_a_controller_is_judged_as_its_current_form(
    #[case] group: &str,
    #[case] version: &str,
    #[case] kind: &str,
    #[case] expected: WorkloadKind,
) {
    let object = json!({"apiVersion": api_version(group, version), "kind": kind,
        "metadata": {"name": "web"}, "spec": {"template": privileged_template()}});
    assert_eq!(
        read(&payload(group, version, kind, &object)),
        Ok(Some((expected, vec!["app".to_owned()])))
    );
}

#[rstest]
#[case("v1beta1")]
#[case("v2alpha1")]
fn an_old_cron_job_is_judged_as_its_current_form(#[case] version: &str) {
    let object = json!({"apiVersion": format!("batch/{version}"), "kind": "CronJob",
        "metadata": {"name": "web"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": privileged_template()}}}});
    assert_eq!(
        read(&payload("batch", version, "CronJob", &object)),
        Ok(Some((WorkloadKind::CronJob, vec!["app".to_owned()])))
    );
}

#[test]
fn a_workload_in_an_unknown_version_is_refused_not_admitted() {
    let object = json!({"apiVersion": "apps/v2", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"template": privileged_template()}});
    let error = read(&payload("apps", "v2", "Deployment", &object)).expect_err("unreadable");
    assert!(
        error.starts_with("invalid request: request.kind: Deployment in apiVersion \"apps/v2\" (group \"apps\", version \"v2\") cannot be read"),
        "{error}"
    );
}

#[test]
fn a_custom_resource_named_like_a_workload_is_not_judged() {
    let object = json!({"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
        "metadata": {"name": "web"}, "spec": {"tasks": []}});
    assert_eq!(
        read(&payload("batch.volcano.sh", "v1alpha1", "Job", &object)),
        Ok(None)
    );
}

#[rstest]
#[case::other_version(
    ("apps", "v1", "Deployment"),
    json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment", "spec": {"template": privileged_template()}}),
    "invalid object: apiVersion: \"extensions/v1beta1\" is not the apiVersion request.kind names (Deployment apps/v1)"
)]
#[case::other_kind(
    ("apps", "v1", "Deployment"),
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {"template": privileged_template()}}),
    "invalid object: kind: \"DaemonSet\" is not the kind request.kind names (Deployment apps/v1)"
)]
#[case::custom_resource_holding_a_pod(
    ("example.com", "v1", "Wrapper"),
    json!({"apiVersion": "v1", "kind": "Pod", "spec": privileged_template()["spec"]}),
    "invalid object: apiVersion: \"v1\" is not the apiVersion request.kind names (Wrapper example.com/v1)"
)]
#[case::config_map_holding_a_pod(
    ("", "v1", "ConfigMap"),
    json!({"apiVersion": "v1", "kind": "Pod", "spec": privileged_template()["spec"]}),
    "invalid object: kind: \"Pod\" is not the kind request.kind names (ConfigMap v1)"
)]
#[case::config_map_holding_an_unreadable_workload(
    ("", "v1", "ConfigMap"),
    json!({"apiVersion": "apps/v9", "kind": "Deployment"}),
    "invalid object: apiVersion: \"apps/v9\" is not the apiVersion request.kind names (ConfigMap v1)"
)]
fn an_object_that_is_not_what_the_request_says_is_unreadable(
    #[case] (group, version, kind): (&str, &str, &str),
    #[case] object: Value,
    #[case] expected: &str,
) {
    let error = read(&payload(group, version, kind, &object)).expect_err("disagreement");
    assert!(error.starts_with(expected), "{error}");
}

#[rstest]
#[case::unstated(json!({"spec": {"template": privileged_template()}}))]
#[case::kind_only(json!({"kind": "Deployment", "spec": {"template": privileged_template()}}))]
#[case::null_fields(json!({"apiVersion": null, "kind": null, "spec": {"template": privileged_template()}}))]
fn an_object_that_does_not_say_what_it_is_is_read_as_the_request_says(#[case] object: Value) {
    assert_eq!(
        read(&payload("apps", "v1", "Deployment", &object)),
        Ok(Some((WorkloadKind::Deployment, vec!["app".to_owned()])))
    );
}

#[rstest]
#[case::config_map(json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}))]
#[case::unstated(json!({"data": {"a": "b"}}))]
#[case::not_an_object(json!("text"))]
#[case::wrongly_typed(json!({"apiVersion": 5, "kind": "Pod"}))]
#[case::custom_resource(json!({"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job"}))]
fn a_request_of_another_kind_is_left_alone_unless_its_object_is_a_workload(#[case] object: Value) {
    assert_eq!(read(&payload("", "v1", "ConfigMap", &object)), Ok(None));
}

#[test]
fn the_object_says_what_it_is_in_its_top_level_strings() {
    let read = |text: &str| TypeMeta::read(text);
    assert_eq!(
        read(
            r#"{"metadata":{"name":"x"},"spec":{"kind":"Pod"},"kind":"P\u006fd","apiVersion":"v1"}"#
        ),
        Ok(TypeMeta {
            api_version: "v1".into(),
            kind: "Pod".into()
        })
    );
    assert_eq!(
        read(r#"{"apiVersion":null,"spec":{"apiVersion":"v1"}}"#),
        Ok(TypeMeta::default())
    );
    assert_eq!(read(r#""text""#), Ok(TypeMeta::default()));
    let error = read(r#"{"apiVersion":["apps/v1"]}"#).expect_err("not a string");
    assert_eq!(
        error.to_string(),
        "invalid object: apiVersion: [\"apps/v1\"] is not a string"
    );
}

#[test]
fn a_workload_whose_api_version_is_not_a_string_is_unreadable() {
    let object =
        json!({"apiVersion": 5, "kind": "Deployment", "spec": {"template": privileged_template()}});
    assert_eq!(
        read(&payload("apps", "v1", "Deployment", &object)),
        Err("invalid object: apiVersion: 5 is not a string".to_owned())
    );
}
