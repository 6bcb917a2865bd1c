//! The Rekor bundle of a keyless signature: its signed entry timestamp (SET) verified with a
//! tlog key of the trust root, and its entry bound to the signature it comes with.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
use sigstore::cosign::bundle::Bundle;
use sigstore::crypto::{CosignVerificationKey, Signature};
use x509_cert::der::Decode;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::digest::sha256_hex;
use crate::trust_root::{TransparencyLog, ValidFor};

/// A tlog key and when it signed.
struct Log {
    base_url: String,
    key: CosignVerificationKey,
    valid_for: ValidFor,
}

/// The tlog keys of the trust root, by the hex `logID` a bundle names.
pub(super) struct Logs(BTreeMap<String, Log>);

/// A Rekor entry whose signed entry timestamp verified.
pub(super) struct Entry {
    pub(super) integrated_time: i64,
    body: Value,
}

impl Logs {
    pub(super) fn new(tlogs: &[TransparencyLog]) -> Result<Self, String> {
        let mut logs = BTreeMap::new();
        for (index, tlog) in tlogs.iter().enumerate() {
            let key = SubjectPublicKeyInfoOwned::from_der(&tlog.public_key)
                .map_err(|e| e.to_string())
                .and_then(|spki| CosignVerificationKey::try_from(&spki).map_err(|e| e.to_string()))
                .map_err(|e| format!("tlogs[{index}].publicKey.rawBytes: not usable: {e}"))?;
            let id: String = tlog.key_id.iter().map(|b| format!("{b:02x}")).collect();
            logs.insert(
                id,
                Log {
                    base_url: tlog.base_url.clone(),
                    key,
                    valid_for: tlog.valid_for,
                },
            );
        }
        Ok(Self(logs))
    }

    /// Reads the bundle annotation and verifies its SET with the key of the log it names.
    pub(super) fn verify(&self, bundle: &str) -> Result<Entry, String> {
        let bundle: Bundle = serde_json::from_str(bundle)
            .map_err(|e| format!("the Rekor bundle is not readable: {e}"))?;
        let payload = &bundle.payload;
        let log = self
            .0
            .get(&payload.log_id.to_ascii_lowercase())
            .ok_or_else(|| {
                format!(
                    "the Rekor bundle names log {}, which is not a tlog of the trust root",
                    payload.log_id
                )
            })?;
        if !log.valid_for.contains(payload.integrated_time) {
            return Err(format!(
                "the key of {} was not valid at the entry's integrated time {}",
                log.base_url,
                utc(payload.integrated_time)
            ));
        }
        let mut canonical = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(
            &mut canonical,
            olpc_cjson::CanonicalFormatter::new(),
        );
        payload
            .serialize(&mut serializer)
            .map_err(|e| format!("the Rekor bundle payload cannot be canonicalised: {e}"))?;
        log.key
            .verify_signature(
                Signature::Base64Encoded(bundle.signed_entry_timestamp.as_bytes()),
                &canonical,
            )
            .map_err(|_| {
                format!(
                    "the Rekor signed entry timestamp does not verify with the key of {}",
                    log.base_url
                )
            })?;
        let body = base64::engine::general_purpose::STANDARD
            .decode(&payload.body)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or("the Rekor entry body is not base64 JSON")?;
        Ok(Entry {
            integrated_time: payload.integrated_time,
            body,
        })
    }
}

impl Entry {
    /// The entry (`hashedrekord` or `rekord`, 0.0.1) logged this signature of this payload
    /// with this certificate.
    pub(super) fn binds(
        &self,
        signature: &str,
        payload: &[u8],
        certificate_der: &[u8],
    ) -> Result<(), String> {
        let kind = self.text("/kind")?;
        let version = self.text("/apiVersion")?;
        if !matches!(kind, "hashedrekord" | "rekord") || version != "0.0.1" {
            return Err(format!(
                "the Rekor entry is a {kind} {version}, not a hashedrekord or rekord 0.0.1"
            ));
        }
        let algorithm = self.text("/spec/data/hash/algorithm")?;
        let hash = self.text("/spec/data/hash/value")?;
        if algorithm != "sha256" || !hash.eq_ignore_ascii_case(&sha256_hex(payload)) {
            return Err("the Rekor entry is for another payload (its hash differs)".into());
        }
        let decode = |text: &str, what: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| format!("{what} is not base64: {e}"))
        };
        if decode(
            self.text("/spec/signature/content")?,
            "the Rekor entry's signature",
        )? != decode(signature, "the signature")?
        {
            return Err("the Rekor entry is for another signature".into());
        }
        let logged = decode(
            self.text("/spec/signature/publicKey/content")?,
            "the Rekor entry's certificate",
        )?;
        let logged = super::pem_certificate(&logged)
            .map_err(|e| format!("the Rekor entry's certificate is not readable: {e}"))?;
        if logged != certificate_der {
            return Err("the Rekor entry is for another certificate".into());
        }
        Ok(())
    }

    /// The entry (`dsse` 0.0.1) logged this payload, signed with this signature (raw bytes)
    /// by this certificate.
    pub(super) fn binds_dsse(
        &self,
        signature: &[u8],
        payload: &[u8],
        certificate_der: &[u8],
    ) -> Result<(), String> {
        let kind = self.text("/kind")?;
        let version = self.text("/apiVersion")?;
        if kind != "dsse" || version != "0.0.1" {
            return Err(format!(
                "the Rekor entry is a {kind} {version}, not a dsse 0.0.1"
            ));
        }
        let algorithm = self.text("/spec/payloadHash/algorithm")?;
        let hash = self.text("/spec/payloadHash/value")?;
        if algorithm != "sha256" || !hash.eq_ignore_ascii_case(&sha256_hex(payload)) {
            return Err(
                "the Rekor entry is for another statement (its payload hash differs)".into(),
            );
        }
        let decode = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
        };
        let logged = self
            .body
            .pointer("/spec/signatures")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|entry| {
                let same_signature = entry["signature"]
                    .as_str()
                    .and_then(decode)
                    .is_some_and(|logged| logged == signature);
                let same_certificate = entry["verifier"]
                    .as_str()
                    .and_then(decode)
                    .and_then(|pem| super::pem_certificate(&pem).ok())
                    .is_some_and(|logged| logged == certificate_der);
                same_signature && same_certificate
            });
        if !logged {
            return Err("the Rekor entry is for another signature or certificate".into());
        }
        Ok(())
    }

    fn text(&self, pointer: &str) -> Result<&str, String> {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the Rekor entry has no {pointer}"))
    }
}

/// `time` (Unix seconds) in RFC 3339, for messages.
pub(super) fn utc(time: i64) -> String {
    chrono::DateTime::from_timestamp(time, 0)
        .map_or_else(|| format!("{time} (Unix time)"), |t| t.to_rfc3339())
}
