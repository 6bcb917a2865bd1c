//! `make publish`: push every annotated policy in `dist/` to a registry, as `kwctl push` does.

use std::path::PathBuf;

use anyhow::{Result, bail};
use pci_host::oci::{Credentials, Registry, Transport};
use pci_host::publish::publish_bundle;

use crate::workspace;

/// Where and how to publish.
pub struct Target {
    /// `host[:port][/path]`: each policy goes to `<prefix>/<id>:<tag>`.
    pub prefix: String,
    /// The tag (default `v<version>` from the metadata).
    pub tag: Option<String>,
    /// Plain HTTP (only for local registries).
    pub insecure: bool,
    /// A Docker config file instead of the default one.
    pub docker_config: Option<PathBuf>,
}

/// Pushes `dist/<name>.wasm` for each policy and prints its immutable reference.
pub fn publish(target: &Target) -> Result<()> {
    if target.prefix.trim().is_empty() {
        bail!("REGISTRY is empty: say where to push, e.g. REGISTRY=ghcr.io/acme/pci-policies");
    }
    let transport = if target.insecure {
        Transport::Http
    } else {
        Transport::Https
    };
    let credentials = match &target.docker_config {
        Some(path) => Credentials::DockerConfigFile(path.clone()),
        None => Credentials::DockerConfig,
    };
    let registry = Registry::new(transport, credentials)?;
    for published in publish_bundle(
        &workspace::bundle(),
        &registry,
        &target.prefix,
        target.tag.as_deref(),
    )? {
        println!(
            "{}: pushed {} -> {}",
            published.policy, published.reference, published.pushed.immutable_ref
        );
    }
    Ok(())
}
