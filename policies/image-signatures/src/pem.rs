//! PEM, read strictly: one block with the expected label, nothing but whitespace around it,
//! base64 lines between the BEGIN and END lines, and a body that is exactly one DER value.

use base64::Engine as _;

/// The labels of private keys, which must never be pasted where a public key is expected.
const PRIVATE_KEY_LABELS: [&str; 4] = [
    "PRIVATE KEY",
    "EC PRIVATE KEY",
    "RSA PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
];

/// The DER body of `text`, one PEM block labelled `label`.
pub fn decode(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let trimmed = text.trim();
    if let Some(private) = PRIVATE_KEY_LABELS
        .iter()
        .find(|private| trimmed.starts_with(&format!("-----BEGIN {private}-----")))
    {
        return Err(format!(
            "is a {private}: give the public key (`cosign public-key --key <key>` prints it), never the private one"
        ));
    }
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = trimmed
        .strip_prefix(begin.as_str())
        .ok_or_else(|| format!("is not a PEM {label} (expected it to start with {begin})"))?;
    let Some(end_at) = body.find(end.as_str()) else {
        return Err(format!(
            "is not a complete PEM {label} (no {end} line: truncated?)"
        ));
    };
    let after = &body[end_at + end.len()..];
    if !after.trim().is_empty() {
        return Err(format!(
            "has data after {end}: one PEM {label} only, with nothing after it"
        ));
    }
    let body = &body[..end_at];
    if body.contains("-----") {
        return Err(format!(
            "holds more than one PEM block: give one {label} per entry"
        ));
    }
    let base64_text: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64_text.as_bytes())
        .map_err(|error| format!("PEM {label} body is not valid base64: {error}"))?;
    let (tag, _, rest) = crate::der::read(&der)
        .map_err(|reason| format!("PEM {label} body is not DER: {reason}"))?;
    if tag != crate::der::SEQUENCE || !rest.is_empty() {
        return Err(format!(
            "PEM {label} body is not one DER SEQUENCE ({} bytes{})",
            der.len(),
            if rest.is_empty() {
                String::new()
            } else {
                format!(", {} bytes after it", rest.len())
            }
        ));
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../test_data/key-a.pub");
    const CERT: &str = include_str!("../test_data/signer.crt");
    const PRIVATE: &str = include_str!("../test_data/private-key-p256.pem");

    #[test]
    fn accepts_real_keys_and_certificates() {
        assert!(decode(KEY, "PUBLIC KEY").is_ok());
        assert!(decode(CERT, "CERTIFICATE").is_ok());
        assert!(decode(&format!("\n  {KEY}\n\n"), "PUBLIC KEY").is_ok());
    }

    #[test]
    fn refuses_what_is_not_exactly_one_block() {
        let cases: [(String, &str); 8] = [
            (
                KEY.replace("PUBLIC KEY", "CERTIFICATE"),
                "is not a PEM PUBLIC KEY",
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----".into(),
                "not valid base64",
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into(),
                "not one DER SEQUENCE",
            ),
            (
                KEY[..KEY.len() - 30].to_owned(),
                "not a complete PEM PUBLIC KEY",
            ),
            (
                format!("{}\ntrailing", KEY.trim()),
                "has data after -----END PUBLIC KEY-----",
            ),
            (format!("{KEY}{KEY}"), "has data after"),
            (PRIVATE.to_owned(), "is a PRIVATE KEY: give the public key"),
            (String::new(), "is not a PEM PUBLIC KEY"),
        ];
        for (text, expected) in cases {
            let error = decode(&text, "PUBLIC KEY").expect_err("refused");
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn refuses_a_truncated_body_even_with_its_framing() {
        let lines: Vec<&str> = KEY.trim().lines().collect();
        let truncated = format!("{}\n{}\n{}", lines[0], lines[1], lines[lines.len() - 1]);
        let error = decode(&truncated, "PUBLIC KEY").expect_err("truncated DER");
        assert!(error.contains("is not DER"), "{error}");
    }
}
