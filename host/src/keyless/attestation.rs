//! A keyless-signed in-toto statement in a Sigstore bundle (`*.sigstore.json`, protobuf-specs
//! `Bundle` v0.1 to v0.3 in JSON), as `cosign attest-blob --new-bundle-format --bundle` writes
//! it: a DSSE envelope, the Fulcio certificate, and the Rekor entry (`dsse` 0.0.1) with its
//! signed entry timestamp.
//!
//! Trusted when: the signed entry timestamp verifies with a tlog key of the trust root valid
//! at the integrated time; the entry logs this envelope's payload, signature and certificate;
//! the certificate chains to a Fulcio CA of the trust root and is valid at the integrated time,
//! for code signing; and the envelope's signature verifies with the certificate's key. Only
//! then are its issuer, subject and statement read. The entry's `envelopeHash` is not
//! recomputed (Rekor hashes its own serialisation of the envelope); the payload hash, the
//! signature and the certificate bind the entry to the envelope.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sigstore::crypto::Signature;
use x509_cert::der::Decode;

use super::{Subject, Verifier, certificate, check_time};
use crate::release::{IN_TOTO_PAYLOAD_TYPE, pae};

/// The Sigstore bundle media types read (v0.1 and v0.2 carry the certificate as a chain).
const BUNDLE_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
];

/// A keyless attestation that verified: who signed, when, and the statement.
#[derive(Clone, Debug)]
pub struct KeylessAttestation {
    pub issuer: String,
    pub subject: Subject,
    pub integrated_time: i64,
    pub statement: Value,
}

impl Verifier {
    /// Verifies the Sigstore bundle `bundle` of a DSSE-signed in-toto statement, now being
    /// `now` (Unix seconds); the error names the check that failed.
    pub fn verify_attestation_bundle(
        &self,
        bundle: &[u8],
        now: i64,
    ) -> Result<KeylessAttestation, String> {
        let bundle: Value = serde_json::from_slice(bundle)
            .map_err(|e| format!("the Sigstore bundle is not JSON: {e}"))?;
        let media_type = bundle["mediaType"].as_str().unwrap_or_default();
        if !BUNDLE_MEDIA_TYPES.contains(&media_type) {
            return Err(format!(
                "mediaType {media_type:?}: not a Sigstore bundle (v0.1 to v0.3)"
            ));
        }
        let material = &bundle["verificationMaterial"];
        let certificate_der = certificate_of(material)?;
        let certificate = x509_cert::Certificate::from_der(&certificate_der)
            .map_err(|e| format!("verificationMaterial: the certificate is not readable: {e}"))?;
        let (payload, signature) = envelope_of(&bundle["dsseEnvelope"])?;

        let entries = material["tlogEntries"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let [entry] = entries else {
            return Err(format!(
                "verificationMaterial.tlogEntries: {} entries, one Rekor entry expected",
                entries.len()
            ));
        };
        let entry = self.logs.verify(&cosign_bundle(entry)?)?;
        check_time(&entry, now)?;
        entry.binds_dsse(&signature, &payload, &certificate_der)?;
        let key = self.certificate_key(&certificate, &certificate_der, entry.integrated_time)?;
        key.verify_signature(
            Signature::Raw(&signature),
            &pae(IN_TOTO_PAYLOAD_TYPE, &payload),
        )
        .map_err(|_| "the envelope's signature does not verify with the certificate's key")?;
        let statement = serde_json::from_slice(&payload)
            .map_err(|e| format!("dsseEnvelope.payload: the statement is not JSON: {e}"))?;
        Ok(KeylessAttestation {
            issuer: certificate::issuer(&certificate)?,
            subject: certificate::subject(&certificate)?,
            integrated_time: entry.integrated_time,
            statement,
        })
    }
}

/// The signing certificate (DER): `certificate` (v0.3) or the first of `x509CertificateChain`.
fn certificate_of(material: &Value) -> Result<Vec<u8>, String> {
    let raw = material["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())
        .ok_or("verificationMaterial: no certificate (a bundle signed with a key, not keyless)")?;
    decode(raw, "verificationMaterial: the certificate")
}

/// The envelope's payload and its one signature: an in-toto statement.
fn envelope_of(envelope: &Value) -> Result<(Vec<u8>, Vec<u8>), String> {
    let payload_type = envelope["payloadType"].as_str().unwrap_or_default();
    if payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!(
            "dsseEnvelope.payloadType {payload_type:?}: not an in-toto statement"
        ));
    }
    let payload = decode(
        envelope["payload"].as_str().unwrap_or_default(),
        "dsseEnvelope.payload",
    )?;
    let signatures = envelope["signatures"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let [signature] = signatures else {
        return Err(format!(
            "dsseEnvelope.signatures: {} signatures, one expected",
            signatures.len()
        ));
    };
    let signature = decode(
        signature["sig"].as_str().unwrap_or_default(),
        "dsseEnvelope.signatures[0].sig",
    )?;
    Ok((payload, signature))
}

/// A bundle's tlog entry as the Rekor bundle cosign's older format carries: the same signed
/// entry timestamp over the same canonical payload.
fn cosign_bundle(entry: &Value) -> Result<String, String> {
    let number = |field: &str| {
        let value = &entry[field];
        value
            .as_str()
            .and_then(|text| text.parse::<i64>().ok())
            .or_else(|| value.as_i64())
            .ok_or_else(|| format!("verificationMaterial.tlogEntries[0].{field}: not a number"))
    };
    let text = |pointer: &str| {
        entry
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!(
                    "verificationMaterial.tlogEntries[0]{}: missing",
                    pointer.replace('/', ".")
                )
            })
    };
    let kind = text("/kindVersion/kind")?;
    let version = text("/kindVersion/version")?;
    if kind != "dsse" || version != "0.0.1" {
        return Err(format!(
            "the Rekor entry is a {kind} {version}, not a dsse 0.0.1 entry"
        ));
    }
    let log_id = decode(
        text("/logId/keyId")?,
        "verificationMaterial.tlogEntries[0].logId.keyId",
    )?;
    Ok(json!({
        "SignedEntryTimestamp": text("/inclusionPromise/signedEntryTimestamp")
            .map_err(|_| "the Rekor entry has no inclusion promise (signed entry timestamp): it cannot be verified offline".to_owned())?,
        "Payload": {
            "body": text("/canonicalizedBody")?,
            "integratedTime": number("integratedTime")?,
            "logIndex": number("logIndex")?,
            "logID": log_id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        }
    })
    .to_string())
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| format!("{what} is not base64: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::Verifier;
    use super::*;
    use crate::keyless_fixture::{ISSUED_AT, Signer, TestSigstore};
    use crate::trust_root::TrustRoot;

    const NOW: i64 = ISSUED_AT + 86_400;

    fn sigstore() -> TestSigstore {
        TestSigstore::new("attestation tests").expect("test sigstore")
    }

    fn verifier(sigstore: &TestSigstore) -> Verifier {
        let root = TrustRoot::from_json(&sigstore.trusted_root().to_string()).expect("root");
        Verifier::new(&root).expect("verifier")
    }

    fn statement() -> Value {
        json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://pci-policies.io/evidence-pack/v1",
            "subject": [{"name": "index.html", "digest": {"sha256": "00"}}],
            "predicate": {"date": "2026-12-01"}
        })
    }

    fn signer() -> Signer {
        Signer::uri(
            "https://token.actions.githubusercontent.com",
            "https://github.com/corp/platform/.github/workflows/evidence.yml@refs/heads/main",
        )
    }

    fn verify(verifier: &Verifier, bundle: &Value) -> Result<KeylessAttestation, String> {
        verifier.verify_attestation_bundle(bundle.to_string().as_bytes(), NOW)
    }

    #[test]
    fn a_keyless_attestation_bundle_verifies_and_names_its_signer() {
        let sigstore = sigstore();
        let bundle = sigstore.attest(&statement(), &signer()).expect("bundle");
        let attestation = verify(&verifier(&sigstore), &bundle).expect("verifies");
        assert_eq!(
            attestation.issuer,
            "https://token.actions.githubusercontent.com"
        );
        assert_eq!(
            attestation.subject.as_str(),
            "https://github.com/corp/platform/.github/workflows/evidence.yml@refs/heads/main"
        );
        assert_eq!(attestation.statement, statement());
        assert_eq!(attestation.integrated_time, ISSUED_AT + 60);
    }

    #[test]
    fn a_v0_1_bundle_with_a_certificate_chain_verifies() {
        let sigstore = sigstore();
        let mut bundle = sigstore.attest(&statement(), &signer()).expect("bundle");
        let certificate = bundle["verificationMaterial"]["certificate"].take();
        bundle["verificationMaterial"]["x509CertificateChain"] =
            json!({"certificates": [certificate]});
        bundle["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
        assert!(verify(&verifier(&sigstore), &bundle).is_ok());
    }

    /// Every way a bundle can fail, and the check that says so.
    #[test]
    fn a_forged_or_foreign_bundle_is_refused_with_its_reason() {
        let sigstore = sigstore();
        let other = TestSigstore::new("another sigstore").expect("other");
        let verifier = verifier(&sigstore);
        let good = sigstore.attest(&statement(), &signer()).expect("bundle");
        let foreign = other.attest(&statement(), &signer()).expect("bundle");
        let mut other_statement = statement();
        other_statement["predicate"]["date"] = json!("2026-12-02");
        let replaced = sigstore
            .attest(&other_statement, &signer())
            .expect("bundle");

        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Value, Edit, &str)> = vec![
            (
                "foreign Rekor",
                foreign.clone(),
                Box::new(|_| {}),
                "not a tlog of the trust root",
            ),
            (
                "edited statement",
                good.clone(),
                Box::new(move |b| {
                    b["dsseEnvelope"]["payload"] = replaced["dsseEnvelope"]["payload"].clone()
                }),
                "its payload hash differs",
            ),
            (
                "signature of another envelope",
                good.clone(),
                Box::new(|b| {
                    b["dsseEnvelope"]["signatures"][0]["sig"] = json!(STANDARD.encode([1u8; 64]))
                }),
                "for another signature or certificate",
            ),
            (
                "certificate of another CA",
                good.clone(),
                Box::new(move |b| {
                    b["verificationMaterial"]["certificate"] =
                        foreign["verificationMaterial"]["certificate"].clone()
                }),
                "for another signature or certificate",
            ),
            (
                "timestamp edited",
                good.clone(),
                Box::new(|b| {
                    b["verificationMaterial"]["tlogEntries"][0]["integratedTime"] =
                        json!((ISSUED_AT + 7200).to_string())
                }),
                "signed entry timestamp does not verify",
            ),
            (
                "no inclusion promise",
                good.clone(),
                Box::new(|b| {
                    b["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"].take();
                }),
                "no inclusion promise",
            ),
            (
                "hashedrekord",
                good.clone(),
                Box::new(|b| {
                    b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] =
                        json!("hashedrekord")
                }),
                "not a dsse 0.0.1 entry",
            ),
            (
                "signed with a key",
                good.clone(),
                Box::new(|b| {
                    b["verificationMaterial"]["certificate"].take();
                    b["verificationMaterial"]["publicKey"] = json!({"hint": "k"});
                }),
                "no certificate",
            ),
            (
                "two signatures",
                good.clone(),
                Box::new(|b| {
                    let s = b["dsseEnvelope"]["signatures"][0].clone();
                    b["dsseEnvelope"]["signatures"] = json!([s.clone(), s]);
                }),
                "2 signatures, one expected",
            ),
            (
                "not a bundle",
                good.clone(),
                Box::new(|b| b["mediaType"] = json!("application/json")),
                "not a Sigstore bundle",
            ),
            (
                "another payload type",
                good,
                Box::new(|b| b["dsseEnvelope"]["payloadType"] = json!("text/plain")),
                "not an in-toto statement",
            ),
        ];
        for (what, mut bundle, edit, expected) in cases {
            edit(&mut bundle);
            let error = verify(&verifier, &bundle).expect_err(what);
            assert!(error.contains(expected), "{what}: {error}");
        }
    }

    #[test]
    fn a_certificate_expired_at_the_integrated_time_is_refused() {
        let sigstore = sigstore();
        let mut late = signer();
        late.integrated_time = ISSUED_AT + 3600;
        let bundle = sigstore.attest(&statement(), &late).expect("bundle");
        let error = verify(&verifier(&sigstore), &bundle).expect_err("expired");
        assert!(
            error.contains("but the Rekor entry was integrated at"),
            "{error}"
        );
    }
}
