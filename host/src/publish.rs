//! Publishing the whole bundle: every policy's `dist/<name>.wasm` pushed as `kwctl push` does,
//! to its `io.kubewarden.policy.ociUrl` (or `<prefix>/<id>`) under `v<version>` (`make
//! publish`); and the module lock of what is pushed, computed before any push (`make pin`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use crate::bundle::Bundle;
use crate::metadata::Metadata;
use crate::module_lock::{ModuleLock, ModuleRef};
use crate::oci::{Artifact, Pushed, Registry, policy_reference, read_module};

/// One policy ready to be pushed: where to, its artifact, and the manifest digest the push
/// will give.
pub struct Planned {
    pub policy: String,
    /// `registry/repository:tag`.
    pub reference: String,
    pub artifact: Artifact,
    /// `sha256:…` of the manifest.
    pub manifest_digest: String,
}

/// Every annotated module of `bundle`, with where it goes (`prefix`: see
/// [`policy_reference`]; tag: `tag`, or `v<version>`) and its manifest digest, computed
/// without a registry.
pub fn plan_bundle(
    bundle: &Bundle,
    prefix: Option<&str>,
    tag: Option<&str>,
) -> Result<Vec<Planned>> {
    bundle
        .policies()?
        .into_iter()
        .map(|policy| {
            let module = read_module(&bundle.module(&policy))?;
            let metadata = Metadata::from_module(&module)?.with_context(|| {
                format!("dist/{policy}.wasm is not annotated: run `make build`")
            })?;
            let reference = policy_reference(prefix, &metadata, tag)?;
            let artifact = Artifact::policy(&module)
                .with_context(|| format!("dist/{policy}.wasm cannot be pushed"))?;
            let manifest_digest = artifact.manifest_digest()?;
            Ok(Planned {
                policy,
                reference,
                artifact,
                manifest_digest,
            })
        })
        .collect()
}

/// The lock of what a plan pushes: `registry://<reference>@<digest>` per policy.
pub fn planned_lock(planned: &[Planned]) -> Result<ModuleLock> {
    lock_of(
        planned
            .iter()
            .map(|p| (&p.policy, &p.reference, &p.manifest_digest)),
    )
}

/// The lock of what was pushed: `registry://<reference>@<pushed digest>` per policy.
pub fn published_lock(published: &[Published]) -> Result<ModuleLock> {
    lock_of(
        published
            .iter()
            .map(|p| (&p.policy, &p.reference, &p.pushed.manifest_digest)),
    )
}

fn lock_of<'a>(
    entries: impl Iterator<Item = (&'a String, &'a String, &'a String)>,
) -> Result<ModuleLock> {
    let mut modules = BTreeMap::new();
    for (policy, reference, digest) in entries {
        let module = ModuleRef::parse(&format!("registry://{reference}"))
            .with_context(|| format!("the reference of {policy}"))?
            .pinned(digest);
        modules.insert(policy.clone(), module);
    }
    Ok(ModuleLock::new(modules))
}

/// One policy pushed: its name, the reference pushed to, and what the registry answered.
#[derive(Clone, Debug)]
pub struct Published {
    pub policy: String,
    pub reference: String,
    pub pushed: Pushed,
}

/// Pushes every planned module with `registry`; stops at the first failure.
pub fn push_planned(registry: &Registry, planned: Vec<Planned>) -> Result<Vec<Published>> {
    planned
        .into_iter()
        .map(|planned| {
            let pushed = registry.push_artifact(&planned.reference, planned.artifact)?;
            Ok(Published {
                policy: planned.policy,
                reference: planned.reference,
                pushed,
            })
        })
        .collect()
}

/// Pushes every annotated module of `bundle` with `registry` ([`plan_bundle`], then
/// [`push_planned`]).
pub fn publish_bundle(
    bundle: &Bundle,
    registry: &Registry,
    prefix: Option<&str>,
    tag: Option<&str>,
) -> Result<Vec<Published>> {
    push_planned(registry, plan_bundle(bundle, prefix, tag)?)
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
