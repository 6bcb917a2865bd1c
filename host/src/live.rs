//! Host capabilities answered for real, as policy-server answers them: OCI lookups against a
//! registry with `oci-client`, cosign verification with the sigstore crate. Kubernetes, DNS and
//! certificate calls need a replay session.

use anyhow::Result;
use serde_json::json;

use crate::capabilities::{LiveAnswers, NO_ANSWER};
use crate::cosign::Cosign;
use crate::oci::{Credentials, Registry, Transport};
use crate::replay::CallbackRequest;
use crate::trust_root::TrustRoot;

/// A live answerer for the `oci` host capabilities.
pub struct LiveHost {
    registry: Registry,
    cosign: Cosign,
}

impl std::fmt::Debug for LiveHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveHost")
    }
}

impl LiveHost {
    /// Answers OCI lookups and verifications over `transport`.
    pub fn new(transport: Transport, credentials: Credentials) -> Result<Self> {
        Ok(Self {
            cosign: Cosign::new(&transport)?,
            registry: Registry::new(transport, credentials)?,
        })
    }

    /// The same host, verifying keyless signatures with `trust` (else they are an error).
    pub fn with_trust_root(mut self, trust: &TrustRoot) -> Result<Self> {
        self.cosign = self.cosign.with_trust_root(trust)?;
        Ok(self)
    }
}

impl LiveAnswers for LiveHost {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        let describe = |error: anyhow::Error| {
            if unanswered(&error) {
                format!("{NO_ANSWER}{error:#}")
            } else {
                format!("{error:#}")
            }
        };
        match request {
            CallbackRequest::OciManifestDigest { image } => {
                let digest = self.registry.manifest_digest(image).map_err(describe)?;
                Ok(json!({ "digest": digest }).to_string().into_bytes())
            }
            CallbackRequest::OciManifest { image } => self
                .registry
                .manifest_raw(image)
                .map(|(bytes, _)| bytes)
                .map_err(describe),
            CallbackRequest::OciManifestAndConfig { image } => {
                let (manifest, digest, config) =
                    self.registry.manifest_and_config(image).map_err(describe)?;
                Ok(
                    json!({ "manifest": manifest, "digest": digest, "config": config })
                        .to_string()
                        .into_bytes(),
                )
            }
            CallbackRequest::SigstorePubKeyVerify { .. }
            | CallbackRequest::SigstoreKeylessVerify { .. }
            | CallbackRequest::SigstoreKeylessPrefixVerify { .. }
            | CallbackRequest::SigstoreGithubActionsVerify { .. }
            | CallbackRequest::SigstoreCertificateVerify { .. } => self.cosign.verify(request),
            other => Err(format!(
                "the live host does not answer {}: give a replay session",
                other.kind_name()
            )),
        }
    }

    /// Registry and signature calls only: Kubernetes, DNS and certificate calls need a replay
    /// session.
    fn serves(&self, request: &CallbackRequest) -> bool {
        matches!(
            request,
            CallbackRequest::OciManifestDigest { .. }
                | CallbackRequest::OciManifest { .. }
                | CallbackRequest::OciManifestAndConfig { .. }
                | CallbackRequest::SigstorePubKeyVerify { .. }
                | CallbackRequest::SigstoreKeylessVerify { .. }
                | CallbackRequest::SigstoreKeylessPrefixVerify { .. }
                | CallbackRequest::SigstoreGithubActionsVerify { .. }
                | CallbackRequest::SigstoreCertificateVerify { .. }
        )
    }
}

/// True when the registry gave no answer: the request did not reach it or came back without
/// one (transport, I/O, credentials refused, a 5xx). A registry's own error (an unknown
/// manifest, a 404) is an answer.
fn unanswered(error: &anyhow::Error) -> bool {
    use oci_client::errors::OciDistributionError as E;
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<E>(),
            Some(
                E::RequestError(_)
                    | E::IoError(_)
                    | E::AuthenticationFailure(_)
                    | E::UnauthorizedError { .. }
            )
        ) || matches!(cause.downcast_ref::<E>(), Some(E::ServerError { code, .. }) if *code >= 500)
            || cause.downcast_ref::<std::io::Error>().is_some()
    })
}
