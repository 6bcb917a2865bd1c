//! The Kubewarden host capabilities the policies call, over waPC (binding `kubewarden`), in the
//! wire format policy-server and kwctl answer: `oci/v1/manifest_digest`, `oci/v2/verify` and
//! `kubernetes/get_resource`. Errors keep the wording of the Kubewarden SDK
//! (`error invoking host capability oci.verify: Host error: …`), so messages read alike
//! whichever SDK a policy was built with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One signature verification (`oci/v2/verify`), tagged by `type` as the host reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum VerifyRequest {
    /// Signed with these public keys (PEM), all of them.
    SigstorePubKeyVerify {
        image: String,
        pub_keys: Vec<String>,
        annotations: Option<BTreeMap<String, String>>,
    },
    /// Keyless, by exact issuer and subject.
    SigstoreKeylessVerify {
        image: String,
        keyless: Vec<KeylessIdentity>,
        annotations: Option<BTreeMap<String, String>>,
    },
    /// Keyless, by issuer and subject URL prefix.
    SigstoreKeylessPrefixVerify {
        image: String,
        keyless_prefix: Vec<KeylessPrefix>,
        annotations: Option<BTreeMap<String, String>>,
    },
    /// Keyless, from a GitHub Actions workflow of `owner` (and `repo`).
    SigstoreGithubActionsVerify {
        image: String,
        owner: String,
        repo: Option<String>,
        annotations: Option<BTreeMap<String, String>>,
    },
    /// Signed with a certificate (PEM bytes), optionally chained.
    SigstoreCertificateVerify {
        image: String,
        certificate: Vec<u8>,
        certificate_chain: Option<Vec<Vec<u8>>>,
        require_rekor_bundle: bool,
        annotations: Option<BTreeMap<String, String>>,
    },
}

/// A keyless identity: issuer and subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeylessIdentity {
    pub issuer: String,
    pub subject: String,
}

/// A keyless identity by subject URL prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeylessPrefix {
    pub issuer: String,
    pub url_prefix: String,
}

/// The host's answer to a verification.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Verification {
    pub is_trusted: bool,
    pub digest: String,
}

#[derive(Deserialize)]
struct ManifestDigest {
    digest: String,
}

/// The digest `image` (`registry/repository:tag`) points to now: `oci/v1/manifest_digest`.
pub fn manifest_digest(image: &str) -> Result<String, String> {
    let request = serde_json::to_vec(image).map_err(|e| e.to_string())?;
    let answer = call("oci", "v1/manifest_digest", "oci.manifest_digest", &request)?;
    serde_json::from_slice::<ManifestDigest>(&answer)
        .map(|answer| answer.digest)
        .map_err(|e| format!("the host answered oci.manifest_digest with {e}"))
}

/// Verifies signatures through the host: `oci/v2/verify`.
pub fn verify(request: &VerifyRequest) -> Result<Verification, String> {
    let payload = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let answer = call("oci", "v2/verify", "oci.verify", &payload)?;
    serde_json::from_slice(&answer).map_err(|e| format!("the host answered oci.verify with {e}"))
}

/// The cluster-scoped object `kind` named `name` of `api_version`, as JSON:
/// `kubernetes/get_resource`. The error is the host's, without the transport's wording.
pub fn get_resource(api_version: &str, kind: &str, name: &str) -> Result<Vec<u8>, String> {
    let request = serde_json::json!({
        "api_version": api_version, "kind": kind, "name": name,
        "namespace": null, "disable_cache": false, "field_masks": null,
    });
    let payload = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
    wapc_guest::host_call("kubewarden", "kubernetes", "get_resource", &payload)
        .map_err(|error| error.to_string())
}

fn call(namespace: &str, operation: &str, label: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    wapc_guest::host_call("kubewarden", namespace, operation, payload)
        .map_err(|error| format!("error invoking host capability {label}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The payloads are the ones policy-server reads (`../shared/docs/kubewarden-platform.md`).
    #[test]
    fn verify_requests_are_tagged_by_type_with_the_host_field_names() {
        let annotations = Some(BTreeMap::from([("env".to_owned(), "prod".to_owned())]));
        let cases = [
            (
                VerifyRequest::SigstorePubKeyVerify {
                    image: "reg/img:1".into(),
                    pub_keys: vec!["PEM".into()],
                    annotations: None,
                },
                json!({"type": "SigstorePubKeyVerify", "image": "reg/img:1", "pub_keys": ["PEM"], "annotations": null}),
            ),
            (
                VerifyRequest::SigstoreKeylessVerify {
                    image: "i".into(),
                    keyless: vec![KeylessIdentity {
                        issuer: "https://issuer".into(),
                        subject: "me@corp.com".into(),
                    }],
                    annotations: annotations.clone(),
                },
                json!({"type": "SigstoreKeylessVerify", "image": "i",
                    "keyless": [{"issuer": "https://issuer", "subject": "me@corp.com"}], "annotations": {"env": "prod"}}),
            ),
            (
                VerifyRequest::SigstoreKeylessPrefixVerify {
                    image: "i".into(),
                    keyless_prefix: vec![KeylessPrefix {
                        issuer: "https://issuer".into(),
                        url_prefix: "https://github.com/corp".into(),
                    }],
                    annotations: None,
                },
                json!({"type": "SigstoreKeylessPrefixVerify", "image": "i",
                    "keyless_prefix": [{"issuer": "https://issuer", "url_prefix": "https://github.com/corp"}], "annotations": null}),
            ),
            (
                VerifyRequest::SigstoreGithubActionsVerify {
                    image: "i".into(),
                    owner: "corp".into(),
                    repo: None,
                    annotations: None,
                },
                json!({"type": "SigstoreGithubActionsVerify", "image": "i", "owner": "corp", "repo": null, "annotations": null}),
            ),
            (
                VerifyRequest::SigstoreCertificateVerify {
                    image: "i".into(),
                    certificate: b"PEM".to_vec(),
                    certificate_chain: Some(vec![b"CA".to_vec()]),
                    require_rekor_bundle: true,
                    annotations: None,
                },
                json!({"type": "SigstoreCertificateVerify", "image": "i", "certificate": [80, 69, 77],
                    "certificate_chain": [[67, 65]], "require_rekor_bundle": true, "annotations": null}),
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(serde_json::to_value(&request).unwrap(), expected);
        }
    }

    /// Natively there is no host: a call fails, so a policy fails closed in native tests.
    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn without_a_host_every_call_is_an_error() {
        let error = manifest_digest("reg/img:1").unwrap_err();
        assert!(
            error.starts_with("error invoking host capability oci.manifest_digest: Host error"),
            "{error}"
        );
        assert!(get_resource("v1", "Namespace", "x").is_err());
    }
}
