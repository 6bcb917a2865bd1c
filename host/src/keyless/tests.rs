//! Keyless verification with a test Sigstore (`keyless_fixture`): layers checked one by one,
//! then requests answered by the cosign client against a real registry.

use std::collections::BTreeMap;

use serde_json::json;

use super::identity::{GITHUB_ACTIONS_ISSUER, Identity};
use super::*;
use crate::keyless_fixture::{ISSUED_AT, IssuerExtension, SignatureLayer, Signer, TestSigstore};
use crate::trust_root::TrustRoot;

const REPOSITORY: &str = "registry.test/team/app";
const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const ISSUER: &str = "https://accounts.example.com";
const NOW: i64 = ISSUED_AT + 86_400 * 30;

fn sigstore() -> TestSigstore {
    TestSigstore::new("keyless tests").expect("test sigstore")
}

fn verifier(sigstore: &TestSigstore) -> Verifier {
    let root = TrustRoot::from_json(&sigstore.trusted_root().to_string()).expect("trust root");
    Verifier::new(&root).expect("verifier")
}

fn raw(layer: &SignatureLayer) -> RawLayer {
    RawLayer {
        media_type: SIMPLE_SIGNING.to_owned(),
        data: layer.payload.clone(),
        annotations: layer.annotations.clone(),
    }
}

fn release() -> Signer {
    Signer::email(ISSUER, "release@corp.example")
}

fn verify(sigstore: &TestSigstore, layer: &SignatureLayer) -> Result<KeylessSignature, String> {
    verifier(sigstore).verify_layer(&raw(layer), DIGEST, NOW)
}

fn refused(sigstore: &TestSigstore, layer: &SignatureLayer, expected: &str) {
    match verify(sigstore, layer) {
        Ok(signature) => panic!("accepted {signature:?}, expected {expected:?}"),
        Err(reason) => assert!(
            reason.contains(expected),
            "expected {expected:?} in {reason:?}"
        ),
    }
}

#[test]
fn a_signature_by_the_trusted_ca_logged_in_the_trusted_rekor_verifies() {
    let sigstore = sigstore();
    let layer = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    let signature = verify(&sigstore, &layer).expect("verified");
    assert_eq!(signature.issuer, ISSUER);
    assert_eq!(
        signature.subject,
        Subject::Email("release@corp.example".into())
    );
    assert_eq!(signature.integrated_time, ISSUED_AT + 60);
}

#[test]
fn the_issuer_is_read_from_the_legacy_or_the_v2_extension() {
    let sigstore = sigstore();
    for extension in [IssuerExtension::Legacy, IssuerExtension::V2] {
        let signer = Signer {
            extension,
            ..release()
        };
        let layer = sigstore.sign(REPOSITORY, DIGEST, &signer).unwrap();
        assert_eq!(verify(&sigstore, &layer).expect("verified").issuer, ISSUER);
    }
}

#[test]
fn a_certificate_of_an_untrusted_ca_is_refused() {
    let sigstore = sigstore();
    let stranger = TestSigstore::new("stranger").unwrap();
    let layer = sigstore
        .sign_with_ca_of(&stranger, REPOSITORY, DIGEST, &release())
        .unwrap();
    refused(
        &sigstore,
        &layer,
        "not issued by a certificate authority of the trust root",
    );
}

#[test]
fn a_bundle_of_an_untrusted_rekor_is_refused() {
    let sigstore = sigstore();
    let stranger = TestSigstore::new("stranger").unwrap();
    let layer = stranger.sign(REPOSITORY, DIGEST, &release()).unwrap();
    refused(&sigstore, &layer, "which is not a tlog of the trust root");
}

#[test]
fn a_forged_entry_timestamp_is_refused() {
    let sigstore = sigstore();
    let mut layer = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    let bundle = &layer.annotations[BUNDLE_ANNOTATION];
    let mut value: serde_json::Value = serde_json::from_str(bundle).unwrap();
    value["Payload"]["integratedTime"] = json!(ISSUED_AT + 120);
    layer
        .annotations
        .insert(BUNDLE_ANNOTATION.into(), value.to_string());
    refused(&sigstore, &layer, "signed entry timestamp does not verify");
}

#[test]
fn a_signature_logged_outside_the_certificate_lifetime_is_refused() {
    let sigstore = sigstore();
    let late = Signer {
        integrated_time: ISSUED_AT + 3_600,
        ..release()
    };
    let layer = sigstore.sign(REPOSITORY, DIGEST, &late).unwrap();
    refused(&sigstore, &layer, "but the Rekor entry was integrated at");
}

#[test]
fn a_payload_for_another_digest_is_refused() {
    let sigstore = sigstore();
    let other = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    let layer = sigstore.sign(REPOSITORY, other, &release()).unwrap();
    refused(&sigstore, &layer, &format!("the payload signs {other}"));
}

#[test]
fn a_changed_payload_is_refused() {
    let sigstore = sigstore();
    let mut layer = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    let mut payload: serde_json::Value = serde_json::from_slice(&layer.payload).unwrap();
    payload["optional"] = json!({"env": "prod"});
    layer.payload = serde_json::to_vec(&payload).unwrap();
    refused(&sigstore, &layer, "the Rekor entry is for another payload");
}

#[test]
fn a_bundle_of_another_signature_is_refused() {
    let sigstore = sigstore();
    let mut layer = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    let other = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    layer.annotations.insert(
        BUNDLE_ANNOTATION.into(),
        other.annotations[BUNDLE_ANNOTATION].clone(),
    );
    refused(
        &sigstore,
        &layer,
        "the Rekor entry is for another signature",
    );
}

#[test]
fn a_certificate_swapped_for_another_is_refused() {
    let sigstore = sigstore();
    let mut layer = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    let other = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    layer.annotations.insert(
        CERTIFICATE_ANNOTATION.into(),
        other.annotations[CERTIFICATE_ANNOTATION].clone(),
    );
    refused(
        &sigstore,
        &layer,
        "the Rekor entry is for another certificate",
    );
}

#[test]
fn a_signature_with_a_key_and_no_certificate_is_not_keyless() {
    let sigstore = sigstore();
    let mut layer = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    layer.annotations.remove(CERTIFICATE_ANNOTATION);
    refused(&sigstore, &layer, "not a keyless signature");
    let mut layer = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    layer.annotations.remove(BUNDLE_ANNOTATION);
    refused(&sigstore, &layer, "no Rekor bundle");
}

#[test]
fn a_trust_root_whose_authority_starts_later_refuses() {
    let sigstore = sigstore();
    let layer = sigstore.sign(REPOSITORY, DIGEST, &release()).unwrap();
    let mut root = sigstore.trusted_root();
    root["certificateAuthorities"][0]["validFor"]["start"] = json!("2026-01-01T00:00:00Z");
    let verifier = Verifier::new(&TrustRoot::from_json(&root.to_string()).unwrap()).unwrap();
    let reason = verifier
        .verify_layer(&raw(&layer), DIGEST, NOW)
        .unwrap_err();
    assert!(
        reason.contains("https://fulcio.test: not valid at"),
        "{reason}"
    );
}

fn signed_by(signer: &Signer) -> KeylessSignature {
    let sigstore = sigstore();
    let layer = sigstore.sign(REPOSITORY, DIGEST, signer).unwrap();
    verify(&sigstore, &layer).expect("verified")
}

#[test]
fn identities_match_as_kubewarden_matches_them() {
    let email = signed_by(&release());
    let exact = |issuer: &str, subject: &str| Identity::Exact {
        issuer: issuer.into(),
        subject: subject.into(),
    };
    assert!(exact(ISSUER, "release@corp.example").matches(&email));
    assert!(!exact(ISSUER, "intruder@corp.example").matches(&email));
    assert!(!exact("https://other-issuer.example", "release@corp.example").matches(&email));

    let workflow = "https://github.com/corp/app/.github/workflows/release.yml@refs/tags/v1";
    let github = signed_by(&Signer::uri(GITHUB_ACTIONS_ISSUER, workflow));
    let prefix = |p: &str| Identity::prefix(GITHUB_ACTIONS_ISSUER, p).unwrap();
    assert!(prefix("https://github.com/corp/").matches(&github));
    assert!(prefix("https://github.com/corp").matches(&github));
    assert!(!prefix("https://github.com/cor").matches(&github));
    assert!(
        !Identity::prefix(ISSUER, "https://github.com/corp/")
            .unwrap()
            .matches(&github)
    );
    assert!(Identity::prefix(ISSUER, "github.com/corp").is_err());

    let actions = |owner: &str, repo: Option<&str>| Identity::GithubActions {
        owner: owner.into(),
        repo: repo.map(str::to_owned),
    };
    assert!(actions("corp", None).matches(&github));
    assert!(actions("corp", Some("app")).matches(&github));
    assert!(!actions("corp", Some("other")).matches(&github));
    assert!(!actions("cor", None).matches(&github));
    // The same workflow URI from another issuer, or an e-mail from GitHub's issuer: refused.
    assert!(!actions("corp", None).matches(&signed_by(&Signer::uri(ISSUER, workflow))));
    assert!(!actions("corp", None).matches(&signed_by(&Signer::email(
        GITHUB_ACTIONS_ISSUER,
        "corp@github.com"
    ))));
}

#[test]
fn annotations_are_read_from_the_signed_payload() {
    let signer = Signer {
        annotations: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
        ..release()
    };
    let signature = signed_by(&signer);
    assert!(signature.has_annotations(&BTreeMap::new()));
    assert!(signature.has_annotations(&BTreeMap::from([("env".into(), "prod".into())])));
    assert!(!signature.has_annotations(&BTreeMap::from([("env".into(), "dev".into())])));
    assert!(
        !signed_by(&release()).has_annotations(&BTreeMap::from([("env".into(), "prod".into())]))
    );
}

mod live {
    //! Requests answered by the cosign client against a real registry.

    use super::*;
    use crate::cosign::Cosign;
    use crate::image_registry::ImageRegistry;
    use crate::keyless_fixture::push_signature;
    use crate::oci::Transport;
    use crate::replay::{CallbackRequest, KeylessInfo, KeylessPrefixInfo};

    struct World {
        images: ImageRegistry,
        sigstore: TestSigstore,
        cosign: Cosign,
    }

    impl World {
        fn start() -> Self {
            let images = ImageRegistry::start().expect("docker-registry (run `make setup`)");
            let sigstore = sigstore();
            let root = TrustRoot::from_json(&sigstore.trusted_root().to_string()).unwrap();
            let cosign = Cosign::new(&Transport::Http)
                .unwrap()
                .with_trust_root(&root)
                .unwrap();
            Self {
                images,
                sigstore,
                cosign,
            }
        }

        /// Pushes `name` and signs it with `layers` made by `sign(repository, digest)`.
        fn signed(
            &self,
            name: &str,
            sign: impl Fn(&str, &str) -> Vec<SignatureLayer>,
        ) -> (String, String) {
            let digest = self.images.push(name, name).expect("push");
            let image = self.images.image(name);
            let repository = image.rsplit_once(':').map(|(r, _)| r).unwrap().to_owned();
            push_signature(&repository, &digest, &sign(&repository, &digest)).expect("sign");
            (image, digest)
        }
    }

    fn exact(image: &str, subject: &str, issuer: &str) -> CallbackRequest {
        CallbackRequest::SigstoreKeylessVerify {
            image: image.into(),
            keyless: vec![KeylessInfo {
                issuer: issuer.into(),
                subject: subject.into(),
            }],
            annotations: None,
        }
    }

    fn answer(cosign: &Cosign, request: &CallbackRequest) -> Result<serde_json::Value, String> {
        cosign
            .verify(request)
            .map(|bytes| serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn keyless_requests_are_answered_with_the_trust_root() {
        let world = World::start();
        let (image, digest) = world.signed("app:v1", |repository, digest| {
            vec![world.sigstore.sign(repository, digest, &release()).unwrap()]
        });
        let ok = answer(
            &world.cosign,
            &exact(&image, "release@corp.example", ISSUER),
        )
        .expect("verified");
        assert_eq!(ok, json!({"is_trusted": true, "digest": digest}));

        let wrong_subject = answer(
            &world.cosign,
            &exact(&image, "intruder@corp.example", ISSUER),
        )
        .unwrap_err();
        assert!(
            wrong_subject.contains("no signature by issuer https://accounts.example.com and subject intruder@corp.example")
                && wrong_subject.contains("a verified signature by issuer https://accounts.example.com and subject release@corp.example"),
            "{wrong_subject}"
        );
        let wrong_issuer = answer(
            &world.cosign,
            &exact(&image, "release@corp.example", "https://evil.example"),
        )
        .unwrap_err();
        assert!(
            wrong_issuer.contains("Image verification failed"),
            "{wrong_issuer}"
        );

        // Annotations must be in the signed payload.
        let annotated = CallbackRequest::SigstoreKeylessVerify {
            image: image.clone(),
            keyless: vec![KeylessInfo {
                issuer: ISSUER.into(),
                subject: "release@corp.example".into(),
            }],
            annotations: Some(BTreeMap::from([("env".into(), "prod".into())])),
        };
        let error = answer(&world.cosign, &annotated).unwrap_err();
        assert!(error.contains("with the required annotations"), "{error}");
    }

    #[test]
    fn prefix_and_github_actions_requests() {
        let world = World::start();
        let workflow = "https://github.com/corp/app/.github/workflows/release.yml@refs/tags/v1";
        let (image, _) = world.signed("gha:v1", |repository, digest| {
            vec![
                world
                    .sigstore
                    .sign(
                        repository,
                        digest,
                        &Signer::uri(GITHUB_ACTIONS_ISSUER, workflow),
                    )
                    .unwrap(),
            ]
        });
        let prefix = |url_prefix: &str| CallbackRequest::SigstoreKeylessPrefixVerify {
            image: image.clone(),
            keyless_prefix: vec![KeylessPrefixInfo {
                issuer: GITHUB_ACTIONS_ISSUER.into(),
                url_prefix: url_prefix.into(),
            }],
            annotations: None,
        };
        assert!(answer(&world.cosign, &prefix("https://github.com/corp")).is_ok());
        assert!(answer(&world.cosign, &prefix("https://github.com/co")).is_err());
        let actions =
            |owner: &str, repo: Option<&str>| CallbackRequest::SigstoreGithubActionsVerify {
                image: image.clone(),
                owner: owner.into(),
                repo: repo.map(str::to_owned),
                annotations: None,
            };
        assert!(answer(&world.cosign, &actions("corp", Some("app"))).is_ok());
        let error = answer(&world.cosign, &actions("corp", Some("other"))).unwrap_err();
        assert!(
            error.contains("a GitHub Actions workflow of corp/other"),
            "{error}"
        );
    }

    #[test]
    fn tampered_and_untrusted_signatures_are_refused() {
        let world = World::start();
        // A signature made for another image's digest, copied next to this one.
        let (image, _) = world.signed("copied:v1", |repository, _| {
            let other = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
            vec![world.sigstore.sign(repository, other, &release()).unwrap()]
        });
        let error = answer(
            &world.cosign,
            &exact(&image, "release@corp.example", ISSUER),
        )
        .unwrap_err();
        assert!(
            error.contains("a signature refused: the payload signs sha256:2222"),
            "{error}"
        );

        // A certificate from a CA the trust root does not list.
        let stranger = TestSigstore::new("stranger").unwrap();
        let (image, _) = world.signed("stranger:v1", |repository, digest| {
            vec![
                world
                    .sigstore
                    .sign_with_ca_of(&stranger, repository, digest, &release())
                    .unwrap(),
            ]
        });
        let error = answer(
            &world.cosign,
            &exact(&image, "release@corp.example", ISSUER),
        )
        .unwrap_err();
        assert!(
            error.contains("not issued by a certificate authority of the trust root"),
            "{error}"
        );
    }

    #[test]
    fn without_a_trust_root_keyless_requests_are_an_error_naming_the_flag() {
        let world = World::start();
        let (image, _) = world.signed("plain:v1", |repository, digest| {
            vec![world.sigstore.sign(repository, digest, &release()).unwrap()]
        });
        let cosign = Cosign::new(&Transport::Http).unwrap();
        let error = answer(&cosign, &exact(&image, "release@corp.example", ISSUER)).unwrap_err();
        assert!(error.contains("--sigstore-trust-config"), "{error}");
        assert!(
            error.contains("keyless verification needs Sigstore's Fulcio and Rekor trust root"),
            "{error}"
        );
    }
}
