//! What happened: in-cluster reports exported over time (`--reports`, the Report and
//! PolicyReport objects of `kubectl get -o yaml`, several exports merged into one history) and
//! shift-left scan results (`--scan`, the JSON of `pci-policies scan -o json`).

pub use super::clock::date_of;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scan::outcome::{ScanResults, Verdict};

/// Result counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
}

impl Counts {
    fn add(&mut self, result: &str) {
        match result {
            "pass" => self.pass += 1,
            "fail" => self.fail += 1,
            "warn" => self.warn += 1,
            "error" => self.error += 1,
            _ => self.skip += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.warn + self.error + self.skip
    }
}

/// The merged report exports: per day and policy, and the latest failing resources.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportHistory {
    pub files: Vec<String>,
    pub reports: usize,
    /// `YYYY-MM-DD` → policy → counts.
    pub days: BTreeMap<String, BTreeMap<String, Counts>>,
    /// Failing results of the newest day, `namespace/kind/name`, policy, message.
    pub latest_failures: Vec<[String; 4]>,
    /// Results dated after the pack's time or before 2014: not counted (anyone allowed to
    /// create a report could date one in 2100 and make it the newest day).
    #[serde(default)]
    pub out_of_range: usize,
}

/// Reads and merges report exports; the same result exported twice is counted once.
pub fn read_reports(paths: &[PathBuf], now: i64) -> Result<ReportHistory> {
    let mut files = Vec::new();
    for path in paths {
        files.extend(super::policies::files_in(path)?);
    }
    let mut reports = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--reports {}: cannot read", path.display()))?;
        let file = format!("--reports {}", path.display());
        let documents =
            pci_policies::manifests::yaml::documents(&file, &text).map_err(anyhow::Error::msg)?;
        for (_, value) in documents {
            match value["items"].as_array() {
                Some(items) => reports.extend(items.iter().filter(|r| is_report(r)).cloned()),
                None if is_report(&value) => reports.push(value),
                None => {}
            }
        }
    }
    let files = files.iter().map(|p| p.display().to_string()).collect();
    Ok(history_of(files, &reports, now))
}

/// The history of report objects read from `files`.
pub fn history_of(files: Vec<String>, reports: &[Value], now: i64) -> ReportHistory {
    let mut history = ReportHistory {
        files,
        ..ReportHistory::default()
    };
    let mut seen = BTreeSet::new();
    let mut failures: BTreeMap<String, Vec<[String; 4]>> = BTreeMap::new();
    for report in reports {
        history.reports += 1;
        let scope = &report["scope"];
        let resource = format!(
            "{}/{}/{}",
            scope["namespace"].as_str().unwrap_or("-"),
            scope["kind"].as_str().unwrap_or_default(),
            scope["name"].as_str().unwrap_or_default()
        );
        for result in report["results"].as_array().into_iter().flatten() {
            let policy = result["policy"].as_str().unwrap_or_default().to_owned();
            let seconds = result["timestamp"]["seconds"].as_i64().unwrap_or_default();
            if !(super::clock::EARLIEST_RESULT..=now.saturating_add(300)).contains(&seconds) {
                history.out_of_range += 1;
                continue;
            }
            let outcome = result["result"]
                .as_str()
                .or_else(|| result["status"].as_str())
                .unwrap_or("skip")
                .to_owned();
            if !seen.insert((resource.clone(), policy.clone(), seconds, outcome.clone())) {
                continue;
            }
            let day = date_of(seconds);
            history
                .days
                .entry(day.clone())
                .or_default()
                .entry(policy.clone())
                .or_default()
                .add(&outcome);
            if outcome == "fail" || outcome == "error" {
                failures.entry(day).or_default().push([
                    resource.clone(),
                    policy,
                    outcome,
                    result["message"].as_str().unwrap_or_default().to_owned(),
                ]);
            }
        }
    }
    history.latest_failures = failures.into_values().next_back().unwrap_or_default();
    history.latest_failures.sort();
    history
}

fn is_report(value: &Value) -> bool {
    let api = value["apiVersion"].as_str().unwrap_or_default();
    let kind = value["kind"].as_str().unwrap_or_default();
    (api.starts_with("openreports.io/") && matches!(kind, "Report" | "ClusterReport"))
        || (api.starts_with("wgpolicyk8s.io/")
            && matches!(kind, "PolicyReport" | "ClusterPolicyReport"))
}

/// Scan results per guidance section, and the failing workloads.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanEvidence {
    pub files: Vec<String>,
    /// Section → counts.
    pub sections: BTreeMap<String, Counts>,
    pub workloads: usize,
    pub invalid_documents: usize,
    /// `file:line`, workload, policy, what failed.
    pub failing: Vec<[String; 4]>,
}

/// Reads `pci-policies scan -o json` files.
pub fn read_scans(paths: &[PathBuf]) -> Result<Option<ScanEvidence>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut evidence = ScanEvidence::default();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--scan {}: cannot read", path.display()))?;
        let results: ScanResults = serde_json::from_str(&text).with_context(|| {
            format!(
                "--scan {}: not the JSON of `pci-policies scan -o json`",
                path.display()
            )
        })?;
        evidence.add(&results);
        evidence.files.push(path.display().to_string());
    }
    Ok(Some(evidence))
}

impl ScanEvidence {
    /// Adds one scan's results.
    pub fn add(&mut self, results: &ScanResults) {
        let mut workloads = BTreeSet::new();
        for outcome in &results.results {
            if outcome.verdict == Verdict::Invalid {
                self.invalid_documents += 1;
            }
            if !outcome.is_judged() {
                continue;
            }
            workloads.insert((outcome.file.clone(), outcome.line, outcome.workload()));
            let result = match outcome.verdict {
                Verdict::Pass => "pass",
                Verdict::Warn => "warn",
                Verdict::Fail => "fail",
                Verdict::Error | Verdict::Invalid => "error",
                Verdict::Skip => "skip",
            };
            for section in &outcome.controls {
                self.sections
                    .entry(section.clone())
                    .or_default()
                    .add(result);
            }
            if matches!(outcome.verdict, Verdict::Fail | Verdict::Error) {
                let what = if outcome.findings.is_empty() {
                    outcome.message.clone()
                } else {
                    outcome
                        .findings
                        .iter()
                        .map(|f| format!("[{}] {} (line {})", f.control, f.path, f.line))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                self.failing.push([
                    format!("{}:{}", outcome.file, outcome.line),
                    outcome.workload(),
                    outcome.policy.clone(),
                    what,
                ]);
            }
        }
        self.workloads += workloads.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_unix_times() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(1_767_225_600), "2026-01-01");
        assert_eq!(date_of(951_782_400), "2000-02-29");
        let date = pci_shared::time::Date::parse("2031-07-15").expect("date");
        assert_eq!(
            date_of(date.days_since_epoch() * 86_400 + 86_399),
            "2031-07-15"
        );
    }

    /// A result a tenant dates in 2100 (or before 2014) is not the newest day, and is counted
    /// as not counted.
    #[test]
    fn results_out_of_time_are_left_out_of_the_history() {
        let now = 1_796_169_599; // 2026-12-01T23:59:59Z
        let result = |seconds: i64, outcome: &str| serde_json::json!({"policy": "p", "result": outcome, "timestamp": {"seconds": seconds}});
        let report = serde_json::json!({
            "scope": {"namespace": "shop", "kind": "Pod", "name": "web"},
            "results": [
                result(now - 3600, "fail"),
                result(4_102_444_800, "pass"),
                result(i64::MIN, "pass")
            ]
        });
        let history = history_of(Vec::new(), &[report], now);
        assert_eq!(history.out_of_range, 2);
        assert_eq!(history.days.keys().collect::<Vec<_>>(), ["2026-12-01"]);
        assert_eq!(history.latest_failures.len(), 1);
    }

    #[test]
    fn a_report_export_that_is_not_yaml_names_its_file_and_line() {
        let path = std::env::temp_dir().join(format!("reports-broken-{}.yaml", std::process::id()));
        std::fs::write(&path, "apiVersion: v1\nkind: List\nitems: [\n  {a: b\n").unwrap();
        let error = read_reports(std::slice::from_ref(&path), 2_000_000_000)
            .expect_err("not YAML")
            .to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(
            error.starts_with(&format!("--reports {}:", path.display()))
                && error.contains("not YAML"),
            "{error}"
        );
    }
}
