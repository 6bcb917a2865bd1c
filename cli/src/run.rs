//! `pci-policies run`: one request through one policy, with the flags of `kwctl run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use pci_host::admission::{read_request, read_settings};
use pci_host::capabilities::LiveAnswers;
use pci_host::host::Engine;
use pci_host::replay::{Recorder, Replay};
use pci_host::run::{RunOptions, run as evaluate};
use pci_policies::manifests::yaml;

/// `kwctl run`'s flags.
#[derive(Args)]
pub struct RunArgs {
    /// The annotated policy (.wasm).
    module: PathBuf,
    /// AdmissionRequest or AdmissionReview (JSON or YAML).
    #[arg(short = 'r', long = "request-path")]
    request_path: PathBuf,
    /// Settings file (JSON or YAML).
    #[arg(short = 's', long = "settings-path", conflicts_with = "settings_json")]
    settings_path: Option<PathBuf>,
    /// Settings as a JSON string.
    #[arg(long = "settings-json")]
    settings_json: Option<String>,
    /// kwctl session file answering host capability calls.
    #[arg(long = "replay-host-capabilities-interactions")]
    replay: Option<PathBuf>,
    /// Grant the Kubernetes resources listed in the policy's contextAwareResources.
    #[arg(long = "allow-context-aware")]
    allow_context_aware: bool,
    /// Without a replay session, OCI lookups are answered live; these registries
    /// (`host[:port]`) are reached over plain HTTP (kwctl's insecure sources).
    #[arg(long = "insecure-registry")]
    insecure_registries: Vec<String>,
    /// Write every host capability exchange of the run to this kwctl session file.
    #[arg(long = "record-host-capabilities-interactions")]
    record: Option<PathBuf>,
    /// Sigstore trust root for keyless signatures, read offline: a trusted_root.json
    /// (`cosign trusted-root create`, or the public-good instance's from its TUF repository) or
    /// a ClientTrustConfig, as kwctl reads it. Without it keyless verification is an error.
    #[arg(
        long = "sigstore-trust-config",
        value_name = "FILE",
        conflicts_with = "replay"
    )]
    sigstore_trust_config: Option<PathBuf>,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// A request, settings or replay session file read with the command's YAML reader (a syntax
/// error names the file and line), as the JSON text the host's readers take.
fn read_object(path: &Path) -> Result<String> {
    let value = yaml::single_document(&path.display().to_string(), &read(path)?)
        .map_err(anyhow::Error::msg)?;
    Ok(value.to_string())
}

/// Evaluates the request and prints the AdmissionResponse as kwctl does.
pub fn run(args: &RunArgs) -> Result<()> {
    let module = std::fs::read(&args.module)
        .with_context(|| format!("cannot read {}", args.module.display()))?;
    let request = read_request(&read_object(&args.request_path)?)?;
    let settings = match (&args.settings_path, &args.settings_json) {
        (Some(path), _) => read_settings(&read_object(path)?)?,
        (None, Some(json)) => read_settings(json)?,
        (None, None) => read_settings("")?,
    };
    let replay = args
        .replay
        .as_deref()
        .map(|path| Replay::from_yaml(&read_object(path)?))
        .transpose()?
        .map(Arc::new);
    let live = match replay {
        Some(_) => None,
        None => live_host(
            &args.insecure_registries,
            args.sigstore_trust_config.as_deref(),
        )?,
    };
    let recorder = args.record.as_ref().map(|_| Arc::new(Recorder::default()));
    let engine = Engine::new()?;
    let policy = engine.load(&module)?;
    let options = RunOptions {
        settings,
        replay,
        live,
        record: recorder.clone(),
        allow_context_aware: args.allow_context_aware,
        ..RunOptions::default()
    };
    let response = evaluate(&policy, &request, options)?;
    if let (Some(path), Some(recorder)) = (&args.record, recorder) {
        std::fs::write(path, recorder.to_yaml()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{}", serde_json::to_string(&response)?);
    Ok(())
}

/// Registry lookups and cosign verification answered live, as policy-server answers them;
/// keyless signatures with the trust root `trust_config`.
#[cfg(feature = "live")]
fn live_host(
    insecure_registries: &[String],
    trust_config: Option<&Path>,
) -> Result<Option<Arc<dyn LiveAnswers>>> {
    use pci_host::live::LiveHost;
    use pci_host::oci::{Credentials, Transport};
    use pci_host::trust_root::TrustRoot;
    let mut live = LiveHost::new(
        Transport::HttpsExcept(insecure_registries.to_vec()),
        Credentials::DockerConfig,
    )?;
    if let Some(path) = trust_config {
        live = live.with_trust_root(&TrustRoot::from_file(path)?)?;
    }
    Ok(Some(Arc::new(live)))
}

/// Built without the `live` feature: host capability calls need a replay session.
#[cfg(not(feature = "live"))]
fn live_host(
    _insecure_registries: &[String],
    trust_config: Option<&Path>,
) -> Result<Option<Arc<dyn LiveAnswers>>> {
    if trust_config.is_some() {
        anyhow::bail!("--sigstore-trust-config needs the live host: build with the live feature");
    }
    Ok(None)
}
