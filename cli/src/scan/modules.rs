//! Where a scan's policy modules come from, each compiled once:
//! - `<dir>/<policy>.wasm` (by default `dist/`, what `make build` writes), but for a reference
//!   pinned by digest only when that file *is* the pinned module (its manifest digest, computed
//!   as `make pin` computes it, equals the pin): a stale or modified build is never run in its
//!   place;
//! - else the cache of pulled modules, keyed by manifest digest (`modules/sha256-<hex>.wasm`;
//!   a tag reference is resolved to its digest when pulled);
//! - else the manifest's `registry://` reference, pulled, checked against its pin, and kept.
//!
//! With `--verification-config`, every module comes from the registry and is verified (its
//! cosign signatures against the config, then pulled by the verified digest) before it runs, as
//! policy-server does; a cached module is reused only if it was verified with the same config.
//! Compiled code is cached too, so the next scan starts without compiling.
//!
//! Installed with the command (`<prefix>/share/pci-policies`, or `$PCI_POLICIES_SHARE`), a
//! folder laid out as the cache and written by `pci-policies precompile` ships the bundle's
//! modules and their compiled code: a first scan neither pulls nor waits for Cranelift. It is
//! only read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use pci_host::bundle::policy_of_module;
use pci_host::digest::sha256_hex;
use pci_host::host::{Engine, Policy};

/// The modules of one scan.
pub struct Modules {
    engine: Engine,
    dir: PathBuf,
    /// `dir` was given (`--modules`): it may also stand for a reference by tag.
    dir_given: bool,
    cache: PathBuf,
    /// Pull `registry://` modules that are not in `dir` (not in an offline scan).
    pull: Option<Puller>,
    /// `--verification-config`: its text (what a cached module was verified with).
    verification: Option<Verification>,
    /// Modules and compiled code installed with the command (see the module's documentation).
    shipped: Option<PathBuf>,
    compiled: BTreeMap<String, (String, Arc<Policy>)>,
    /// The bytes of every module loaded, by reference, for `precompile`.
    bytes: BTreeMap<String, Vec<u8>>,
}

/// How modules are pulled.
#[derive(Clone, Copy, Debug)]
pub struct Puller {
    /// Plain HTTP (local registries only).
    pub insecure: bool,
}

/// A verification config every module must meet.
pub struct Verification {
    pub path: PathBuf,
    pub text: String,
    /// `--sigstore-trust-config`, for its keyless entries.
    pub trust_root: Option<PathBuf>,
}

impl Modules {
    pub fn new(
        dir: PathBuf,
        cache: PathBuf,
        pull: Option<Puller>,
        verification: Option<Verification>,
    ) -> Result<Self> {
        Ok(Self {
            engine: Engine::new()?,
            dir,
            dir_given: false,
            cache,
            pull,
            verification,
            shipped: shipped_dir(),
            compiled: BTreeMap::new(),
            bytes: BTreeMap::new(),
        })
    }

    /// `dir` was named by the user, so its modules may stand for references by tag (the
    /// default `dist/` of the scanned checkout may not: anyone can commit one).
    pub fn with_dir_given(mut self, given: bool) -> Self {
        self.dir_given = given;
        self
    }

    /// Reads no installed modules or code (what `precompile` writes must stand alone).
    pub fn without_shipped(mut self) -> Self {
        self.shipped = None;
        self
    }

    /// The engine the modules are compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Every module loaded: its reference, its manifest digest, its bytes.
    pub fn loaded(&self) -> Result<Vec<(&str, String, &[u8])>> {
        self.bytes
            .iter()
            .map(|(reference, bytes)| {
                let digest = match pinned_digest(reference) {
                    Some(pinned) => pinned.to_owned(),
                    None => manifest_digest(bytes)?,
                };
                Ok((reference.as_str(), digest, bytes.as_slice()))
            })
            .collect()
    }

    /// Where a module of `digest` is kept in a cache-shaped folder.
    pub fn module_path(dir: &Path, digest: &str) -> PathBuf {
        dir.join("modules")
            .join(format!("{}.wasm", file_name(digest)))
    }

    /// The bundle policy a module reference is, and the compiled module.
    pub fn load(&mut self, reference: &str) -> Result<(String, Arc<Policy>)> {
        if let Some(loaded) = self.compiled.get(reference) {
            return Ok(loaded.clone());
        }
        let name = policy_of_module(reference)
            .with_context(|| format!("no policy name in {reference}"))?
            .to_owned();
        let local = self.dir.join(format!("{name}.wasm"));
        let bytes = match self.local(reference, &local)? {
            Ok(bytes) => bytes,
            Err(why_not) => self.pulled(reference, &why_not)?,
        };
        let shipped = self.shipped.as_ref().map(|dir| dir.join("compiled"));
        let policy = Arc::new(
            self.engine
                .load_precompiled(
                    &bytes,
                    shipped.as_deref().as_slice(),
                    &self.cache.join("compiled"),
                )
                .with_context(|| format!("{name}: the module does not load"))?,
        );
        self.compiled
            .insert(reference.to_owned(), (name.clone(), Arc::clone(&policy)));
        self.bytes.insert(reference.to_owned(), bytes);
        Ok((name, policy))
    }

    /// The module in `--modules` if it may run for `reference`, else why not.
    fn local(&self, reference: &str, local: &Path) -> Result<Result<Vec<u8>, String>> {
        if self.verification.is_some() {
            return Ok(Err(format!(
                "{} is not used: with --verification-config every module is verified from the registry",
                local.display()
            )));
        }
        if !local.is_file() {
            return Ok(Err(format!("{} does not exist", local.display())));
        }
        let bytes =
            std::fs::read(local).with_context(|| format!("cannot read {}", local.display()))?;
        let Some(pinned) = pinned_digest(reference) else {
            // Nothing to compare with: the local build stands for the tag only if the user named
            // the folder.
            return Ok(if self.dir_given {
                Ok(bytes)
            } else {
                Err(format!(
                    "{} is not used for {reference}, a reference by tag: name the folder with --modules to run it",
                    local.display()
                ))
            });
        };
        Ok(match manifest_digest(&bytes) {
            Ok(digest) if digest == pinned => Ok(bytes),
            Ok(digest) => Err(format!(
                "{} is another build ({digest}) than the pinned {pinned}: not used (run `make pin`, or scan with the module the manifest pins)",
                local.display()
            )),
            Err(error) => Err(format!(
                "{} cannot be compared with the pinned {pinned}: {error:#}",
                local.display()
            )),
        })
    }

    /// The module of a `registry://` reference, from the cache or the registry; `why_not_local`
    /// says why the local file was not used, for the error when neither has it.
    fn pulled(&self, reference: &str, why_not_local: &str) -> Result<Vec<u8>> {
        let Some(oci) = reference.strip_prefix("registry://") else {
            bail!(
                "{why_not_local}, and {reference} is not a registry:// reference (run `make build`, or give --modules)"
            );
        };
        let digest = match pinned_digest(reference) {
            Some(pinned) => Some(pinned.to_owned()),
            None => std::fs::read_to_string(self.tag_file(oci)).ok(),
        };
        if let Some(digest) = &digest
            && let Some(bytes) = self.cached(digest)
        {
            return Ok(bytes);
        }
        let Some(puller) = self.pull else {
            let looked = digest.map_or_else(
                || format!("no pull of {oci} is cached"),
                |d| format!("{} is not in the cache", self.module_file(&d).display()),
            );
            let verified = if self.verification.is_some() {
                " (verified with this --verification-config)"
            } else {
                ""
            };
            bail!("{why_not_local}; {looked}{verified}; an offline scan pulls nothing");
        };
        let (digest, bytes) = pull(oci, puller, self.verification.as_ref())?;
        if let Some(pinned) = pinned_digest(reference)
            && pinned != digest
        {
            bail!("{reference}: the registry served {digest}, not the pinned {pinned}");
        }
        self.keep(oci, &digest, &bytes)?;
        Ok(bytes)
    }

    /// The cached module of `digest`, if it is there (and, with a verification config, was
    /// verified with it), else the one installed with the command (without a verification
    /// config: nothing says it was verified with it).
    fn cached(&self, digest: &str) -> Option<Vec<u8>> {
        let Some(marker) = self.verified_marker(digest) else {
            return std::fs::read(self.module_file(digest)).ok().or_else(|| {
                let shipped = self.shipped.as_ref()?;
                std::fs::read(Self::module_path(shipped, digest)).ok()
            });
        };
        if !marker.is_file() {
            return None;
        }
        std::fs::read(self.module_file(digest)).ok()
    }

    /// Keeps a pulled module by its digest, the tag it was pulled by, and its verification.
    fn keep(&self, oci: &str, digest: &str, bytes: &[u8]) -> Result<()> {
        write_atomically(&self.module_file(digest), bytes)?;
        if pinned_digest(oci).is_none() {
            write_atomically(&self.tag_file(oci), digest.as_bytes())?;
        }
        if let Some(marker) = self.verified_marker(digest) {
            write_atomically(&marker, b"")?;
        }
        Ok(())
    }

    fn module_file(&self, digest: &str) -> PathBuf {
        Self::module_path(&self.cache, digest)
    }

    fn tag_file(&self, oci: &str) -> PathBuf {
        self.cache.join("modules").join("tags").join(file_name(oci))
    }

    /// `modules/<digest>.verified-<config hash>`: the module was verified with this config.
    fn verified_marker(&self, digest: &str) -> Option<PathBuf> {
        let verification = self.verification.as_ref()?;
        let config = &sha256_hex(verification.text.as_bytes())[..16];
        Some(
            self.cache
                .join("modules")
                .join(format!("{}.verified-{config}", file_name(digest))),
        )
    }
}

/// The folder of modules and compiled code installed with the command: `$PCI_POLICIES_SHARE`,
/// else `<prefix>/share/pci-policies` beside `<prefix>/bin/pci-policies`, if it exists.
fn shipped_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PCI_POLICIES_SHARE") {
        return Some(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("share").join("pci-policies");
    dir.is_dir().then_some(dir)
}

/// The `sha256:…` a reference is pinned to, if any.
fn pinned_digest(reference: &str) -> Option<&str> {
    reference
        .rsplit_once('@')
        .map(|(_, digest)| digest)
        .filter(|d| d.starts_with("sha256:"))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let partial = path.with_extension(format!("{}.partial", std::process::id()));
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A reference as a file name: every character but letters, digits, `.`, `-` and `_`
/// becomes `_`, and the whole reference stays readable in the cache folder.
fn file_name(reference: &str) -> String {
    reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The manifest digest `make pin` computes for a module (what `make publish` pushes).
#[cfg(feature = "live")]
fn manifest_digest(module: &[u8]) -> Result<String> {
    pci_host::oci::policy_manifest_digest(module)
}

#[cfg(not(feature = "live"))]
fn manifest_digest(_module: &[u8]) -> Result<String> {
    bail!("this pci-policies was built without the live feature, which computes manifest digests")
}

/// Pulls a module (verified first, with a config): its manifest digest and bytes.
#[cfg(feature = "live")]
fn pull(
    reference: &str,
    puller: Puller,
    verification: Option<&Verification>,
) -> Result<(String, Vec<u8>)> {
    use pci_host::cosign::Cosign;
    use pci_host::oci::{Credentials, Registry, Transport};
    use pci_host::verification::{VerificationConfig, verify_policy};
    let transport = Transport::insecure_if(puller.insecure);
    let registry = Registry::new(transport.clone(), Credentials::DockerConfig)?;
    let Some(verification) = verification else {
        let pulled = registry.pull_policy(reference)?;
        return Ok((pulled.manifest_digest, pulled.module));
    };
    let config = VerificationConfig::from_yaml(&verification.text)
        .with_context(|| format!("--verification-config {}", verification.path.display()))?;
    let mut cosign = Cosign::new(&transport)?;
    if let Some(path) = &verification.trust_root {
        cosign = cosign.with_trust_root(&pci_host::trust_root::TrustRoot::from_file(path)?)?;
    }
    if let Some((user, password)) = registry.basic_credentials(reference)? {
        cosign = cosign.with_basic_auth(user, password);
    }
    let verified = verify_policy(&cosign, &registry, reference, &config)?;
    Ok((verified.digest, verified.pulled.module))
}

#[cfg(not(feature = "live"))]
fn pull(
    reference: &str,
    _puller: Puller,
    _verification: Option<&Verification>,
) -> Result<(String, Vec<u8>)> {
    bail!("{reference}: this pci-policies was built without registry support (feature `live`)")
}

/// The cache folder: `$PCI_POLICIES_CACHE`, else `$XDG_CACHE_HOME/pci-policies`, else
/// `~/.cache/pci-policies`, else a folder in the temporary directory.
pub fn default_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("PCI_POLICIES_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("pci-policies");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("pci-policies"),
        None => std::env::temp_dir().join("pci-policies-cache"),
    }
}
