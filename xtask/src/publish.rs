//! `make publish`: push every annotated policy in `dist/` to a registry, as `kwctl push` does,
//! sign each pushed digest, attach each module's SBOM as a signed attestation, and write the
//! release files: manifests and the deploy tree pinned to the pushed digests, the SBOMs, the
//! verification config.
//!
//! The registry is each policy's `io.kubewarden.policy.ociUrl` (the one the metadata, Artifact
//! Hub and the module lock name) unless `REGISTRY` names a mirror. With `EXPECT_LOCK` (the
//! release), what is about to be pushed must be what the lock pins, checked before the first
//! push and again on the digests the registry answered: a build that differs fails loudly.
//!
//! Signing: with `COSIGN_KEY` (a cosign private key file, or its PEM text) and
//! `COSIGN_PASSWORD`, in-process; with a CI OIDC token (GitHub Actions' `id-token: write`) and no
//! key, keyless through the `cosign` command, in both of cosign's layouts; never unsigned unless
//! asked (`UNSIGNED=1`, for a throwaway registry).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use pci_host::cosign::Cosign;
use pci_host::module_lock::ModuleLock;
use pci_host::oci::{Credentials, Registry, Transport};
use pci_host::pinned_deploy::write_pinned_deploy;
use pci_host::publish::{
    Published, plan_bundle, planned_lock, published_lock, push_planned, sign_published,
};
use pci_host::release::SigningKey;
use pci_host::verification::pub_key_config;

use crate::generate::{self, manifests::Rollout, policy};
use crate::{sbom, workspace};

/// Where and how to publish.
pub struct Target {
    /// `host[:port][/path]`: each policy goes to `<prefix>/<id>:<tag>`; by default to its
    /// `io.kubewarden.policy.ociUrl`.
    pub prefix: Option<String>,
    /// The tag (default `v<version>` from the metadata).
    pub tag: Option<String>,
    /// Plain HTTP (only for local registries).
    pub insecure: bool,
    /// A Docker config file instead of the default one.
    pub docker_config: Option<PathBuf>,
    /// Where the release files go (`dist/release`).
    pub out: PathBuf,
    /// Push without signing (only for throwaway registries).
    pub unsigned: bool,
    /// A module lock every pushed reference must equal (the release: `deploy/modules.yaml`).
    pub expect_lock: Option<PathBuf>,
}

/// How the pushed modules are signed.
enum Signing {
    Key(Box<SigningKey>),
    Keyless,
    Unsigned,
}

impl Signing {
    fn from_env(unsigned: bool) -> Result<Self> {
        if let Ok(key) = std::env::var("COSIGN_KEY")
            && !key.trim().is_empty()
        {
            let pem = if key.trim_start().starts_with("-----BEGIN") {
                key.into_bytes()
            } else {
                std::fs::read(&key).with_context(|| format!("cannot read COSIGN_KEY {key}"))?
            };
            let password = std::env::var("COSIGN_PASSWORD").unwrap_or_default();
            return Ok(Self::Key(Box::new(SigningKey::from_cosign_pem(
                &pem,
                password.as_bytes(),
            )?)));
        }
        if std::env::var_os("ACTIONS_ID_TOKEN_REQUEST_URL").is_some() {
            return Ok(Self::Keyless);
        }
        if unsigned {
            return Ok(Self::Unsigned);
        }
        bail!(
            "nothing to sign with: set COSIGN_KEY (a cosign private key file or its PEM, with COSIGN_PASSWORD), run in CI with an OIDC token (keyless), or pass UNSIGNED=1 for a throwaway registry"
        )
    }
}

/// Pushes `dist/<name>.wasm` for each policy, signs it, and writes the release files.
pub fn publish(target: &Target) -> Result<()> {
    if target
        .prefix
        .as_deref()
        .is_some_and(|prefix| prefix.trim().is_empty())
    {
        bail!(
            "REGISTRY is empty: leave it out to publish to each policy's ociUrl, or name a mirror, e.g. REGISTRY=registry.example.com/pci-policies"
        );
    }
    let signing = Signing::from_env(target.unsigned)?;
    let (registry, transport) = connect(target)?;
    let root = workspace::root();
    let bundle = workspace::bundle();
    let lock = ModuleLock::read(&bundle.module_lock())?;
    let expected = target
        .expect_lock
        .as_deref()
        .map(ModuleLock::read)
        .transpose()?;
    let names = bundle.policies()?;
    let sboms = sbom::cyclonedx(&root, &names)?;
    let planned = plan_bundle(&bundle, target.prefix.as_deref(), target.tag.as_deref())?;
    if let Some(expected) = &expected {
        agree_with_lock(&planned_lock(&planned)?, expected, "would push")?;
    }
    let published = push_planned(&registry, planned)?;
    for module in &published {
        println!(
            "{}: pushed {} -> {}",
            module.policy, module.reference, module.pushed.immutable_ref
        );
    }
    let pushed = published_lock(&published)?;
    if let Some(expected) = &expected {
        agree_with_lock(&pushed, expected, "pushed")?;
    }
    write_sboms(&sboms, &target.out)?;
    let pushed_to = Pushed {
        published: &published,
        registry: &registry,
        transport: &transport,
        sboms: &sboms,
        out: &target.out,
    };
    pushed_to.sign(&signing, &root)?;
    write_pinned_manifests(&published, &target.out)?;
    let replaced = write_pinned_deploy(
        &bundle.deploy_dir(),
        &lock,
        &pushed,
        RELEASED_LOCK_HEADER,
        &target.out.join("deploy"),
    )?;
    for (policy, count) in replaced {
        println!("{policy}: {count} module references pinned in deploy/");
    }
    write_released_packages(&published, &target.out)?;
    write_release_assets(&published, &target.out)?;
    println!("release files in {}", target.out.display());
    Ok(())
}

/// The registry to push to, over HTTP with `insecure`, with the Docker config's credentials
/// (or `docker_config`'s); and its transport.
fn connect(target: &Target) -> Result<(Registry, Transport)> {
    let transport = Transport::insecure_if(target.insecure);
    let credentials = Credentials::docker(target.docker_config.as_deref());
    Ok((Registry::new(transport.clone(), credentials)?, transport))
}

/// Each policy's SBOM as `<out>/sbom/<policy>.cdx.json`.
fn write_sboms(
    sboms: &std::collections::BTreeMap<String, serde_json::Value>,
    out: &Path,
) -> Result<()> {
    std::fs::create_dir_all(out.join("sbom"))?;
    for (name, sbom) in sboms {
        std::fs::write(
            out.join("sbom").join(format!("{name}.cdx.json")),
            serde_json::to_vec_pretty(sbom)?,
        )?;
    }
    Ok(())
}

/// What was pushed, where, and where the release files go: what signing needs.
struct Pushed<'a> {
    published: &'a [Published],
    registry: &'a Registry,
    transport: &'a Transport,
    /// Each policy's CycloneDX SBOM.
    sboms: &'a std::collections::BTreeMap<String, serde_json::Value>,
    out: &'a Path,
}

impl Pushed<'_> {
    /// Signs every pushed digest as `signing` says (in-process with a key, its SBOM attested;
    /// keyless through `cosign`; or not at all) and writes the verification config that
    /// checks the signatures.
    fn sign(&self, signing: &Signing, root: &Path) -> Result<()> {
        let (published, out) = (self.published, self.out);
        match signing {
            Signing::Key(key) => {
                let mut cosign = Cosign::new(self.transport)?;
                if let Some((user, password)) = self
                    .registry
                    .basic_credentials(&published[0].pushed.immutable_ref)?
                {
                    cosign = cosign.with_basic_auth(user, password);
                }
                let lookup = |policy: &str| {
                    self.sboms
                        .get(policy)
                        .cloned()
                        .with_context(|| format!("no SBOM for {policy}"))
                };
                for signed in sign_published(published, self.registry, &cosign, key, &lookup)? {
                    println!(
                        "{}: signed {}, SBOM attested in {}",
                        signed.policy, signed.immutable_ref, signed.attestation.immutable_ref
                    );
                }
                std::fs::write(
                    out.join("verification-config.yml"),
                    pub_key_config("pci-policies-release", &key.public_key_pem()?),
                )?;
            }
            Signing::Keyless => {
                for module in published {
                    sign_keyless(module, out)?;
                }
                std::fs::copy(
                    root.join("verification-config.yml"),
                    out.join("verification-config.yml"),
                )?;
            }
            Signing::Unsigned => {
                eprintln!("warning: UNSIGNED=1: the pushed modules carry no signature")
            }
        }
        Ok(())
    }
}

/// The header of `dist/release/deploy/modules.yaml`.
const RELEASED_LOCK_HEADER: &str = "The modules this release pushed, written by `make publish`: deploy/ with every module\nreference of the lock replaced by the one pushed (`kubectl apply -k overlays/protect`).";

/// Fails, naming each policy, unless `actual` (what is about to be or was pushed) is what
/// the lock `expected` pins.
fn agree_with_lock(actual: &ModuleLock, expected: &ModuleLock, what: &str) -> Result<()> {
    let differences = actual.differences(expected);
    if !differences.is_empty() {
        bail!(
            "this release {what} other modules than the lock pins (a build that differs from the pinned one is not released):\n  {}\na release pushes the lock's references (no REGISTRY, no TAG): build with the toolchain the lock's header names, or run `make pin` and commit the lock",
            differences.join("\n  ")
        );
    }
    Ok(())
}

/// `cosign sign` (legacy `.sig` layout, which kwctl and policy-server read, then the cosign v3
/// bundle) and `cosign attest` of the SBOM, keyless with the CI's OIDC token.
fn sign_keyless(module: &Published, out: &Path) -> Result<()> {
    let reference = &module.pushed.immutable_ref;
    let sbom = out.join("sbom").join(format!("{}.cdx.json", module.policy));
    let runs: [Vec<String>; 3] = [
        vec![
            "sign".into(),
            "--yes".into(),
            "--new-bundle-format=false".into(),
            "--use-signing-config=false".into(),
            reference.clone(),
        ],
        vec![
            "sign".into(),
            "--yes".into(),
            "--new-bundle-format=true".into(),
            "--use-signing-config=true".into(),
            reference.clone(),
        ],
        vec![
            "attest".into(),
            "--yes".into(),
            "--type".into(),
            "cyclonedx".into(),
            "--predicate".into(),
            sbom.display().to_string(),
            reference.clone(),
        ],
    ];
    for args in runs {
        let status = Command::new("cosign")
            .args(&args)
            .status()
            .context("cannot run cosign (install it, e.g. sigstore/cosign-installer)")?;
        if !status.success() {
            bail!("cosign {} failed for {reference} ({status})", args[0]);
        }
    }
    println!(
        "{}: signed keyless and SBOM attested: {reference}",
        module.policy
    );
    Ok(())
}

/// The GitHub release assets the Artifact Hub `policy` links point at: for each policy,
/// `assets/<release tag>/policy.wasm` (tag `com.github.release.tag`, e.g.
/// `image-digest/v0.1.0`), and `release-tags.txt` listing the tags.
fn write_release_assets(published: &[Published], out: &Path) -> Result<()> {
    let policies = policy::all()?;
    let mut tags = String::new();
    for module in published {
        let sources = policies
            .iter()
            .find(|p| p.name == module.policy)
            .with_context(|| format!("no sources for {}", module.policy))?;
        let tag = match sources.optional_annotation("com.github.release.tag") {
            Some(tag) => tag.to_owned(),
            None => sources.tag()?,
        };
        let dir = out.join("assets").join(&tag);
        std::fs::create_dir_all(&dir)?;
        std::fs::copy(
            workspace::bundle().module(&module.policy),
            dir.join("policy.wasm"),
        )
        .with_context(|| format!("cannot copy dist/{}.wasm", module.policy))?;
        tags.push_str(&tag);
        tags.push('\n');
    }
    std::fs::write(out.join("release-tags.txt"), tags)?;
    Ok(())
}

/// `artifacthub/` as released: each package with the pushed digest, its README, and the
/// repository file.
fn write_released_packages(published: &[Published], out: &Path) -> Result<()> {
    let policies = policy::all()?;
    let root = workspace::root();
    let now = generate::now_rfc3339();
    for module in published {
        let sources = policies
            .iter()
            .find(|p| p.name == module.policy)
            .with_context(|| format!("no sources for {}", module.policy))?;
        let dir = generate::artifacthub::package_dir(sources)?;
        let created_at = std::fs::read_to_string(root.join(&dir).join("artifacthub-pkg.yml"))
            .ok()
            .and_then(|text| generate::artifacthub::created_at_of(&text))
            .unwrap_or_else(|| now.clone());
        let package = generate::artifacthub::released_package(
            sources,
            &created_at,
            &module.pushed.manifest_digest,
        )?;
        std::fs::create_dir_all(out.join(&dir))?;
        std::fs::write(out.join(&dir).join("artifacthub-pkg.yml"), package)?;
        std::fs::write(out.join(&dir).join("README.md"), &sources.readme)?;
    }
    std::fs::write(
        out.join("artifacthub/artifacthub-repo.yml"),
        generate::artifacthub::repository(&policies)?,
    )?;
    Ok(())
}

/// The manifests of both rollouts with every module pinned to what was pushed:
/// `registry://<prefix>/<policy>:<tag>@sha256:…`.
fn write_pinned_manifests(published: &[Published], out: &Path) -> Result<()> {
    let policies = policy::all()?;
    let module = |sources: &policy::PolicySources| {
        published
            .iter()
            .find(|p| p.policy == sources.name)
            .map(|p| format!("registry://{}@{}", p.reference, p.pushed.manifest_digest))
            .with_context(|| format!("{} was not published", sources.name))
    };
    for rollout in [Rollout::Protect, Rollout::Monitor] {
        for file in generate::manifests_of(&policies, rollout, &module)? {
            let path = out.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, file.contents)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pci_host::oci::Pushed;

    #[test]
    fn release_manifests_pin_every_module_to_the_pushed_digest() {
        let published: Vec<Published> = workspace::bundle()
            .policies()
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(index, policy)| Published {
                reference: format!("registry.test/pci/{policy}:v9"),
                pushed: Pushed {
                    immutable_ref: format!("registry.test/pci/{policy}@sha256:{index:064}"),
                    manifest_digest: format!("sha256:{index:064}"),
                },
                policy,
            })
            .collect();
        let out = std::env::temp_dir().join(format!("pci-release-{}", std::process::id()));
        write_pinned_manifests(&published, &out).unwrap();
        for file in [
            "manifests/pci-policies.yaml",
            "manifests/monitor/pci-3.2-image-integrity.yaml",
        ] {
            let text = std::fs::read_to_string(out.join(file)).unwrap();
            let modules: Vec<&str> = text
                .lines()
                .filter_map(|line| line.trim().strip_prefix("module: "))
                .collect();
            assert!(modules.len() >= 3, "{file}");
            for module in modules {
                assert!(
                    module.starts_with("registry://registry.test/pci/")
                        && module.contains(":v9@sha256:"),
                    "{file}: {module}"
                );
            }
        }
        write_released_packages(&published, &out).unwrap();
        let package =
            std::fs::read_to_string(out.join("artifacthub/image-digest/0.1.0/artifacthub-pkg.yml"))
                .unwrap();
        let index = published
            .iter()
            .position(|p| p.policy == "image-digest")
            .unwrap();
        let digest = format!("sha256:{index:064}");
        assert!(
            package.contains(&format!("\ndigest: {digest}\n")),
            "{package}"
        );
        assert!(
            package.contains(&format!("image-digest:v0.1.0@{digest}")),
            "{package}"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// Where `.github/workflows/release.yml` would publish elsewhere than the one registry the
    /// metadata names, or something the lock does not pin: an `env` (any level) setting
    /// `REGISTRY` or `TAG` (make reads both from the environment), a `make publish` naming a
    /// registry or tag, or one without `EXPECT_LOCK=deploy/modules.yaml`.
    fn release_faults(workflow: &str) -> Vec<String> {
        fn walk(value: &yaml_serde::Value, under_env: bool, faults: &mut Vec<String>) {
            match value {
                yaml_serde::Value::Mapping(mapping) => {
                    for (key, child) in mapping {
                        let key = key.as_str().unwrap_or_default();
                        if under_env && ["REGISTRY", "TAG"].contains(&key) {
                            faults.push(format!("env sets {key}: make publish would read it"));
                        }
                        if key == "run"
                            && let Some(script) = child.as_str()
                            && script.contains("make publish")
                        {
                            for forbidden in ["REGISTRY=", "--registry", "TAG=", "--tag"] {
                                if script.contains(forbidden) {
                                    faults.push(format!("make publish is given {forbidden}"));
                                }
                            }
                            if !script.contains("EXPECT_LOCK=deploy/modules.yaml") {
                                faults.push(
                                    "make publish runs without EXPECT_LOCK=deploy/modules.yaml"
                                        .into(),
                                );
                            }
                        }
                        walk(child, key == "env", faults);
                    }
                }
                yaml_serde::Value::Sequence(items) => {
                    for item in items {
                        walk(item, false, faults);
                    }
                }
                _ => {}
            }
        }
        let parsed: yaml_serde::Value = match yaml_serde::from_str(workflow) {
            Ok(parsed) => parsed,
            Err(error) => return vec![format!("not YAML: {error}")],
        };
        let mut faults = Vec::new();
        if workflow.matches("make publish").count() != 1 {
            faults.push("the release must run `make publish` exactly once".into());
        }
        walk(&parsed, false, &mut faults);
        faults
    }

    #[test]
    fn the_release_publishes_to_the_metadata_registry_what_the_lock_pins() {
        let workflow =
            std::fs::read_to_string(workspace::root().join(".github/workflows/release.yml"))
                .unwrap();
        let faults = release_faults(&workflow);
        assert!(faults.is_empty(), "release.yml: {faults:?}");

        // The workflow as it was before issue 30: another registry, and no lock.
        let before = "jobs:\n  release:\n    env:\n      REGISTRY: ghcr.io/${{ github.repository_owner }}/pci-policies\n      TAG: ${{ github.ref_name }}\n    steps:\n      - run: make publish REGISTRY=\"$REGISTRY\" TAG=\"$TAG\"\n";
        assert_eq!(
            release_faults(before),
            [
                "env sets REGISTRY: make publish would read it",
                "env sets TAG: make publish would read it",
                "make publish is given REGISTRY=",
                "make publish is given TAG=",
                "make publish runs without EXPECT_LOCK=deploy/modules.yaml",
            ]
        );
        let mirror = "steps:\n  - run: make publish EXPECT_LOCK=deploy/modules.yaml REGISTRY=mirror.example/pci\n";
        assert_eq!(release_faults(mirror), ["make publish is given REGISTRY="]);
    }
}
