//! Publishing the whole bundle: every policy's `dist/<name>.wasm` pushed as `kwctl push` does,
//! to `<prefix>/<id>:<tag>` (`make publish`).

use anyhow::{Context, Result};

use crate::bundle::Bundle;
use crate::metadata::Metadata;
use crate::oci::{Pushed, Registry, policy_reference, read_module};

/// One policy pushed: its name, the reference pushed to, and what the registry answered.
#[derive(Clone, Debug)]
pub struct Published {
    pub policy: String,
    pub reference: String,
    pub pushed: Pushed,
}

/// Pushes every annotated module of `bundle` with `registry` under `prefix` (tag: `tag`, or
/// `v<version>` from each module's metadata); stops at the first failure.
pub fn publish_bundle(
    bundle: &Bundle,
    registry: &Registry,
    prefix: &str,
    tag: Option<&str>,
) -> Result<Vec<Published>> {
    let mut published = Vec::new();
    for policy in bundle.policies()? {
        let module = read_module(&bundle.module(&policy))?;
        let metadata = Metadata::from_module(&module)?
            .with_context(|| format!("dist/{policy}.wasm is not annotated: run `make build`"))?;
        let reference = policy_reference(prefix, &metadata, tag)?;
        let pushed = registry.push_policy(&module, &reference)?;
        published.push(Published {
            policy,
            reference,
            pushed,
        });
    }
    Ok(published)
}

/// One module signed and its SBOM attested.
#[derive(Clone, Debug)]
pub struct Signed {
    pub policy: String,
    /// `registry/repository@sha256:…`, what was signed.
    pub immutable_ref: String,
    /// The attestation image (`…:sha256-<hex>.att`).
    pub attestation: Pushed,
}

/// Signs every published module with `key` (cosign's `.sig` layout, which kwctl and
/// policy-server read) and attaches `sbom(policy)` as a signed CycloneDX attestation.
pub fn sign_published(
    published: &[Published],
    registry: &Registry,
    cosign: &crate::cosign::Cosign,
    key: &crate::release::SigningKey,
    sbom: &dyn Fn(&str) -> Result<serde_json::Value>,
) -> Result<Vec<Signed>> {
    let mut signed = Vec::new();
    for module in published {
        key.sign(cosign, &module.pushed.immutable_ref)
            .with_context(|| format!("cannot sign {}", module.pushed.immutable_ref))?;
        let repository = module
            .pushed
            .immutable_ref
            .split_once('@')
            .map_or(module.pushed.immutable_ref.as_str(), |(repo, _)| repo);
        let bom = sbom(&module.policy)?;
        let attestation = key
            .attest(
                registry,
                repository,
                &module.pushed.manifest_digest,
                crate::release::CYCLONEDX_PREDICATE_TYPE,
                &bom,
            )
            .with_context(|| format!("cannot attest the SBOM of {}", module.policy))?;
        signed.push(Signed {
            policy: module.policy.clone(),
            immutable_ref: module.pushed.immutable_ref.clone(),
            attestation,
        });
    }
    Ok(signed)
}
