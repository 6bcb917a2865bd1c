//! image-signatures against a real registry and real cosign signatures: the test pushes small
//! images to Debian's docker-registry on 127.0.0.1, signs some with keys it generates (cosign's
//! `sha256-<digest>.sig` format), and the compiled policy asks the host, which verifies with the
//! sigstore crate as policy-server does.

use std::collections::BTreeMap;

use e2e::policy;
use pci_host::admission::AdmissionResponse;
use pci_host::image_registry::ImageRegistry;
use pci_host::run::{RunOptions, run};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, workload_object};
use serde_json::{Value, json};
use sigstore::crypto::{SigStoreSigner, SigningScheme};

const POLICY: &str = "image-signatures";

struct Signing(ImageRegistry);

impl std::ops::Deref for Signing {
    type Target = ImageRegistry;
    fn deref(&self) -> &ImageRegistry {
        &self.0
    }
}

impl Signing {
    fn start() -> Self {
        Self(ImageRegistry::start().expect("docker-registry (run `make setup`)"))
    }

    /// Pushes `name` (e.g. `app:v1`) with content `marker`; returns the reference and digest.
    fn push_image(&self, name: &str, marker: &str) -> (String, String) {
        (self.image(name), self.push(name, marker).expect("push"))
    }

    fn sign_with(&self, image: &str, keys: &[&Key], annotations: &[(&str, &str)]) {
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let signers = keys.iter().map(|key| key.signer()).collect();
        self.sign(image, signers, &annotations).expect("sign");
    }

    fn settings(&self, keys: &[&Key], threshold: Option<usize>, annotations: Value) -> Value {
        let mut public_keys =
            json!({"keys": keys.iter().map(|k| k.public_pem.clone()).collect::<Vec<_>>()});
        if let Some(threshold) = threshold {
            public_keys["threshold"] = json!(threshold);
        }
        let mut rule = json!({"images": [format!("{}/**", self.registry.address())], "publicKeys": public_keys});
        if !annotations.is_null() {
            rule["annotations"] = annotations;
        }
        json!({"rules": [rule]})
    }

    fn evaluate(&self, images: &[&str], settings: Value) -> AdmissionResponse {
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
            .collect();
        let request = admission_request(
            WorkloadKind::Deployment,
            "CREATE",
            workload_object(
                WorkloadKind::Deployment,
                "web",
                json!({}),
                json!({"containers": containers}),
            ),
        );
        let options = RunOptions {
            settings,
            live: Some(self.live().expect("live host")),
            ..RunOptions::default()
        };
        run(&policy(POLICY), &request, options).expect("run")
    }
}

/// A key pair generated for the test: the private PEM to sign, the public PEM for the settings.
struct Key {
    private_pem: String,
    public_pem: String,
}

impl Key {
    fn generate() -> Self {
        let signer = SigningScheme::ECDSA_P256_SHA256_ASN1
            .create_signer()
            .expect("key pair");
        let pair = signer.to_sigstore_keypair().expect("key pair");
        Self {
            private_pem: pair.private_key_to_pem().expect("private pem").to_string(),
            public_pem: pair.public_key_to_pem().expect("public pem"),
        }
    }

    fn signer(&self) -> SigStoreSigner {
        sigstore::crypto::signing_key::SigStoreKeyPair::from_pem(self.private_pem.as_bytes())
            .expect("pem")
            .to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1)
            .expect("signer")
    }
}

#[test]
fn a_signed_image_is_accepted_and_pinned_to_the_verified_digest() {
    let signing = Signing::start();
    let key = Key::generate();
    let (image, digest) = signing.push_image("payments:v1", "one");
    signing.sign_with(&image, &[&key], &[]);
    let response = signing.evaluate(&[&image], signing.settings(&[&key], None, Value::Null));
    assert!(response.allowed, "{}", response.message());
    assert_eq!(
        response.patch_operations().unwrap(),
        Some(
            json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": format!("{image}@{digest}")}])
        )
    );
}

#[test]
fn unsigned_images_and_signatures_by_another_key_are_rejected() {
    let signing = Signing::start();
    let trusted = Key::generate();
    let stranger = Key::generate();
    let (unsigned, unsigned_digest) = signing.push_image("unsigned:v1", "one");
    let (foreign, foreign_digest) = signing.push_image("foreign:v1", "two");
    signing.sign_with(&foreign, &[&stranger], &[]);
    let response = signing.evaluate(
        &[&unsigned, &foreign],
        signing.settings(&[&trusted], None, Value::Null),
    );
    assert!(!response.allowed);
    let text = e2e::message_and_details(&response);
    assert!(text.contains("2 violations"), "{text}");
    for (image, digest) in [(&unsigned, &unsigned_digest), (&foreign, &foreign_digest)] {
        assert!(
            text.contains(&format!("{}@{digest}: 0 of 1 verified", repository(image))),
            "{text}"
        );
    }
    assert!(
        text.contains("no cosign signature of <image> could be read"),
        "{text}"
    );
    assert!(
        text.contains("Image verification failed for <image>"),
        "{text}"
    );
}

#[test]
fn a_tag_moved_after_signing_is_rejected() {
    let signing = Signing::start();
    let key = Key::generate();
    let (image, signed_digest) = signing.push_image("app:v1", "signed");
    signing.sign_with(&image, &[&key], &[]);
    let settings = signing.settings(&[&key], None, Value::Null);
    assert!(signing.evaluate(&[&image], settings.clone()).allowed);

    let (_, moved_digest) = signing.push_image("app:v1", "swapped");
    assert_ne!(moved_digest, signed_digest);
    let response = signing.evaluate(&[&image], settings);
    assert!(!response.allowed);
    assert!(
        response.message().contains(&image),
        "{}",
        response.message()
    );

    // The signed digest itself still verifies.
    let pinned = format!("{image}@{signed_digest}");
    let settings = signing.settings(&[&key], None, Value::Null);
    assert!(signing.evaluate(&[&pinned], settings).allowed);
}

#[test]
fn key_rotation_one_of_two_keys_and_required_annotations() {
    let signing = Signing::start();
    let old = Key::generate();
    let new = Key::generate();
    let (image, digest) = signing.push_image("rotating:v1", "one");
    signing.sign_with(&image, &[&new], &[("env", "prod")]);

    let both = signing.evaluate(
        &[&image],
        signing.settings(&[&old, &new], None, Value::Null),
    );
    assert!(!both.allowed, "all keys are required by default");
    assert!(
        e2e::message_and_details(&both).contains(&format!("1 of 2 verified {digest}, 2 required")),
        "{}",
        e2e::message_and_details(&both)
    );

    let one = signing.evaluate(
        &[&image],
        signing.settings(&[&old, &new], Some(1), Value::Null),
    );
    assert!(one.allowed, "{}", one.message());

    let prod = signing.evaluate(
        &[&image],
        signing.settings(&[&new], None, json!({"env": "prod"})),
    );
    assert!(prod.allowed, "{}", prod.message());
    let staging = signing.evaluate(
        &[&image],
        signing.settings(&[&new], None, json!({"env": "staging"})),
    );
    assert!(!staging.allowed);
}

#[test]
fn a_registry_that_is_down_gives_a_clear_rejection() {
    let mut signing = Signing::start();
    let key = Key::generate();
    let (image, _) = signing.push_image("app:v1", "one");
    signing.sign_with(&image, &[&key], &[]);
    let settings = signing.settings(&[&key], None, Value::Null);
    signing.0.registry.stop();
    let response = signing.evaluate(&[&image], settings);
    assert!(!response.allowed);
    assert!(
        response.message().contains(&format!(
            "cannot check the signature of \"{image}\": the registry is unreachable"
        )),
        "{}",
        response.message()
    );
    assert!(
        e2e::message_and_details(&response).contains(&format!("resolving {image}: ")),
        "{}",
        e2e::message_and_details(&response)
    );
}

#[test]
fn keyless_verification_is_refused_with_a_clear_reason_offline() {
    let signing = Signing::start();
    let (image, _) = signing.push_image("app:v1", "one");
    let settings = json!({"rules": [{"images": [format!("{}/**", signing.registry.address())], "githubActions": {"owner": "corp"}}]});
    let response = signing.evaluate(&[&image], settings);
    assert!(!response.allowed);
    assert!(
        e2e::message_and_details(&response)
            .contains("keyless verification needs Sigstore's Fulcio and Rekor trust root"),
        "{}",
        e2e::message_and_details(&response)
    );
}

/// A test certificate authority and a code-signing leaf certificate for `key`, as Fulcio would
/// issue it (digital signature, code signing, an e-mail SAN); returns (leaf PEM, CA PEM).
fn certificate_for(key: &Key, email: &str) -> (String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose, SanType,
    };
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "pci-policies test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");

    let leaf_key = KeyPair::from_pem(&key.private_pem).expect("leaf key");
    let mut leaf_params = CertificateParams::new(Vec::<String>::new()).expect("leaf params");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    leaf_params.subject_alt_names = vec![SanType::Rfc822Name(email.try_into().expect("email"))];
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    (leaf.pem(), ca.pem())
}

#[test]
fn certificate_signatures_verify_against_the_given_chain() {
    let signing = Signing::start();
    let key = Key::generate();
    let (leaf, ca) = certificate_for(&key, "release@corp.example");
    let (image, digest) = signing.push_image("certified:v1", "one");
    signing.sign_with(&image, &[&key], &[]);
    let rule = |certificate: &str, chain: &[&str]| {
        json!({"rules": [{
            "images": [format!("{}/**", signing.registry.address())],
            "certificates": {"certificate": certificate, "certificateChain": chain, "requireRekorBundle": false}
        }]})
    };
    let response = signing.evaluate(&[&image], rule(&leaf, &[&ca]));
    assert!(response.allowed, "{}", response.message());
    assert_eq!(
        response.patch_operations().unwrap(),
        Some(
            json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": format!("{image}@{digest}")}])
        )
    );

    // A certificate for another key does not verify the signature.
    let (other_leaf, other_ca) = certificate_for(&Key::generate(), "release@corp.example");
    let response = signing.evaluate(&[&image], rule(&other_leaf, &[&other_ca]));
    assert!(!response.allowed);
    assert!(
        e2e::message_and_details(&response).contains("Image verification failed"),
        "{}",
        e2e::message_and_details(&response)
    );

    // The right certificate with a chain that did not issue it is not usable.
    let response = signing.evaluate(&[&image], rule(&leaf, &[&other_ca]));
    assert!(!response.allowed);
    assert!(
        e2e::message_and_details(&response).contains("the certificate is not usable"),
        "{}",
        e2e::message_and_details(&response)
    );

    // Without a Rekor bundle, requireRekorBundle (the default) refuses the signature.
    let strict = json!({"rules": [{
        "images": [format!("{}/**", signing.registry.address())],
        "certificates": {"certificate": leaf, "certificateChain": [ca]}
    }]});
    let response = signing.evaluate(&[&image], strict);
    assert!(!response.allowed);
}

/// `registry/repository` of a `registry/repository:tag` image.
fn repository(image: &str) -> &str {
    image
        .rsplit_once(':')
        .map_or(image, |(repository, _)| repository)
}
