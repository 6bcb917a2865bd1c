use serde_json::{Value, json};

use super::*;
use crate::containers::ContainerKind;
use crate::path::FieldPath;
use crate::request::GroupVersionKind;
use crate::violation::Violation;

/// A request of `kind` and `operation` for `object`, with `old` as its oldObject.
fn review(
    kind: WorkloadKind,
    operation: Operation,
    sub_resource: Option<&str>,
    object: &Value,
    old: Option<&Value>,
) -> Review {
    let object_text = object.to_string();
    // The request borrows the old object's text, as it borrows the payload in a policy.
    let old_raw = old.map(|value| {
        let text: &'static str = Box::leak(value.to_string().into_boxed_str());
        serde_json::from_str::<&RawValue>(text).expect("raw old object")
    });
    let request = AdmissionRequest {
        uid: "u".into(),
        kind: GroupVersionKind {
            group: kind.group().into(),
            version: "v1".into(),
            kind: kind.name().into(),
        },
        sub_resource: sub_resource.map(str::to_owned),
        name: Some("web".into()),
        namespace: Some("default".into()),
        operation,
        object: None,
        old_object: old_raw,
        dry_run: false,
    };
    Review::read(&request, kind, &object_text).expect("readable workload")
}

fn pod(annotations: Value, spec: Value) -> Value {
    json!({"metadata": {"name": "web", "annotations": annotations}, "spec": spec})
}

fn one_container(image: &str) -> Value {
    json!({"containers": [{"name": "app", "image": image}]})
}

fn pod_update(old: &Value, new: &Value) -> Scope {
    review(WorkloadKind::Pod, Operation::Update, None, new, Some(old)).scope
}

#[test]
fn a_create_is_judged_in_full() {
    let object = pod(json!({}), one_container("nginx"));
    let created = review(WorkloadKind::Pod, Operation::Create, None, &object, None);
    assert_eq!(created.scope, Scope::Full);
    assert!(created.notes.is_empty() && created.old().is_none());
}

#[test]
fn an_update_without_old_object_is_judged_in_full_and_says_so() {
    let object = pod(json!({}), one_container("nginx"));
    for old in [None, Some(&Value::Null)] {
        let updated = review(WorkloadKind::Pod, Operation::Update, None, &object, old);
        assert_eq!(updated.scope, Scope::Full);
        assert_eq!(
            updated.notes,
            ["the UPDATE carries no oldObject, so it is judged in full"]
        );
    }
}

#[test]
fn an_unreadable_old_object_is_judged_in_full_and_says_why() {
    let object = pod(json!({}), one_container("nginx"));
    let broken = json!({"spec": {"containers": "nginx"}});
    let updated = review(
        WorkloadKind::Pod,
        Operation::Update,
        None,
        &object,
        Some(&broken),
    );
    assert_eq!(updated.scope, Scope::Full);
    assert!(
        updated.notes[0].starts_with("oldObject cannot be read (invalid object: spec.containers"),
        "{:?}",
        updated.notes
    );
}

#[test]
fn metadata_only_pod_updates_are_not_significant() {
    let old = pod(json!({"a": "1"}), one_container("nginx"));
    let mut new = old.clone();
    new["metadata"]["labels"] = json!({"team": "payments"});
    new["metadata"]["finalizers"] = json!([]);
    new["metadata"]["annotations"] = json!({"a": "2"});
    new["metadata"]["ownerReferences"] = json!([{"kind": "ReplicaSet", "name": "x"}]);
    new["spec"]["activeDeadlineSeconds"] = json!(30);
    assert_eq!(
        pod_update(&old, &new),
        Scope::Unchanged(Unchanged::PodMetadata)
    );
}

#[test]
fn what_pod_security_admission_calls_significant_is_judged_in_full() {
    let old = pod(
        json!({}),
        json!({"initContainers": [{"name": "init", "image": "busybox"}],
               "containers": [{"name": "app", "image": "nginx"}]}),
    );
    let changes: [(&str, Value); 6] = [
        (
            "image bump",
            json!({"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}),
        ),
        (
            "init image bump",
            json!({"spec": {"initContainers": [{"name": "init", "image": "busybox:2"}]}}),
        ),
        (
            "container added",
            json!({"spec": {"containers": [{"name": "app", "image": "nginx"}, {"name": "b", "image": "b"}]}}),
        ),
        (
            "pod seccomp annotation",
            json!({"metadata": {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}}),
        ),
        (
            "container seccomp annotation",
            json!({"metadata": {"annotations": {"container.seccomp.security.alpha.kubernetes.io/app": "unconfined"}}}),
        ),
        (
            "container AppArmor annotation",
            json!({"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/init": "localhost/x"}}}),
        ),
    ];
    for (what, change) in changes {
        let mut new = old.clone();
        crate_merge(&mut new, &change);
        assert_eq!(pod_update(&old, &new), Scope::Full, "{what}");
    }
}

#[test]
fn kubectl_debug_judges_the_whole_pod_as_pod_security_admission_does() {
    let old = pod(json!({}), one_container("nginx"));
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "busybox"}]);
    let debug = |old: &Value, new: &Value| {
        review(
            WorkloadKind::Pod,
            Operation::Update,
            Some(EPHEMERAL_CONTAINERS),
            new,
            Some(old),
        )
        .scope
    };
    // One more ephemeral container: significant, so every container and the pod are judged.
    assert_eq!(debug(&old, &new), Scope::Full);
    assert_eq!(pod_update(&old, &new), Scope::Full);
    // A second debug session: the count changes again.
    let mut again = new.clone();
    again["spec"]["ephemeralContainers"] = json!([
        {"name": "debugger", "image": "busybox"},
        {"name": "debugger-2", "image": "busybox"}
    ]);
    assert_eq!(debug(&new, &again), Scope::Full);
    // The same ephemeral containers with another image, compared by position as Pod Security
    // Admission compares them.
    let mut swapped = new.clone();
    swapped["spec"]["ephemeralContainers"][0]["image"] = json!("busybox:2");
    assert_eq!(debug(&new, &swapped), Scope::Full);
    // Nothing added, nothing changed: not significant, even through the subresource.
    let mut relabelled = new.clone();
    relabelled["metadata"]["labels"] = json!({"team": "payments"});
    assert_eq!(
        debug(&new, &relabelled),
        Scope::Unchanged(Unchanged::PodMetadata)
    );
}

fn controller(kind: WorkloadKind, template_annotations: Value, replicas: u32) -> Value {
    let template = json!({"metadata": {"annotations": template_annotations},
                          "spec": {"containers": [{"name": "app", "image": "nginx"}]}});
    match kind {
        WorkloadKind::CronJob => json!({"metadata": {"name": "web"},
            "spec": {"suspend": replicas > 1, "jobTemplate": {"spec": {"template": template}}}}),
        WorkloadKind::PodTemplate => {
            json!({"metadata": {"name": "web", "labels": {"n": replicas.to_string()}}, "template": template})
        }
        _ => {
            json!({"metadata": {"name": "web"}, "spec": {"replicas": replicas, "template": template}})
        }
    }
}

#[test]
fn controllers_are_judged_when_their_template_changes() {
    for kind in WorkloadKind::ALL
        .into_iter()
        .filter(|k| *k != WorkloadKind::Pod)
    {
        let old = controller(kind, json!({}), 1);
        let scaled = controller(kind, json!({}), 3);
        let unchanged = review(kind, Operation::Update, None, &scaled, Some(&old));
        assert_eq!(
            unchanged.scope,
            Scope::Unchanged(Unchanged::Template),
            "{kind:?}"
        );
        let restarted = controller(kind, json!({"kubectl.kubernetes.io/restartedAt": "now"}), 1);
        let rollout = review(kind, Operation::Update, None, &restarted, Some(&old));
        assert_eq!(rollout.scope, Scope::Full, "{kind:?}");
        for judged in [&unchanged, &rollout] {
            assert!(
                judged.old().is_none(),
                "{kind:?}: the old object is not read"
            );
        }
    }
}

#[test]
fn settle_reports_what_is_not_enforced_and_drops_mutations_of_unchanged_workloads() {
    let mut outcome = Outcome {
        mutated: Some(crate::response::MutatedObject::from_value(&json!({})).expect("JSON")),
        ..Outcome::default()
    };
    for container in [Some("app"), None] {
        outcome.violations.push(Violation {
            path: FieldPath::parse_static("spec.hostPID"),
            control: "hostNamespaces",
            container: container.map(str::to_owned),
            message: "true".into(),
            pci: "3.1",
            detail: None,
        });
    }
    let mut unchanged = review(
        WorkloadKind::Pod,
        Operation::Create,
        None,
        &pod(json!({}), one_container("nginx")),
        None,
    );
    unchanged.scope = Scope::Unchanged(Unchanged::PodMetadata);
    let settled = unchanged.settle(outcome.clone(), "pod-security");
    assert!(settled.violations.is_empty() && settled.mutated.is_none());
    assert_eq!(settled.warnings.len(), 2);
    assert!(settled.warnings[0].starts_with(
        "pod-security: not enforced on this UPDATE (it changes no container image, container list or seccomp/AppArmor annotation of the Pod): [hostNamespaces] spec.hostPID"
    ), "{:?}", settled.warnings);
    assert!(settled.audit.contains_key("notEnforced"));

    unchanged.scope = Scope::Full;
    let full = unchanged.settle(outcome, "pod-security");
    assert_eq!(full.violations.len(), 2);
}

#[test]
fn a_running_pods_unchanged_image_is_recognised_in_its_own_list() {
    let old = pod(json!({}), one_container("nginx:1"));
    let new = pod(
        json!({}),
        json!({"initContainers": [{"name": "app", "image": "nginx:1"}],
               "containers": [{"name": "app", "image": "nginx:1"}, {"name": "b", "image": "b"}]}),
    );
    let updated = review(WorkloadKind::Pod, Operation::Update, None, &new, Some(&old));
    let kept: Vec<(ContainerKind, String, bool)> =
        crate::containers::all_containers(&updated.workload.spec, &updated.workload.spec_path)
            .map(|c| (c.kind, c.name().to_owned(), updated.keeps_running_image(&c)))
            .collect();
    assert_eq!(
        kept,
        [
            (ContainerKind::InitContainer, "app".to_owned(), false),
            (ContainerKind::Container, "app".to_owned(), true),
            (ContainerKind::Container, "b".to_owned(), false),
        ]
    );
}

#[test]
fn a_new_pod_template_keeps_no_running_image() {
    // A controller's changed template rolls out new pods: none of its images is running.
    for kind in WorkloadKind::ALL
        .into_iter()
        .filter(|k| *k != WorkloadKind::Pod)
    {
        let old = controller(kind, json!({}), 1);
        let restarted = controller(kind, json!({"kubectl.kubernetes.io/restartedAt": "now"}), 1);
        let rollout = review(kind, Operation::Update, None, &restarted, Some(&old));
        let kept: Vec<bool> =
            crate::containers::all_containers(&rollout.workload.spec, &rollout.workload.spec_path)
                .map(|c| rollout.keeps_running_image(&c))
                .collect();
        assert_eq!(kept, [false], "{kind:?}");
    }
}

/// RFC 7386 merge, enough for these tests.
fn crate_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                crate_merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}
