//! `oci/v2/verify` answered for real, as policy-server answers it: the cosign signature image
//! (`<repo>:sha256-<digest>.sig`) is read from the registry and verified with the sigstore crate.
//!
//! Public keys and certificates (with their chain, Rekor bundle optional) are verified offline.
//! Keyless identities need Sigstore's Fulcio and Rekor trust root, which an offline host does not
//! have: those requests get a clear error. Also signing, for tests: cosign's signature format.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow};
use serde_json::json;
use sigstore::cosign::constraint::{AnnotationMarker, Constraint, PrivateKeySigner};
use sigstore::cosign::verification_constraint::{
    AnnotationVerifier, CertificateVerifier, PublicKeyVerifier, VerificationConstraintVec,
};
use sigstore::cosign::{ClientBuilder, CosignCapabilities, SignatureLayer, verify_constraints};
use sigstore::crypto::SigStoreSigner;
use sigstore::registry::{
    Auth, Certificate, CertificateEncoding, ClientConfig, ClientProtocol, OciReference,
};

use crate::oci::Transport;
use crate::replay::CallbackRequest;

/// A cosign client for one set of registries.
pub struct Cosign {
    client: Mutex<sigstore::cosign::Client>,
    runtime: tokio::runtime::Runtime,
    auth: Auth,
}

impl std::fmt::Debug for Cosign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cosign")
    }
}

impl Cosign {
    /// A client reaching registries over `transport`.
    pub fn new(transport: &Transport) -> Result<Self> {
        let protocol = match transport {
            Transport::Https => ClientProtocol::Https,
            Transport::Http => ClientProtocol::Http,
            Transport::HttpsExcept(hosts) => ClientProtocol::HttpsExcept(hosts.clone()),
        };
        let client = ClientBuilder::default()
            .with_oci_client_config(ClientConfig {
                protocol,
                ..ClientConfig::default()
            })
            .build()
            .map_err(|e| anyhow!("cannot build the cosign client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime for cosign")?;
        Ok(Self {
            client: Mutex::new(client),
            runtime,
            auth: Auth::Anonymous,
        })
    }

    /// The same client, reading and pushing signatures as `user` (a registry that needs
    /// credentials to push, as a release registry does).
    pub fn with_basic_auth(mut self, user: String, password: String) -> Self {
        self.auth = Auth::Basic(user, password);
        self
    }

    /// Answers a `Sigstore*` verification request: `{"is_trusted": true, "digest": …}`, or
    /// the error the policy sees (a failed verification is an error, as in policy-server).
    pub fn verify(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        let (image, mut constraints, annotations) = constraints_of(request)?;
        if let Some(annotations) = annotations {
            constraints.push(Box::new(AnnotationVerifier {
                annotations: annotations.clone(),
            }));
        }
        let reference = oci_reference(image)?;
        let (digest, layers) = self
            .signature_layers(&reference)
            .map_err(|e| format!("no cosign signature of {image} could be read: {e:#}"))?;
        verify_constraints(&layers, constraints.iter()).map_err(|e| {
            format!(
                "Image verification failed for {image}: {} of {} constraints not satisfied by the {} signature(s) of {digest}",
                e.unsatisfied_constraints.len(),
                constraints.len(),
                layers.len()
            )
        })?;
        Ok(json!({ "is_trusted": true, "digest": digest })
            .to_string()
            .into_bytes())
    }

    /// Signs `image` (a tag or digest reference) with each signer, one signature layer each,
    /// carrying `annotations`, and pushes `<repo>:sha256-<digest>.sig`, replacing earlier ones.
    pub fn sign(
        &self,
        image: &str,
        signers: Vec<SigStoreSigner>,
        annotations: &BTreeMap<String, String>,
    ) -> Result<()> {
        let reference = oci_reference(image).map_err(|e| anyhow!(e))?;
        let mut client = self.client()?;
        let (signature_image, digest) = self
            .triangulate(&mut client, &reference)
            .with_context(|| format!("cannot resolve {image}"))?;
        let mut layers = Vec::new();
        for signer in signers {
            let mut layer = SignatureLayer::new_unsigned(&reference, &digest)
                .map_err(|e| anyhow!("cannot build the signature payload: {e}"))?;
            if !annotations.is_empty() {
                let marker = AnnotationMarker::new(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<HashMap<_, _>>(),
                );
                marker
                    .add_constraint(&mut layer)
                    .map_err(|e| anyhow!("cannot annotate the signature: {e}"))?;
            }
            PrivateKeySigner::new_with_signer(signer)
                .add_constraint(&mut layer)
                .map_err(|e| anyhow!("cannot sign: {e}"))?;
            layers.push(layer);
        }
        self.runtime
            .block_on(client.push_signature(None, &self.auth, &signature_image, layers))
            .map_err(|e| anyhow!("cannot push the signature of {image}: {e}"))?;
        Ok(())
    }

    fn client(&self) -> Result<std::sync::MutexGuard<'_, sigstore::cosign::Client>> {
        self.client
            .lock()
            .map_err(|_| anyhow!("cosign client poisoned"))
    }

    /// The signature image (`<repo>:sha256-<digest>.sig`) and the digest of `reference`.
    fn triangulate(
        &self,
        client: &mut sigstore::cosign::Client,
        reference: &OciReference,
    ) -> Result<(OciReference, String)> {
        self.runtime
            .block_on(client.triangulate(reference, &self.auth))
            .map_err(|e| anyhow!("{e}"))
    }

    /// The digest `reference` resolves to and the signature layers cosign finds for it (those
    /// whose signed payload names that digest).
    pub fn signature_layers(
        &self,
        reference: &OciReference,
    ) -> Result<(String, Vec<SignatureLayer>)> {
        let mut client = self.client()?;
        let (signature_image, digest) = self.triangulate(&mut client, reference)?;
        let layers = self
            .runtime
            .block_on(client.trusted_signature_layers(&self.auth, &digest, &signature_image))
            .map_err(|e| anyhow!("{e}"))?;
        Ok((digest, layers))
    }
}

type Verification<'a> = (
    &'a str,
    VerificationConstraintVec,
    Option<&'a BTreeMap<String, String>>,
);

/// The image, the verifiers and the required annotations of a verification request.
fn constraints_of(request: &CallbackRequest) -> Result<Verification<'_>, String> {
    match request {
        CallbackRequest::SigstorePubKeyVerify {
            image,
            pub_keys,
            annotations,
        } => {
            if pub_keys.is_empty() {
                return Err("no public key to verify with".into());
            }
            let mut constraints: VerificationConstraintVec = Vec::new();
            for (index, key) in pub_keys.iter().enumerate() {
                let verifier = PublicKeyVerifier::try_from(key.as_bytes())
                    .map_err(|e| format!("public key {index} is not usable: {e}"))?;
                constraints.push(Box::new(verifier));
            }
            Ok((image, constraints, annotations.as_ref()))
        }
        CallbackRequest::SigstoreCertificateVerify {
            image,
            certificate,
            certificate_chain,
            require_rekor_bundle,
            annotations,
        } => {
            let chain: Option<Vec<Certificate>> = certificate_chain.as_ref().map(|chain| {
                chain
                    .iter()
                    .map(|pem| Certificate {
                        encoding: CertificateEncoding::Pem,
                        data: pem.clone(),
                    })
                    .collect()
            });
            let verifier =
                CertificateVerifier::from_pem(certificate, *require_rekor_bundle, chain.as_deref())
                    .map_err(|e| format!("the certificate is not usable: {e}"))?;
            Ok((image, vec![Box::new(verifier)], annotations.as_ref()))
        }
        CallbackRequest::SigstoreKeylessVerify { .. }
        | CallbackRequest::SigstoreKeylessPrefixVerify { .. }
        | CallbackRequest::SigstoreGithubActionsVerify { .. } => Err(
            "keyless verification needs Sigstore's Fulcio and Rekor trust root, which this offline host does not have"
                .into(),
        ),
        other => Err(format!("{} is not a verification request", other.kind_name())),
    }
}

fn oci_reference(image: &str) -> Result<OciReference, String> {
    image
        .parse::<OciReference>()
        .map_err(|e| format!("{image:?} is not an image reference: {e}"))
}
