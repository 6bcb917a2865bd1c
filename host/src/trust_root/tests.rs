use serde_json::{Value, json};

use super::*;
use crate::keyless_fixture::TestSigstore;

fn sigstore() -> TestSigstore {
    TestSigstore::new("trust root tests").expect("test sigstore")
}

/// The error of reading `root` after `change`, with its causes.
fn error_after(change: impl FnOnce(&mut Value)) -> String {
    let mut root = sigstore().trusted_root();
    change(&mut root);
    match TrustRoot::from_json(&root.to_string()) {
        Ok(_) => panic!("accepted: {root}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_trusted_root_is_read_with_its_authorities_and_logs() {
    let sigstore = sigstore();
    let root = TrustRoot::from_json(&sigstore.trusted_root().to_string()).expect("read");
    assert_eq!(root.certificate_authorities.len(), 1);
    assert_eq!(root.certificate_authorities[0].uri, "https://fulcio.test");
    assert_eq!(root.certificate_authorities[0].chain.len(), 1);
    assert_eq!(root.tlogs.len(), 1);
    let key_id: String = root.tlogs[0]
        .key_id
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(key_id, sigstore.log_id());
    assert_eq!(
        root.tlogs[0].valid_for,
        ValidFor {
            start: 1_577_836_800,
            end: None
        }
    );
}

#[test]
fn a_client_trust_config_is_read_through_its_trusted_root() {
    let config = sigstore().client_trust_config();
    let root = TrustRoot::from_json(&config.to_string()).expect("read");
    assert_eq!(root.certificate_authorities.len(), 1);
    assert_eq!(root.tlogs.len(), 1);

    let mut wrong = config.clone();
    wrong["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json");
    let error = format!(
        "{:#}",
        TrustRoot::from_json(&wrong.to_string()).unwrap_err()
    );
    assert!(
        error.contains("mediaType") && error.contains("clienttrustconfig"),
        "{error}"
    );

    let mut broken = config;
    broken["trustedRoot"]["tlogs"][0]["logId"] = json!({});
    let error = format!(
        "{:#}",
        TrustRoot::from_json(&broken.to_string()).unwrap_err()
    );
    assert!(
        error.contains("trustedRoot.tlogs[0].logId.keyId: missing"),
        "{error}"
    );
}

#[test]
fn errors_name_the_field() {
    type Change = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|r| {
                r["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
                    json!("%%%")
            }),
            "certificateAuthorities[0].certChain.certificates[0].rawBytes: not base64",
        ),
        (
            Box::new(|r| {
                r["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
                    json!("AAAA")
            }),
            "certificateAuthorities[0].certChain.certificates[0].rawBytes: not a DER X.509 certificate",
        ),
        (
            Box::new(|r| r["certificateAuthorities"][0]["certChain"]["certificates"] = json!([])),
            "certificateAuthorities[0].certChain.certificates: empty",
        ),
        (
            Box::new(|r| r["certificateAuthorities"] = json!([])),
            "certificateAuthorities: no Fulcio certificate authority",
        ),
        (
            Box::new(|r| r["tlogs"] = json!(null)),
            "tlogs: no Rekor transparency log",
        ),
        (
            Box::new(|r| r["tlogs"][0]["publicKey"]["rawBytes"] = json!("AAAA")),
            "tlogs[0].publicKey.rawBytes: not a DER SubjectPublicKeyInfo",
        ),
        (
            Box::new(|r| {
                r["tlogs"][0]["publicKey"]
                    .as_object_mut()
                    .unwrap()
                    .remove("validFor")
                    .map(drop)
                    .unwrap_or(())
            }),
            "tlogs[0].publicKey.validFor: missing",
        ),
        (
            Box::new(|r| r["certificateAuthorities"][0]["validFor"]["start"] = json!("yesterday")),
            "certificateAuthorities[0].validFor.start: \"yesterday\" is not an RFC 3339 time",
        ),
        (
            Box::new(|r| {
                r["certificateAuthorities"][0]["validFor"]["end"] = json!("2019-01-01T00:00:00Z")
            }),
            "certificateAuthorities[0].validFor: end is before start",
        ),
        (
            Box::new(|r| r["mediaType"] = json!("application/json")),
            "mediaType: \"application/json\" is not a application/vnd.dev.sigstore.trustedroot",
        ),
        (
            Box::new(|r| r["tlogs"] = json!({})),
            "tlogs: expected a list",
        ),
    ];
    for (change, expected) in cases {
        let error = error_after(change);
        assert!(
            error.contains(expected),
            "expected {expected:?} in {error:?}"
        );
    }
}

#[test]
fn a_file_that_is_not_there_or_not_json_is_named() {
    let missing = std::path::Path::new("/nonexistent/trusted_root.json");
    let error = format!("{:#}", TrustRoot::from_file(missing).unwrap_err());
    assert!(error.contains("/nonexistent/trusted_root.json"), "{error}");
    let error = format!("{:#}", TrustRoot::from_json("not json").unwrap_err());
    assert!(error.contains("not JSON"), "{error}");
}

#[test]
fn valid_for_without_end_is_open() {
    let range = ValidFor {
        start: 10,
        end: None,
    };
    assert!(!range.contains(9));
    assert!(range.contains(10) && range.contains(i64::MAX));
    let closed = ValidFor {
        start: 10,
        end: Some(20),
    };
    assert!(closed.contains(20) && !closed.contains(21));
}
