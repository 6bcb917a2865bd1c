//! The Fulcio certificate of a keyless signature: issued by a certificate authority of the
//! trust root (webpki, at the Rekor integrated time), for code signing, and the identity it
//! names (OIDC issuer extension, subject alternative name).

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};
use x509_cert::Certificate;
use x509_cert::der::Decode;
use x509_cert::der::asn1::{ObjectIdentifier, Utf8StringRef};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{KeyUsage as KeyUsageExtension, SubjectAltName};

use super::rekor::utc;
use crate::trust_root::{CertificateAuthority, ValidFor};

/// Fulcio's OIDC issuer extension, legacy form: the issuer's bytes as the extension value.
const ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension, v2: a DER UTF8String.
const ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// id-kp-codeSigning (1.3.6.1.5.5.7.3.3), DER content bytes.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Who the certificate was issued to: its subject alternative name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Email(String),
    Uri(String),
}

impl Subject {
    /// The e-mail address or URI.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(value) | Self::Uri(value) => value,
        }
    }
}

/// A certificate authority of the trust root, ready for webpki.
pub(super) struct Authority {
    uri: String,
    anchor: TrustAnchor<'static>,
    intermediates: Vec<CertificateDer<'static>>,
    valid_for: ValidFor,
}

impl Authority {
    /// Each CA's last certificate is its trust anchor, the others intermediates.
    pub(super) fn all(authorities: &[CertificateAuthority]) -> Result<Vec<Self>, String> {
        authorities
            .iter()
            .enumerate()
            .map(|(index, ca)| {
                let (root, intermediates) = ca.chain.split_last().ok_or_else(|| {
                    format!("certificateAuthorities[{index}].certChain.certificates: empty")
                })?;
                let root = CertificateDer::from(root.as_slice());
                let anchor = webpki::anchor_from_trusted_cert(&root)
                    .map_err(|e| {
                        format!(
                            "certificateAuthorities[{index}].certChain.certificates[{}]: not a usable root certificate: {e}",
                            ca.chain.len() - 1
                        )
                    })?
                    .to_owned();
                Ok(Self {
                    uri: ca.uri.clone(),
                    anchor,
                    intermediates: intermediates
                        .iter()
                        .map(|der| CertificateDer::from(der.clone()))
                        .collect(),
                    valid_for: ca.valid_for,
                })
            })
            .collect()
    }
}

/// The certificate chains to an authority that was valid at `time`, with every certificate of
/// the path valid at `time` and the code-signing extended key usage.
pub(super) fn chain(authorities: &[Authority], der: &[u8], time: i64) -> Result<(), String> {
    let seconds = u64::try_from(time).map_err(|_| format!("integrated time {time} is negative"))?;
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
    let der = CertificateDer::from(der);
    let certificate =
        EndEntityCert::try_from(&der).map_err(|e| format!("the certificate is not usable: {e}"))?;
    let mut reasons = Vec::new();
    for authority in authorities {
        if !authority.valid_for.contains(time) {
            reasons.push(format!("{}: not valid at {}", authority.uri, utc(time)));
            continue;
        }
        match certificate.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            std::slice::from_ref(&authority.anchor),
            &authority.intermediates,
            at,
            KeyUsage::required(CODE_SIGNING),
            None,
            None,
        ) {
            Ok(_) => return Ok(()),
            Err(e) => reasons.push(format!("{}: {e}", authority.uri)),
        }
    }
    Err(format!(
        "the certificate was not issued by a certificate authority of the trust root ({})",
        reasons.join("; ")
    ))
}

/// The certificate was valid when Rekor integrated the entry (Fulcio certificates live ten
/// minutes: the signature must have been logged within them).
pub(super) fn check_validity(certificate: &Certificate, time: i64) -> Result<(), String> {
    let validity = &certificate.tbs_certificate.validity;
    let seconds = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    let (not_before, not_after) = (seconds(validity.not_before), seconds(validity.not_after));
    if time < not_before || time > not_after {
        return Err(format!(
            "the certificate was valid from {} to {}, but the Rekor entry was integrated at {}",
            utc(not_before),
            utc(not_after),
            utc(time)
        ));
    }
    Ok(())
}

/// The key usage allows digital signatures (the code-signing extended usage is part of the
/// chain check).
pub(super) fn check_usage(certificate: &Certificate) -> Result<(), String> {
    match certificate.tbs_certificate.get::<KeyUsageExtension>() {
        Ok(Some((_, usage))) if usage.digital_signature() => Ok(()),
        Ok(_) => Err("the certificate's key usage does not allow digital signatures".into()),
        Err(e) => Err(format!("the certificate's key usage is not readable: {e}")),
    }
}

/// The OIDC issuer: the v2 extension (DER UTF8String) or the legacy one (raw UTF-8); when both
/// are present they must agree.
pub(super) fn issuer(certificate: &Certificate) -> Result<String, String> {
    let extension = |oid: ObjectIdentifier| {
        certificate
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|extension| extension.extn_id == oid)
            .map(|extension| extension.extn_value.as_bytes())
    };
    let v2 = extension(ISSUER_V2)
        .map(|bytes| {
            Utf8StringRef::from_der(bytes)
                .map(|text| text.as_str().to_owned())
                .map_err(|e| format!("the issuer extension {ISSUER_V2} is not a UTF8String: {e}"))
        })
        .transpose()?;
    let v1 = extension(ISSUER_V1)
        .map(|bytes| {
            String::from_utf8(bytes.to_vec())
                .map_err(|_| format!("the issuer extension {ISSUER_V1} is not UTF-8"))
        })
        .transpose()?;
    match (v2, v1) {
        (Some(v2), Some(v1)) if v2 != v1 => Err(format!(
            "the certificate names two issuers: {v2:?} ({ISSUER_V2}) and {v1:?} ({ISSUER_V1})"
        )),
        (Some(issuer), _) | (None, Some(issuer)) => Ok(issuer),
        (None, None) => Err(format!(
            "the certificate has no OIDC issuer extension ({ISSUER_V2} or {ISSUER_V1})"
        )),
    }
}

/// The first e-mail or URI of the subject alternative name.
pub(super) fn subject(certificate: &Certificate) -> Result<Subject, String> {
    let (_, names) = certificate
        .tbs_certificate
        .get::<SubjectAltName>()
        .map_err(|e| format!("the subject alternative name is not readable: {e}"))?
        .ok_or("the certificate has no subject alternative name")?;
    names
        .0
        .iter()
        .find_map(|name| match name {
            GeneralName::Rfc822Name(email) => Some(Subject::Email(email.to_string())),
            GeneralName::UniformResourceIdentifier(uri) => Some(Subject::Uri(uri.to_string())),
            _ => None,
        })
        .ok_or_else(|| "the subject alternative name has no e-mail or URI".to_owned())
}
