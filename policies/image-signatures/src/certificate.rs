//! X.509 certificates of `certificates`, read strictly enough to refuse at settings time what
//! the host would refuse (or wrongly trust) at admission: one PEM certificate per entry, a key
//! cosign verifies, and a `certificateChain` that really chains — the certificate is issued by
//! a certificate of the chain, each of those by the next, every one of them is a CA, and none is
//! left over. Names are compared as DER bytes, and key identifiers when both sides carry them;
//! the signatures along the chain are the host's to verify.

use crate::der::{self, BIT_STRING, INTEGER, OID, SEQUENCE};
use crate::pem;
use crate::public_key;

/// `[0]` (explicit version) and `[3]` (extensions) of a TBSCertificate.
const VERSION: u8 = 0xa0;
const EXTENSIONS: u8 = 0xa3;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
/// `[0]` keyIdentifier of an AuthorityKeyIdentifier (implicit, primitive).
const KEY_IDENTIFIER: u8 = 0x80;
/// Extension ids (2.5.29.x).
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];

/// What the settings need of one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// The DER Name of the subject and of the issuer.
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    /// The subject and issuer as read by people (`CN=…, O=…`).
    pub subject_text: String,
    pub issuer_text: String,
    /// The key algorithm, e.g. `ECDSA P-256`.
    pub algorithm: String,
    /// basicConstraints cA.
    pub is_ca: bool,
    pub subject_key_id: Option<Vec<u8>>,
    pub authority_key_id: Option<Vec<u8>>,
}

/// Reads one PEM certificate strictly.
pub fn parse(text: &str) -> Result<Certificate, String> {
    let der = pem::decode(text, "CERTIFICATE")?;
    read(&der).map_err(|reason| format!("is not a usable certificate: {reason}"))
}

fn read(der: &[u8]) -> Result<Certificate, String> {
    let (certificate, _) = der::expect(der, SEQUENCE, "Certificate")?;
    let (tbs, rest) = der::expect(certificate, SEQUENCE, "tbsCertificate")?;
    let (_, rest) = der::expect(rest, SEQUENCE, "signatureAlgorithm")?;
    let (_, rest) = der::expect(rest, BIT_STRING, "signatureValue")?;
    if !rest.is_empty() {
        return Err("data after the signature".into());
    }
    let mut fields = tbs;
    if fields.first() == Some(&VERSION) {
        fields = der::expect(fields, VERSION, "version")?.1;
    }
    let (_, fields) = der::expect(fields, INTEGER, "serialNumber")?;
    let (_, fields) = der::expect(fields, SEQUENCE, "signature")?;
    let (issuer, fields) = whole(fields, "issuer")?;
    let (_, fields) = der::expect(fields, SEQUENCE, "validity")?;
    let (subject, fields) = whole(fields, "subject")?;
    let (spki, mut fields) = whole(fields, "subjectPublicKeyInfo")?;
    let algorithm = public_key::algorithm(spki)?;
    let mut extensions = None;
    while !fields.is_empty() {
        let (tag, content, rest) = der::read(fields)?;
        if tag == EXTENSIONS {
            extensions = Some(der::expect(content, SEQUENCE, "extensions")?.0);
        }
        fields = rest;
    }
    let mut certificate = Certificate {
        subject_text: name_text(&subject[2..]),
        issuer_text: name_text(&issuer[2..]),
        subject: subject.to_vec(),
        issuer: issuer.to_vec(),
        algorithm,
        is_ca: false,
        subject_key_id: None,
        authority_key_id: None,
    };
    let mut extensions = extensions.unwrap_or_default();
    while !extensions.is_empty() {
        let (extension, rest) = der::expect(extensions, SEQUENCE, "extension")?;
        extensions = rest;
        let (id, mut value) = der::expect(extension, OID, "extension id")?;
        if value.first() == Some(&BOOLEAN) {
            value = der::expect(value, BOOLEAN, "critical")?.1;
        }
        let (value, _) = der::expect(value, OCTET_STRING, "extension value")?;
        match id {
            BASIC_CONSTRAINTS => {
                let (constraints, _) = der::expect(value, SEQUENCE, "basicConstraints")?;
                certificate.is_ca = matches!(der::read(constraints), Ok((BOOLEAN, [0xff], _)));
            }
            SUBJECT_KEY_ID => {
                let (key_id, _) = der::expect(value, OCTET_STRING, "subjectKeyIdentifier")?;
                certificate.subject_key_id = Some(key_id.to_vec());
            }
            AUTHORITY_KEY_ID => {
                let (identifier, _) = der::expect(value, SEQUENCE, "authorityKeyIdentifier")?;
                if let Ok((KEY_IDENTIFIER, key_id, _)) = der::read(identifier) {
                    certificate.authority_key_id = Some(key_id.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(certificate)
}

/// One SEQUENCE with its tag and length (Names and keys are compared as whole DER values).
fn whole<'a>(bytes: &'a [u8], what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let (_, rest) = der::expect(bytes, SEQUENCE, what)?;
    let taken = bytes.len() - rest.len();
    Ok((&bytes[..taken], rest))
}

/// A Name (RDNSequence) as `CN=…, O=…`, in the order written; unknown attributes by OID.
fn name_text(mut rdns: &[u8]) -> String {
    let mut parts = Vec::new();
    while let Ok((_, set, rest)) = der::read(rdns) {
        rdns = rest;
        let mut attributes = set;
        while let Ok((_, attribute, rest)) = der::read(attributes) {
            attributes = rest;
            let Ok((id, value)) = der::expect(attribute, OID, "attribute") else {
                continue;
            };
            let value = der::read(value)
                .map(|(_, text, _)| String::from_utf8_lossy(text).into_owned())
                .unwrap_or_default();
            parts.push(format!("{}={value}", attribute_name(id)));
        }
    }
    parts.join(", ")
}

fn attribute_name(id: &[u8]) -> String {
    match id {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        other => other
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(""),
    }
}

impl Certificate {
    /// True when `issuer` may have issued `self`: the names match, and the key identifiers
    /// when both are given.
    fn issued_by(&self, issuer: &Certificate) -> bool {
        self.issuer == issuer.subject
            && match (&self.authority_key_id, &issuer.subject_key_id) {
                (Some(authority), Some(subject)) => authority == subject,
                _ => true,
            }
    }

    fn self_issued(&self) -> bool {
        self.issued_by(self)
    }
}

/// Checks that `chain` (read from `certificateChain`) chains `certificate` up: each link is
/// issued by the next one found in the chain, every chain certificate is a CA and is used.
/// The error names the chain entry at fault, when one is.
pub fn check_chain(
    certificate: &Certificate,
    chain: &[Certificate],
) -> Result<(), (Option<usize>, String)> {
    let mut unused: Vec<usize> = (0..chain.len()).collect();
    let mut current = certificate;
    let mut link = "the certificate".to_owned();
    // A chain certificate that issued itself is a root: the chain ends there.
    let mut at_root = false;
    while !unused.is_empty() && !at_root {
        let Some(at) = unused
            .iter()
            .position(|&index| current.issued_by(&chain[index]))
        else {
            if std::ptr::eq(current, certificate) {
                return Err((
                    None,
                    format!(
                        "does not chain: the certificate's issuer \"{}\" is the subject of none of its certificates",
                        current.issuer_text
                    ),
                ));
            }
            break;
        };
        let index = unused.remove(at);
        let issuer = &chain[index];
        if !issuer.is_ca {
            return Err((
                Some(index),
                format!(
                    "(\"{}\") issued {link} but is not a CA certificate (basicConstraints cA is not true)",
                    issuer.subject_text
                ),
            ));
        }
        link = format!("certificateChain[{index}]");
        current = issuer;
        at_root = current.self_issued();
    }
    match unused.first() {
        None => Ok(()),
        Some(&index) => Err((
            Some(index),
            format!(
                "(\"{}\") is not on the certificate's chain: it issued none of the certificates above it",
                chain[index].subject_text
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(name: &str) -> Certificate {
        let path = format!("{}/test_data/chain/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn reads_names_keys_and_the_ca_flag() {
        let leaf = certificate("leaf.crt");
        assert_eq!(leaf.subject_text, "CN=payments-release, O=Corp");
        assert_eq!(leaf.issuer_text, "CN=Corp Signing Intermediate, O=Corp");
        assert_eq!(leaf.algorithm, "ECDSA P-256");
        assert!(!leaf.is_ca);
        let root = certificate("root.crt");
        assert!(root.is_ca && root.self_issued());
        assert_eq!(
            leaf.authority_key_id,
            certificate("intermediate.crt").subject_key_id
        );
    }

    #[test]
    fn a_chain_in_any_order_chains() {
        let leaf = certificate("leaf.crt");
        let intermediate = certificate("intermediate.crt");
        let root = certificate("root.crt");
        assert_eq!(
            check_chain(&leaf, &[intermediate.clone(), root.clone()]),
            Ok(())
        );
        assert_eq!(check_chain(&leaf, &[root, intermediate.clone()]), Ok(()));
        assert_eq!(
            check_chain(&leaf, &[intermediate]),
            Ok(()),
            "an intermediate anchor"
        );
        assert_eq!(
            check_chain(&leaf, &[]),
            Ok(()),
            "no chain: the certificate is trusted"
        );
    }

    #[test]
    fn a_chain_that_does_not_chain_is_refused_naming_the_entry() {
        let leaf = certificate("leaf.crt");
        let intermediate = certificate("intermediate.crt");
        let root = certificate("root.crt");
        let other = certificate("other-root.crt");
        let (at, missing) = check_chain(&leaf, std::slice::from_ref(&root)).expect_err("no issuer");
        assert_eq!(at, None);
        assert!(
            missing
                .contains("issuer \"CN=Corp Signing Intermediate, O=Corp\" is the subject of none"),
            "{missing}"
        );
        let (at, stray) = check_chain(&leaf, &[intermediate.clone(), other]).expect_err("stray");
        assert_eq!(at, Some(1));
        assert!(
            stray.starts_with("(\"CN=Other Root, O=Elsewhere\") is not on"),
            "{stray}"
        );
        let (at, not_ca) = check_chain(
            &certificate("issued-by-leaf.crt"),
            &[leaf, intermediate, root],
        )
        .expect_err("a leaf issuing");
        assert_eq!(at, Some(0));
        assert!(
            not_ca.starts_with(
                "(\"CN=payments-release, O=Corp\") issued the certificate but is not a CA"
            ),
            "{not_ca}"
        );
    }
}
