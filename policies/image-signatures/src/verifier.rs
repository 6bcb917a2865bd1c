//! Tag resolution (`oci/v1/manifest_digest`) and signature verification (`oci/v2/verify`)
//! through the host, behind a trait so the policy is a pure function in native tests.

use std::collections::BTreeMap;

use pci_shared::host_calls::{self, KeylessIdentity, KeylessPrefix, Verification};

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

/// Who resolves tags and verifies signatures: the Kubewarden host in a policy, a script in
/// native tests.
pub trait SignatureHost {
    /// The digest `image` (`registry/repository:tag`) points to now, or the host's error.
    fn manifest_digest(image: &str) -> Result<String, String>;

    /// The verified digest of `image` (`registry/repository@digest`), or why it is not trusted.
    fn verify(
        image: &str,
        request: &VerifyRequest,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Result<String, String>;
}

/// The Kubewarden host capability `oci/v2/verify`.
pub struct HostSignatures;

impl SignatureHost for HostSignatures {
    fn manifest_digest(image: &str) -> Result<String, String> {
        host_calls::manifest_digest(image)
    }

    fn verify(
        image: &str,
        request: &VerifyRequest,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Result<String, String> {
        match host_calls::verify(&host_request(image, request, annotations.cloned()))? {
            Verification {
                is_trusted: true,
                digest,
            } => Ok(digest),
            Verification {
                is_trusted: false, ..
            } => Err("the host did not trust the signatures".into()),
        }
    }
}

/// The host's form of one verification of `image`.
fn host_request(
    image: &str,
    request: &VerifyRequest,
    annotations: Option<BTreeMap<String, String>>,
) -> host_calls::VerifyRequest {
    let image = image.to_owned();
    match request {
        VerifyRequest::PublicKey(key) => host_calls::VerifyRequest::SigstorePubKeyVerify {
            image,
            pub_keys: vec![key.clone()],
            annotations,
        },
        VerifyRequest::Keyless(identities) => host_calls::VerifyRequest::SigstoreKeylessVerify {
            image,
            keyless: identities
                .iter()
                .map(|(issuer, subject)| KeylessIdentity {
                    issuer: issuer.clone(),
                    subject: subject.clone(),
                })
                .collect(),
            annotations,
        },
        VerifyRequest::KeylessPrefix(prefixes) => {
            host_calls::VerifyRequest::SigstoreKeylessPrefixVerify {
                image,
                keyless_prefix: prefixes
                    .iter()
                    .map(|(issuer, url_prefix)| KeylessPrefix {
                        issuer: issuer.clone(),
                        url_prefix: url_prefix.clone(),
                    })
                    .collect(),
                annotations,
            }
        }
        VerifyRequest::GithubActions { owner, repo } => {
            host_calls::VerifyRequest::SigstoreGithubActionsVerify {
                image,
                owner: owner.clone(),
                repo: repo.clone(),
                annotations,
            }
        }
        VerifyRequest::Certificate {
            certificate,
            chain,
            require_rekor_bundle,
        } => host_calls::VerifyRequest::SigstoreCertificateVerify {
            image,
            certificate: certificate.as_bytes().to_vec(),
            certificate_chain: chain
                .as_ref()
                .map(|chain| chain.iter().map(|c| c.as_bytes().to_vec()).collect()),
            require_rekor_bundle: *require_rekor_bundle,
            annotations,
        },
    }
}
