//! `pci-policies scan`: the manifests of an application checked in CI with the same compiled
//! policies and settings the cluster runs. Each workload is the CREATE request the API server
//! would send; the mutating policies patch it first (in name order, as the API server calls
//! them), then every validating policy judges the final object.

mod input;
mod output;
mod policies;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use pci_host::admission::Deployment;
use pci_host::capabilities::LiveAnswers;
use pci_host::host::Engine;
use pci_host::replay::{CallbackRequest, Replay};
use pci_host::run::{RunOptions, run};

use input::Document;
use output::{Outcome, Verdict};

/// What to scan, with which policies, and how to report.
#[derive(Args)]
pub struct ScanArgs {
    /// Files or folders of manifests (YAML, JSON, multi-document, `kind: List`); `-` reads
    /// standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// ClusterAdmissionPolicy / AdmissionPolicy manifests to scan with (default: the bundle's
    /// recommended deployment, manifests/pci-policies.yaml).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// Where the policy modules are, as `<policy>.wasm`.
    #[arg(long, default_value = "dist")]
    modules: PathBuf,
    /// No registry: checks that need one report an error, never a pass.
    #[arg(long, conflicts_with = "replay")]
    offline: bool,
    /// A kwctl session answering host capability calls.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Output format: table or json.
    #[arg(short = 'o', long = "output", default_value = "table")]
    output: String,
    /// Fail (exit 1) on warnings too, not only on rejections.
    #[arg(long = "fail-on", default_value = "fail")]
    fail_on: String,
}

/// The host error every call gets in `--offline` mode.
const OFFLINE: &str = "offline scan: this check needs the registry or the cluster";

#[derive(Debug)]
struct Offline;

impl LiveAnswers for Offline {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        Err(format!("{OFFLINE} ({})", request.kind_name()))
    }
}

/// Scans and prints; the exit code: 0 all pass, 1 a rejection (or a warning with
/// `--fail-on warn`, or a check that errored), 2 a document that could not be read.
pub fn scan(args: &ScanArgs) -> Result<u8> {
    let fail_on_warn = match args.fail_on.as_str() {
        "fail" => false,
        "warn" => true,
        other => bail!("--fail-on {other:?}: expected fail or warn"),
    };
    let format = output::Format::parse(&args.output)?;
    let engine = Engine::new()?;
    let text = match &args.policies {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => policies::RECOMMENDED.to_owned(),
    };
    let deployed = policies::read(&text, &engine, &args.modules)?;
    let replay = match &args.replay {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => None,
    };
    let live: Option<Arc<dyn LiveAnswers>> = if args.offline {
        Some(Arc::new(Offline))
    } else if replay.is_none() {
        live_host()?
    } else {
        None
    };
    let documents = input::read_all(&args.paths, &mut std::io::stdin());
    let mut outcomes = Vec::new();
    for document in &documents {
        outcomes.extend(evaluate(document, &deployed, replay.as_deref(), &live)?);
    }
    output::print(format, &outcomes, &mut std::io::stdout())?;
    let invalid = outcomes.iter().any(|o| o.verdict == Verdict::Invalid);
    let failed = outcomes.iter().any(|o| {
        matches!(o.verdict, Verdict::Fail | Verdict::Error)
            || (fail_on_warn && o.verdict == Verdict::Warn)
    });
    Ok(if invalid { 2 } else { u8::from(failed) })
}

/// The outcomes of one document: one per validating policy that applies to a workload.
fn evaluate(
    document: &Document,
    deployed: &[policies::Deployed],
    replay: Option<&str>,
    live: &Option<Arc<dyn LiveAnswers>>,
) -> Result<Vec<Outcome>> {
    let (origin, kind, name, namespace, request) = match document {
        Document::Workload {
            origin,
            kind,
            name,
            namespace,
            request,
        } => (origin, kind, name, namespace, request),
        Document::Skipped { origin, kind } => {
            return Ok(vec![Outcome::other(
                origin,
                kind,
                Verdict::Skip,
                String::new(),
            )]);
        }
        Document::Invalid { origin, error } => {
            return Ok(vec![Outcome::other(
                origin,
                "",
                Verdict::Invalid,
                error.clone(),
            )]);
        }
    };
    let mut request = request.clone();
    let mut outcomes = Vec::new();
    for policy in deployed {
        if !policy.applies_to(&request) {
            continue;
        }
        let options = RunOptions {
            settings: policy.settings.clone(),
            replay: replay.map(Replay::from_yaml).transpose()?.map(Arc::new),
            live: live.clone(),
            allow_context_aware: true,
            deployment: Deployment {
                monitor: false,
                allowed_to_mutate: policy.mutating,
            },
            ..RunOptions::default()
        };
        let (verdict, message, warnings) = match run(&policy.policy, &request, options) {
            Err(error) => (Verdict::Error, format!("{error:#}"), Vec::new()),
            Ok(response) => {
                if policy.mutating
                    && let Some(operations) = response.patch_operations()?
                {
                    let patch: json_patch::Patch = serde_json::from_value(operations)?;
                    json_patch::patch(&mut request["object"], &patch)
                        .with_context(|| format!("{}: its patch does not apply", policy.name))?;
                }
                let warnings = response.warnings.clone().unwrap_or_default();
                let message = response.message();
                let verdict = if response.allowed {
                    if warnings.is_empty() {
                        Verdict::Pass
                    } else {
                        Verdict::Warn
                    }
                } else if message.contains(OFFLINE) {
                    Verdict::Error
                } else if policy.monitor {
                    Verdict::Warn
                } else {
                    Verdict::Fail
                };
                (verdict, message, warnings)
            }
        };
        if policy.mutating {
            // Its fix is applied; its checks are its validating twin's, which reports them on
            // the final object, as in the cluster's audit.
            continue;
        }
        outcomes.push(Outcome {
            file: origin.file.clone(),
            line: origin.line,
            kind: kind.name().to_owned(),
            name: name.clone(),
            namespace: namespace.clone(),
            policy: policy.name.clone(),
            verdict,
            message,
            warnings,
        });
    }
    Ok(outcomes)
}

/// Registry lookups and cosign verification answered live.
#[cfg(feature = "live")]
fn live_host() -> Result<Option<Arc<dyn LiveAnswers>>> {
    use pci_host::live::LiveHost;
    use pci_host::oci::{Credentials, Transport};
    Ok(Some(Arc::new(LiveHost::new(
        Transport::Https,
        Credentials::DockerConfig,
    )?)))
}

#[cfg(not(feature = "live"))]
fn live_host() -> Result<Option<Arc<dyn LiveAnswers>>> {
    Ok(None)
}
