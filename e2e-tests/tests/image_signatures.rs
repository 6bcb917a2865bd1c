//! image-signatures through the compiled, annotated wasm, with kwctl replay sessions answering
//! `oci/v2/verify` for every verifier.

use e2e::{instance, kwctl_run, kwctl_run_replay, root};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, workload_object};
use serde_json::{Value, json};

const POLICY: &str = "image-signatures";
const DIGEST: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
const TRUSTED: &str = "registry.corp.com/payments/api:1.0";
const UNTRUSTED: &str = "registry.corp.com/payments/web:1.0";
const DOWN: &str = "down.corp.com/payments/api:1.0";

fn test_file(name: &str) -> String {
    std::fs::read_to_string(
        root()
            .join("policies")
            .join(POLICY)
            .join("test_data")
            .join(name),
    )
    .expect("test data")
}

fn request(kind: WorkloadKind, images: &[&str]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image, "x-vendor": i}))
        .collect();
    admission_request(
        kind,
        "CREATE",
        workload_object(kind, "web", json!({}), json!({"containers": containers})),
    )
}

fn rule(verifier: Value) -> Value {
    let mut rule = json!({"images": ["registry.corp.com/**", "down.corp.com/**"]});
    rule.as_object_mut()
        .expect("object")
        .extend(verifier.as_object().expect("object").clone());
    json!({"rules": [rule]})
}

#[test]
fn every_verifier_trusts_distrusts_and_fails_closed_through_the_host() {
    let verifiers = [
        (
            "session-pubkey.yml",
            json!({"publicKeys": {"keys": [test_file("key-a.pub")]}}),
        ),
        (
            "session-keyless.yml",
            json!({"keyless": [{"issuer": "https://token.actions.githubusercontent.com", "subject": "release@corp.com"}], "annotations": {"env": "prod"}}),
        ),
        (
            "session-keyless-prefix.yml",
            json!({"keylessPrefix": [{"issuer": "https://token.actions.githubusercontent.com", "urlPrefix": "https://github.com/corp/"}]}),
        ),
        (
            "session-github-actions.yml",
            json!({"githubActions": {"owner": "corp", "repo": "payments"}}),
        ),
        (
            "session-certificate.yml",
            json!({"certificates": {"certificate": test_file("signer.crt"), "requireRekorBundle": true}}),
        ),
    ];
    for (session, verifier) in verifiers {
        let (response, unused) = kwctl_run_replay(
            POLICY,
            &request(WorkloadKind::Pod, &[TRUSTED, UNTRUSTED, DOWN]),
            rule(verifier),
            session,
        );
        assert_eq!(
            unused, 0,
            "{session}: every recorded verification was asked for, in order"
        );
        assert!(!response.allowed, "{session}");
        let message = e2e::message_and_details(&response);
        assert!(message.contains("2 violations"), "{session}: {message}");
        assert!(
            !message.contains("container \"c0\""),
            "{session}: the trusted image passes: {message}"
        );
        assert!(
            message.contains("[signature] spec.containers[1].image (container \"c1\")"),
            "{session}: {message}"
        );
        assert!(
            message.contains("missing signatures"),
            "{session}: {message}"
        );
        assert!(
            message.contains("[signature] spec.containers[2].image (container \"c2\")"),
            "{session}: {message}"
        );
        assert!(
            message.contains("connection refused"),
            "{session}: {message}"
        );
    }
}

#[test]
fn one_of_two_keys_is_enough_with_threshold_one() {
    let settings = json!({"rules": [{"images": ["registry.corp.com/**"], "publicKeys": {"keys": [test_file("key-b.pub"), test_file("key-a.pub")], "threshold": 1}}], "pinDigest": false});
    let (response, unused) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Pod, &[TRUSTED]),
        settings,
        "session-threshold.yml",
    );
    assert!(response.allowed, "{:?}", response.status);
    assert!(response.patch.is_none());
    assert_eq!(unused, 0);
}

#[test]
fn a_verified_image_is_pinned_on_a_deployment_touching_only_its_image() {
    let settings = json!({"rules": [{"images": ["registry.corp.com/**"], "publicKeys": {"keys": [test_file("key-a.pub")]}}]});
    let (response, _) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Deployment, &[TRUSTED]),
        settings,
        "session-pin.yml",
    );
    assert!(response.allowed, "{:?}", response.status);
    assert_eq!(
        response.patch_operations().expect("decodes"),
        Some(
            json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": format!("{TRUSTED}@{DIGEST}")}])
        )
    );
}

#[test]
fn unmatched_images_are_rejected_without_asking_the_host() {
    let settings =
        json!({"rules": [{"images": ["docker.io/library/*"], "githubActions": {"owner": "corp"}}]});
    let response = kwctl_run(
        POLICY,
        &request(WorkloadKind::Pod, &["registry.corp.com/other/app:1"]),
        settings,
    );
    assert!(!response.allowed);
    assert!(
        response
            .status
            .and_then(|s| s.message)
            .is_some_and(|m| m.contains("[unmatched] spec.containers[0].image"))
    );
}

#[test]
fn the_module_declares_the_host_capability_it_uses() {
    let metadata = e2e::checked_metadata(POLICY);
    assert!(metadata.mutating);
    assert_eq!(
        metadata.host_capabilities,
        Some(vec![
            "oci/v1/manifest_digest".to_owned(),
            "oci/v2/verify".to_owned()
        ])
    );
}

#[test]
fn an_answer_for_another_digest_is_rejected_naming_both() {
    let settings = json!({"rules": [{"images": ["registry.corp.com/**"], "publicKeys": {"keys": [test_file("key-a.pub")]}}]});
    let (response, unused) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Deployment, &[TRUSTED]),
        settings,
        "session-other-digest.yml",
    );
    assert_eq!(unused, 0);
    assert!(!response.allowed);
    assert!(response.patch.is_none(), "nothing is pinned");
    let other = "sha256:4444444444444444444444444444444444444444444444444444444444444444";
    let message = e2e::message_and_details(&response);
    assert!(
        message.contains("the registry answered for another digest"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "rules[0] publicKeys: registry.corp.com/payments/api@{DIGEST}: 0 of 1 verified {DIGEST}, 1 required; publicKeys.keys[0] (ECDSA P-256 key d1af860e6757e4a8): the host verified {other}, not {DIGEST}"
        )),
        "{message}"
    );
}

#[test]
fn an_image_in_five_containers_costs_two_host_calls() {
    let settings = json!({"rules": [{"images": ["registry.corp.com/**"], "publicKeys": {"keys": [test_file("key-a.pub")]}}]});
    let (response, unused) = kwctl_run_replay(
        POLICY,
        &request(WorkloadKind::Pod, &[TRUSTED; 5]),
        settings,
        "session-five-containers.yml",
    );
    assert!(response.allowed, "{:?}", response.status);
    assert_eq!(unused, 0, "one lookup and one verification were asked");
    let patch = response
        .patch_operations()
        .expect("decodes")
        .expect("pinned");
    assert_eq!(patch.as_array().map(Vec::len), Some(5), "{patch}");
}

/// Issue 17, cases 3 and 5: a key counted twice and lax key material are refused by the
/// compiled policy when the settings are loaded, naming the setting.
#[test]
fn duplicate_and_lax_key_material_is_refused_when_settings_load() {
    let key = test_file("key-a.pub");
    let rewrapped = format!("\n  {}\n", key.replace('\n', "\r\n"));
    let truncated: String = key
        .lines()
        .take(2)
        .chain(key.lines().last())
        .collect::<Vec<_>>()
        .join("\n");
    let cases = [
        (
            json!({"keys": [key, rewrapped], "threshold": 2}),
            "rules[0]: publicKeys.keys[1] is the same ECDSA P-256 key (d1af860e6757e4a8) as publicKeys.keys[0]",
        ),
        (
            json!({"keys": [truncated]}),
            "rules[0]: publicKeys.keys[0] PEM PUBLIC KEY body is not DER",
        ),
        (
            json!({"keys": [format!("{key}trailing")]}),
            "rules[0]: publicKeys.keys[0] has data after -----END PUBLIC KEY-----",
        ),
        (
            json!({"keys": [test_file("private-key-p256.pem")]}),
            "rules[0]: publicKeys.keys[0] is a PRIVATE KEY",
        ),
        (
            json!({"keys": [test_file("key-rsa1024.pub")]}),
            "rules[0]: publicKeys.keys[0] is not a usable key: RSA key of 1024 bits is too weak",
        ),
    ];
    for (public_keys, expected) in cases {
        let settings =
            json!({"rules": [{"images": ["registry.corp.com/**"], "publicKeys": public_keys}]});
        let validation = instance(POLICY)
            .validate_settings(&settings)
            .expect("answers");
        assert!(!validation.valid, "{expected}");
        let message = validation.message.unwrap_or_default();
        assert!(message.contains(expected), "{message}");
    }
    let chain = |name: &str| test_file(&format!("chain/{name}"));
    let settings = json!({"rules": [{"images": ["registry.corp.com/**"], "certificates": {"certificate": chain("leaf.crt"), "certificateChain": [chain("other-root.crt")]}}]});
    let validation = instance(POLICY)
        .validate_settings(&settings)
        .expect("answers");
    assert!(
        validation
            .message
            .is_some_and(|m| m.contains("rules[0]: certificates.certificateChain does not chain")),
    );
}
