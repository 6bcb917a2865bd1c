//! `xtask bench-variants`: how the compiler's `opt-level` and binaryen's `wasm-opt` level change
//! wasm size and evaluation time, measured for the record in BENCHMARKS.md. Each opt-level is
//! built in its own target directory; the shipped build is opt-level 3 + `wasm-opt -O3`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pci_host::annotate::annotate;
use pci_host::capabilities::HostCapabilities;
use pci_host::host::{DEFAULT_DEADLINE_TICKS, Engine};
use serde_json::{Value, json};

use crate::build::{TARGET, WASM_OPT_FEATURES};
use crate::workspace;

const OPT_LEVELS: [&str; 3] = ["3", "s", "z"];
const WASM_OPT_LEVELS: [Option<&str>; 4] = [None, Some("-O3"), Some("-Os"), Some("-Oz")];
const POLICIES: [&str; 2] = ["pod-security", "trusted-registries"];
const ROUNDS: usize = 5;
const PER_ROUND: usize = 1000;

/// Builds every variant, measures it on the reference request, prints and writes the table.
pub fn bench_variants(output: &std::path::Path) -> Result<()> {
    let root = workspace::root();
    let engine = Engine::new()?;
    let request: Value = serde_json::from_str(&std::fs::read_to_string(
        root.join("bench/corpus/deployment-request.json"),
    )?)?;
    let mut table = String::from(
        "| policy | opt-level | wasm-opt | wasm bytes (annotated) | best-round median µs, reference Deployment |\n|---|---|---|---|---|\n",
    );
    for level in OPT_LEVELS {
        let target_dir = build_at(&root, level)?;
        for policy in POLICIES {
            let raw = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{}.wasm", policy.replace('-', "_")));
            let settings = crate::bench::bench_settings(policy)?;
            let payload = json!({"request": request, "settings": settings})
                .to_string()
                .into_bytes();
            for wasm_opt in WASM_OPT_LEVELS {
                let module = optimised(&raw, &target_dir, policy, wasm_opt)?;
                let metadata = std::fs::read_to_string(
                    root.join("policies").join(policy).join("metadata.yml"),
                )?;
                let readme =
                    std::fs::read_to_string(root.join("policies").join(policy).join("README.md"))?;
                let annotated = annotate(&engine, &module, &metadata, Some(&readme))?;
                let best = best_round_median(&engine, &annotated, &payload)?;
                let _ = writeln!(
                    table,
                    "| {policy} | {level} | {} | {} | {:.1} |",
                    wasm_opt.unwrap_or("none"),
                    annotated.len(),
                    best.as_secs_f64() * 1e6
                );
            }
        }
    }
    print!("{table}");
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(output, &table).with_context(|| format!("cannot write {}", output.display()))?;
    Ok(())
}

/// Builds the measured policies at opt-level `level`, in a target directory of its own; that
/// directory.
fn build_at(root: &Path, level: &str) -> Result<PathBuf> {
    let target_dir = root
        .join("target")
        .join("variants")
        .join(format!("opt-{level}"));
    let mut command = crate::build::wasm_build(root)?;
    command
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", level)
        .env("CARGO_TARGET_DIR", &target_dir);
    for policy in POLICIES {
        command.args(["-p", policy]);
    }
    let status = command.status().context("cannot start cargo")?;
    if !status.success() {
        bail!("cargo build at opt-level {level} failed");
    }
    Ok(target_dir)
}

/// The `raw` module of `policy` as it is, or run through `wasm-opt` at `wasm_opt` (written
/// beside it in `target_dir`).
fn optimised(
    raw: &Path,
    target_dir: &Path,
    policy: &str,
    wasm_opt: Option<&str>,
) -> Result<Vec<u8>> {
    let Some(flag) = wasm_opt else {
        return Ok(std::fs::read(raw)?);
    };
    let out = target_dir.join(format!("{policy}{flag}.wasm"));
    let status = Command::new("wasm-opt")
        .arg(flag)
        .args(WASM_OPT_FEATURES)
        .arg(raw)
        .arg("-o")
        .arg(&out)
        .status()
        .context("cannot start wasm-opt")?;
    if !status.success() {
        bail!("wasm-opt {flag} failed");
    }
    Ok(std::fs::read(&out)?)
}

/// The best of [`ROUNDS`] medians of [`PER_ROUND`] `validate` calls of the `annotated` module
/// with `payload`, after a warm-up.
fn best_round_median(engine: &Engine, annotated: &[u8], payload: &[u8]) -> Result<Duration> {
    let instance = engine
        .load(annotated)?
        .instantiate(HostCapabilities::none(), DEFAULT_DEADLINE_TICKS)?;
    for _ in 0..200 {
        instance.call("validate", payload)?;
    }
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let mut round = Vec::with_capacity(PER_ROUND);
        for _ in 0..PER_ROUND {
            let start = Instant::now();
            instance.call("validate", payload)?;
            round.push(start.elapsed());
        }
        round.sort();
        best = best.min(round[round.len() / 2]);
    }
    Ok(best)
}
