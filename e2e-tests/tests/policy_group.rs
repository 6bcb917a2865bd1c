//! The generated `manifests/pci-3.2-image-integrity.yaml` evaluated as policy-server evaluates
//! a ClusterAdmissionPolicyGroup: each member is its compiled module with the member's settings,
//! not allowed to mutate; an error is false; the expression is lazy. With the registry
//! unreachable, the group still rejects what no member can vouch for.

use std::sync::{Arc, Mutex};

use e2e::{policy, root};
use pci_host::admission::Deployment;
use pci_host::bundle::policy_of_module;
use pci_host::capabilities::LiveAnswers;
use pci_host::group::{Expression, GroupVerdict, MemberAnswer, evaluate_group};
use pci_host::replay::CallbackRequest;
use pci_host::run::{RunOptions, run};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, workload_object};
use serde_json::{Value, json};

/// A registry that cannot be reached: every host call fails, and is counted.
#[derive(Debug, Default)]
struct Unreachable {
    calls: Mutex<Vec<String>>,
}

impl LiveAnswers for Unreachable {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(request.kind_name());
        }
        Err("error sending request: tcp connect error: Connection refused (os error 111)".into())
    }
}

fn group() -> Value {
    let text =
        std::fs::read_to_string(root().join("manifests/pci-3.2-image-integrity.yaml")).unwrap();
    yaml_serde::from_str(text.split_once("---\n").unwrap().1).unwrap()
}

fn evaluate(image: &str, registry: &Arc<Unreachable>) -> GroupVerdict {
    let group = group();
    let spec = &group["spec"];
    let expression = Expression::parse(spec["expression"].as_str().unwrap()).unwrap();
    let object = workload_object(
        WorkloadKind::Pod,
        "api",
        json!({}),
        json!({"containers": [{"name": "api", "image": image}]}),
    );
    let request = admission_request(WorkloadKind::Pod, "CREATE", object);
    evaluate_group(
        &expression,
        spec["message"].as_str().unwrap(),
        &mut |member| {
            let member = &spec["policies"][member];
            let options = RunOptions {
                settings: member["settings"].clone(),
                live: Some(Arc::clone(registry) as Arc<dyn LiveAnswers>),
                allow_context_aware: true,
                deployment: Deployment {
                    monitor: false,
                    allowed_to_mutate: false,
                },
                ..RunOptions::default()
            };
            match run(
                &policy(policy_of_module(member["module"].as_str().unwrap()).unwrap()),
                &request,
                options,
            ) {
                Err(error) => MemberAnswer::Failed(format!("{error:#}")),
                Ok(response) if response.patch.is_some() => MemberAnswer::Patched,
                Ok(response) if response.allowed => MemberAnswer::Accepted,
                Ok(response) => MemberAnswer::Rejected(response.message()),
            }
        },
    )
}

#[test]
fn an_unreachable_registry_never_admits() {
    let registry = Arc::new(Unreachable::default());
    let verdict = evaluate("registry.example.com/payments/api:1.4", &registry);
    assert!(!verdict.allowed, "{verdict:?}");
    assert!(verdict.message.unwrap().starts_with("PCI 3.2"));
    let causes: Vec<&str> = verdict
        .causes
        .iter()
        .map(|(field, _)| field.as_str())
        .collect();
    assert_eq!(
        causes,
        [
            "spec.policies.pinned_by_digest",
            "spec.policies.signature_verified",
            "spec.policies.immutable_tags_registry"
        ]
    );
    let signature = &verdict.causes[1].1;
    assert!(
        signature.contains("the registry is unreachable; tell the platform team"),
        "{signature}"
    );
    assert!(
        !registry.calls.lock().unwrap().is_empty(),
        "the registry was asked"
    );
}

#[test]
fn a_pinned_image_is_admitted_without_asking_the_registry() {
    let registry = Arc::new(Unreachable::default());
    let digest = format!("sha256:{}", "a".repeat(64));
    let verdict = evaluate(
        &format!("registry.example.com/payments/api@{digest}"),
        &registry,
    );
    assert!(verdict.allowed, "{verdict:?}");
    assert_eq!(verdict.evaluated, ["pinned_by_digest"]);
    assert!(registry.calls.lock().unwrap().is_empty());
}

#[test]
fn an_immutable_tags_registry_vouches_for_a_tag() {
    let registry = Arc::new(Unreachable::default());
    let verdict = evaluate("harbor.example.com/payments/api:1.4", &registry);
    assert!(verdict.allowed, "{verdict:?}");
    assert_eq!(
        verdict.evaluated,
        [
            "pinned_by_digest",
            "signature_verified",
            "immutable_tags_registry"
        ]
    );
    // Its `latest` is a moving tag even there.
    let verdict = evaluate("harbor.example.com/payments/api:latest", &registry);
    assert!(!verdict.allowed, "{verdict:?}");
}

/// A registry that resolves every tag to one digest.
#[derive(Debug)]
struct Resolving;

impl LiveAnswers for Resolving {
    fn answer(&self, _: &CallbackRequest) -> Result<Vec<u8>, String> {
        Ok(json!({"digest": format!("sha256:{}", "b".repeat(64))})
            .to_string()
            .into_bytes())
    }
}

/// A member whose settings patch (image-digest resolving the tag) counts as false, as in
/// policy-server: which is why the generator refuses such member settings.
#[test]
fn a_member_that_patches_counts_as_false() {
    let object = workload_object(
        WorkloadKind::Pod,
        "api",
        json!({}),
        json!({"containers": [{"name": "api", "image": "registry.example.com/payments/api:1.4"}]}),
    );
    let request = admission_request(WorkloadKind::Pod, "CREATE", object);
    let verdict = evaluate_group(
        &Expression::parse("pinned_by_digest()").unwrap(),
        "no",
        &mut |_| {
            let options = RunOptions {
                settings: json!({"mode": "resolve"}),
                live: Some(Arc::new(Resolving)),
                ..RunOptions::default()
            };
            let response = run(&policy("image-digest"), &request, options).unwrap();
            assert!(response.allowed);
            if response.patch.is_some() {
                MemberAnswer::Patched
            } else {
                MemberAnswer::Accepted
            }
        },
    );
    assert!(!verdict.allowed);
    assert_eq!(
        verdict.causes[0].1,
        "mutation is not allowed inside of policy group"
    );
}
