//! A signed release end to end against a real registry (Debian's docker-registry): every
//! module pushed, signed with a cosign key and its SBOM attested, as `make publish` does; then
//! verified as `kwctl verify` and policy-server verify it, with a verification config. A module
//! tampered with after signing, or signed by another key, is refused.

use e2e::{bundle, module_bytes, root};
use pci_host::cosign::Cosign;
use pci_host::local_registry::LocalRegistry;
use pci_host::oci::{Credentials, DSSE_MEDIA_TYPE, Registry, Transport};
use pci_host::publish::{publish_bundle, sign_published};
use pci_host::release::{CYCLONEDX_PREDICATE_TYPE, SigningKey, verify_attestation};
use pci_host::verification::{self, VerificationConfig, verify_policy};
use serde_json::json;
use sigstore::crypto::SigningScheme;

const PASSWORD: &[u8] = b"release-password";

/// A key as `cosign generate-key-pair` writes it: encrypted PEM and a password.
fn cosign_key() -> (String, SigningKey) {
    let pair = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .unwrap()
        .to_sigstore_keypair()
        .unwrap();
    let pem = pair.private_key_to_encrypted_pem(PASSWORD).unwrap();
    let key = SigningKey::from_cosign_pem(pem.as_bytes(), PASSWORD).unwrap();
    (pem.to_string(), key)
}

fn pub_key_config(public_key: &str) -> VerificationConfig {
    VerificationConfig::from_yaml(&verification::pub_key_config("release-team", public_key))
        .unwrap()
}

/// `module` with one more custom section: still an annotated wasm module, another digest.
fn tampered(module: &[u8]) -> Vec<u8> {
    pci_host::sections::append_custom(module, "tampered", b"not what was signed").unwrap()
}

#[test]
fn signed_modules_verify_and_tampered_ones_are_refused() {
    let local = LocalRegistry::start().expect("docker-registry (run `make setup`)");
    let registry = Registry::new(Transport::Http, Credentials::Anonymous).unwrap();
    let cosign = Cosign::new(&Transport::Http).unwrap();
    let prefix = format!("{}/release", local.address());
    let (pem, key) = cosign_key();
    let error = SigningKey::from_cosign_pem(pem.as_bytes(), b"wrong")
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("COSIGN_PASSWORD"), "{error}");

    let published = publish_bundle(&bundle(), &registry, Some(&prefix), None).unwrap();
    let sbom = |policy: &str| {
        Ok(json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
                  "metadata": {"component": {"name": policy}}}))
    };
    let signed = sign_published(&published, &registry, &cosign, &key, &sbom).unwrap();
    assert_eq!(signed.len(), e2e::policies().len());

    let public_key = key.public_key_pem().unwrap();
    let config = pub_key_config(&public_key);
    for (module, signed) in published.iter().zip(&signed) {
        // By tag, as a manifest names it before pinning, and by the pinned digest.
        for reference in [module.reference.clone(), signed.immutable_ref.clone()] {
            let verified = verify_policy(&cosign, &registry, &reference, &config)
                .unwrap_or_else(|e| panic!("{reference}: {e:#}"));
            assert_eq!(verified.digest, module.pushed.manifest_digest);
            assert!(verified.pulled.module == module_bytes(&module.policy));
        }
        // The SBOM attestation: signed by the key, about this digest, carrying the SBOM.
        let att = signed.attestation.immutable_ref.clone();
        let layers = registry.pull_layers(&att, DSSE_MEDIA_TYPE).unwrap();
        assert_eq!(layers.len(), 1);
        assert_eq!(
            layers[0].annotations["predicateType"],
            CYCLONEDX_PREDICATE_TYPE
        );
        let statement = verify_attestation(&layers[0].data, &public_key).unwrap();
        let hex = module
            .pushed
            .manifest_digest
            .strip_prefix("sha256:")
            .unwrap();
        assert_eq!(statement["subject"][0]["digest"]["sha256"], hex);
        assert_eq!(
            statement["predicate"]["metadata"]["component"]["name"],
            module.policy
        );
        let (_, other) = cosign_key();
        assert!(verify_attestation(&layers[0].data, &other.public_key_pem().unwrap()).is_err());
    }

    // Another key's config refuses the release, naming the requirement.
    let (_, other) = cosign_key();
    let error = verify_policy(
        &cosign,
        &registry,
        &published[0].reference,
        &pub_key_config(&other.public_key_pem().unwrap()),
    )
    .err()
    .unwrap();
    assert!(
        format!("{error:#}")
            .contains("allOf[0] pubKey (release-team): none of the 1 signature(s) is by this key"),
        "{error:#}"
    );

    // Tampered: another module pushed under the signed tag. Its digest has no signature.
    let first = &published[0];
    let forged = tampered(&module_bytes(&first.policy));
    let pushed = registry.push_policy(&forged, &first.reference).unwrap();
    assert_ne!(pushed.manifest_digest, first.pushed.manifest_digest);
    let error = format!(
        "{:#}",
        verify_policy(&cosign, &registry, &first.reference, &config)
            .err()
            .unwrap()
    );
    assert!(error.contains("cannot be verified"), "{error}");
    // Signed by someone else: still refused.
    other.sign(&cosign, &pushed.immutable_ref).unwrap();
    let error = format!(
        "{:#}",
        verify_policy(&cosign, &registry, &first.reference, &config)
            .err()
            .unwrap()
    );
    assert!(
        error.contains("none of the 1 signature(s) is by this key"),
        "{error}"
    );
    // The signed digest itself still verifies.
    assert!(verify_policy(&cosign, &registry, &first.pushed.immutable_ref, &config).is_ok());
}

#[test]
fn the_shipped_verification_config_requires_our_release_workflow() {
    let text = std::fs::read_to_string(root().join("verification-config.yml")).unwrap();
    let config = VerificationConfig::from_yaml(&text).unwrap();
    let all_of = config.all_of.unwrap();
    assert_eq!(all_of.len(), 1);
    assert!(matches!(
        &all_of[0],
        pci_host::verification::Requirement::GithubAction { owner, repo: Some(repo), .. }
            if owner == "pci-policies" && repo == "pci-policies"
    ));
    for (bad, reason) in [
        ("apiVersion: v2\nallOf: [{kind: pubKey, key: k}]", "only v1"),
        ("apiVersion: v1", "allOf or anyOf"),
        (
            "apiVersion: v1\nallOf: [{kind: pubKey, key: k, extra: 1}]",
            "extra",
        ),
        (
            "apiVersion: v1\nanyOf: {minimumMatches: 2, signatures: [{kind: pubKey, key: k}]}",
            "minimumMatches 2",
        ),
    ] {
        let error = format!("{:#}", VerificationConfig::from_yaml(bad).unwrap_err());
        assert!(error.contains(reason), "{bad}: {error}");
    }
}
