//! Signing what `make publish` pushed, as cosign does: a signature of each module's manifest
//! digest in the layout kwctl and policy-server read (`<repo>:sha256-<hex>.sig`, simple-signing
//! payload), and an SBOM attached as a signed in-toto attestation (`<repo>:sha256-<hex>.att`,
//! DSSE envelope). The key is a cosign private key (encrypted PEM, as `cosign
//! generate-key-pair` writes it).

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::{CosignVerificationKey, SigStoreSigner, Signature, SigningScheme};

use crate::cosign::Cosign;
use crate::oci::{Pushed, Registry};

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The predicate type of a CycloneDX SBOM (`cosign attest --type cyclonedx`).
pub const CYCLONEDX_PREDICATE_TYPE: &str = "https://cyclonedx.org/bom";

/// A cosign signing key, read once.
pub struct SigningKey {
    key_pair: SigStoreKeyPair,
}

impl SigningKey {
    /// Reads a cosign private key: the encrypted PEM of `cosign generate-key-pair` with its
    /// password (`COSIGN_PASSWORD`), or an unencrypted PKCS#8 PEM (`openssl genpkey`). Only
    /// ECDSA P-256 keys, cosign's default, are taken.
    pub fn from_cosign_pem(pem: &[u8], password: &[u8]) -> Result<Self> {
        let encrypted = String::from_utf8_lossy(pem).contains("-----BEGIN ENCRYPTED");
        let key_pair = if encrypted {
            SigStoreKeyPair::from_encrypted_pem(pem, password).map_err(|e| {
                anyhow!("cannot read the cosign private key (wrong COSIGN_PASSWORD?): {e}")
            })?
        } else {
            SigStoreKeyPair::from_pem(pem)
                .map_err(|e| anyhow!("cannot read the private key (PKCS#8 PEM): {e}"))?
        };
        let key = Self { key_pair };
        key.signer()?;
        Ok(key)
    }

    /// The public key in PEM, for `verification-config.yml` and `cosign verify --key`.
    pub fn public_key_pem(&self) -> Result<String> {
        self.key_pair
            .public_key_to_pem()
            .map_err(|e| anyhow!("cannot export the public key: {e}"))
    }

    fn signer(&self) -> Result<SigStoreSigner> {
        self.key_pair
            .to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1)
            .map_err(|e| anyhow!("the cosign key is not an ECDSA P-256 key: {e}"))
    }

    /// Signs `immutable_ref` (`registry/repository@sha256:…`) as `cosign sign --key` does.
    pub fn sign(&self, cosign: &Cosign, immutable_ref: &str) -> Result<()> {
        if !immutable_ref.contains("@sha256:") {
            bail!("{immutable_ref}: sign the pushed digest, not a tag");
        }
        cosign.sign(immutable_ref, vec![self.signer()?], &BTreeMap::new())
    }

    /// Attests `predicate` of `predicate_type` about the manifest `digest` of `repository`
    /// and pushes the attestation, as `cosign attest --key` does.
    pub fn attest(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &str,
        predicate_type: &str,
        predicate: &Value,
    ) -> Result<Pushed> {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": predicate_type,
            "subject": [{
                "name": repository,
                "digest": {"sha256": digest.strip_prefix("sha256:").unwrap_or(digest)},
            }],
            "predicate": predicate,
        });
        let envelope = self.envelope(&statement)?;
        registry.push_attestation(
            repository,
            digest,
            &serde_json::to_vec(&envelope)?,
            predicate_type,
        )
    }
}

impl SigningKey {
    /// `statement` (an in-toto statement) signed as a DSSE envelope, as `cosign attest` and
    /// `cosign attest-blob` write it: `cosign verify-blob-attestation` reads it.
    pub fn envelope(&self, statement: &Value) -> Result<Value> {
        let payload = serde_json::to_vec(statement)?;
        let signature = self
            .signer()?
            .sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload))
            .map_err(|e| anyhow!("cannot sign the attestation: {e}"))?;
        Ok(json!({
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "payload": STANDARD.encode(&payload),
            "signatures": [{"keyid": "", "sig": STANDARD.encode(signature)}],
        }))
    }
}

/// DSSE's pre-authentication encoding: what a DSSE signature signs.
pub(crate) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut message = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    message.extend_from_slice(payload);
    message
}

/// Checks a DSSE envelope's signature with `public_key_pem` and returns its in-toto statement.
pub fn verify_attestation(envelope: &[u8], public_key_pem: &str) -> Result<Value> {
    let envelope: Value = serde_json::from_slice(envelope).context("the envelope is not JSON")?;
    let payload_type = envelope["payloadType"].as_str().unwrap_or_default();
    if payload_type != IN_TOTO_PAYLOAD_TYPE {
        bail!("the envelope carries {payload_type:?}, not an in-toto statement");
    }
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap_or_default())
        .context("the payload is not base64")?;
    let key = CosignVerificationKey::from_pem(public_key_pem.as_bytes(), &SigningScheme::default())
        .map_err(|e| anyhow!("the public key is not usable: {e}"))?;
    let signatures = envelope["signatures"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let verified = signatures.iter().any(|signature| {
        let Ok(raw) = STANDARD.decode(signature["sig"].as_str().unwrap_or_default()) else {
            return false;
        };
        key.verify_signature(Signature::Raw(&raw), &pae(payload_type, &payload))
            .is_ok()
    });
    if !verified {
        bail!("no signature of the attestation verifies with the key");
    }
    serde_json::from_slice(&payload).context("the statement is not JSON")
}
