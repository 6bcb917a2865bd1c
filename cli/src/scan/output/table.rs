//! The table: grouped by file and workload, one line per policy, each violation below it with
//! its line; coloured when standard output is a terminal.

use std::fmt::Write;

use crate::scan::outcome::{Outcome, ScanResults, Verdict};

fn paint(text: &str, verdict: Verdict, colour: bool) -> String {
    if !colour {
        return text.to_owned();
    }
    let code = match verdict {
        Verdict::Pass => "32",
        Verdict::Warn => "33",
        Verdict::Fail | Verdict::Invalid => "31",
        Verdict::Error => "35",
        Verdict::Skip => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The table text.
pub fn render(results: &ScanResults, colour: bool) -> String {
    let mut out = String::new();
    let mut last = (String::new(), 0, String::new());
    for outcome in &results.results {
        let at = (outcome.file.clone(), outcome.line, outcome.workload());
        if at != last {
            workload_heading(&mut out, outcome, results.with_base);
            last = at;
        }
        policy_line(&mut out, outcome, colour);
        violations(&mut out, outcome);
    }
    let s = &results.summary;
    let _ = writeln!(
        out,
        "{} pass, {} warn, {} fail, {} error, {} skipped, {} invalid",
        s.pass, s.warn, s.fail, s.error, s.skip, s.invalid
    );
    out
}

/// The heading of a workload's lines: its place and name (how `--base` judged it), and what
/// the mutating policies changed, said once.
fn workload_heading(out: &mut String, outcome: &Outcome, with_base: bool) {
    let what = if outcome.name.is_empty() {
        outcome.kind.clone()
    } else {
        format!("{} {}/{}", outcome.kind, outcome.namespace, outcome.name)
    };
    // With --base, a workload the cluster already runs is judged as its update.
    let what = match (outcome.operation.as_str(), with_base) {
        ("UPDATE", _) => format!("{what} (update of the base version)"),
        ("CREATE", true) => format!("{what} (new: not in the base)"),
        _ => what,
    };
    let _ = writeln!(out, "{}:{}  {what}", outcome.file, outcome.line);
    // What the mutating policies changed: the workload's, said once.
    for mutation in &outcome.mutations {
        let _ = writeln!(out, "  mutated by {mutation}");
    }
}

/// One policy's line: its verdict and what it said in short.
fn policy_line(out: &mut String, outcome: &Outcome, colour: bool) {
    let policy = if outcome.policy.is_empty() {
        "-"
    } else {
        outcome.policy.as_str()
    };
    let label = paint(
        &format!("{:<7}", outcome.verdict.label()),
        outcome.verdict,
        colour,
    );
    // A check not made says why first; its findings follow.
    let detail = if outcome.verdict == Verdict::Error && !outcome.message.is_empty() {
        outcome.message.clone()
    } else if !outcome.findings.is_empty() {
        let n = outcome.findings.len();
        format!("{n} violation{}", if n == 1 { "" } else { "s" })
    } else if outcome.message.is_empty() {
        outcome.warnings.join("; ")
    } else {
        outcome.message.clone()
    };
    let _ = writeln!(out, "  {label} {policy:<32} {}", detail.replace('\n', " "));
}

/// Below a policy's line: each violation with its line, each exception, each assumption.
fn violations(out: &mut String, outcome: &Outcome) {
    for finding in &outcome.findings {
        let container = finding
            .container
            .as_ref()
            .map_or_else(String::new, |c| format!(" (container \"{c}\")"));
        let _ = writeln!(
            out,
            "          line {:<5} [{}] {}{container}: {}",
            finding.line, finding.control, finding.path, finding.message
        );
        // The host's answer (a registry's or Sigstore's error): in CI, the reader runs it.
        if let Some(detail) = &finding.detail {
            let _ = writeln!(out, "                     host: {detail}");
        }
    }
    for waiver in &outcome.waivers {
        let state = if waiver.expired {
            "EXPIRED exception"
        } else {
            "exception"
        };
        let _ = writeln!(
            out,
            "          {state} #{} [{}] {}: {}",
            waiver.exception, waiver.control, waiver.path, waiver.reason
        );
    }
    for assumption in &outcome.assumed {
        let _ = writeln!(out, "          assumed: {assumption}");
    }
}
