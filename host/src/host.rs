//! The waPC host: compiles a policy with wasmtime and calls it as policy-server does.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::capabilities::HostCapabilities;
use crate::metadata::{HOST_KUBEWARDEN_VERSION, Metadata};

/// How often the engine's epoch advances.
pub const EPOCH_TICK: Duration = Duration::from_millis(100);
/// Default evaluation deadline, in epoch ticks (2 s).
pub const DEFAULT_DEADLINE_TICKS: u64 = 20;

/// A wasmtime engine with epoch interruption and the thread that advances its epoch.
pub struct Engine {
    engine: wasmtime::Engine,
    stop: Arc<AtomicBool>,
}

impl Engine {
    /// A new engine whose epoch advances every [`EPOCH_TICK`].
    pub fn new() -> Result<Self> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).map_err(|e| anyhow!("{e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = engine.clone();
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticker.increment_epoch();
                }
            })
            .context("cannot start the epoch ticker")?;
        Ok(Self { engine, stop })
    }

    /// Compiles a module; the metadata is read but not required (see [`Policy::metadata`]).
    pub fn compile(&self, module: &[u8]) -> Result<Policy> {
        let metadata = Metadata::from_module(module)?;
        let compiled = wasmtime::Module::new(&self.engine, module)
            .map_err(|e| anyhow!("cannot compile the module: {e}"))?;
        self.prepare(compiled, metadata)
    }

    /// Compiles an annotated policy, refusing a module without metadata as policy-server does.
    pub fn load(&self, module: &[u8]) -> Result<Policy> {
        self.checked(self.compile(module)?)
    }

    /// [`Engine::load`] through an on-disk cache of compiled code in `cache_dir`, keyed by the
    /// module's SHA-256, so a second run skips compilation. A
    /// cache that cannot be read or written is bypassed, never an error.
    pub fn load_cached(&self, module: &[u8], cache_dir: &Path) -> Result<Policy> {
        self.load_precompiled(module, &[], cache_dir)
    }

    /// [`Engine::load_cached`], looking first in `shipped` (folders of code precompiled with
    /// [`Engine::precompile`], installed with the command, only read) and then in `cache_dir`.
    pub fn load_precompiled(
        &self,
        module: &[u8],
        shipped: &[&Path],
        cache_dir: &Path,
    ) -> Result<Policy> {
        let metadata = Metadata::from_module(module)?;
        let cached = shipped.iter().copied().chain([cache_dir]).find_map(|dir| {
            let bytes = std::fs::read(precompiled_file(module, dir)).ok()?;
            // SAFETY: the file is one `precompile` or this function wrote, named by the
            // module's hash, in a folder installed with the command or its own cache; wasmtime
            // checks its header against this engine's version and configuration.
            unsafe { wasmtime::Module::deserialize(&self.engine, bytes) }.ok()
        });
        let compiled = match cached {
            Some(compiled) => compiled,
            None => {
                let compiled = wasmtime::Module::new(&self.engine, module)
                    .map_err(|e| anyhow!("cannot compile the module: {e}"))?;
                if let Ok(bytes) = compiled.serialize() {
                    let _ = write_atomically(&precompiled_file(module, cache_dir), &bytes);
                }
                compiled
            }
        };
        self.checked(self.prepare(compiled, metadata)?)
    }

    /// Compiles `module` and writes its code into `dir`, where [`Engine::load_precompiled`]
    /// finds it; returns the file written.
    pub fn precompile(&self, module: &[u8], dir: &Path) -> Result<std::path::PathBuf> {
        let compiled = wasmtime::Module::new(&self.engine, module)
            .map_err(|e| anyhow!("cannot compile the module: {e}"))?;
        let bytes = compiled
            .serialize()
            .map_err(|e| anyhow!("cannot serialise the compiled module: {e}"))?;
        let file = precompiled_file(module, dir);
        write_atomically(&file, &bytes)?;
        Ok(file)
    }

    fn prepare(&self, compiled: wasmtime::Module, metadata: Option<Metadata>) -> Result<Policy> {
        let pre = WasmtimeEngineProviderBuilder::new()
            .engine(self.engine.clone())
            .module(compiled)
            .build_pre()
            .map_err(|e| anyhow!("cannot prepare the module: {e}"))?;
        Ok(Policy { pre, metadata })
    }

    fn checked(&self, policy: Policy) -> Result<Policy> {
        let metadata = policy
            .metadata
            .as_ref()
            .context("the module has no io.kubewarden.metadata section: annotate it first (policy-server refuses un-annotated waPC policies)")?;
        metadata.validate()?;
        metadata.check_kubewarden_version(&HOST_KUBEWARDEN_VERSION)?;
        Ok(policy)
    }
}

/// The cache file name of a module's compiled code: its SHA-256 and the target architecture.
/// Where [`Engine::precompile`] writes the code of `module` in `dir`, and where
/// [`Engine::load_precompiled`] looks for it.
pub fn precompiled_file(module: &[u8], dir: &Path) -> std::path::PathBuf {
    dir.join(format!("{}.cwasm", compiled_cache_key(module)))
}

/// Writes `bytes` to `file` through a temporary file and a rename, so a reader never sees half
/// of it.
fn write_atomically(file: &Path, bytes: &[u8]) -> Result<()> {
    let dir = file.parent().context("no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let partial = file.with_extension(format!("{}.partial", std::process::id()));
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("cannot write {}", file.display()))
}

fn compiled_cache_key(module: &[u8]) -> String {
    let hex = crate::digest::sha256_hex(module);
    // wasmtime refuses code from another version or configuration; it is then recompiled.
    format!("{hex}-{}", std::env::consts::ARCH)
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A compiled policy, ready to be instantiated many times.
pub struct Policy {
    pre: WasmtimeEngineProviderPre,
    metadata: Option<Metadata>,
}

impl Policy {
    /// The embedded metadata, if the module is annotated.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// A fresh instance answering host calls with `capabilities`, interrupted after
    /// `deadline_ticks` epochs of one call.
    pub fn instantiate(
        &self,
        capabilities: HostCapabilities,
        deadline_ticks: u64,
    ) -> Result<Instance> {
        let provider = self
            .pre
            .rehydrate(Some(EpochDeadlines {
                wapc_init: deadline_ticks,
                wapc_func: deadline_ticks,
            }))
            .map_err(|e| anyhow!("cannot instantiate the module: {e}"))?;
        let capabilities = Arc::new(capabilities);
        let callback =
            move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
                capabilities
                    .call(binding, namespace, operation, payload)
                    .map_err(|message| -> Box<dyn std::error::Error + Send + Sync> {
                        message.into()
                    })
            };
        let host = wapc::WapcHost::new(Box::new(provider), Some(Box::new(callback)))
            .map_err(|e| anyhow!("cannot start the waPC host: {e}"))?;
        Ok(Instance { host })
    }
}

/// A running policy instance; reusable across calls like policy-server's.
pub struct Instance {
    host: wapc::WapcHost,
}

/// The answer to `validate_settings`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct SettingsValidation {
    pub valid: bool,
    pub message: Option<String>,
}

/// wasmtime's trap message when the epoch deadline interrupted the guest.
const INTERRUPTED: &str = "wasm trap: interrupt";

impl Instance {
    /// Calls any waPC operation with a raw payload.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        self.host.call(operation, payload).map_err(|error| {
            let text = format!("{error}");
            let chain = format!("{error:?}");
            if text.contains(INTERRUPTED)
                || chain.contains(INTERRUPTED)
                || chain.contains("deadline")
            {
                anyhow!(
                    "Policy execution interrupted because it exceeded the allowed execution time"
                )
            } else {
                anyhow!("{text}")
            }
        })
    }

    /// The `protocol_version` operation: `v1` for a waPC Kubewarden policy.
    pub fn protocol_version(&self) -> Result<String> {
        let bytes = self.call("protocol_version", &[])?;
        serde_json::from_slice(&bytes).context("protocol_version did not answer a JSON string")
    }

    /// The `validate_settings` operation.
    pub fn validate_settings(&self, settings: &Value) -> Result<SettingsValidation> {
        if !settings.is_object() {
            bail!("settings must be an object, got {settings}");
        }
        let bytes = self.call("validate_settings", settings.to_string().as_bytes())?;
        serde_json::from_slice(&bytes)
            .context("validate_settings did not answer a SettingsValidationResponse")
    }

    /// The `validate` operation, on `{"request": …, "settings": …}`: the raw ValidationResponse.
    pub fn validate(&self, request: &Value, settings: &Value) -> Result<Value> {
        let payload = serde_json::json!({"request": request, "settings": settings});
        let bytes = self.call("validate", payload.to_string().as_bytes())?;
        serde_json::from_slice(&bytes).context("validate did not answer JSON")
    }
}
