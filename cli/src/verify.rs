//! `pci-policies verify`: check a published module's cosign signatures against a Kubewarden
//! verification config, as `kwctl verify` and policy-server (`--verification-path`) do.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// What to verify, and against which config.
#[derive(Args)]
pub struct VerifyArgs {
    /// `[registry://]host[:port]/repository[:tag|@sha256:…]`.
    reference: String,
    /// The verification config (`apiVersion: v1`, `allOf`, `anyOf`).
    #[arg(long = "verification-config-path")]
    config: PathBuf,
    /// Plain HTTP (local registries only).
    #[arg(long)]
    insecure: bool,
    /// Sigstore trust root for keyless signatures, read offline: a trusted_root.json
    /// (`cosign trusted-root create`, or the public-good instance's from its TUF repository) or
    /// a ClientTrustConfig, as kwctl reads it. Without it keyless verification is an error.
    #[arg(long = "sigstore-trust-config", value_name = "FILE")]
    sigstore_trust_config: Option<PathBuf>,
}

/// Verifies, pulls the module by the verified digest, and prints
/// `<reference>: verified <digest>`; an error names every requirement that failed.
#[cfg(feature = "live")]
pub fn verify(args: &VerifyArgs) -> Result<()> {
    use anyhow::Context;
    use pci_host::cosign::Cosign;
    use pci_host::oci::{Credentials, Registry, Transport};
    use pci_host::verification::{VerificationConfig, verify_policy};
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    // Read with the command's YAML reader: a broken file names its line.
    let config =
        pci_policies::manifests::yaml::single_document(&args.config.display().to_string(), &text)
            .map_err(anyhow::Error::msg)?;
    let config = VerificationConfig::from_yaml(&config.to_string())
        .with_context(|| format!("{}", args.config.display()))?;
    let transport = Transport::insecure_if(args.insecure);
    let registry = Registry::new(transport.clone(), Credentials::DockerConfig)?;
    let mut cosign = Cosign::new(&transport)?;
    if let Some(path) = &args.sigstore_trust_config {
        cosign = cosign.with_trust_root(&pci_host::trust_root::TrustRoot::from_file(path)?)?;
    }
    let reference = args
        .reference
        .strip_prefix("registry://")
        .unwrap_or(&args.reference);
    if let Some((user, password)) = registry.basic_credentials(reference)? {
        cosign = cosign.with_basic_auth(user, password);
    }
    let verified = verify_policy(&cosign, &registry, reference, &config)?;
    println!(
        "{reference}: verified {} ({} bytes of module)",
        verified.digest,
        verified.pulled.module.len()
    );
    Ok(())
}

/// Built without the `live` feature: no registry client.
#[cfg(not(feature = "live"))]
pub fn verify(_args: &VerifyArgs) -> Result<()> {
    anyhow::bail!("this pci-policies was built without the `live` feature, which verifying needs")
}
