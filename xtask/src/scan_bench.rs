//! The scan benchmark of `make bench`: `pci-policies scan` (the release binary) on a generated
//! corpus of 10,000 workloads — every workload kind in turn, 1 to 5 containers, one in ten
//! privileged — with the whole recommended bundle offline. It reports workloads per second
//! and peak memory (the scan's own `--stats`) and fails under the floor of
//! `bench/budgets.json` (`minScanWorkloadsPerSecond`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::workspace;

/// Workloads in the corpus.
pub const WORKLOADS: usize = 10_000;
const PER_FILE: usize = 100;

/// What one scan measured.
#[derive(Debug)]
pub struct ScanFigures {
    pub workloads: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub peak_mib: f64,
}

/// The kinds in turn: (apiVersion, kind).
const KINDS: [(&str, &str); 9] = [
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("v1", "Pod"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("apps/v1", "ReplicaSet"),
    ("v1", "ReplicationController"),
    ("v1", "PodTemplate"),
];

/// Workload `index` of the corpus, as YAML.
pub fn workload(index: usize) -> String {
    let (api, kind) = KINDS[index % KINDS.len()];
    let mut containers = String::new();
    for c in 0..=(index % 5) {
        let privileged = index.is_multiple_of(10) && c == 0;
        let _ = write!(
            containers,
            "  - name: c{c}\n    image: registry.example.com/team/app{}-{c}@sha256:{:064x}\n    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities: {{drop: [ALL]}}\n      privileged: {privileged}\n",
            index % 50,
            index * 7 + c
        );
    }
    let pod = format!(
        "spec:\n  securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}\n  containers:\n{containers}"
    );
    let indent = |text: &str, by: usize| -> String {
        text.lines()
            .map(|line| format!("{}{line}\n", " ".repeat(by)))
            .collect()
    };
    let template = format!("metadata:\n  labels: {{app: w{index}}}\n{pod}");
    let body = match kind {
        "Pod" => pod.clone(),
        "PodTemplate" => format!("template:\n{}", indent(&template, 2)),
        "CronJob" => format!(
            "spec:\n  schedule: '*/5 * * * *'\n  jobTemplate:\n    spec:\n      template:\n{}",
            indent(&template, 8)
        ),
        _ => format!(
            "spec:\n  selector: {{matchLabels: {{app: w{index}}}}}\n  template:\n{}",
            indent(&template, 4)
        ),
    };
    format!(
        "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: w{index}\n  namespace: ns{}\n{body}",
        index % 20
    )
}

/// Writes the corpus under `dir` (100 files of 100 documents).
pub fn write_corpus(dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for file in 0..WORKLOADS / PER_FILE {
        let documents: Vec<String> = (file * PER_FILE..(file + 1) * PER_FILE)
            .map(workload)
            .collect();
        std::fs::write(
            dir.join(format!("workloads-{file:03}.yaml")),
            documents.join("---\n"),
        )?;
    }
    Ok(())
}

/// Reads `scanned N workloads in S s (W workloads/s), peak memory M MiB`.
pub fn parse_stats(line: &str) -> Option<ScanFigures> {
    let rest = line.trim().strip_prefix("scanned ")?;
    let (workloads, rest) = rest.split_once(" workloads in ")?;
    let (seconds, rest) = rest.split_once(" s (")?;
    let (per_second, rest) = rest.split_once(" workloads/s), peak memory ")?;
    let peak = rest.strip_suffix(" MiB")?;
    Some(ScanFigures {
        workloads: workloads.parse().ok()?,
        seconds: seconds.parse().ok()?,
        per_second: per_second.parse().ok()?,
        peak_mib: peak.parse().ok()?,
    })
}

/// Scans the corpus with `binary` (a warm-up run fills the compiled-code cache, then the best
/// of three), checks the floor, and returns the Markdown lines for the results table.
pub fn bench_scan(binary: &Path, floor: f64) -> Result<String> {
    let root = workspace::root();
    let dir = root.join("target/bench/scan");
    let corpus = dir.join("corpus");
    write_corpus(&corpus)?;
    let run = || -> Result<ScanFigures> {
        let output = Command::new(binary)
            .current_dir(&root)
            .args(["scan", "--offline", "--stats", "--cache-dir"])
            .arg(dir.join("cache"))
            .arg("-o")
            .arg(format!("json={}", dir.join("results.json").display()))
            .arg(&corpus)
            .output()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Exit 2: offline, the checks that need the registry or the cluster are not made (the
        // corpus also has violations).
        if output.status.code() != Some(2) {
            bail!("the scan exited {:?}: {stderr}", output.status.code());
        }
        stderr
            .lines()
            .find_map(parse_stats)
            .with_context(|| format!("no --stats line in: {stderr}"))
    };
    run()?;
    let mut best: Option<ScanFigures> = None;
    for _ in 0..3 {
        let figures = run()?;
        if figures.workloads != WORKLOADS {
            bail!(
                "the scan read {} workloads, not {WORKLOADS}",
                figures.workloads
            );
        }
        if best
            .as_ref()
            .is_none_or(|b| figures.per_second > b.per_second)
        {
            best = Some(figures);
        }
    }
    let best = best.context("no scan run")?;
    let table = format!(
        "\n| scan | workloads | seconds | workloads/s | peak memory MiB | floor workloads/s |\n|---|---|---|---|---|---|\n| examples of every kind, 1–5 containers, whole bundle offline | {} | {:.2} | {:.0} | {:.1} | {floor:.0} |\n",
        best.workloads, best.seconds, best.per_second, best.peak_mib
    );
    if best.per_second < floor {
        bail!(
            "scan throughput {:.0} workloads/s is under the floor {floor:.0} of bench/budgets.json",
            best.per_second
        );
    }
    Ok(table)
}

/// Workloads in the chart of the start-up benchmark.
pub const CHART_WORKLOADS: usize = 50;

/// Wall-clock seconds of one whole scan of a 50-workload chart.
#[derive(Debug)]
pub struct StartFigures {
    /// Empty cache, the modules and their compiled code installed beside the command
    /// (`precompile`), as a release archive, the container image or `make install` leave them.
    pub cold_installed: f64,
    /// Empty cache and nothing installed: every module compiled by Cranelift (issue 31's "before").
    pub cold_compiling: f64,
    /// The cache filled by an earlier scan.
    pub warm: f64,
}

/// Times `pci-policies scan` of a 50-workload chart, whole process, offline, whole bundle:
/// cold with the precompiled share, cold compiling, warm (median of five runs each, three
/// for compiling), and checks the budgets.
pub fn bench_start(binary: &Path, max_cold: f64, max_warm: f64) -> Result<(StartFigures, String)> {
    let root = workspace::root();
    let dir = root.join("target/bench/start");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let chart = dir.join("chart.yaml");
    let documents: Vec<String> = (0..CHART_WORKLOADS).map(workload).collect();
    std::fs::write(&chart, documents.join("---\n"))?;
    let share = dir.join("share");
    precompile(binary, &root, &share)?;
    let start = StartScan {
        binary,
        root: &root,
        no_modules: dir.join("no-modules"),
        chart,
        dir: &dir,
    };
    let cold_installed = median_of(5, &|run| {
        start.scan(&dir.join(format!("cold-installed-{run}")), Some(&share))
    })?;
    let cold_compiling = median_of(3, &|run| {
        start.scan(&dir.join(format!("cold-compiling-{run}")), None)
    })?;
    let warm_cache = dir.join("warm");
    start.scan(&warm_cache, None)?;
    let warm = median_of(5, &|_| start.scan(&warm_cache, None))?;
    let figures = StartFigures {
        cold_installed,
        cold_compiling,
        warm,
    };
    let table = start_table(&figures, max_cold, max_warm)?;
    Ok((figures, table))
}

/// `pci-policies precompile --offline` of the whole bundle into `share`.
fn precompile(binary: &Path, root: &Path, share: &Path) -> Result<()> {
    let status = Command::new(binary)
        .current_dir(root)
        .args(["precompile", "--offline", "--out"])
        .arg(share)
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !status.status.success() {
        bail!(
            "precompile failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    Ok(())
}

/// The median of `runs` timings, run `one(run)` each.
fn median_of(runs: usize, one: &dyn Fn(usize) -> Result<f64>) -> Result<f64> {
    let mut times = (0..runs).map(one).collect::<Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// One start-up benchmark's scans: the command, the chart, and the folders it works in.
struct StartScan<'a> {
    binary: &'a Path,
    root: &'a Path,
    /// The benchmark's folder.
    dir: &'a Path,
    chart: PathBuf,
    /// A `--modules` folder that holds none: the modules come from the share or the cache.
    no_modules: PathBuf,
}

impl StartScan<'_> {
    /// Seconds of one scan with `cache` as its cache: the modules and their compiled code from
    /// `share`, else only the modules (copied into the cache) and compiled here.
    fn scan(&self, cache: &Path, share: Option<&Path>) -> Result<f64> {
        let mut command = Command::new(self.binary);
        command
            .current_dir(self.root)
            .env_remove("PCI_POLICIES_SHARE")
            .args(["scan", "--offline", "-o", "json=/dev/null", "--modules"])
            .arg(&self.no_modules)
            .arg("--cache-dir")
            .arg(cache)
            .arg(&self.chart);
        if let Some(share) = share {
            command.env("PCI_POLICIES_SHARE", share);
        } else {
            // Modules from a cache-shaped folder, compiled here: copy the share's modules only.
            let modules = cache.join("modules");
            std::fs::create_dir_all(&modules)?;
            for entry in std::fs::read_dir(share_modules(self.dir))? {
                let entry = entry?;
                std::fs::copy(entry.path(), modules.join(entry.file_name()))?;
            }
        }
        let started = std::time::Instant::now();
        let output = command.output()?;
        let seconds = started.elapsed().as_secs_f64();
        if output.status.code() != Some(2) {
            bail!(
                "the scan exited {:?}: {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(seconds)
    }
}

/// The start-up table; an error when the cold (installed) or warm scan is over its budget.
fn start_table(figures: &StartFigures, max_cold: f64, max_warm: f64) -> Result<String> {
    let table = format!(
        "\n| scan of a {CHART_WORKLOADS}-workload chart (whole process) | seconds | budget |\n|---|---|---|\n| cold: empty cache, modules and compiled code installed (`precompile`) | {:.3} | {max_cold:.1} |\n| cold: empty cache, every module compiled | {:.3} | – |\n| warm: cache filled by an earlier scan | {:.3} | {max_warm:.1} |\n",
        figures.cold_installed, figures.cold_compiling, figures.warm
    );
    if figures.cold_installed > max_cold {
        bail!(
            "a cold scan took {:.3} s, over the budget {max_cold} s of bench/budgets.json",
            figures.cold_installed
        );
    }
    if figures.warm > max_warm {
        bail!(
            "a warm scan took {:.3} s, over the budget {max_warm} s of bench/budgets.json",
            figures.warm
        );
    }
    Ok(table)
}

fn share_modules(dir: &Path) -> PathBuf {
    dir.join("share").join("modules")
}

/// The release binary `make bench` builds.
pub fn binary() -> PathBuf {
    workspace::root().join("target/bench-host/pci-policies")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_every_kind_with_one_to_five_containers() {
        let kinds: std::collections::BTreeSet<String> = (0..KINDS.len())
            .map(|i| {
                let doc: serde_json::Value = yaml_serde::from_str(&workload(i)).unwrap();
                doc["kind"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(kinds.len(), 9);
        let pod: serde_json::Value = yaml_serde::from_str(&workload(3 + 9)).unwrap();
        assert_eq!(pod["kind"], "Pod");
        let cron: serde_json::Value = yaml_serde::from_str(&workload(5 + 9 * 4)).unwrap();
        let containers = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().unwrap().len(), (5 + 9 * 4) % 5 + 1);
        assert_eq!(
            parse_stats("scanned 10 workloads in 0.500 s (20 workloads/s), peak memory 12.5 MiB")
                .unwrap()
                .per_second,
            20.0
        );
    }
}
