//! `make bench`: wasm size, compile time and per-request evaluation time of every policy, in the
//! e2e host with a warm instance, on the corpus under `bench/corpus/`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pci_host::capabilities::HostCapabilities;
use pci_host::host::{DEFAULT_DEADLINE_TICKS, Engine};
use serde_json::{Value, json};

use crate::workspace;

const WARM_UP: usize = 200;
const COMPILE_RUNS: usize = 3;

/// Runs the benchmark and writes the table to `output`.
pub fn bench(iterations: usize, output: &Path) -> Result<()> {
    let corpus = corpus()?;
    let engine = Engine::new()?;
    let mut table = String::from(
        "| policy | wasm bytes | compile ms | request | bytes | median µs | p99 µs |\n|---|---|---|---|---|---|---|\n",
    );
    for policy in workspace::policies()? {
        let module_path = workspace::dist_module(&policy);
        let module = std::fs::read(&module_path)
            .with_context(|| format!("cannot read {} (run `make build`)", module_path.display()))?;
        let compile = median(
            (0..COMPILE_RUNS)
                .map(|_| time(|| engine.compile(&module).map(|_| ())))
                .collect::<Result<Vec<_>>>()?,
        );
        let compiled = engine.load(&module)?;
        let instance = compiled.instantiate(HostCapabilities::none(), DEFAULT_DEADLINE_TICKS)?;
        let settings = bench_settings(&policy)?;
        for (name, request) in &corpus {
            let payload = json!({"request": request, "settings": settings})
                .to_string()
                .into_bytes();
            let answer: Value = serde_json::from_slice(&instance.call("validate", &payload)?)?;
            if answer.get("accepted").and_then(Value::as_bool).is_none() {
                bail!("{policy} gave no verdict on {name}: {answer}");
            }
            for _ in 0..WARM_UP {
                instance.call("validate", &payload)?;
            }
            let mut samples = Vec::with_capacity(iterations);
            for _ in 0..iterations {
                samples.push(time(|| instance.call("validate", &payload).map(|_| ()))?);
            }
            samples.sort();
            let p99 = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
            let _ = writeln!(
                table,
                "| {policy} | {} | {:.1} | {name} | {} | {:.1} | {:.1} |",
                module.len(),
                compile.as_secs_f64() * 1e3,
                payload.len(),
                micros(median(samples.clone())),
                micros(p99)
            );
        }
    }
    print!("{table}");
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(output, &table).with_context(|| format!("cannot write {}", output.display()))?;
    println!("written to {}", output.display());
    Ok(())
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

/// The settings a policy is benchmarked with: `bench/settings/<policy>.json`, else `{}`.
fn bench_settings(policy: &str) -> Result<Value> {
    let path = workspace::root()
        .join("bench")
        .join("settings")
        .join(format!("{policy}.json"));
    if path.is_file() {
        Ok(serde_json::from_str(&std::fs::read_to_string(&path)?)?)
    } else {
        Ok(json!({}))
    }
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
