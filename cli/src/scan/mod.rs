//! `pci-policies scan`: the manifests of an application checked in CI with the same compiled
//! policies and settings the cluster runs. Each workload is the CREATE request the API server
//! would send; the mutating policies patch it first (in name order, as the API server calls
//! them), then every validating policy judges the final object.

mod base;
mod cluster;
mod evaluate;
pub mod input;
mod match_conditions;
mod modules;
pub mod outcome;
mod output;
mod policies;
mod precompile;
mod progress;
mod selector;
mod unanswered;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use pci_host::capabilities::{CachedAnswers, LiveAnswers, SessionAnswers};

use evaluate::HostAnswers;
use outcome::{Outcome, ScanResults, Summary, Verdict};
use output::Destination;
pub use precompile::{PrecompileArgs, precompile};

/// What to scan, with which policies, and how to report.
#[derive(Args)]
pub struct ScanArgs {
    /// Files or folders of manifests (YAML, JSON, multi-document, `kind: List`); `-` reads
    /// standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// ClusterAdmissionPolicy, AdmissionPolicy and policy-group manifests to scan with: files,
    /// folders (their .yaml, .yml and .json files), or `-` for standard input (`kubectl
    /// kustomize deploy/overlays/protect | pci-policies scan --policies - chart/`); repeatable
    /// (default: the bundle's recommended deployment, manifests/pci-policies.yaml).
    #[arg(long, value_name = "FILE|DIR|-")]
    policies: Vec<PathBuf>,
    /// Where the policy modules are, as `<policy>.wasm` (default: dist/); used for a reference
    /// pinned by digest only when the file is that module (same manifest digest), and for a
    /// reference by tag only when this option names the folder. Otherwise the module is taken
    /// from the cache or pulled from its `registry://` reference, and cached by digest.
    #[arg(long, value_name = "DIR")]
    modules: Option<PathBuf>,
    /// Verify every module from the registry against this Kubewarden verification config
    /// (`apiVersion: v1`, `allOf`, `anyOf`) before it runs, as policy-server does; local
    /// modules (--modules) are then not used.
    #[arg(long, value_name = "FILE")]
    verification_config: Option<PathBuf>,
    /// The cache of pulled modules and compiled code (default: $PCI_POLICIES_CACHE, else
    /// $XDG_CACHE_HOME/pci-policies, else ~/.cache/pci-policies).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Plain HTTP to registries (local registries only).
    #[arg(long)]
    insecure: bool,
    /// No registry: checks that need one report an error, never a pass; no module is pulled.
    #[arg(long, conflicts_with = "replay")]
    offline: bool,
    /// A kwctl session answering host capability calls (any recorded question, in any order).
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Sigstore trust root for keyless signatures, read offline: a trusted_root.json
    /// (`cosign trusted-root create`, or the public-good instance's from its TUF repository) or
    /// a ClientTrustConfig, as kwctl reads it. Without it keyless verification is an error.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["offline", "replay"])]
    sigstore_trust_config: Option<PathBuf>,
    /// Output format, to standard output, or `FORMAT=FILE` to a file. Repeatable.
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=FILE]", default_value = "table", value_parser = output::ListedValues(output::formats))]
    output: Vec<String>,
    /// What makes the exit code 1.
    #[arg(long = "fail-on", value_name = "WHAT", default_value = "fail", value_parser = output::ListedValues(|| FAIL_ON.to_vec()))]
    fail_on: String,
    /// Objects of the target cluster (`kubectl get namespaces,runtimeclasses -o yaml`):
    /// namespace labels for the policies' namespaceSelector, and the answers to the policies'
    /// cluster lookups (a kind the file holds is taken as listed in full). Repeatable; the
    /// input's own objects win over them.
    #[arg(long = "context", value_name = "FILE")]
    context: Vec<PathBuf>,
    /// A label of a namespace, `NAMESPACE=KEY=VALUE` (repeatable): the namespace is then known
    /// with these labels (and its Namespace object's, if given).
    #[arg(long = "namespace-labels", value_name = "NS=KEY=VALUE")]
    namespace_labels: Vec<String>,
    /// The manifests the cluster runs now: a file or folder, or a git revision of the scanned
    /// paths (`origin/main`). A workload in both is judged as the UPDATE the API server would
    /// send (its base version as `oldObject`), a new one as a CREATE.
    #[arg(long, value_name = "DIR|REV")]
    base: Option<String>,
    /// The namespace of manifests that name none, as `helm install -n NS` or `kubectl apply -n
    /// NS` puts them (default: `default`, said on each result).
    #[arg(short = 'n', long, value_name = "NS")]
    namespace: Option<String>,
    /// Worker threads (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Print the throughput and peak memory on standard error.
    #[arg(long)]
    stats: bool,
}

/// The values of `--fail-on` and what each fails on (exit 1).
const FAIL_ON: [(&str, &str); 2] = [
    ("fail", "a rejection by a policy in protect mode"),
    (
        "warn",
        "a warning too: a rejection in monitor mode, a waived or not-enforced violation",
    ),
];

/// Scans and writes the outputs; the exit code: 0 all pass, 1 a rejection (or a warning
/// with `--fail-on warn`), 2 a document that could not be read or a check that could not be
/// made (a module error, a host call an offline scan refused).
pub fn scan(args: &ScanArgs) -> Result<u8> {
    let started = Instant::now();
    let fail_on_warn = match args.fail_on.as_str() {
        "fail" => false,
        "warn" => true,
        other => bail!("--fail-on {other:?}: expected fail or warn"),
    };
    let destinations = args
        .output
        .iter()
        .map(|text| Destination::parse(text))
        .collect::<Result<Vec<_>>>()?;
    let sources = policy_sources(&args.policies, &args.paths)?;
    let deployed = policies::read(&sources, &mut modules_of(args)?)?;
    let answers = host_answers(args)?;
    let target = target_of(args)?;
    let units = input::units(&args.paths, &mut std::io::stdin());
    let progress = progress::Progress::new(units.len());
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let judged = progress
        .around(|| evaluate::evaluate_all(&units, &deployed, &answers, target, jobs, &progress))?;
    let results = ScanResults {
        with_base: args.base.is_some(),
        summary: Summary::of(&judged.outcomes),
        results: judged.outcomes,
    };
    for destination in &destinations {
        destination.write(&results)?;
    }
    if args.stats {
        print_stats(judged.workloads, started);
    }
    Ok(exit_code(&results.results, fail_on_warn))
}

/// Where the policies' modules come from: `--modules` (else `dist/`), the cache, the registry
/// (unless `--offline`), verified with `--verification-config` when given.
fn modules_of(args: &ScanArgs) -> Result<modules::Modules> {
    let cache = args
        .cache_dir
        .clone()
        .unwrap_or_else(modules::default_cache);
    let pull = (!args.offline).then_some(modules::Puller {
        insecure: args.insecure,
    });
    let verification = match &args.verification_config {
        Some(path) => Some(modules::Verification {
            text: json_text_of(path, "--verification-config ")?,
            path: path.clone(),
            trust_root: args.sigstore_trust_config.clone(),
        }),
        None => None,
    };
    Ok(modules::Modules::new(
        args.modules
            .clone()
            .unwrap_or_else(|| PathBuf::from("dist")),
        cache,
        pull,
        verification,
    )?
    .with_dir_given(args.modules.is_some()))
}

/// Who answers the policies' host calls: nobody (`--offline`), the `--replay` session, or the
/// live host.
fn host_answers(args: &ScanArgs) -> Result<HostAnswers> {
    Ok(match (&args.replay, args.offline) {
        (_, true) => HostAnswers {
            answerer: None,
            unanswered: None,
        },
        (Some(path), false) => {
            let text = json_text_of(path, "--replay ")?;
            HostAnswers {
                answerer: Some(Arc::new(
                    SessionAnswers::from_yaml(&text)
                        .with_context(|| format!("{}", path.display()))?,
                )),
                unanswered: Some("the replay session has no answer for it"),
            }
        }
        (None, false) => HostAnswers {
            answerer: live_host(args.insecure, args.sigstore_trust_config.as_deref())?
                .map(|live| Arc::new(CachedAnswers::new(live)) as Arc<dyn LiveAnswers>),
            unanswered: Some(LIVE_UNANSWERED),
        },
    })
}

/// A one-document YAML file given by `flag` (a verification config, a replay session), read
/// with the scan's YAML reader (a broken file is an error naming its file and line), as the
/// JSON text the host's readers take.
fn json_text_of(path: &std::path::Path, flag: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag}{}: cannot read", path.display()))?;
    let value = pci_policies::manifests::yaml::single_document(&path.display().to_string(), &text)
        .map_err(|error| anyhow::anyhow!("{flag}{error}"))?;
    Ok(value.to_string())
}

/// Where the manifests are applied: the cluster of `--context` and `--namespace-label`, what
/// `--base` runs, and `--namespace`.
fn target_of(args: &ScanArgs) -> Result<evaluate::Target> {
    let mut cluster = cluster::Cluster::default();
    for file in &args.context {
        cluster.read_context(file)?;
    }
    for flag in &args.namespace_labels {
        cluster.add_namespace_label(flag)?;
    }
    let base = match &args.base {
        Some(base) => base::Base::read(base, &args.paths)?,
        None => base::Base::default(),
    };
    Ok(evaluate::Target {
        cluster,
        base,
        namespace: args.namespace.clone(),
    })
}

/// The texts of `--policies` (files, folders, standard input), or the recommended deployment.
fn policy_sources(policies: &[PathBuf], paths: &[PathBuf]) -> Result<Vec<(String, String)>> {
    if policies.is_empty() {
        return Ok(vec![(
            "the recommended deployment".to_owned(),
            policies::RECOMMENDED.to_owned(),
        )]);
    }
    let stdin = |p: &PathBuf| p.as_os_str() == "-";
    if policies.iter().any(stdin) && paths.iter().any(stdin) {
        bail!(
            "--policies - and the manifests - both read standard input: give one of them as a file"
        );
    }
    let mut sources = Vec::new();
    for path in policies {
        if stdin(path) {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("--policies -: cannot read standard input")?;
            sources.push(("--policies -".to_owned(), text));
            continue;
        }
        if !path.exists() {
            bail!("--policies {}: no such file or folder", path.display());
        }
        let files = input::files_under(path);
        if files.is_empty() {
            bail!(
                "--policies {}: no .yaml, .yml or .json file in it",
                path.display()
            );
        }
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            sources.push((file.display().to_string(), text));
        }
    }
    Ok(sources)
}

/// 2 when a document could not be read or a check could not be made, else 1 when a check
/// failed (or warned, with `--fail-on warn`), else 0.
fn exit_code(outcomes: &[Outcome], fail_on_warn: bool) -> u8 {
    let unjudged = outcomes
        .iter()
        .any(|o| matches!(o.verdict, Verdict::Invalid | Verdict::Error));
    let failed = outcomes
        .iter()
        .any(|o| o.verdict == Verdict::Fail || (fail_on_warn && o.verdict == Verdict::Warn));
    if unjudged { 2 } else { u8::from(failed) }
}

/// `N workloads in S s (W workloads/s), peak memory M MiB` on standard error.
fn print_stats(workloads: usize, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1}", kib as f64 / 1024.0),
        );
    eprintln!(
        "scanned {workloads} workloads in {seconds:.3} s ({:.0} workloads/s), peak memory {peak} MiB",
        workloads as f64 / seconds.max(1e-9)
    );
}

/// Registry lookups and cosign verification answered live.
/// Why a live scan does not ask a call: what the live host answers.
#[cfg(feature = "live")]
const LIVE_UNANSWERED: &str = "the live host could not ask it: the registry gave no answer, or it is a call the live host does not make (it answers the registry and signatures only: give a replay session (--replay) for the cluster, DNS and certificates)";

/// Why a scan built without the live host does not ask a call.
#[cfg(not(feature = "live"))]
const LIVE_UNANSWERED: &str =
    "this build has no live host: give a replay session (--replay), or build with the live feature";

#[cfg(feature = "live")]
fn live_host(
    insecure: bool,
    trust_config: Option<&std::path::Path>,
) -> Result<Option<Arc<dyn LiveAnswers>>> {
    use pci_host::live::LiveHost;
    use pci_host::oci::{Credentials, Transport};
    let transport = Transport::insecure_if(insecure);
    let mut live = LiveHost::new(transport, Credentials::DockerConfig)?;
    if let Some(path) = trust_config {
        live = live.with_trust_root(&pci_host::trust_root::TrustRoot::from_file(path)?)?;
    }
    Ok(Some(Arc::new(live)))
}

#[cfg(not(feature = "live"))]
fn live_host(
    _insecure: bool,
    trust_config: Option<&std::path::Path>,
) -> Result<Option<Arc<dyn LiveAnswers>>> {
    if trust_config.is_some() {
        bail!("--sigstore-trust-config needs the live host: build with the live feature");
    }
    Ok(None)
}
