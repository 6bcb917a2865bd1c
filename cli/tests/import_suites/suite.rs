//! Test suites in Gatekeeper's format (`kind: Suite`, `apiVersion: test.gatekeeper.sh/v1alpha1`,
//! what `gator verify` reads): tests, each naming a constraint and cases, each case an object
//! and assertions on the violations Gatekeeper reports.
//!
//! One extension, for sources that share a file: a test's `document` names the object of a
//! multi-document constraint file to import (our PodSecurityPolicy and SCC fixtures).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One `suite.yaml`.
#[derive(Debug)]
pub struct Suite {
    /// The suite file, as found under the directory read.
    pub path: PathBuf,
    pub tests: Vec<Test>,
}

/// One test: a constraint and the cases judged under it.
#[derive(Debug)]
pub struct Test {
    pub name: String,
    /// The constraint (or PodSecurityPolicy, SCC…) file, resolved against the suite's folder.
    pub constraint: PathBuf,
    /// The `metadata.name` of the object to import, when the file holds several.
    pub document: Option<String>,
    pub cases: Vec<Case>,
}

/// One case: an object and the source's verdict on it.
#[derive(Debug)]
pub struct Case {
    pub name: String,
    /// The object file (a workload or an AdmissionReview), resolved against the suite's folder.
    pub object: PathBuf,
    /// What the source does with the object, when the assertions say it.
    pub expected: Option<Verdict>,
}

/// The source's verdict on an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Rejected,
}

/// Every `suite.yaml` under `dir` (depth first, sorted), skipped tests and cases left out.
pub fn read_all(dir: &Path) -> Vec<Suite> {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no suite.yaml under {}", dir.display());
    files.iter().map(|file| read(file)).collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the folder {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.file_name().is_some_and(|n| n == "suite.yaml") {
            files.push(path);
        }
    }
}

/// Reads one suite file; a malformed suite fails the test with its path and field.
pub fn read(file: &Path) -> Suite {
    let at = file.display().to_string();
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {at}: {e}"));
    let suite: Value =
        yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{at} is not YAML: {e}"));
    assert_eq!(suite["kind"], "Suite", "{at}: kind must be Suite");
    let dir = file.parent().expect("a suite file has a folder");
    let tests = suite["tests"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}: tests must be a list"))
        .iter()
        .enumerate()
        .filter(|(_, test)| !is_skipped(test))
        .map(|(index, test)| read_test(test, dir, &format!("{at}: tests[{index}]")))
        .collect();
    Suite {
        path: file.to_path_buf(),
        tests,
    }
}

fn read_test(test: &Value, dir: &Path, at: &str) -> Test {
    let text = |field: &str| -> String {
        test[field]
            .as_str()
            .unwrap_or_else(|| panic!("{at}.{field} must be a string"))
            .to_owned()
    };
    let cases = test["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}.cases must be a list"))
        .iter()
        .enumerate()
        .filter(|(_, case)| !is_skipped(case))
        .map(|(index, case)| read_case(case, dir, &format!("{at}.cases[{index}]")))
        .collect();
    Test {
        name: text("name"),
        constraint: dir.join(text("constraint")),
        document: test["document"].as_str().map(str::to_owned),
        cases,
    }
}

fn read_case(case: &Value, dir: &Path, at: &str) -> Case {
    let name = case["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{at}.name must be a string"));
    let object = case["object"]
        .as_str()
        .unwrap_or_else(|| panic!("{at}.object must be a string"));
    let assertions = case["assertions"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}.assertions must be a list"));
    Case {
        name: name.to_owned(),
        object: dir.join(object),
        expected: verdict(assertions, at),
    }
}

fn is_skipped(entry: &Value) -> bool {
    entry["skip"] == true
}

/// The verdict the assertions imply: rejected when one expects a violation; accepted when one
/// expects none at all (an assertion filtered by `message` says nothing of the others).
fn verdict(assertions: &[Value], at: &str) -> Option<Verdict> {
    let mut accepted = false;
    for (index, assertion) in assertions.iter().enumerate() {
        let count = violations(&assertion["violations"]).unwrap_or_else(|| {
            panic!("{at}.assertions[{index}].violations must be yes, no or a number")
        });
        if count > 0 {
            return Some(Verdict::Rejected);
        }
        accepted |= assertion.get("message").is_none();
    }
    accepted.then_some(Verdict::Accepted)
}

/// `violations`: `yes` (at least one), `no` (none) or a count; YAML 1.1 readers see booleans.
fn violations(value: &Value) -> Option<u64> {
    match value {
        Value::Bool(true) => Some(1),
        Value::Bool(false) => Some(0),
        Value::String(text) if text == "yes" => Some(1),
        Value::String(text) if text == "no" => Some(0),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

#[test]
fn assertions_give_a_verdict_only_when_they_state_one() {
    let read = |yaml: &str| verdict(&yaml_serde::from_str::<Vec<Value>>(yaml).unwrap(), "t");
    assert_eq!(read("[{violations: yes}]"), Some(Verdict::Rejected));
    assert_eq!(
        read("[{violations: 2, message: x}]"),
        Some(Verdict::Rejected)
    );
    assert_eq!(read("[{violations: no}]"), Some(Verdict::Accepted));
    assert_eq!(read("[{violations: 0}]"), Some(Verdict::Accepted));
    assert_eq!(read("[{violations: no, message: x}]"), None);
}
