//! Signature verification through the host (`oci/v2/verify`), behind a trait so the policy is
//! a pure function in native tests.

use std::collections::BTreeMap;

use kubewarden_policy_sdk::host_capabilities::verification::{
    KeylessInfo, KeylessPrefixInfo, VerificationResponse, verify_certificate,
    verify_keyless_exact_match, verify_keyless_github_actions, verify_keyless_prefix_match,
    verify_pub_keys_image,
};

/// One verification the host performs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyRequest {
    /// Signed with this public key (PEM).
    PublicKey(String),
    /// Keyless, `(issuer, subject)` pairs.
    Keyless(Vec<(String, String)>),
    /// Keyless, `(issuer, url prefix)` pairs.
    KeylessPrefix(Vec<(String, String)>),
    /// Keyless, from a GitHub Actions workflow of `owner` (and `repo`).
    GithubActions { owner: String, repo: Option<String> },
    /// Signed with a certificate (PEM), optionally chained.
    Certificate {
        certificate: String,
        chain: Option<Vec<String>>,
        require_rekor_bundle: bool,
    },
}

/// How a rule verifies an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verifier {
    /// Each key is verified on its own; at least `threshold` must pass (key rotation).
    PublicKeys { keys: Vec<String>, threshold: usize },
    /// One host verification.
    Single(VerifyRequest),
}

impl Verifier {
    /// The verifier's settings name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Verifier::PublicKeys { .. } => "publicKeys",
            Verifier::Single(VerifyRequest::PublicKey(_)) => "publicKey",
            Verifier::Single(VerifyRequest::Keyless(_)) => "keyless",
            Verifier::Single(VerifyRequest::KeylessPrefix(_)) => "keylessPrefix",
            Verifier::Single(VerifyRequest::GithubActions { .. }) => "githubActions",
            Verifier::Single(VerifyRequest::Certificate { .. }) => "certificates",
        }
    }
}

/// Who verifies signatures: the Kubewarden host in a policy, a recording in native tests.
pub trait SignatureHost {
    /// The verified digest of `image`, or why it is not trusted.
    fn verify(
        image: &str,
        request: &VerifyRequest,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Result<String, String>;
}

/// The Kubewarden host capability `oci/v2/verify`, through the SDK.
pub struct HostSignatures;

impl SignatureHost for HostSignatures {
    fn verify(
        image: &str,
        request: &VerifyRequest,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Result<String, String> {
        let annotations = annotations.cloned();
        let answer = match request {
            VerifyRequest::PublicKey(key) => {
                verify_pub_keys_image(image, vec![key.clone()], annotations)
            }
            VerifyRequest::Keyless(identities) => {
                let keyless = identities
                    .iter()
                    .map(|(issuer, subject)| KeylessInfo {
                        issuer: issuer.clone(),
                        subject: subject.clone(),
                    })
                    .collect();
                verify_keyless_exact_match(image, keyless, annotations)
            }
            VerifyRequest::KeylessPrefix(prefixes) => {
                let keyless = prefixes
                    .iter()
                    .map(|(issuer, url_prefix)| KeylessPrefixInfo {
                        issuer: issuer.clone(),
                        url_prefix: url_prefix.clone(),
                    })
                    .collect();
                verify_keyless_prefix_match(image, keyless, annotations)
            }
            VerifyRequest::GithubActions { owner, repo } => {
                verify_keyless_github_actions(image, owner.clone(), repo.clone(), annotations)
            }
            VerifyRequest::Certificate {
                certificate,
                chain,
                require_rekor_bundle,
            } => verify_certificate(
                image,
                certificate.clone(),
                chain.clone(),
                *require_rekor_bundle,
                annotations,
            ),
        };
        match answer {
            Ok(VerificationResponse {
                is_trusted: true,
                digest,
            }) => Ok(digest),
            Ok(VerificationResponse {
                is_trusted: false, ..
            }) => Err("the host did not trust the signatures".into()),
            Err(error) => Err(error.to_string()),
        }
    }
}
