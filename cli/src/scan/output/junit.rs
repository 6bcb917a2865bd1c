//! JUnit XML (the de-facto schema GitLab, Jenkins and most CI read): one suite per policy,
//! one testcase per workload × policy. A rejection is a `failure` whose text lists every
//! violation with its line and PCI reference, a check that could not run is an `error`, a
//! warning or an exception passes and says so in `system-out`; unreadable documents are
//! `error` testcases of an `input` suite.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::markup::escape;
use crate::profile::Profile;
use crate::scan::outcome::{Outcome, ScanResults, Verdict};

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
}

/// The XML text.
pub fn render(results: &ScanResults) -> String {
    let mut total = Counts::default();
    let mut body = String::new();
    for (suite, outcomes) in &suites_of(results) {
        let counts = suite_xml(suite, outcomes, &mut body);
        total.tests += counts.tests;
        total.failures += counts.failures;
        total.errors += counts.errors;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pci-policies\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">\n{body}</testsuites>\n",
        total.tests, total.failures, total.errors
    )
}

/// The outcomes by suite: by policy, and the unreadable documents in `input`; skipped
/// documents are in none.
fn suites_of(results: &ScanResults) -> BTreeMap<&str, Vec<&Outcome>> {
    let mut suites: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for outcome in &results.results {
        match outcome.verdict {
            Verdict::Skip => {}
            Verdict::Invalid => suites.entry("input").or_default().push(outcome),
            _ => suites.entry(&outcome.policy).or_default().push(outcome),
        }
    }
    suites
}

/// Writes one `testsuite` element to `body`; its counts.
fn suite_xml(suite: &str, outcomes: &[&Outcome], body: &mut String) -> Counts {
    let mut counts = Counts::default();
    let mut cases = String::new();
    let mut names = BTreeSet::new();
    for outcome in outcomes {
        counts.tests += 1;
        let mut name = if outcome.verdict == Verdict::Invalid {
            format!("{}:{}", outcome.file, outcome.line)
        } else {
            outcome.workload()
        };
        // GitLab keeps only the first of equal names: the same workload in two files
        // gets its place added.
        if !names.insert(name.clone()) {
            name = format!("{name} ({}:{})", outcome.file, outcome.line);
            names.insert(name.clone());
        }
        testcase_xml(suite, &name, outcome, &mut counts, &mut cases);
    }
    let (guidance, requirements) = pci_of(outcomes);
    let _ = writeln!(
        body,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">",
        escape(suite),
        counts.tests,
        counts.failures,
        counts.errors
    );
    if !guidance.is_empty() {
        let _ = write!(
            body,
            "    <properties>\n      <property name=\"guidance\" value=\"{}\"/>\n      <property name=\"pci-dss\" value=\"{}\"/>\n    </properties>\n",
            escape(&guidance),
            escape(&requirements)
        );
    }
    body.push_str(&cases);
    body.push_str("  </testsuite>\n");
    counts
}

/// Writes one outcome's `testcase` element (named `name`) to `cases`, counting its failure or
/// error in `counts`.
fn testcase_xml(
    suite: &str,
    name: &str,
    outcome: &Outcome,
    counts: &mut Counts,
    cases: &mut String,
) {
    let line = outcome
        .findings
        .first()
        .map_or(outcome.line, |finding| finding.line);
    let _ = write!(
        cases,
        "    <testcase classname=\"pci-policies.{}\" name=\"{}\" file=\"{}\" line=\"{line}\"",
        escape(suite),
        escape(name),
        escape(&outcome.file)
    );
    let detail = details(outcome);
    match outcome.verdict {
        Verdict::Fail => {
            counts.failures += 1;
            let kind = outcome.findings.first().map_or_else(
                || outcome.module.clone(),
                |f| format!("{}/{}", outcome.module, f.control),
            );
            let _ = write!(
                cases,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                escape(&summary_line(outcome)),
                escape(&kind),
                escape(&detail)
            );
        }
        Verdict::Error | Verdict::Invalid => {
            counts.errors += 1;
            let _ = write!(
                cases,
                ">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>\n",
                escape(&summary_line(outcome)),
                if outcome.verdict == Verdict::Invalid {
                    "invalid-document"
                } else {
                    "evaluation-error"
                },
                escape(&detail)
            );
        }
        _ if detail.is_empty() => cases.push_str("/>\n"),
        _ => {
            let _ = write!(
                cases,
                ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                escape(&detail)
            );
        }
    }
}

/// The guidance sections and PCI DSS requirements of a suite's policy.
fn pci_of(outcomes: &[&Outcome]) -> (String, String) {
    let Some(first) = outcomes.first() else {
        return (String::new(), String::new());
    };
    let sections: Vec<&str> = first.controls.iter().map(String::as_str).collect();
    let requirements = Profile::get().requirements_of(sections.iter().copied());
    (sections.join(","), requirements.join(","))
}

fn summary_line(outcome: &Outcome) -> String {
    match outcome.findings.len() {
        0 => outcome
            .message
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        1 => "1 violation".to_owned(),
        n => format!("{n} violations"),
    }
}

/// Every violation with its line, then exceptions, warnings and what the scan assumed about
/// whether the policy applies.
fn details(outcome: &Outcome) -> String {
    let mut text = String::new();
    if outcome.findings.is_empty()
        && matches!(
            outcome.verdict,
            Verdict::Fail | Verdict::Error | Verdict::Invalid
        )
    {
        let _ = writeln!(text, "{}", outcome.message);
    }
    for finding in &outcome.findings {
        let _ = writeln!(
            text,
            "{}:{}: [{}] {}: {} (PCI {})",
            outcome.file, finding.line, finding.control, finding.path, finding.message, finding.pci
        );
    }
    for waiver in &outcome.waivers {
        let _ = writeln!(
            text,
            "exception #{} {} [{}] {}: {}",
            waiver.exception,
            if waiver.expired {
                "expired, not applied"
            } else {
                "applied"
            },
            waiver.control,
            waiver.path,
            waiver.reason
        );
    }
    if outcome.verdict == Verdict::Warn || outcome.findings.is_empty() {
        for warning in &outcome.warnings {
            let _ = writeln!(text, "warning: {warning}");
        }
    }
    for assumption in &outcome.assumed {
        let _ = writeln!(text, "assumed: {assumption}");
    }
    text
}
