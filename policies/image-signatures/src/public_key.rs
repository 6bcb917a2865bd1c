//! Public keys of `publicKeys.keys`, read strictly into their canonical form: the DER
//! SubjectPublicKeyInfo. Two entries are the same key when these bytes are equal, whatever the
//! PEM line wrapping or whitespace; only the algorithms cosign verifies are accepted.

use crate::der::{self, BIT_STRING, INTEGER, NULL, OID, SEQUENCE};
use crate::pem;

/// What the settings accept, for messages.
pub const SUPPORTED: &str = "ECDSA P-256, ECDSA P-384, Ed25519, RSA of 2048 bits or more";

/// DER contents of the algorithm and curve identifiers.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A public key in its canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    /// The algorithm, e.g. `ECDSA P-256`.
    pub algorithm: String,
}

impl PublicKey {
    /// The key's fingerprint for messages: the first 16 hex digits of the SHA-256 of its DER
    /// SubjectPublicKeyInfo, which
    /// `openssl pkey -pubin -in cosign.pub -outform DER | sha256sum` prints in full.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        sha2::Sha256::digest(&self.spki)
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// Reads a PEM `PUBLIC KEY` strictly; the error says what is wrong and what is supported.
pub fn parse(text: &str) -> Result<PublicKey, String> {
    let spki = pem::decode(text, "PUBLIC KEY")?;
    let algorithm = algorithm(&spki).map_err(|reason| format!("is not a usable key: {reason}"))?;
    Ok(PublicKey { spki, algorithm })
}

/// The algorithm of a SubjectPublicKeyInfo, checked against what cosign verifies.
pub fn algorithm(spki: &[u8]) -> Result<String, String> {
    let (info, _) = der::expect(spki, SEQUENCE, "SubjectPublicKeyInfo")?;
    let (identifier, rest) = der::expect(info, SEQUENCE, "algorithm")?;
    let (key_bits, rest) = der::expect(rest, BIT_STRING, "subjectPublicKey")?;
    if !rest.is_empty() {
        return Err("data after the subjectPublicKey".into());
    }
    let (oid, parameters) = der::expect(identifier, OID, "algorithm identifier")?;
    let key = match key_bits.split_first() {
        Some((0, key)) => key,
        _ => return Err("subjectPublicKey has unused bits".into()),
    };
    match oid {
        EC_PUBLIC_KEY => {
            let (curve, rest) = der::expect(parameters, OID, "EC curve")?;
            let (name, size) = match curve {
                P256 => ("ECDSA P-256", 32),
                P384 => ("ECDSA P-384", 48),
                P521 => {
                    return Err(format!(
                        "ECDSA P-521 is not verified by cosign; supported: {SUPPORTED}"
                    ));
                }
                _ => {
                    return Err(format!(
                        "an EC curve cosign does not verify; supported: {SUPPORTED}"
                    ));
                }
            };
            let uncompressed = key.first() == Some(&0x04) && key.len() == 1 + 2 * size;
            let compressed = matches!(key.first(), Some(0x02 | 0x03)) && key.len() == 1 + size;
            if !rest.is_empty() || !(uncompressed || compressed) {
                return Err(format!("{name} point of {} bytes is malformed", key.len()));
            }
            Ok(name.into())
        }
        RSA => {
            if parameters != [NULL, 0x00] {
                return Err("RSA parameters must be NULL".into());
            }
            let (fields, rest) = der::expect(key, SEQUENCE, "RSAPublicKey")?;
            let (modulus, fields) = der::expect(fields, INTEGER, "RSA modulus")?;
            let (_, fields) = der::expect(fields, INTEGER, "RSA exponent")?;
            if !rest.is_empty() || !fields.is_empty() {
                return Err("data after the RSA key".into());
            }
            let significant = modulus.iter().skip_while(|&&b| b == 0).count();
            let bits = significant * 8
                - modulus
                    .iter()
                    .find(|&&b| b != 0)
                    .map_or(0, |b| b.leading_zeros() as usize);
            if bits < 2048 {
                return Err(format!(
                    "RSA key of {bits} bits is too weak; supported: {SUPPORTED}"
                ));
            }
            Ok(format!("RSA {bits}"))
        }
        ED25519 => {
            if !parameters.is_empty() || key.len() != 32 {
                return Err("Ed25519 key must be 32 bytes without parameters".into());
            }
            Ok("Ed25519".into())
        }
        _ => Err(format!(
            "an algorithm cosign does not verify; supported: {SUPPORTED}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> String {
        let path = format!("{}/test_data/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn reads_the_algorithms_cosign_verifies() {
        for (file, algorithm) in [
            ("key-a.pub", "ECDSA P-256"),
            ("key-p384.pub", "ECDSA P-384"),
            ("key-ed25519.pub", "Ed25519"),
            ("key-rsa2048.pub", "RSA 2048"),
        ] {
            assert_eq!(
                parse(&key(file)).map(|k| k.algorithm),
                Ok(algorithm.to_owned()),
                "{file}"
            );
        }
    }

    #[test]
    fn refuses_the_others_naming_what_is_supported() {
        for (file, expected) in [
            ("key-p521.pub", "ECDSA P-521 is not verified by cosign"),
            ("key-rsa1024.pub", "RSA key of 1024 bits is too weak"),
        ] {
            let error = parse(&key(file)).expect_err("refused");
            assert!(
                error.contains(expected) && error.contains(SUPPORTED),
                "{file}: {error}"
            );
        }
        let private = parse(&key("private-key-p256.pem")).expect_err("private");
        assert!(private.starts_with("is a PRIVATE KEY"), "{private}");
    }

    /// The fingerprint is what `openssl pkey -pubin -outform DER | sha256sum` starts with.
    #[test]
    fn fingerprints_are_the_sha256_of_the_key_info() {
        let fingerprint = |file: &str| parse(&key(file)).map(|k| k.fingerprint());
        assert_eq!(fingerprint("key-a.pub"), Ok("d1af860e6757e4a8".to_owned()));
        assert_ne!(fingerprint("key-a.pub"), fingerprint("key-b.pub"));
    }

    #[test]
    fn one_key_however_it_is_wrapped() {
        let text = key("key-a.pub");
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let rewrapped = format!(
            "  -----BEGIN PUBLIC KEY-----\r\n{}\r\n{}\r\n-----END PUBLIC KEY-----\n\n",
            &body[..20],
            &body[20..]
        );
        assert_eq!(parse(&text), parse(&rewrapped));
        assert_ne!(parse(&text), parse(&key("key-b.pub")));
    }
}
