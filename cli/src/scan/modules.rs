//! Where a scan's policy modules come from, each compiled once: `<dir>/<policy>.wasm` (by
//! default `dist/`, what `make build` writes), else the manifest's `registry://` reference,
//! pulled once and kept in the cache folder. Compiled code is cached there too, so the next
//! scan starts without compiling.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use pci_host::bundle::policy_of_module;
use pci_host::host::{Engine, Policy};

/// The modules of one scan.
pub struct Modules {
    engine: Engine,
    dir: PathBuf,
    cache: PathBuf,
    /// Pull `registry://` modules that are not in `dir` (not in an offline scan).
    pull: Option<Puller>,
    compiled: BTreeMap<String, (String, Arc<Policy>)>,
}

/// How modules are pulled.
#[derive(Clone, Copy, Debug)]
pub struct Puller {
    /// Plain HTTP (local registries only).
    pub insecure: bool,
}

impl Modules {
    pub fn new(dir: PathBuf, cache: PathBuf, pull: Option<Puller>) -> Result<Self> {
        Ok(Self {
            engine: Engine::new()?,
            dir,
            cache,
            pull,
            compiled: BTreeMap::new(),
        })
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
        let bytes = if local.is_file() {
            std::fs::read(&local).with_context(|| format!("cannot read {}", local.display()))?
        } else {
            self.pulled(reference, &local)?
        };
        let policy = Arc::new(
            self.engine
                .load_cached(&bytes, &self.cache.join("compiled"))
                .with_context(|| format!("{name}: the module does not load"))?,
        );
        self.compiled
            .insert(reference.to_owned(), (name.clone(), Arc::clone(&policy)));
        Ok((name, policy))
    }

    /// The module of a `registry://` reference, from the cache or the registry.
    fn pulled(&self, reference: &str, local: &Path) -> Result<Vec<u8>> {
        let Some(oci) = reference.strip_prefix("registry://") else {
            bail!(
                "{} does not exist and {reference} is not a registry:// reference (run `make build`, or give --modules)",
                local.display()
            );
        };
        let cached = self
            .cache
            .join("modules")
            .join(format!("{}.wasm", file_name(oci)));
        if let Ok(bytes) = std::fs::read(&cached) {
            return Ok(bytes);
        }
        let Some(puller) = self.pull else {
            bail!(
                "{} does not exist and {reference} is not in the cache ({}); an offline scan pulls nothing",
                local.display(),
                cached.display()
            );
        };
        let bytes = pull(oci, puller)?;
        if let Some(parent) = cached.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let partial = cached.with_extension(format!("{}.partial", std::process::id()));
        std::fs::write(&partial, &bytes)
            .and_then(|()| std::fs::rename(&partial, &cached))
            .with_context(|| format!("cannot write {}", cached.display()))?;
        Ok(bytes)
    }
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

#[cfg(feature = "live")]
fn pull(reference: &str, puller: Puller) -> Result<Vec<u8>> {
    use pci_host::oci::{Credentials, Registry, Transport};
    let transport = if puller.insecure {
        Transport::Http
    } else {
        Transport::Https
    };
    let registry = Registry::new(transport, Credentials::DockerConfig)?;
    Ok(registry.pull_policy(reference)?.module)
}

#[cfg(not(feature = "live"))]
fn pull(reference: &str, _puller: Puller) -> Result<Vec<u8>> {
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
