//! A Sigstore trust root read from a file, offline: the Fulcio certificate authorities and the
//! Rekor transparency logs that keyless signatures are verified with.
//!
//! Two formats, as `kwctl --sigstore-trust-config` and `cosign --trusted-root` read them: a
//! `trusted_root.json` (Sigstore protobuf-specs `TrustedRoot` in JSON: what `cosign
//! trusted-root create` writes and the public-good TUF repository serves), and a
//! `ClientTrustConfig` (`{"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
//! "trustedRoot": {…}, "signingConfig": {…}}`). Every error names the field.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use serde_json::{Map, Value};
use sigstore::crypto::CosignVerificationKey;
use x509_cert::der::Decode;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

const CLIENT_TRUST_CONFIG: &str = "application/vnd.dev.sigstore.clienttrustconfig";
const TRUSTED_ROOT: &str = "application/vnd.dev.sigstore.trustedroot";

/// The material keyless verification trusts.
#[derive(Clone, Debug)]
pub struct TrustRoot {
    /// Fulcio: who issues signing certificates.
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Rekor: whose signed entry timestamps are believed.
    pub tlogs: Vec<TransparencyLog>,
    /// Certificate transparency logs (read, not used: cosign's SCT check is not made here).
    pub ctlogs: Vec<TransparencyLog>,
    /// RFC 3161 timestamp authorities (read, not used: the Rekor time is the signing time).
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// A certificate authority and the time it issued certificates.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    /// Its `uri` (`https://fulcio.sigstore.dev`), for messages.
    pub uri: String,
    /// DER certificates, the issuing one first and the root last.
    pub chain: Vec<Vec<u8>>,
    pub valid_for: ValidFor,
}

/// A transparency log: its key and the time that key signed.
#[derive(Clone, Debug)]
pub struct TransparencyLog {
    pub base_url: String,
    /// `logId.keyId`; a Rekor bundle names it in hex as its `logID`.
    pub key_id: Vec<u8>,
    /// DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    pub valid_for: ValidFor,
}

/// `validFor`: from `start`, until `end` when there is one (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidFor {
    pub start: i64,
    pub end: Option<i64>,
}

impl ValidFor {
    /// True when `time` (Unix seconds) is within the range.
    pub fn contains(&self, time: i64) -> bool {
        self.start <= time && self.end.is_none_or(|end| time <= end)
    }
}

impl TrustRoot {
    /// Reads a `trusted_root.json` or a ClientTrustConfig file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the Sigstore trust config {}", path.display()))?;
        Self::from_json(&text)
            .with_context(|| format!("{} is not a usable Sigstore trust config", path.display()))
    }

    /// Reads a TrustedRoot or a ClientTrustConfig (told apart by `trustedRoot`).
    pub fn from_json(text: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text).context("not JSON")?;
        let top = object(&value, "the document")?;
        if let Some(trusted_root) = top.get("trustedRoot") {
            media_type(top, "", CLIENT_TRUST_CONFIG)?;
            Self::from_trusted_root(trusted_root, "trustedRoot")
        } else {
            Self::from_trusted_root(&value, "")
        }
    }

    fn from_trusted_root(value: &Value, path: &str) -> Result<Self> {
        let root = object(value, or_document(path))?;
        media_type(root, path, TRUSTED_ROOT)?;
        let certificate_authorities =
            list(root, path, "certificateAuthorities", certificate_authority)?;
        let tlogs = list(root, path, "tlogs", |v, p| transparency_log(v, p, true))?;
        let ctlogs = list(root, path, "ctlogs", |v, p| transparency_log(v, p, false))?;
        let timestamp_authorities =
            list(root, path, "timestampAuthorities", certificate_authority)?;
        if certificate_authorities.is_empty() {
            bail!(
                "{}: no Fulcio certificate authority: keyless signatures cannot be verified without one",
                join(path, "certificateAuthorities")
            );
        }
        if tlogs.is_empty() {
            bail!(
                "{}: no Rekor transparency log: keyless signatures cannot be verified without one",
                join(path, "tlogs")
            );
        }
        Ok(Self {
            certificate_authorities,
            tlogs,
            ctlogs,
            timestamp_authorities,
        })
    }
}

fn certificate_authority(value: &Value, path: &str) -> Result<CertificateAuthority> {
    let ca = object(value, path)?;
    let uri = optional_string(ca, path, "uri")?.unwrap_or_default();
    let chain_path = join(path, "certChain");
    let chain = object(field(ca, path, "certChain")?, &chain_path)?;
    let chain = list(chain, &chain_path, "certificates", |v, p| {
        let der = raw_bytes(object(v, p)?, p)?;
        x509_cert::Certificate::from_der(&der)
            .map_err(|e| anyhow!("{p}.rawBytes: not a DER X.509 certificate: {e}"))?;
        Ok(der)
    })?;
    if chain.is_empty() {
        bail!("{chain_path}.certificates: empty: a certificate authority needs its certificates");
    }
    Ok(CertificateAuthority {
        uri,
        chain,
        valid_for: valid_for(ca, path)?,
    })
}

fn transparency_log(value: &Value, path: &str, usable_key: bool) -> Result<TransparencyLog> {
    let log = object(value, path)?;
    let base_url = optional_string(log, path, "baseUrl")?.unwrap_or_default();
    let key_path = join(path, "publicKey");
    let key = object(field(log, path, "publicKey")?, &key_path)?;
    let public_key = raw_bytes(key, &key_path)?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&public_key)
        .map_err(|e| anyhow!("{key_path}.rawBytes: not a DER SubjectPublicKeyInfo: {e}"))?;
    if usable_key {
        CosignVerificationKey::try_from(&spki).map_err(|e| {
            anyhow!("{key_path}.rawBytes: a key Rekor signatures cannot be verified with: {e}")
        })?;
    }
    let id_path = join(path, "logId");
    let log_id = object(field(log, path, "logId")?, &id_path)?;
    let key_id = base64_field(log_id, &id_path, "keyId")?;
    if key_id.is_empty() {
        bail!("{id_path}.keyId: empty");
    }
    Ok(TransparencyLog {
        base_url,
        key_id,
        public_key,
        valid_for: valid_for(key, &key_path)?,
    })
}

/// `validFor` of `parent`: `start` required, `end` optional, RFC 3339 timestamps.
fn valid_for(parent: &Map<String, Value>, path: &str) -> Result<ValidFor> {
    let path = join(path, "validFor");
    let Some(value) = parent.get("validFor") else {
        bail!("{path}: missing: the time this key or authority may be trusted is required");
    };
    let range = object(value, &path)?;
    let start =
        optional_string(range, &path, "start")?.ok_or_else(|| anyhow!("{path}.start: missing"))?;
    let start = timestamp(&start, &join(&path, "start"))?;
    let end = optional_string(range, &path, "end")?
        .map(|end| timestamp(&end, &join(&path, "end")))
        .transpose()?;
    if let Some(end) = end
        && end < start
    {
        bail!("{path}: end is before start");
    }
    Ok(ValidFor { start, end })
}

fn timestamp(text: &str, path: &str) -> Result<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp())
        .map_err(|e| anyhow!("{path}: {text:?} is not an RFC 3339 time: {e}"))
}

/// `mediaType`, when given, must be of the `expected` family.
fn media_type(object: &Map<String, Value>, path: &str, expected: &str) -> Result<()> {
    match optional_string(object, path, "mediaType")? {
        Some(media_type) if !media_type.starts_with(expected) => bail!(
            "{}: {media_type:?} is not a {expected} media type",
            join(path, "mediaType")
        ),
        _ => Ok(()),
    }
}

/// `key` of `parent` as a list (absent: empty), each item read by `read` with its path.
fn list<T>(
    parent: &Map<String, Value>,
    path: &str,
    key: &str,
    read: impl Fn(&Value, &str) -> Result<T>,
) -> Result<Vec<T>> {
    let path = join(path, key);
    match parent.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| read(item, &format!("{path}[{index}]")))
            .collect(),
        Some(_) => bail!("{path}: expected a list"),
    }
}

fn raw_bytes(parent: &Map<String, Value>, path: &str) -> Result<Vec<u8>> {
    let bytes = base64_field(parent, path, "rawBytes")?;
    if bytes.is_empty() {
        bail!("{}: empty", join(path, "rawBytes"));
    }
    Ok(bytes)
}

fn base64_field(parent: &Map<String, Value>, path: &str, key: &str) -> Result<Vec<u8>> {
    let text = optional_string(parent, path, key)?
        .ok_or_else(|| anyhow!("{}: missing", join(path, key)))?;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| anyhow!("{}: not base64: {e}", join(path, key)))
}

fn field<'a>(parent: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a Value> {
    parent
        .get(key)
        .ok_or_else(|| anyhow!("{}: missing", join(path, key)))
}

fn optional_string(parent: &Map<String, Value>, path: &str, key: &str) -> Result<Option<String>> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => bail!("{}: expected a string", join(path, key)),
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| anyhow!("{path}: expected an object"))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn or_document(path: &str) -> &str {
    if path.is_empty() {
        "the document"
    } else {
        path
    }
}

#[cfg(test)]
mod tests;
