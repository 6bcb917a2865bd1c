//! `pci-policies push`: an annotated module to an OCI registry, as `kwctl push` does.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// What to push where.
#[derive(Args)]
pub struct PushArgs {
    /// The annotated policy (.wasm).
    module: PathBuf,
    /// `[registry://]host[:port]/repository[:tag]`.
    reference: String,
    /// Plain HTTP (local registries only).
    #[arg(long)]
    insecure: bool,
    /// Docker config file with the credentials (default `$DOCKER_CONFIG` or `~/.docker`).
    #[arg(long = "docker-config-json-path")]
    docker_config: Option<PathBuf>,
}

/// Pushes the module and prints `<reference> -> <immutable reference>`.
#[cfg(feature = "live")]
pub fn push(args: &PushArgs) -> Result<()> {
    use pci_host::oci::{Credentials, Registry, Transport, read_module};
    let transport = Transport::insecure_if(args.insecure);
    let credentials = Credentials::docker(args.docker_config.as_deref());
    let module = read_module(&args.module)?;
    let reference = args
        .reference
        .strip_prefix("registry://")
        .unwrap_or(&args.reference);
    let pushed = Registry::new(transport, credentials)?.push_policy(&module, reference)?;
    println!("{reference} -> {}", pushed.immutable_ref);
    Ok(())
}

/// Built without the `live` feature: no registry client.
#[cfg(not(feature = "live"))]
pub fn push(_args: &PushArgs) -> Result<()> {
    anyhow::bail!("this pci-policies was built without the `live` feature, which pushing needs")
}
