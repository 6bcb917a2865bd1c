//! Policy-level tests with the host lookup replaced by a recording.

use std::cell::RefCell;
use std::collections::BTreeMap;

use pci_shared::policy::evaluate;
use pci_shared::response::ValidationResponse;
use pci_shared::time::{Now, Timestamp};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, reported_violations, validation_payload, workload_object};
use serde_json::{Value, json};

use crate::ImageDigest;
use crate::lookup::DigestLookup;

const NOW: Now = Now::At(Timestamp(20_779 * 86_400));
const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

thread_local! {
    static ANSWERS: RefCell<BTreeMap<String, Result<String, String>>> = RefCell::default();
    static ASKED: RefCell<Vec<String>> = RefCell::default();
}

/// Answers from `ANSWERS`; an image nobody recorded is a host error.
struct Recorded;

impl DigestLookup for Recorded {
    fn manifest_digest(image: &str) -> Result<String, String> {
        ASKED.with(|asked| asked.borrow_mut().push(image.to_owned()));
        ANSWERS.with(|answers| {
            answers
                .borrow()
                .get(image)
                .cloned()
                .unwrap_or_else(|| Err(format!("manifest unknown: {image}")))
        })
    }
}

fn answer(image: &str, digest: Result<&str, &str>) {
    ANSWERS.with(|answers| {
        answers.borrow_mut().insert(
            image.to_owned(),
            digest.map(str::to_owned).map_err(str::to_owned),
        )
    });
}

fn asked() -> Vec<String> {
    ASKED.with(|asked| asked.borrow().clone())
}

fn run(kind: WorkloadKind, images: &[&str], settings: Value) -> (ValidationResponse, Value) {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image, "x-unknown": i}))
        .collect();
    let spec = json!({"containers": containers, "initContainers": [{"name": "init", "image": format!("registry.corp.com/init@{OLD}")}], "x-kept": true});
    let request = admission_request(kind, "CREATE", workload_object(kind, "w", json!({}), spec));
    let response = evaluate::<ImageDigest<Recorded>>(&validation_payload(&request, &settings), NOW);
    (response, request)
}

fn violations(response: &ValidationResponse) -> Vec<String> {
    reported_violations(&serde_json::to_value(&response.audit_annotations).expect("json"))
}

#[test]
fn require_mode_lists_every_unpinned_container() {
    let (response, _) = run(
        WorkloadKind::Pod,
        &[
            "nginx:1.25",
            &format!("registry.corp.com/api@{OLD}"),
            "registry.corp.com/web",
        ],
        json!({}),
    );
    assert!(!response.accepted);
    assert_eq!(
        violations(&response),
        vec![
            "digest spec.containers[0].image",
            "digest spec.containers[2].image"
        ]
    );
    assert!(response.message.is_some_and(|m| m.contains(
        "(container \"c0\"): \"nginx:1.25\" is not pinned by digest; pin it as docker.io/library/nginx@sha256:<digest>"
    )));
    assert!(asked().is_empty(), "require mode never asks the host");
}

#[test]
fn algorithms_and_malformed_digests() {
    let sha512 = format!("registry.corp.com/api@sha512:{}", "a".repeat(128));
    let (response, _) = run(
        WorkloadKind::Pod,
        &[&sha512, "registry.corp.com/api@sha256:abc", ""],
        json!({}),
    );
    assert_eq!(
        violations(&response),
        vec![
            "digest spec.containers[0].image",
            "reference spec.containers[1].image",
            "reference spec.containers[2].image"
        ]
    );
    let (response, _) = run(
        WorkloadKind::Pod,
        &[&sha512],
        json!({"allowedAlgorithms": ["sha256", "sha512"]}),
    );
    assert!(response.accepted, "{:?}", response.message);
}

#[test]
fn resolve_mode_pins_only_the_image_fields_on_every_kind() {
    answer("docker.io/library/nginx:1.25", Ok(NEW));
    answer("registry.corp.com/web:latest", Ok(OLD));
    for kind in [
        WorkloadKind::Pod,
        WorkloadKind::Deployment,
        WorkloadKind::CronJob,
    ] {
        let (response, request) = run(
            kind,
            &["nginx:1.25", "registry.corp.com/web"],
            json!({"mode": "resolve"}),
        );
        assert!(response.accepted, "{kind:?}: {:?}", response.message);
        let mut expected = request["object"].clone();
        let prefix = format!("/{}", kind.pod_spec_path().replace('.', "/"));
        *expected
            .pointer_mut(&format!("{prefix}/containers/0/image"))
            .expect("image") = json!(format!("nginx:1.25@{NEW}"));
        *expected
            .pointer_mut(&format!("{prefix}/containers/1/image"))
            .expect("image") = json!(format!("registry.corp.com/web:latest@{OLD}"));
        assert_eq!(
            response.mutated_object.map(|m| m.value()),
            Some(expected),
            "{kind:?}"
        );
        assert_eq!(response.warnings.as_ref().map(Vec::len), Some(2));
    }
}

#[test]
fn resolve_mode_fails_closed_naming_the_image_and_the_host_error() {
    answer(
        "registry.corp.com/down:1",
        Err("registry unreachable: connection refused"),
    );
    let (response, _) = run(
        WorkloadKind::Deployment,
        &["registry.corp.com/down:1", "nginx:1.25"],
        json!({"mode": "resolve"}),
    );
    answer("docker.io/library/nginx:1.25", Ok(NEW));
    assert!(!response.accepted);
    assert!(response.mutated_object.is_none());
    assert!(response.message.as_deref().is_some_and(|m| m.contains(
        "[resolve] spec.template.spec.containers[0].image (container \"c0\"): cannot resolve \"registry.corp.com/down:1\" to a digest: the registry is unreachable; tell the platform team"
    )), "{:?}", response.message);
    let audit = &response.audit_annotations.as_ref().expect("audit")["violations"];
    assert!(
        audit.contains("registry.corp.com/down:1: registry unreachable: connection refused"),
        "{audit}"
    );
    answer("registry.corp.com/bad:1", Ok("sha256:XYZ"));
    let (response, _) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/bad:1"],
        json!({"mode": "resolve"}),
    );
    assert!(response.audit_annotations.is_some_and(|a| {
        a["violations"].contains("the host answered an invalid digest \\\"sha256:XYZ\\\"")
    }));
}

#[test]
fn a_moved_tag_warns_or_rejects_as_configured() {
    answer("registry.corp.com/api:2.0", Ok(NEW));
    let image = format!("registry.corp.com/api:2.0@{OLD}");
    let (off, _) = run(WorkloadKind::Pod, &[&image], json!({}));
    assert!(off.accepted && off.warnings.is_none());
    let (warn, _) = run(
        WorkloadKind::Pod,
        &[&image],
        json!({"checkTagMatchesDigest": "warn"}),
    );
    assert!(warn.accepted);
    assert_eq!(
        warn.warnings,
        Some(vec![format!(
            "image-digest: container \"c0\": \"{image}\": tag 2.0 has moved to another digest; pin the digest it points to now, or drop the tag (registry.corp.com/api:2.0 now points to {NEW}, the image pins {OLD})"
        )])
    );
    let (reject, _) = run(
        WorkloadKind::Pod,
        &[&image],
        json!({"checkTagMatchesDigest": "reject"}),
    );
    assert_eq!(
        violations(&reject),
        vec!["tagMatchesDigest spec.containers[0].image"]
    );
    let same = format!("registry.corp.com/api:2.0@{NEW}");
    let (unchanged, _) = run(
        WorkloadKind::Pod,
        &[&same],
        json!({"checkTagMatchesDigest": "reject"}),
    );
    assert!(unchanged.accepted && unchanged.warnings.is_none());
}

#[test]
fn exceptions_waive_a_named_control() {
    let settings = json!({"exceptions": [{"controls": ["digest"], "images": ["registry.corp.com/legacy/*"], "namespaces": ["default"], "reason": "vendor ships tags only (CAB-9)"}]});
    let (response, _) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/legacy/app:3"],
        settings.clone(),
    );
    assert!(response.accepted, "{:?}", response.message);
    let (response, _) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/other/app:3"],
        settings,
    );
    assert!(!response.accepted);
}

/// An UPDATE of `kind` from `old` to `new`, judged with `settings`.
fn update(kind: WorkloadKind, old: &Value, new: &Value, settings: &Value) -> ValidationResponse {
    let mut request = admission_request(kind, "UPDATE", new.clone());
    request["oldObject"] = old.clone();
    evaluate::<ImageDigest<Recorded>>(&validation_payload(&request, settings), NOW)
}

#[test]
fn a_pod_update_never_rewrites_a_running_image_and_refuses_it_as_the_twin_does() {
    answer("docker.io/library/nginx:1.25", Ok(OLD));
    answer("docker.io/library/nginx:1.26", Ok(NEW));
    let resolve = json!({"mode": "resolve"});
    let pod = |c0: &str, c1: &str| {
        workload_object(
            WorkloadKind::Pod,
            "w",
            json!({}),
            json!({"containers": [{"name": "c0", "image": c0}, {"name": "c1", "image": c1}]}),
        )
    };
    // A Pod created before the policy, unpinned; the UPDATE bumps c1 only. Pinning c0 would
    // restart it, and its twin (`require`) refuses it unpinned: so does `resolve`, saying why.
    let old = pod("nginx:1.25", "nginx:1.25");
    let bumped = pod("nginx:1.25", "nginx:1.26");
    let response = update(WorkloadKind::Pod, &old, &bumped, &resolve);
    assert!(!response.accepted && response.mutated_object.is_none());
    assert_eq!(violations(&response), ["digest spec.containers[0].image"]);
    let message = response.message.unwrap_or_default();
    assert!(
        message.contains(&format!(
            "[digest] spec.containers[0].image (container \"c0\"): \"nginx:1.25\" is not pinned by digest: this UPDATE leaves it as it was, and rewriting it to \"nginx:1.25@{OLD}\" would restart the running container; pin it in the Pod spec"
        )),
        "{message}"
    );
    let twin = update(
        WorkloadKind::Pod,
        &old,
        &bumped,
        &json!({"mode": "require"}),
    );
    assert!(!twin.accepted);
    assert!(violations(&twin).contains(&"digest spec.containers[0].image".to_owned()));

    // With c0 pinned in the Pod spec, the bump of c1 is pinned, c0 left as it is.
    let pinned = format!("nginx:1.25@{OLD}");
    let old = pod(&pinned, "nginx:1.25");
    let response = update(
        WorkloadKind::Pod,
        &old,
        &pod(&pinned, "nginx:1.26"),
        &resolve,
    );
    assert!(response.accepted, "{:?}", response.message);
    let mutated = response
        .mutated_object
        .map(|m| m.value())
        .expect("the bumped image is pinned");
    assert_eq!(mutated["spec"]["containers"][0]["image"], json!(pinned));
    assert_eq!(
        mutated["spec"]["containers"][1]["image"],
        json!(format!("nginx:1.26@{NEW}"))
    );

    // A label-only UPDATE (kubectl label) asks the registry nothing and patches nothing.
    let mut labelled = old.clone();
    labelled["metadata"]["labels"] = json!({"team": "payments"});
    let asked_before = asked().len();
    let response = update(WorkloadKind::Pod, &old, &labelled, &resolve);
    assert_eq!(asked().len(), asked_before, "no registry lookup");
    assert!(response.accepted && response.mutated_object.is_none());
    assert!(
        response.warnings.unwrap_or_default().iter().any(|w| w
            .starts_with("image-digest: not checked against the registry on this UPDATE")),
    );
}

#[test]
fn a_controller_update_pins_every_image_of_its_new_template() {
    answer("docker.io/library/nginx:1.25", Ok(OLD));
    let resolve = json!({"mode": "resolve"});
    for kind in WorkloadKind::ALL
        .into_iter()
        .filter(|kind| *kind != WorkloadKind::Pod)
    {
        // A legacy controller, unpinned; the UPDATE changes an environment variable only.
        let template = |env: &str| {
            let container = json!({"name": "c0", "image": "nginx:1.25", "env": [{"name": "MODE", "value": env}]});
            workload_object(kind, "w", json!({}), json!({"containers": [container]}))
        };
        let (old, new) = (template("a"), template("b"));
        let response = update(kind, &old, &new, &resolve);
        assert!(response.accepted, "{kind:?}: {:?}", response.message);
        let mutated = response
            .mutated_object
            .map(|m| m.value())
            .unwrap_or_else(|| panic!("{kind:?}: a new template rolls out new pods: pinned"));
        let image = format!(
            "/{}/containers/0/image",
            kind.pod_spec_path().replace('.', "/")
        );
        assert_eq!(
            mutated.pointer(&image),
            Some(&json!(format!("nginx:1.25@{OLD}"))),
            "{kind:?}"
        );
        // The twin (`require`) accepts what its mutator produced.
        let twin = update(kind, &old, &mutated, &json!({"mode": "require"}));
        assert!(twin.accepted, "{kind:?}: {:?}", twin.message);
    }
}

/// The host-call budget: an image written in five containers is looked up once per request.
#[test]
fn an_image_in_five_containers_is_looked_up_once() {
    answer("docker.io/library/nginx:1.25", Ok(NEW));
    let (response, _) = run(
        WorkloadKind::Pod,
        &["nginx:1.25"; 5],
        json!({"mode": "resolve"}),
    );
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(asked(), ["docker.io/library/nginx:1.25"]);
    let mutated = response.mutated_object.map(|m| m.value()).expect("pinned");
    for index in 0..5 {
        assert_eq!(
            mutated["spec"]["containers"][index]["image"],
            json!(format!("nginx:1.25@{NEW}"))
        );
    }
}

/// The security oracle (`pci_testkit::oracle`): workloads hostile to this policy, in every kind
/// and container list, with benign noise, unknown fields, UPDATEs and exceptions that cover or
/// narrowly miss, are never admitted without a covering exception, and every rejection names
/// the control, field path and container. On failure it prints the case number to replay.
#[test]
fn security_oracle() {
    let tally = pci_testkit::oracle::check_policy::<crate::Exported>();
    eprintln!("{tally:?}");
}
