//! A local registry holding small test images, with the clients to push, sign and look them up
//! live: what the live-capability tests and `make record` start from.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use serde_json::json;
use sigstore::crypto::SigStoreSigner;

use crate::cosign::Cosign;
use crate::live::LiveHost;
use crate::local_registry::LocalRegistry;
use crate::oci::{Credentials, Registry, Transport};

/// A running registry with an image client and a cosign client.
pub struct ImageRegistry {
    pub registry: LocalRegistry,
    pub images: Registry,
    pub cosign: Cosign,
}

impl ImageRegistry {
    /// Starts an empty registry on a free loopback port.
    pub fn start() -> Result<Self> {
        Ok(Self {
            registry: LocalRegistry::start()?,
            images: Registry::new(Transport::Http, Credentials::Anonymous)?,
            cosign: Cosign::new(&Transport::Http)?,
        })
    }

    /// `<address>/<name>`, e.g. `127.0.0.1:41234/app:v1`.
    pub fn image(&self, name: &str) -> String {
        format!("{}/{name}", self.registry.address())
    }

    /// Pushes a small image (`name` with its tag) whose config and layer carry `marker`;
    /// returns its manifest digest.
    pub fn push(&self, name: &str, marker: &str) -> Result<String> {
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"marker": marker}},
            "rootfs": {"type": "layers", "diff_ids": []}
        });
        Ok(self
            .images
            .push_image(
                &self.image(name),
                config.to_string().as_bytes(),
                marker.as_bytes(),
            )?
            .manifest_digest)
    }

    /// Signs `image` with each signer in cosign's format, with `annotations`.
    pub fn sign(
        &self,
        image: &str,
        signers: Vec<SigStoreSigner>,
        annotations: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.cosign.sign(image, signers, annotations)
    }

    /// A live host reaching this registry over plain HTTP (and others over HTTPS).
    pub fn live(&self) -> Result<Arc<LiveHost>> {
        Ok(Arc::new(LiveHost::new(
            Transport::HttpsExcept(vec![self.registry.address().to_owned()]),
            Credentials::Anonymous,
        )?))
    }
}
