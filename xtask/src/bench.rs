//! `make bench`: wasm size, compile time and per-request evaluation time of every policy, in our
//! host with a warm instance, on the corpus under `bench/corpus/`, checked against the budgets
//! in `bench/budgets.json` and each policy's `bench.json` (agreed in BENCHMARKS.md). A budget
//! exceeded is reported and makes the command fail: the benchmark, not the tests, catches
//! performance regressions.
//!
//! Two figures per request: the guest alone (the `validate` payload in, the answer out), and
//! the policy-server path around it (`pci_host::server_path`: the AdmissionReview read into a
//! typed request, the payload built, the answer turned into an AdmissionResponse and written
//! back), which is what a cluster pays per request and policy.
//!
//! On a shared machine one slow second can double a median, so each request is measured in
//! several rounds and the budget is checked against the best round's median (noise only ever
//! adds time); the table also gives the median and p99 over all samples.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pci_host::capabilities::{HostCapabilities, LiveAnswers};
use pci_host::host::{DEFAULT_DEADLINE_TICKS, Engine, Instance};
use pci_host::replay::CallbackRequest;
use pci_host::server_path::{ServerPath, review_body};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::workspace;

const WARM_UP: usize = 200;
const COMPILE_RUNS: usize = 3;
const ROUNDS: usize = 5;

/// `bench/budgets.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Budgets {
    /// Largest annotated module, in bytes, for every policy.
    max_wasm_bytes: usize,
    /// Largest best-round median per request of the corpus, in µs, for every policy unless its
    /// `bench.json` sets its own.
    max_median_micros: BTreeMap<String, f64>,
    /// Slowest acceptable `pci-policies scan` of the generated corpus (`scan_bench`).
    min_scan_workloads_per_second: f64,
    /// Slowest acceptable cold scan of a 50-workload chart, empty cache, the bundle precompiled
    /// beside the command (seconds, whole process).
    max_cold_scan_seconds: f64,
    /// Slowest acceptable warm scan of the same chart (seconds, whole process).
    max_warm_scan_seconds: f64,
}

/// `policies/<name>/bench.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyBench {
    /// The settings the policy is measured with.
    settings: Value,
    /// Budgets of this policy that differ from `bench/budgets.json`.
    #[serde(default)]
    max_median_micros: BTreeMap<String, f64>,
    /// Other settings, measured on [`VARIANT_REQUEST`] (or the variant's own request) and
    /// reported without a budget, e.g. pod-security with every PodSecurityPolicy setting.
    #[serde(default)]
    variants: BTreeMap<String, Variant>,
}

/// A variant: settings, measured on [`VARIANT_REQUEST`]; or settings on a request of the
/// policy's own folder, which must (or must not) be mutated, so the path it measures is
/// the one it names.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Variant {
    #[serde(rename_all = "camelCase")]
    OnRequest {
        /// A file in the policy's folder: the `request` of a `validate` payload.
        request: String,
        settings: Value,
        mutates: bool,
    },
    Settings(Value),
}

/// The request settings variants are measured on.
const VARIANT_REQUEST: &str = "deployment-request";

/// One (policy, request) under measurement.
struct Subject {
    policy: String,
    module_bytes: usize,
    compile: Duration,
    request: String,
    payload: Vec<u8>,
    /// The AdmissionReview body the API server would post.
    review: Vec<u8>,
    settings: Value,
    budget: Option<f64>,
    instance: Rc<Instance>,
    samples: Vec<Duration>,
    best_round_median: Duration,
    /// The policy-server path: best-round median and all samples.
    server_samples: Vec<Duration>,
    server_best_round_median: Duration,
}

/// The digest every tag of the benchmark's registry points to.
const BENCH_DIGEST: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The host answers of a cluster where every image is signed: tags resolve to
/// [`BENCH_DIGEST`] and every verification holds for the digest asked. The image policies are
/// measured on their whole path, host calls through waPC included.
#[derive(Debug)]
struct SignedRegistry;

impl LiveAnswers for SignedRegistry {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        let image = match request {
            CallbackRequest::OciManifestDigest { .. } => {
                return Ok(json!({ "digest": BENCH_DIGEST }).to_string().into_bytes());
            }
            CallbackRequest::SigstorePubKeyVerify { image, .. }
            | CallbackRequest::SigstoreKeylessVerify { image, .. }
            | CallbackRequest::SigstoreKeylessPrefixVerify { image, .. }
            | CallbackRequest::SigstoreGithubActionsVerify { image, .. }
            | CallbackRequest::SigstoreCertificateVerify { image, .. } => image,
            other => {
                return Err(format!(
                    "{} is not answered in the benchmark",
                    other.kind_name()
                ));
            }
        };
        let digest = image
            .rsplit_once('@')
            .map_or(BENCH_DIGEST, |(_, digest)| digest);
        Ok(json!({ "is_trusted": true, "digest": digest })
            .to_string()
            .into_bytes())
    }
}

fn signed_registry() -> HostCapabilities {
    HostCapabilities::none().with_live(Arc::new(SignedRegistry))
}

/// Runs the benchmark, writes the table to `output`, and fails on a budget exceeded.
///
/// The rounds are interleaved: round 1 of every subject, then round 2 of every subject…, so a
/// burst of load from another tenant of the machine spoils one round of each, not all of one.
pub fn bench(iterations: usize, output: &Path) -> Result<()> {
    let budgets = budgets()?;
    let corpus = corpus()?;
    let engine = Engine::new()?;
    let mut regressions = Vec::new();
    let mut subjects = Vec::new();
    for policy in workspace::bundle().policies()? {
        let module_path = workspace::bundle().module(&policy);
        let module = std::fs::read(&module_path)
            .with_context(|| format!("cannot read {} (run `make build`)", module_path.display()))?;
        if module.len() > budgets.max_wasm_bytes {
            regressions.push(format!(
                "{policy}: {} bytes of wasm > budget {}",
                module.len(),
                budgets.max_wasm_bytes
            ));
        }
        subjects.extend(subjects_of(
            &engine,
            &policy,
            &module,
            (&corpus, &budgets),
            iterations,
        )?);
    }
    measure(&mut subjects, iterations)?;
    let mut table = subjects_table(subjects, &mut regressions);
    match crate::scan_bench::bench_scan(
        &crate::scan_bench::binary(),
        budgets.min_scan_workloads_per_second,
    ) {
        Ok(scan) => table.push_str(&scan),
        Err(error) => regressions.push(format!("{error:#}")),
    }
    match crate::scan_bench::bench_start(
        &crate::scan_bench::binary(),
        budgets.max_cold_scan_seconds,
        budgets.max_warm_scan_seconds,
    ) {
        Ok((_, start)) => table.push_str(&start),
        Err(error) => regressions.push(format!("{error:#}")),
    }
    print!("{table}");
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(output, &table).with_context(|| format!("cannot write {}", output.display()))?;
    println!("written to {}", output.display());
    if regressions.is_empty() {
        println!("every budget of bench/budgets.json is met");
        Ok(())
    } else {
        bail!(
            "performance regression (budgets in bench/budgets.json, see BENCHMARKS.md):\n  {}",
            regressions.join("\n  ")
        )
    }
}

/// The subjects of one policy's `module`: every request of the corpus with its bench
/// settings, and the variant settings on [`VARIANT_REQUEST`], each checked to give a verdict
/// and warmed up, with its budget (the policy's `bench.json`, else `budgets`).
fn subjects_of(
    engine: &Engine,
    policy: &str,
    module: &[u8],
    (corpus, budgets): (&[(String, Value)], &Budgets),
    iterations: usize,
) -> Result<Vec<Subject>> {
    let compile = median(
        (0..COMPILE_RUNS)
            .map(|_| time(|| engine.compile(module).map(|_| ())))
            .collect::<Result<Vec<_>>>()?,
    );
    let compiled = engine.load(module)?;
    let instance = Rc::new(compiled.instantiate(signed_registry(), DEFAULT_DEADLINE_TICKS)?);
    let policy_bench = policy_bench(policy)?;
    let runs = runs_of(policy, &policy_bench, corpus)?;
    let mut subjects = Vec::new();
    for Run {
        name,
        request,
        settings,
        mutates,
    } in runs
    {
        let request = &request;
        let payload = json!({"request": request, "settings": settings})
            .to_string()
            .into_bytes();
        let answer: Value = serde_json::from_slice(&instance.call("validate", &payload)?)?;
        if answer.get("accepted").and_then(Value::as_bool).is_none() {
            bail!("{policy} gave no verdict on {name}: {answer}");
        }
        if let Some(mutates) = mutates
            && answer["mutated_object"].is_null() == mutates
        {
            bail!("{policy} on {name}: the variant says mutated={mutates}, the answer: {answer}");
        }
        let review = review_body(request);
        let server = ServerPath::new(&instance, settings.clone());
        for _ in 0..WARM_UP {
            instance.call("validate", &payload)?;
            server.review(&review)?;
        }
        let budget = policy_bench
            .max_median_micros
            .get(&name)
            .or_else(|| budgets.max_median_micros.get(&name))
            .copied();
        subjects.push(Subject {
            policy: policy.to_owned(),
            module_bytes: module.len(),
            compile,
            request: name,
            payload,
            review,
            settings: settings.clone(),
            budget,
            instance: Rc::clone(&instance),
            samples: Vec::with_capacity(iterations),
            best_round_median: Duration::MAX,
            server_samples: Vec::with_capacity(iterations),
            server_best_round_median: Duration::MAX,
        });
    }
    Ok(subjects)
}

/// One request with its settings, under measurement.
struct Run {
    name: String,
    request: Value,
    settings: Value,
    /// Whether the answer must carry a mutated object (variants on their own request).
    mutates: Option<bool>,
}

/// Every request of the corpus with the bench settings, then the variants.
fn runs_of(
    policy: &str,
    policy_bench: &PolicyBench,
    corpus: &[(String, Value)],
) -> Result<Vec<Run>> {
    let mut runs: Vec<Run> = corpus
        .iter()
        .map(|(name, request)| Run {
            name: name.clone(),
            request: request.clone(),
            settings: policy_bench.settings.clone(),
            mutates: None,
        })
        .collect();
    let shared = corpus.iter().find(|(name, _)| name == VARIANT_REQUEST);
    for (variant, definition) in &policy_bench.variants {
        runs.push(match definition {
            Variant::Settings(settings) => {
                let (request_name, request) =
                    shared.with_context(|| format!("no {VARIANT_REQUEST} in the corpus"))?;
                Run {
                    name: format!("{request_name} ({variant})"),
                    request: request.clone(),
                    settings: settings.clone(),
                    mutates: None,
                }
            }
            Variant::OnRequest {
                request,
                settings,
                mutates,
            } => {
                let path = workspace::bundle().policy_dir(policy).join(request);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Run {
                    name: format!("{} ({variant})", request.trim_end_matches(".json")),
                    request: serde_json::from_str(&text)
                        .with_context(|| format!("{} is not JSON", path.display()))?,
                    settings: settings.clone(),
                    mutates: Some(*mutates),
                }
            }
        });
    }
    Ok(runs)
}

/// Measures every subject, guest alone and policy-server path, in [`ROUNDS`] interleaved
/// rounds of `iterations` calls in all.
fn measure(subjects: &mut [Subject], iterations: usize) -> Result<()> {
    let per_round = iterations.div_ceil(ROUNDS).max(1);
    for _ in 0..ROUNDS {
        for subject in subjects.iter_mut() {
            let round = measure_round(per_round, || {
                subject
                    .instance
                    .call("validate", &subject.payload)
                    .map(|_| ())
            })?;
            subject.samples.extend_from_slice(&round);
            subject.best_round_median = subject.best_round_median.min(median(round));
            let server = ServerPath::new(&subject.instance, subject.settings.clone());
            let round = measure_round(per_round, || server.review(&subject.review).map(|_| ()))?;
            subject.server_samples.extend_from_slice(&round);
            subject.server_best_round_median = subject.server_best_round_median.min(median(round));
        }
    }
    Ok(())
}

/// The per-request table, one row per subject; a best-round median over its budget is added
/// to `regressions`.
fn subjects_table(subjects: Vec<Subject>, regressions: &mut Vec<String>) -> String {
    let mut table = String::from(
        "| policy | wasm bytes | compile ms | request | bytes | median µs | p99 µs | best-round median µs | budget µs | policy-server path median µs |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for subject in subjects {
        let (policy, name) = (&subject.policy, &subject.request);
        let best = micros(subject.best_round_median);
        if let Some(budget) = subject.budget
            && best > budget
        {
            regressions.push(format!(
                "{policy} on {name}: best-round median {best:.1} µs > budget {budget:.0} µs"
            ));
        }
        let mut samples = subject.samples;
        samples.sort();
        let p99 = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
        let _ = writeln!(
            table,
            "| {policy} | {} | {:.1} | {name} | {} | {:.1} | {:.1} | {best:.1} | {} | {:.1} |",
            subject.module_bytes,
            subject.compile.as_secs_f64() * 1e3,
            subject.payload.len(),
            micros(median(samples)),
            micros(p99),
            subject
                .budget
                .map_or_else(|| "–".to_owned(), |b| format!("{b:.0}")),
            micros(subject.server_best_round_median),
        );
    }
    table
}

/// One round: `count` timed calls.
fn measure_round(count: usize, mut call: impl FnMut() -> Result<()>) -> Result<Vec<Duration>> {
    (0..count).map(|_| time(&mut call)).collect()
}

fn budgets() -> Result<Budgets> {
    let path = workspace::root().join("bench").join("budgets.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a budget file", path.display()))
}

fn corpus() -> Result<Vec<(String, Value)>> {
    let dir = workspace::root().join("bench").join("corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((
                name,
                serde_json::from_str(&std::fs::read_to_string(&path)?)?,
            ))
        })
        .collect()
}

/// `policies/<policy>/bench.json`: the settings the policy is measured with, its own budgets.
fn policy_bench(policy: &str) -> Result<PolicyBench> {
    let path = workspace::bundle().policy_dir(policy).join("bench.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a bench file", path.display()))
}

/// The settings `policy` is benchmarked (and fuzz-seeded) with.
pub fn bench_settings(policy: &str) -> Result<Value> {
    Ok(policy_bench(policy)?.settings)
}

fn time(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size budget holds for the modules `make build` wrote (`make test` builds them first).
    #[test]
    fn every_built_module_fits_the_size_budget() {
        let budgets = budgets().unwrap();
        let dist = crate::workspace::root().join("dist");
        let mut over = Vec::new();
        let mut seen = 0;
        for entry in std::fs::read_dir(&dist).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "wasm") {
                seen += 1;
                let size = std::fs::metadata(&path)
                    .map(|m| m.len())
                    .unwrap_or(u64::MAX);
                if size > budgets.max_wasm_bytes as u64 {
                    over.push(format!("{}: {size} bytes", path.display()));
                }
            }
        }
        // `make test` builds dist/ first and says so: there, every policy's module must be
        // there to be measured.
        if std::env::var_os("PCI_REQUIRE_DIST").is_some() {
            let policies = crate::workspace::bundle().policies().unwrap();
            assert_eq!(seen, policies.len(), "modules in {}", dist.display());
        } else if seen == 0 {
            eprintln!(
                "no module in {}: run `make build` to check the size budget",
                dist.display()
            );
        }
        assert!(
            over.is_empty(),
            "over {} bytes: {}",
            budgets.max_wasm_bytes,
            over.join(", ")
        );
    }

    #[test]
    fn every_request_of_the_corpus_has_a_budget_for_every_policy() {
        let budgets = budgets().unwrap();
        assert_eq!(budgets.max_wasm_bytes, 660 * 1024);
        let requests: Vec<String> = corpus()
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert!(requests.contains(&"deployment-request".to_owned()));
        let named: Vec<&String> = budgets.max_median_micros.keys().collect();
        assert_eq!(named, requests.iter().collect::<Vec<_>>());
        for policy in workspace::bundle().policies().unwrap() {
            let own = policy_bench(&policy).unwrap();
            for request in own.max_median_micros.keys() {
                assert!(requests.contains(request), "{policy}: no request {request}");
            }
        }
        assert_eq!(
            policy_bench("pod-security").unwrap().max_median_micros["deployment-request"],
            60.0,
            "the agreed budget of the reference request"
        );
    }

    #[test]
    fn a_round_times_every_call() {
        let mut calls = 0;
        let round = measure_round(7, || {
            calls += 1;
            std::thread::sleep(Duration::from_millis(1));
            Ok(())
        })
        .unwrap();
        assert_eq!((calls, round.len()), (7, 7));
        assert!(round.iter().all(|d| *d >= Duration::from_millis(1)));
        assert!(measure_round(1, || bail!("broken")).is_err());
    }
}
