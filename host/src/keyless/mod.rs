//! Keyless cosign signatures verified offline with a Sigstore trust root ([`TrustRoot`]).
//!
//! One signature layer (of `<repo>:sha256-<digest>.sig`) is trusted when all of these hold:
//! its payload names the digest; its Rekor bundle's signed entry timestamp verifies with a
//! tlog key of the trust root valid at the integrated time; the Rekor entry is this signature
//! (same signature, payload hash and certificate); the certificate chains to a Fulcio CA of the
//! trust root and is valid at the integrated time, for code signing; and the signature verifies
//! with the certificate's key. Only then are its issuer and subject read ([`identity`]).
//!
//! The sigstore crate's own keyless path (0.13) checks the chain and the bundle but neither the
//! layer's signature with the certificate's key nor that the Rekor entry is this signature, and
//! reads only the legacy issuer extension: this module does all of it, with its public pieces
//! (`CosignVerificationKey`, `Bundle`, `SimpleSigning`) and webpki for the chain.

mod attestation;
mod certificate;
pub mod identity;
mod rekor;

use std::collections::BTreeMap;

use sigstore::cosign::payload::simple_signing::SimpleSigning;
use sigstore::crypto::{CosignVerificationKey, Signature};
use x509_cert::der::Decode;

use crate::trust_root::TrustRoot;
pub use attestation::KeylessAttestation;
pub use certificate::Subject;
use identity::Identity;

/// The media type of a cosign signature layer.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotations cosign writes.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// How far in the future a Rekor integrated time may be (clock skew), in seconds.
const FUTURE_SKEW: i64 = 300;

/// A signature layer as read from the registry: its payload and its descriptor's annotations.
#[derive(Clone, Debug)]
pub struct RawLayer {
    pub media_type: String,
    pub data: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// A keyless signature that verified: who signed, and what.
#[derive(Clone, Debug)]
pub struct KeylessSignature {
    /// The OIDC issuer of the Fulcio certificate.
    pub issuer: String,
    /// Its subject (SAN).
    pub subject: Subject,
    /// The signed payload (its `optional` part holds the annotations).
    pub payload: SimpleSigning,
    /// When Rekor integrated the entry (Unix seconds).
    pub integrated_time: i64,
}

impl KeylessSignature {
    /// True when the signed payload carries every annotation (none required: true).
    pub fn has_annotations(&self, annotations: &BTreeMap<String, String>) -> bool {
        self.payload.satisfies_annotations(annotations)
    }
}

/// The keyless signatures of a digest: those that verified, and why the others did not.
pub struct KeylessLayers {
    pub verified: Vec<KeylessSignature>,
    pub refused: Vec<String>,
}

impl KeylessLayers {
    /// True when a verified signature is by `identity` and carries `annotations`.
    pub fn satisfies(&self, identity: &Identity, annotations: &BTreeMap<String, String>) -> bool {
        self.verified
            .iter()
            .any(|signature| identity.matches(signature) && signature.has_annotations(annotations))
    }

    /// Why `identity` is not satisfied: what the verified signatures are, and why the others
    /// were refused.
    pub fn explain(&self, identity: &Identity, annotations: &BTreeMap<String, String>) -> String {
        let mut parts: Vec<String> = self
            .verified
            .iter()
            .map(|s| {
                format!(
                    "a verified signature by issuer {} and subject {}{}",
                    s.issuer,
                    s.subject.as_str(),
                    if identity.matches(s) {
                        " without the required annotations"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        parts.extend(
            self.refused
                .iter()
                .map(|r| format!("a signature refused: {r}")),
        );
        format!(
            "no signature by {}{} ({})",
            identity.describe(),
            if annotations.is_empty() {
                ""
            } else {
                " with the required annotations"
            },
            if parts.is_empty() {
                "no signature layer".to_owned()
            } else {
                parts.join("; ")
            }
        )
    }
}

/// The trust root, ready to verify with.
pub struct Verifier {
    authorities: Vec<certificate::Authority>,
    logs: rekor::Logs,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("keyless::Verifier")
    }
}

impl Verifier {
    /// Prepares the Fulcio CAs and Rekor keys of `trust`.
    pub fn new(trust: &TrustRoot) -> Result<Self, String> {
        Ok(Self {
            authorities: certificate::Authority::all(&trust.certificate_authorities)?,
            logs: rekor::Logs::new(&trust.tlogs)?,
        })
    }

    /// Verifies one layer of the signature image of `manifest_digest`, now being `now`
    /// (Unix seconds); the error says which check failed.
    pub fn verify_layer(
        &self,
        layer: &RawLayer,
        manifest_digest: &str,
        now: i64,
    ) -> Result<KeylessSignature, String> {
        if layer.media_type != SIMPLE_SIGNING {
            return Err(format!(
                "a layer of media type {:?}, not a cosign signature",
                layer.media_type
            ));
        }
        let payload: SimpleSigning = serde_json::from_slice(&layer.data)
            .map_err(|e| format!("the payload is not a cosign signature payload: {e}"))?;
        if !payload.satisfies_manifest_digest(manifest_digest) {
            return Err(format!(
                "the payload signs {}, not {manifest_digest}",
                payload.critical.image.docker_manifest_digest
            ));
        }
        let annotation = |key: &str, what: &str| {
            layer
                .annotations
                .get(key)
                .ok_or_else(|| format!("no {what} (annotation {key})"))
        };
        let signature = annotation(SIGNATURE_ANNOTATION, "signature")?;
        let certificate_pem = annotation(
            CERTIFICATE_ANNOTATION,
            "certificate: not a keyless signature",
        )?;
        let bundle = annotation(BUNDLE_ANNOTATION, "Rekor bundle")?;

        let certificate_der = pem_certificate(certificate_pem.as_bytes())
            .map_err(|e| format!("the certificate is not readable: {e}"))?;
        let certificate = x509_cert::Certificate::from_der(&certificate_der)
            .map_err(|e| format!("the certificate is not readable: {e}"))?;

        let entry = self.logs.verify(bundle)?;
        check_time(&entry, now)?;
        entry.binds(signature, &layer.data, &certificate_der)?;
        let key = self.certificate_key(&certificate, &certificate_der, entry.integrated_time)?;
        key.verify_signature(Signature::Base64Encoded(signature.as_bytes()), &layer.data)
            .map_err(|_| "the signature does not verify with the certificate's key".to_owned())?;

        Ok(KeylessSignature {
            issuer: certificate::issuer(&certificate)?,
            subject: certificate::subject(&certificate)?,
            payload,
            integrated_time: entry.integrated_time,
        })
    }
}

impl Verifier {
    /// The key of `certificate` (DER `der`), once it is shown valid at `time`, for code signing,
    /// and issued by a certificate authority of the trust root.
    fn certificate_key(
        &self,
        certificate: &x509_cert::Certificate,
        der: &[u8],
        time: i64,
    ) -> Result<CosignVerificationKey, String> {
        certificate::check_validity(certificate, time)?;
        certificate::check_usage(certificate)?;
        certificate::chain(&self.authorities, der, time)?;
        CosignVerificationKey::try_from(&certificate.tbs_certificate.subject_public_key_info)
            .map_err(|e| format!("the certificate's key is not usable: {e}"))
    }
}

/// A Rekor entry integrated in the future (beyond clock skew) is refused.
fn check_time(entry: &rekor::Entry, now: i64) -> Result<(), String> {
    if entry.integrated_time > now + FUTURE_SKEW {
        return Err(format!(
            "the Rekor entry claims to be integrated at {}, in the future",
            rekor::utc(entry.integrated_time)
        ));
    }
    Ok(())
}

/// The DER bytes of the one PEM certificate in `pem`.
fn pem_certificate(pem: &[u8]) -> Result<Vec<u8>, String> {
    let (label, der) = x509_cert::der::pem::decode_vec(pem).map_err(|e| format!("not PEM: {e}"))?;
    if label != "CERTIFICATE" {
        return Err(format!("a PEM {label}, not a CERTIFICATE"));
    }
    Ok(der)
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests;
