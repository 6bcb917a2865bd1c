//! PEM checks for settings: public keys and certificates must at least be well-formed DER.

use base64::Engine as _;

/// Checks that `text` is one PEM block labelled `label` whose body is base64 DER (a SEQUENCE).
pub fn check(text: &str, label: &str) -> Result<(), String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix(begin.as_str())
        .and_then(|rest| rest.strip_suffix(end.as_str()))
        .ok_or_else(|| format!("is not a PEM {label} (expected {begin} … {end})"))?;
    let base64_text: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64_text.as_bytes())
        .map_err(|error| format!("PEM {label} body is not valid base64: {error}"))?;
    match der.first() {
        Some(0x30) if der.len() > 16 => Ok(()),
        _ => Err(format!(
            "PEM {label} body is not DER-encoded ({} bytes)",
            der.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../test_data/key-a.pub");
    const CERT: &str = include_str!("../test_data/signer.crt");

    #[test]
    fn accepts_real_keys_and_certificates() {
        assert_eq!(check(KEY, "PUBLIC KEY"), Ok(()));
        assert_eq!(check(CERT, "CERTIFICATE"), Ok(()));
    }

    #[test]
    fn rejects_wrong_labels_bodies_and_truncation() {
        assert!(check(KEY, "CERTIFICATE").is_err());
        assert!(
            check(
                "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----",
                "PUBLIC KEY"
            )
            .is_err()
        );
        assert!(
            check(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                "PUBLIC KEY"
            )
            .is_err()
        );
        assert!(check(&KEY[..KEY.len() - 30], "PUBLIC KEY").is_err());
        assert!(check("", "PUBLIC KEY").is_err());
    }
}
