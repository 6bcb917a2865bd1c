//! `make publish`: push every annotated policy in `dist/` to a registry, as `kwctl push` does.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use pci_host::metadata::Metadata;
use pci_host::oci::{Credentials, Registry, Transport, policy_reference, read_module};

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
    for name in workspace::policies()? {
        let module = read_module(&workspace::dist_module(&name))?;
        let metadata = Metadata::from_module(&module)?
            .with_context(|| format!("dist/{name}.wasm is not annotated: run `make build`"))?;
        let reference = policy_reference(&target.prefix, &metadata, target.tag.as_deref())?;
        let pushed = registry.push_policy(&module, &reference)?;
        println!("{name}: pushed {reference} -> {}", pushed.immutable_ref);
    }
    Ok(())
}
