//! Policy-level tests with the host's signature verification replaced by a script.

use std::cell::RefCell;
use std::collections::BTreeMap;

use pci_shared::policy::{evaluate, read_settings};
use pci_shared::response::ValidationResponse;
use pci_shared::time::{Now, Timestamp};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, reported_violations, validation_payload, workload_object};
use rstest::rstest;
use serde_json::{Value, json};

use crate::ImageSignatures;
use crate::verifier::{SignatureHost, VerifyRequest};

const NOW: Now = Now::At(Timestamp(20_779 * 86_400));
/// What the tags of `registry.corp.com` point to: signed with key A, the GitHub owner `corp`,
/// the test certificate and the keyless identities below.
const DIGEST: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
/// What the tags of `registry.corp.com/moved/` point to now: signed with key B only.
const MOVED: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";
/// What the tags of `other.corp.com` point to: signed by nobody.
const UNSIGNED: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";
const KEY_A: &str = include_str!("../test_data/key-a.pub");
const KEY_B: &str = include_str!("../test_data/key-b.pub");
const CERT: &str = include_str!("../test_data/signer.crt");

thread_local! {
    static LOOKUPS: RefCell<Vec<String>> = RefCell::default();
    static CALLS: RefCell<Vec<(String, VerifyRequest)>> = RefCell::default();
}

/// A registry and its signatures, by digest. `down.corp.com` is unreachable; `liar.corp.com`
/// answers every verification with the digest [`MOVED`], whatever was asked.
struct Scripted;

impl SignatureHost for Scripted {
    fn manifest_digest(image: &str) -> Result<String, String> {
        LOOKUPS.with(|lookups| lookups.borrow_mut().push(image.to_owned()));
        let digest = if image.starts_with("down.corp.com/") {
            return Err("error sending request: connection refused".into());
        } else if image.starts_with("registry.corp.com/moved/") {
            MOVED
        } else if image.starts_with("registry.corp.com/") || image.starts_with("liar.corp.com/") {
            DIGEST
        } else if image.starts_with("other.corp.com/") {
            UNSIGNED
        } else {
            return Err(format!("manifest unknown: {image}"));
        };
        Ok(digest.to_owned())
    }

    fn verify(
        image: &str,
        request: &VerifyRequest,
        _annotations: Option<&BTreeMap<String, String>>,
    ) -> Result<String, String> {
        CALLS.with(|calls| calls.borrow_mut().push((image.to_owned(), request.clone())));
        let Some((_, digest)) = image.split_once('@') else {
            return Err(format!("{image} is not a digest reference"));
        };
        if image.starts_with("liar.corp.com/") {
            return Ok(MOVED.to_owned());
        }
        let trusted = match digest {
            DIGEST => match request {
                VerifyRequest::PublicKey(key) => key == KEY_A,
                VerifyRequest::GithubActions { owner, .. } => owner == "corp",
                VerifyRequest::Certificate { certificate, .. } => certificate == CERT,
                VerifyRequest::Keyless(identities) => identities
                    .iter()
                    .any(|(_, subject)| subject == "release@corp.com"),
                VerifyRequest::KeylessPrefix(prefixes) => prefixes
                    .iter()
                    .any(|(_, prefix)| prefix.starts_with("https://github.com/corp/")),
            },
            MOVED => *request == VerifyRequest::PublicKey(KEY_B.to_owned()),
            _ => false,
        };
        if trusted {
            Ok(digest.to_owned())
        } else {
            Err("no signature matches".into())
        }
    }
}

fn calls() -> Vec<(String, VerifyRequest)> {
    CALLS.with(|calls| calls.borrow().clone())
}

fn lookups() -> Vec<String> {
    LOOKUPS.with(|lookups| lookups.borrow().clone())
}

/// `registry/repository@digest`, what the host is asked to verify.
fn at(name: &str, digest: &str) -> String {
    format!("{name}@{digest}")
}

fn run(kind: WorkloadKind, images: &[&str], settings: Value) -> (ValidationResponse, Value) {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    let request = admission_request(
        kind,
        "CREATE",
        workload_object(
            kind,
            "w",
            json!({}),
            json!({"containers": containers, "x-kept": 1}),
        ),
    );
    let response =
        evaluate::<ImageSignatures<Scripted>>(&validation_payload(&request, &settings), NOW);
    (response, request)
}

fn violations(response: &ValidationResponse) -> Vec<String> {
    reported_violations(&serde_json::to_value(&response.audit_annotations).expect("json"))
}

/// The rejection message, then the details of every violation (the host's answers), which the
/// audit annotation keeps and the message leaves out.
fn message_and_details(response: &ValidationResponse) -> String {
    let audit = serde_json::to_value(&response.audit_annotations).expect("json");
    std::iter::once(response.message.clone().unwrap_or_default())
        .chain(pci_testkit::violation_details(&audit))
        .collect::<Vec<_>>()
        .join("\n")
}

fn keys_rule(keys: &[&str], threshold: Option<usize>) -> Value {
    json!({"rules": [{"images": ["registry.corp.com/**"], "publicKeys": {"keys": keys, "threshold": threshold}}]})
}

#[test]
fn a_signed_image_is_accepted_and_pinned_surgically() {
    let (response, request) = run(
        WorkloadKind::Deployment,
        &["registry.corp.com/payments/api:1.0"],
        keys_rule(&[KEY_A], None),
    );
    assert!(response.accepted, "{:?}", response.message);
    let mut expected = request["object"].clone();
    expected["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!(format!("registry.corp.com/payments/api:1.0@{DIGEST}"));
    assert_eq!(response.mutated_object.map(|m| m.value()), Some(expected));
    assert_eq!(lookups(), ["registry.corp.com/payments/api:1.0"]);
    assert_eq!(
        calls(),
        vec![(
            at("registry.corp.com/payments/api", DIGEST),
            VerifyRequest::PublicKey(KEY_A.to_owned())
        )]
    );
}

/// One pin format with image-digest: the tag is kept, and an image without one is pinned as
/// the `latest` it stood for.
#[test]
fn an_image_without_a_tag_is_pinned_with_latest() {
    let (response, request) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/payments/api"],
        keys_rule(&[KEY_A], None),
    );
    assert!(response.accepted, "{:?}", response.message);
    let mut expected = request["object"].clone();
    expected["spec"]["containers"][0]["image"] =
        json!(format!("registry.corp.com/payments/api:latest@{DIGEST}"));
    assert_eq!(response.mutated_object.map(|m| m.value()), Some(expected));
}

#[test]
fn without_pinning_nothing_is_mutated() {
    let mut settings = keys_rule(&[KEY_A], None);
    settings["pinDigest"] = json!(false);
    let (response, _) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/payments/api:1.0"],
        settings,
    );
    assert!(response.accepted && response.mutated_object.is_none());
}

/// An UPDATE of `kind` from `old` to `new`, judged with `settings`.
fn update(kind: WorkloadKind, old: &Value, new: &Value, settings: &Value) -> ValidationResponse {
    let mut request = admission_request(kind, "UPDATE", new.clone());
    request["oldObject"] = old.clone();
    evaluate::<ImageSignatures<Scripted>>(&validation_payload(&request, settings), NOW)
}

#[test]
fn updates_pin_new_templates_and_leave_running_pods_images_with_a_warning() {
    const IMAGE: &str = "registry.corp.com/payments/api:1.0";
    let settings = keys_rule(&[KEY_A], None);
    let spec = |env: &str| json!({"containers": [{"name": "c0", "image": IMAGE, "env": [{"name": "MODE", "value": env}]}]});
    // A controller's new template (an environment variable changed) rolls out new pods: its
    // unchanged image is pinned to the verified digest.
    for kind in WorkloadKind::ALL
        .into_iter()
        .filter(|kind| *kind != WorkloadKind::Pod)
    {
        let old = workload_object(kind, "w", json!({}), spec("a"));
        let new = workload_object(kind, "w", json!({}), spec("b"));
        let response = update(kind, &old, &new, &settings);
        assert!(response.accepted, "{kind:?}: {:?}", response.message);
        let image = format!(
            "/{}/containers/0/image",
            kind.pod_spec_path().replace('.', "/")
        );
        assert_eq!(
            response
                .mutated_object
                .map(|m| m.value())
                .and_then(|m| m.pointer(&image).cloned()),
            Some(json!(format!("{IMAGE}@{DIGEST}"))),
            "{kind:?}"
        );
    }
    // A running Pod's image is not rewritten (its container would restart); the twin
    // (`pinDigest: false`) accepts a verified unpinned image, so the mutator accepts it too.
    let old = workload_object(WorkloadKind::Pod, "w", json!({}), spec("a"));
    let mut new = old.clone();
    new["metadata"]["annotations"] =
        json!({"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"});
    let response = update(WorkloadKind::Pod, &old, &new, &settings);
    assert!(
        response.accepted && response.mutated_object.is_none(),
        "{:?}",
        response.message
    );
    assert_eq!(
        response.warnings,
        Some(vec![format!(
            "image-signatures: container \"c0\": \"{IMAGE}\" is not pinned: this UPDATE leaves it as it was, and rewriting it to \"{IMAGE}@{DIGEST}\" would restart the running container"
        )])
    );
}

#[test]
fn a_threshold_lets_keys_rotate() {
    let (one_of_two, _) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/api:1"],
        keys_rule(&[KEY_B, KEY_A], Some(1)),
    );
    assert!(one_of_two.accepted, "{:?}", one_of_two.message);
    let (all, _) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/api:1"],
        keys_rule(&[KEY_B, KEY_A], None),
    );
    let message = message_and_details(&all);
    assert!(
        message.contains("\"registry.corp.com/api:1\": 1 of 2 required signatures"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "rules[0] publicKeys: registry.corp.com/api@{DIGEST}: 1 of 2 verified {DIGEST}, 2 required; verified: publicKeys.keys[1] (ECDSA P-256 key d1af860e6757e4a8); publicKeys.keys[0] (ECDSA P-256 key "
        )) && message.ends_with("): no signature matches"),
        "{message}"
    );
}

#[test]
fn every_matching_rule_must_pass_and_unmatched_images_fail_closed() {
    let settings = json!({"rules": [
        {"images": ["registry.corp.com/**"], "publicKeys": {"keys": [KEY_A]}},
        {"images": ["registry.corp.com/payments/*"], "githubActions": {"owner": "other"}}
    ]});
    let (response, _) = run(
        WorkloadKind::Pod,
        &[
            "registry.corp.com/payments/api:1",
            "registry.corp.com/web:1",
            "nginx:1.25",
        ],
        settings.clone(),
    );
    assert_eq!(
        violations(&response),
        vec![
            "signature spec.containers[0].image",
            "unmatched spec.containers[2].image"
        ]
    );
    let message = message_and_details(&response);
    assert!(
        message.contains(&format!("rules[1] githubActions: registry.corp.com/payments/api@{DIGEST}: 0 of 1 verified {DIGEST}, 1 required; githubActions (other/*): no signature matches")),
        "{message}"
    );
    assert!(
        message
            .contains("\"nginx:1.25\" (docker.io/library/nginx:1.25): no signature rule covers it"),
        "{message}"
    );
    let mut accept = settings;
    accept["unmatchedImages"] = json!("accept");
    let (response, _) = run(WorkloadKind::Pod, &["nginx:1.25"], accept);
    assert!(response.accepted);
    assert!(
        response
            .warnings
            .is_some_and(|w| w[0].contains("accepted unverified"))
    );
}

#[test]
fn rules_match_normalised_references() {
    let settings =
        json!({"rules": [{"images": ["docker.io/library/*"], "publicKeys": {"keys": [KEY_A]}}]});
    let (response, _) = run(WorkloadKind::Pod, &["nginx"], settings.clone());
    assert_eq!(
        violations(&response),
        vec!["signature spec.containers[0].image"],
        "nginx cannot escape a docker.io/library rule"
    );
    assert_eq!(lookups(), ["docker.io/library/nginx:latest"]);
    assert!(calls().is_empty(), "nothing to verify without a digest");
    // Docker Hub's endpoint is docker.io: the rule covers it, and the host is asked about the
    // same normalised name.
    let (endpoint, _) = run(
        WorkloadKind::Pod,
        &["registry-1.docker.io/library/nginx:1"],
        settings,
    );
    assert_eq!(
        violations(&endpoint),
        vec!["signature spec.containers[0].image"],
        "registry-1.docker.io cannot escape a docker.io/library rule"
    );
    assert_eq!(
        lookups(),
        [
            "docker.io/library/nginx:latest",
            "docker.io/library/nginx:1"
        ]
    );
}

#[rstest]
#[case::keyless(json!({"keyless": [{"issuer": "https://token.actions.githubusercontent.com", "subject": "release@corp.com"}]}))]
#[case::keyless_prefix(json!({"keylessPrefix": [{"issuer": "https://token.actions.githubusercontent.com", "urlPrefix": "https://github.com/corp/"}]}))]
#[case::github_actions(json!({"githubActions": {"owner": "corp", "repo": "payments"}}))]
#[case::certificates(json!({"certificates": {"certificate": CERT, "certificateChain": [CERT], "requireRekorBundle": true}}))]
fn every_verifier_trusts_and_distrusts(#[case] verifier: Value) {
    let mut rule = json!({"images": ["*.corp.com/**"]});
    rule.as_object_mut()
        .expect("object")
        .extend(verifier.as_object().expect("object").clone());
    let settings = json!({"rules": [rule]});
    let (trusted, _) = run(
        WorkloadKind::CronJob,
        &["registry.corp.com/api:1"],
        settings.clone(),
    );
    assert!(trusted.accepted, "{:?}", trusted.message);
    let (untrusted, _) = run(
        WorkloadKind::CronJob,
        &["other.corp.com/api:1"],
        settings.clone(),
    );
    assert_eq!(
        violations(&untrusted),
        vec!["signature spec.jobTemplate.spec.template.spec.containers[0].image"]
    );
    let (down, _) = run(WorkloadKind::CronJob, &["down.corp.com/api:1"], settings);
    let message = down.message.clone().unwrap_or_default();
    assert!(
        message.contains("the registry is unreachable; tell the platform team"),
        "{message}"
    );
    assert!(message_and_details(&down).contains("connection refused"));
}

fn chain_file(name: &str) -> String {
    let path = format!("{}/test_data/chain/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_chain_that_chains_is_accepted_in_any_order() {
    let chain = [chain_file("root.crt"), chain_file("intermediate.crt")];
    let settings = json!({"rules": [{"images": ["r.io/**"], "certificates": {"certificate": chain_file("leaf.crt"), "certificateChain": chain}}]});
    assert!(read_settings::<crate::Exported>(&settings.to_string()).is_ok());
}

#[rstest]
#[case::no_rules(json!({}), "rules must list at least one rule")]
#[case::no_verifier(json!({"rules": [{"images": ["r.io/**"]}]}), "rules[0]: sets no verifier")]
#[case::two_verifiers(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [KEY_A]}, "githubActions": {"owner": "corp"}}]}), "sets 2 verifiers")]
#[case::named_verifier_not_set(json!({"rules": [{"images": ["r.io/**"], "verifier": "keyless"}]}), "rules[0]: verifier is keyless, but keyless is not set")]
#[case::named_verifier_differs(json!({"rules": [{"images": ["r.io/**"], "verifier": "keyless", "githubActions": {"owner": "corp"}}]}), "verifier is keyless, but githubActions is filled in too: clear githubActions, or choose it as the verifier")]
#[case::named_verifier_empty(json!({"rules": [{"images": ["r.io/**"], "verifier": "keyless", "githubActions": {"owner": ""}}]}), "verifier is keyless, but keyless is not set")]
#[case::named_verifier_read_strictly(json!({"rules": [{"images": ["r.io/**"], "verifier": "githubActions", "githubActions": {"owner": ""}}]}), "githubActions.owner \"\" is not a GitHub name")]
#[case::unnamed_empty_certificate(json!({"rules": [{"images": ["r.io/**"], "certificates": {"requireRekorBundle": true}}]}), "certificates.certificate")]
#[case::unknown_verifier(json!({"rules": [{"images": ["r.io/**"], "verifier": "cosign", "githubActions": {"owner": "corp"}}]}), "verifier \"cosign\" is not one of publicKeys, keyless")]
#[case::no_images(json!({"rules": [{"images": [], "publicKeys": {"keys": [KEY_A]}}]}), "rules[0]: images must list")]
#[case::bad_key(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"]}}]}), "rules[0]: publicKeys.keys[0] PEM PUBLIC KEY body is not one DER SEQUENCE")]
#[case::certificate_as_key(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [CERT]}}]}), "is not a PEM PUBLIC KEY")]
#[case::threshold_zero(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [KEY_A], "threshold": 0}}]}), "threshold 0 must be from 1 to the number of distinct keys (1)")]
#[case::threshold_high(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [KEY_A, KEY_B], "threshold": 3}}]}), "threshold 3 must be from 1")]
#[case::same_key_twice(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [KEY_A, KEY_B, KEY_A], "threshold": 2}}]}), "rules[0]: publicKeys.keys[2] is the same ECDSA P-256 key (d1af860e6757e4a8) as publicKeys.keys[0]")]
#[case::same_key_rewrapped(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [KEY_A, format!("  {}\n\n", KEY_A.replace('\n', "\r\n"))]}}]}), "publicKeys.keys[1] is the same ECDSA P-256 key (d1af860e6757e4a8) as publicKeys.keys[0]")]
#[case::private_key(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [include_str!("../test_data/private-key-p256.pem")]}}]}), "publicKeys.keys[0] is a PRIVATE KEY: give the public key")]
#[case::unsupported_curve(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [include_str!("../test_data/key-p521.pub")]}}]}), "publicKeys.keys[0] is not a usable key: ECDSA P-521 is not verified by cosign; supported: ECDSA P-256")]
#[case::trailing_data(json!({"rules": [{"images": ["r.io/**"], "publicKeys": {"keys": [format!("{KEY_A}junk")]}}]}), "publicKeys.keys[0] has data after -----END PUBLIC KEY-----")]
#[case::issuer_url(json!({"rules": [{"images": ["r.io/**"], "keyless": [{"issuer": "token.actions", "subject": "s"}]}]}), "keyless[0].issuer \"token.actions\" is not an https:// URL")]
#[case::empty_keyless(json!({"rules": [{"images": ["r.io/**"], "keyless": []}]}), "keyless must list at least one")]
#[case::prefix_url(json!({"rules": [{"images": ["r.io/**"], "keylessPrefix": [{"issuer": "https://i.io", "urlPrefix": "github.com/corp"}]}]}), "urlPrefix \"github.com/corp\" is not an http(s):// URL")]
#[case::github_owner(json!({"rules": [{"images": ["r.io/**"], "githubActions": {"owner": "a b"}}]}), "githubActions.owner \"a b\" is not a GitHub name")]
#[case::bad_certificate(json!({"rules": [{"images": ["r.io/**"], "certificates": {"certificate": KEY_A}}]}), "certificates.certificate is not a PEM CERTIFICATE")]
#[case::chain_without_issuer(json!({"rules": [{"images": ["r.io/**"], "certificates": {"certificate": chain_file("leaf.crt"), "certificateChain": [chain_file("root.crt")]}}]}), "rules[0]: certificates.certificateChain does not chain: the certificate's issuer \"CN=Corp Signing Intermediate, O=Corp\" is the subject of none of its certificates")]
#[case::chain_stray(json!({"rules": [{"images": ["r.io/**"], "certificates": {"certificate": chain_file("leaf.crt"), "certificateChain": [chain_file("intermediate.crt"), chain_file("other-root.crt")]}}]}), "rules[0]: certificates.certificateChain[1] (\"CN=Other Root, O=Elsewhere\") is not on the certificate's chain")]
#[case::chain_not_ca(json!({"rules": [{"images": ["r.io/**"], "certificates": {"certificate": chain_file("issued-by-leaf.crt"), "certificateChain": [chain_file("leaf.crt")]}}]}), "certificates.certificateChain[0] (\"CN=payments-release, O=Corp\") issued the certificate but is not a CA")]
#[case::chain_entry_not_pem(json!({"rules": [{"images": ["r.io/**"], "certificates": {"certificate": CERT, "certificateChain": [format!("{CERT}x")]}}]}), "certificates.certificateChain[0] has data after -----END CERTIFICATE-----")]
#[case::certificate_p521(json!({"rules": [{"images": ["r.io/**"], "certificates": {"certificate": chain_file("p521.crt")}}]}), "certificates.certificate is not a usable certificate: ECDSA P-521 is not verified by cosign")]
#[case::unmatched(json!({"rules": [{"images": ["r.io/**"], "githubActions": {"owner": "corp"}}], "unmatchedImages": "ignore"}), "unmatchedImages: \"ignore\" is not reject or accept")]
#[case::bad_glob(json!({"rules": [{"images": ["R.io/App"], "githubActions": {"owner": "corp"}}]}), "rules[0].images[0]")]
fn settings_are_validated_precisely(#[case] settings: Value, #[case] expected: &str) {
    let error = read_settings::<crate::Exported>(&settings.to_string()).expect_err("invalid");
    assert!(error.contains(expected), "{error}");
}

/// A rule may name its verifier, as the Rancher form's select does: only that verifier is read,
/// and what a form leaves empty in the others (its defaults, cleared fields) is ignored.
#[test]
fn a_rule_may_name_the_verifier_it_uses() {
    let settings = json!({"rules": [{"images": ["r.io/**"], "verifier": "githubActions", "githubActions": {"owner": "corp"}}]});
    assert!(read_settings::<crate::Exported>(&settings.to_string()).is_ok());
    let leftovers = json!({"rules": [{"images": ["registry.corp.com/**"], "verifier": "publicKeys",
        "publicKeys": {"keys": [KEY_A]}, "githubActions": {"owner": ""},
        "certificates": {"certificateChain": []}, "keyless": [], "annotations": {}}]});
    assert!(read_settings::<crate::Exported>(&leftovers.to_string()).is_ok());
    let (response, _) = run(WorkloadKind::Pod, &["registry.corp.com/api:1.0"], leftovers);
    assert!(response.accepted, "{:?}", response.message);
    assert!(
        calls()
            .iter()
            .all(|(_, request)| matches!(request, VerifyRequest::PublicKey(_))),
        "only the named verifier is asked: {:?}",
        calls()
    );
}

/// Issue 17, case 1: with two keys and threshold 2, both keys are checked against the one digest
/// the tag points to; a key that signed another digest does not count.
#[test]
fn a_threshold_counts_signatures_of_one_digest() {
    let (response, _) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/moved/api:1.0"],
        keys_rule(&[KEY_A, KEY_B], Some(2)),
    );
    let message = message_and_details(&response);
    assert!(
        message.contains(&format!("rules[0] publicKeys: registry.corp.com/moved/api@{MOVED}: 1 of 2 verified {MOVED}, 2 required; verified: publicKeys.keys[1] (ECDSA P-256 key ")),
        "{message}"
    );
    assert!(
        message.contains(
            "publicKeys.keys[0] (ECDSA P-256 key d1af860e6757e4a8): no signature matches"
        ),
        "{message}"
    );
    assert!(response.mutated_object.is_none(), "nothing pinned");
    let asked: Vec<String> = calls().into_iter().map(|(image, _)| image).collect();
    assert_eq!(
        asked,
        [
            at("registry.corp.com/moved/api", MOVED),
            at("registry.corp.com/moved/api", MOVED)
        ]
    );
}

/// Issue 17, case 2: two rules covering one image are both checked against the same digest.
#[test]
fn every_rule_is_satisfied_by_the_same_digest() {
    let settings = json!({"rules": [
        {"images": ["registry.corp.com/**"], "publicKeys": {"keys": [KEY_A]}},
        {"images": ["registry.corp.com/moved/*"], "publicKeys": {"keys": [KEY_B]}}
    ]});
    let (response, _) = run(
        WorkloadKind::Pod,
        &["registry.corp.com/moved/api:1.0"],
        settings,
    );
    assert_eq!(
        violations(&response),
        ["signature spec.containers[0].image"]
    );
    let message = message_and_details(&response);
    assert!(
        message.contains(&format!(
            "rules[0] publicKeys: registry.corp.com/moved/api@{MOVED}: 0 of 1 verified {MOVED}"
        )),
        "{message}"
    );
    assert!(!message.contains("rules[1]"), "rules[1] holds: {message}");
    assert_eq!(lookups().len(), 1, "one digest for both rules");
}

/// Issue 17, case 4: an image pinned by digest is verified at that digest, and an answer for
/// another digest is a rejection naming both.
#[test]
fn a_pinned_digest_is_the_one_verified_and_compared() {
    let pinned = format!("registry.corp.com/api:1.0@{DIGEST}");
    let (response, _) = run(WorkloadKind::Pod, &[&pinned], keys_rule(&[KEY_A], None));
    assert!(response.accepted, "{:?}", response.message);
    assert!(response.mutated_object.is_none(), "already pinned");
    assert!(lookups().is_empty(), "a pinned image is not looked up");
    assert_eq!(calls()[0].0, at("registry.corp.com/api", DIGEST));

    let liar =
        json!({"rules": [{"images": ["liar.corp.com/**"], "publicKeys": {"keys": [KEY_A]}}]});
    let (lied, _) = run(WorkloadKind::Pod, &["liar.corp.com/api:1.0"], liar);
    let message = message_and_details(&lied);
    assert!(
        message.contains("the registry answered for another digest"),
        "{message}"
    );
    assert!(
        message.contains(&format!("rules[0] publicKeys: liar.corp.com/api@{DIGEST}: 0 of 1 verified {DIGEST}, 1 required; publicKeys.keys[0] (ECDSA P-256 key d1af860e6757e4a8): the host verified {MOVED}, not {DIGEST}")),
        "{message}"
    );
    assert!(lied.mutated_object.is_none());
}

/// The host-call budget: one lookup per distinct image, one verification per (digest, key),
/// however many containers and rules mention them.
#[test]
fn an_image_in_five_containers_costs_one_lookup_and_one_verify_per_key() {
    let settings = json!({"rules": [
        {"images": ["registry.corp.com/**"], "publicKeys": {"keys": [KEY_A, KEY_B], "threshold": 1}},
        {"images": ["registry.corp.com/payments/*"], "publicKeys": {"keys": [KEY_B, KEY_A], "threshold": 1}}
    ]});
    let image = "registry.corp.com/payments/api:1.0";
    let (response, request) = run(WorkloadKind::Pod, &[image; 5], settings);
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(lookups(), [image]);
    let subject = at("registry.corp.com/payments/api", DIGEST);
    assert_eq!(
        calls(),
        vec![
            (subject.clone(), VerifyRequest::PublicKey(KEY_A.to_owned())),
            (subject, VerifyRequest::PublicKey(KEY_B.to_owned())),
        ],
        "rules[0] stops at key A; rules[1] asks key B, then reuses key A's answer"
    );
    let mutated = response.mutated_object.map(|m| m.value()).expect("pinned");
    for index in 0..5 {
        assert_eq!(
            mutated["spec"]["containers"][index]["image"],
            json!(format!("{image}@{DIGEST}"))
        );
    }
    assert_eq!(
        request["object"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
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
