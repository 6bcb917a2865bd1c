//! Import, then judge: every test of a suite in Gatekeeper's format is imported with the real
//! `pci-policies import SOURCE --level baseline`, and every case's object is judged by the
//! compiled pod-security module under the imported settings, against the verdict the source
//! gives it. An import may be stricter than its source (the level, or a narrowing the import
//! names in a "stricter than the source (…)" note), never looser.
//!
//! `make test` runs our own suites (`cli/tests/import-suites/`: Gatekeeper constraints written
//! from the templates' semantics, and the PodSecurityPolicy and SCC fixtures of
//! `cli/tests/import/`); every case that does not agree is listed with its finding in
//! `cli/tests/import-suites/expected.yaml`. With `GATEKEEPER_LIBRARY` set to a checkout's
//! `library/pod-security-policy`, the same harness runs over the Gatekeeper library's suites and
//! prints "agree on N of M".

#[path = "import_suites/judge.rs"]
mod judge;
#[path = "import_suites/source.rs"]
mod source;
#[path = "import_suites/suite.rs"]
mod suite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use judge::{Finding, Judge, Judged};

/// Every case of every suite under `dir`, judged.
fn run(dir: &Path) -> Vec<Judged> {
    let judge = Judge::load();
    let mut judged = Vec::new();
    for suite in suite::read_all(dir) {
        let folder = suite
            .path
            .parent()
            .and_then(|p| p.strip_prefix(dir).ok())
            .map_or_else(String::new, |p| p.display().to_string());
        for test in &suite.tests {
            judged.extend(judge.judge_test(&folder, test));
        }
    }
    judged
}

/// The report: every case that does not agree, with why, then "agree on N of M".
fn report(judged: &[Judged]) -> String {
    let mut out = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for case in judged {
        let class = match &case.finding {
            Finding::StricterLevel(_) => "stricter (level)".to_owned(),
            Finding::StricterNoted(_) => "stricter (import, noted)".to_owned(),
            other => other.to_string(),
        };
        *counts.entry(class).or_default() += 1;
        if case.finding != Finding::Agree {
            out.push_str(&format!("{}: {}\n", case.id, case.finding));
            if !case.detail.is_empty() {
                out.push_str(&format!("    {}\n", case.detail));
            }
        }
    }
    let agree = counts.get("agree").copied().unwrap_or_default();
    out.push_str(&format!("agree on {agree} of {}", judged.len()));
    for (class, count) in counts.iter().filter(|(class, _)| *class != "agree") {
        out.push_str(&format!("; {class}: {count}"));
    }
    out.push('\n');
    out
}

fn suites_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/import-suites")
}

#[test]
fn our_suites_agree_or_are_stricter_as_recorded() {
    let dir = suites_dir();
    let judged = run(&dir);
    let text = report(&judged);
    println!("{text}");
    let faults: Vec<&Judged> = judged.iter().filter(|j| j.finding.is_fault()).collect();
    assert!(faults.is_empty(), "faults:\n{text}");
    let expected: BTreeMap<String, String> = yaml_serde::from_str(
        &std::fs::read_to_string(dir.join("expected.yaml")).expect("expected.yaml"),
    )
    .expect("expected.yaml maps case ids to findings");
    let found: BTreeMap<String, String> = judged
        .iter()
        .filter(|j| j.finding != Finding::Agree)
        .map(|j| (j.id.clone(), j.finding.to_string()))
        .collect();
    assert_eq!(
        found, expected,
        "the findings changed: update expected.yaml only when the new finding is right\n{text}"
    );
}

/// `GATEKEEPER_LIBRARY=/path/to/gatekeeper-library/library/pod-security-policy cargo test -p
/// pci-policies --test import_suites -- --nocapture`: the library's own suites, its fixtures
/// and verdicts (not in this repository). Without the variable there is nothing to run.
#[test]
fn the_gatekeeper_library_agrees_or_is_stricter() {
    let Some(dir) = std::env::var_os("GATEKEEPER_LIBRARY") else {
        eprintln!("GATEKEEPER_LIBRARY is not set: the Gatekeeper library's suites are not run");
        return;
    };
    let judged = run(Path::new(&dir));
    let text = report(&judged);
    println!("{text}");
    assert!(
        judged.iter().all(|j| !j.finding.is_fault()),
        "faults:\n{text}"
    );
}
