//! Policy reports, as Kubewarden's audit scanner writes them: one report per workload, one
//! result per policy, `source: kubewarden`, the policy's unique name, category and severity
//! from its annotations (`info` in monitor mode), `validating`/`policy-name` properties —
//! plus what only a scan of files knows: the file and line, the PCI references, the
//! violated controls and the exceptions. OpenReports (`openreports.io/v1alpha1`, the audit
//! scanner's default) or the older `wgpolicyk8s.io/v1alpha2` PolicyReport.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{Value, json};

use crate::profile::Profile;
use crate::scan::outcome::{Outcome, ScanResults, Verdict};

/// Which report API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    OpenReports,
    PolicyReport,
}

/// The engine id the audit scanner writes in `source`.
const SOURCE: &str = "kubewarden";

/// The reports as a multi-document YAML stream (`kubectl apply -f`-able).
pub fn render(results: &ScanResults, shape: Shape) -> Result<String> {
    let mut by_workload: BTreeMap<(String, String, String), Vec<&Outcome>> = BTreeMap::new();
    for outcome in results.results.iter().filter(|o| o.is_judged()) {
        by_workload
            .entry((
                outcome.namespace.clone(),
                outcome.kind.clone(),
                outcome.name.clone(),
            ))
            .or_default()
            .push(outcome);
    }
    let timestamp = json!({"seconds": now_seconds(), "nanos": 0});
    let mut text = String::new();
    for ((namespace, kind, name), outcomes) in by_workload {
        let report = report(shape, &namespace, &kind, &name, &outcomes, &timestamp);
        text.push_str("---\n");
        text.push_str(&yaml_serde::to_string(&report)?);
    }
    Ok(text)
}

/// Seconds since the epoch: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn now_seconds() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
}

fn report(
    shape: Shape,
    namespace: &str,
    kind: &str,
    name: &str,
    outcomes: &[&Outcome],
    timestamp: &Value,
) -> Value {
    let api_version = outcomes
        .first()
        .map_or_else(String::new, |o| o.api_version.clone());
    let scope =
        json!({"apiVersion": api_version, "kind": kind, "namespace": namespace, "name": name});
    let mut summary = BTreeMap::from([
        ("pass", 0),
        ("fail", 0),
        ("warn", 0),
        ("error", 0),
        ("skip", 0),
    ]);
    let results: Vec<Value> = outcomes
        .iter()
        .map(|outcome| {
            let result = result_of(outcome);
            *summary.entry(result).or_default() += 1;
            let mut entry = json!({
                "source": SOURCE,
                "policy": outcome.unique_name,
                "result": result,
                "scored": true,
                "timestamp": timestamp,
                "resources": [scope.clone()],
                "message": outcome.message,
                "properties": properties(outcome),
            });
            if !outcome.category.is_empty() {
                entry["category"] = json!(outcome.category);
            }
            if matches!(
                outcome.severity.as_str(),
                "critical" | "high" | "medium" | "low" | "info"
            ) {
                entry["severity"] = json!(outcome.severity);
            }
            entry
        })
        .collect();
    let (api, report_kind) = match shape {
        Shape::OpenReports => ("openreports.io/v1alpha1", "Report"),
        Shape::PolicyReport => ("wgpolicyk8s.io/v1alpha2", "PolicyReport"),
    };
    let mut report = json!({
        "apiVersion": api,
        "kind": report_kind,
        "metadata": {
            "name": report_name(kind, name),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "pci-policies"},
        },
        "scope": scope,
        "summary": summary,
        "results": results,
    });
    if shape == Shape::OpenReports {
        report["source"] = json!(SOURCE);
    }
    report
}

/// The audit scanner's result: a rejection is `fail` (also in monitor mode, where the
/// severity says `info`), a check that could not run `error`.
fn result_of(outcome: &Outcome) -> &'static str {
    match outcome.verdict {
        Verdict::Pass => "pass",
        Verdict::Warn if outcome.message.is_empty() && outcome.findings.is_empty() => "pass",
        Verdict::Warn | Verdict::Fail => "fail",
        Verdict::Error | Verdict::Invalid => "error",
        Verdict::Skip => "skip",
    }
}

/// `<kind>-<name>`, lower case, within the 253 characters of an object name.
fn report_name(kind: &str, name: &str) -> String {
    let mut text = format!("{}-{name}", kind.to_lowercase());
    text.truncate(253);
    text
}

fn properties(outcome: &Outcome) -> BTreeMap<String, String> {
    let profile = Profile::get();
    let sections: Vec<&str> = outcome.controls.iter().map(String::as_str).collect();
    let mut properties = BTreeMap::from([
        ("validating".to_owned(), "true".to_owned()),
        ("policy-name".to_owned(), outcome.policy.clone()),
        ("file".to_owned(), outcome.file.clone()),
        ("line".to_owned(), outcome.line.to_string()),
        ("guidance".to_owned(), sections.join(",")),
        (
            "pci-dss".to_owned(),
            profile.requirements_of(sections.iter().copied()).join(","),
        ),
    ]);
    if !outcome.findings.is_empty() {
        let mut controls: Vec<&str> = outcome
            .findings
            .iter()
            .map(|f| f.control.as_str())
            .collect();
        controls.dedup();
        properties.insert("controls".into(), controls.join(","));
        properties.insert(
            "violations".into(),
            outcome
                .findings
                .iter()
                .map(|f| format!("{}:{} [{}] {}", outcome.file, f.line, f.control, f.path))
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    if !outcome.waivers.is_empty() {
        properties.insert(
            "exceptions".into(),
            outcome
                .waivers
                .iter()
                .map(|w| {
                    format!(
                        "#{} {} [{}]{}",
                        w.exception,
                        if w.expired { "expired" } else { "applied" },
                        w.control,
                        w.expires
                            .as_ref()
                            .map_or_else(String::new, |e| format!(" until {e}"))
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    properties
}
