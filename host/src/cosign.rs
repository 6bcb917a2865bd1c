//! `oci/v2/verify` answered for real, as policy-server answers it: the cosign signature image
//! (`<repo>:sha256-<digest>.sig`) is read from the registry and verified with the sigstore crate.
//!
//! Public keys and certificates (with their chain, Rekor bundle optional) are verified offline.
//! Keyless identities are verified offline too when the host is given a Sigstore trust root
//! (`--sigstore-trust-config`, [`Cosign::with_trust_root`]; [`crate::keyless`]); without one
//! those requests get an error saying so. Also signing, for tests: cosign's signature format.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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

use crate::keyless::identity::Identity;
use crate::keyless::{self, KeylessLayers, RawLayer, Verifier};
use crate::oci::Transport;
use crate::replay::CallbackRequest;
use crate::trust_root::TrustRoot;

/// Why a keyless request or requirement cannot be verified without a trust root.
pub const NO_TRUST_ROOT: &str = "keyless verification needs Sigstore's Fulcio and Rekor trust root, which this offline host was not given: pass --sigstore-trust-config FILE (a trusted_root.json or a ClientTrustConfig)";

/// A cosign client for one set of registries.
pub struct Cosign {
    client: Mutex<sigstore::cosign::Client>,
    /// Reads signature images with their layer annotations, for keyless verification.
    oci: oci_client::Client,
    runtime: tokio::runtime::Runtime,
    auth: Auth,
    keyless: Option<Arc<Verifier>>,
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
        let config = ClientConfig {
            protocol,
            ..ClientConfig::default()
        };
        let client = ClientBuilder::default()
            .with_oci_client_config(config.clone())
            .build()
            .map_err(|e| anyhow!("cannot build the cosign client: {e}"))?;
        let oci = oci_client::Client::new(config.into());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime for cosign")?;
        Ok(Self {
            client: Mutex::new(client),
            oci,
            runtime,
            auth: Auth::Anonymous,
            keyless: None,
        })
    }

    /// The same client, verifying keyless signatures with `trust`.
    pub fn with_trust_root(mut self, trust: &TrustRoot) -> Result<Self> {
        let verifier = Verifier::new(trust).map_err(|e| anyhow!("the trust root: {e}"))?;
        self.keyless = Some(Arc::new(verifier));
        Ok(self)
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
        if let Some((image, identities, annotations)) = keyless_request(request)? {
            return self.verify_keyless(image, &identities, annotations);
        }
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

    /// Every identity must have signed `image` (each with `annotations`), as policy-server
    /// requires every keyless entry of a request.
    fn verify_keyless(
        &self,
        image: &str,
        identities: &[Identity],
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Result<Vec<u8>, String> {
        if self.keyless.is_none() {
            return Err(NO_TRUST_ROOT.to_owned());
        }
        let reference = oci_reference(image)?;
        let (digest, layers) = self
            .keyless_layers(&reference)
            .map_err(|e| format!("no cosign signature of {image} could be read: {e:#}"))?;
        let annotations = annotations.cloned().unwrap_or_default();
        let unsatisfied: Vec<String> = identities
            .iter()
            .filter(|identity| !layers.satisfies(identity, &annotations))
            .map(|identity| layers.explain(identity, &annotations))
            .collect();
        if !unsatisfied.is_empty() {
            return Err(format!(
                "Image verification failed for {image} ({digest}): {}",
                unsatisfied.join("; ")
            ));
        }
        Ok(json!({ "is_trusted": true, "digest": digest })
            .to_string()
            .into_bytes())
    }

    /// The digest `reference` resolves to and its keyless signatures, each verified with the
    /// trust root; an error without a trust root ([`NO_TRUST_ROOT`]).
    pub fn keyless_layers(&self, reference: &OciReference) -> Result<(String, KeylessLayers)> {
        let verifier = self
            .keyless
            .as_ref()
            .ok_or_else(|| anyhow!(NO_TRUST_ROOT))?;
        let (signature_image, digest) = {
            let mut client = self.client()?;
            self.triangulate(&mut client, reference)?
        };
        let target: oci_client::Reference = signature_image
            .to_string()
            .parse()
            .map_err(|e| anyhow!("{signature_image} is not a reference: {e}"))?;
        let image = self
            .runtime
            .block_on(
                self.oci
                    .pull(&target, &(&self.auth).into(), vec![keyless::SIMPLE_SIGNING]),
            )
            .map_err(|e| anyhow!("{e}"))?;
        let now = keyless::now();
        let mut layers = KeylessLayers {
            verified: Vec::new(),
            refused: Vec::new(),
        };
        for layer in image.layers {
            let raw = RawLayer {
                media_type: layer.media_type,
                data: layer.data.to_vec(),
                annotations: layer.annotations.unwrap_or_default().into_iter().collect(),
            };
            match verifier.verify_layer(&raw, &digest, now) {
                Ok(signature) => layers.verified.push(signature),
                Err(reason) => layers.refused.push(reason),
            }
        }
        Ok((digest, layers))
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
        other => Err(format!(
            "{} is not a verification request",
            other.kind_name()
        )),
    }
}

type KeylessRequest<'a> = (&'a str, Vec<Identity>, Option<&'a BTreeMap<String, String>>);

/// The image, identities and annotations of a keyless request; `None` for other requests.
fn keyless_request(request: &CallbackRequest) -> Result<Option<KeylessRequest<'_>>, String> {
    let (image, identities, annotations) = match request {
        CallbackRequest::SigstoreKeylessVerify {
            image,
            keyless,
            annotations,
        } => (
            image,
            keyless
                .iter()
                .map(|k| Identity::Exact {
                    issuer: k.issuer.clone(),
                    subject: k.subject.clone(),
                })
                .collect::<Vec<_>>(),
            annotations,
        ),
        CallbackRequest::SigstoreKeylessPrefixVerify {
            image,
            keyless_prefix,
            annotations,
        } => (
            image,
            keyless_prefix
                .iter()
                .enumerate()
                .map(|(index, k)| {
                    Identity::prefix(&k.issuer, &k.url_prefix)
                        .map_err(|e| format!("keyless_prefix[{index}]: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()?,
            annotations,
        ),
        CallbackRequest::SigstoreGithubActionsVerify {
            image,
            owner,
            repo,
            annotations,
        } => (
            image,
            vec![Identity::GithubActions {
                owner: owner.clone(),
                repo: repo.clone(),
            }],
            annotations,
        ),
        _ => return Ok(None),
    };
    if identities.is_empty() {
        return Err("no keyless identity to verify with".into());
    }
    Ok(Some((image, identities, annotations.as_ref())))
}

fn oci_reference(image: &str) -> Result<OciReference, String> {
    image
        .parse::<OciReference>()
        .map_err(|e| format!("{image:?} is not an image reference: {e}"))
}
