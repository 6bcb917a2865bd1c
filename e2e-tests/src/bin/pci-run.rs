//! `pci-run`: evaluate a compiled policy on one request, like `kwctl run`, without kwctl.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use pci_host::admission::{read_request, read_settings};
use pci_host::host::Engine;
use pci_host::live::LiveHost;
use pci_host::oci::{Credentials, Transport};
use pci_host::replay::{Recorder, Replay};
use pci_host::run::{RunOptions, run};

/// Evaluates an annotated policy on an admission request and prints the AdmissionResponse.
#[derive(Parser)]
#[command(name = "pci-run", version)]
struct Cli {
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
}

fn main() -> ExitCode {
    match execute(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn execute(cli: Cli) -> Result<()> {
    let module = std::fs::read(&cli.module)
        .with_context(|| format!("cannot read {}", cli.module.display()))?;
    let request = read_request(&read(&cli.request_path)?)?;
    let settings = match (&cli.settings_path, &cli.settings_json) {
        (Some(path), _) => read_settings(&read(path)?)?,
        (None, Some(json)) => read_settings(json)?,
        (None, None) => read_settings("")?,
    };
    let replay = cli
        .replay
        .as_ref()
        .map(|path| Replay::from_yaml(&read(path)?))
        .transpose()?
        .map(Arc::new);
    let live = match replay {
        Some(_) => None,
        None => Some(Arc::new(LiveHost::new(
            Transport::HttpsExcept(cli.insecure_registries.clone()),
            Credentials::DockerConfig,
        )?)),
    };
    let recorder = cli.record.as_ref().map(|_| Arc::new(Recorder::default()));
    let engine = Engine::new()?;
    let policy = engine.load(&module)?;
    let options = RunOptions {
        settings,
        replay,
        live,
        record: recorder.clone(),
        allow_context_aware: cli.allow_context_aware,
        ..RunOptions::default()
    };
    let response = run(&policy, &request, options)?;
    if let (Some(path), Some(recorder)) = (&cli.record, recorder) {
        std::fs::write(path, recorder.to_yaml()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{}", serde_json::to_string(&response)?);
    Ok(())
}
