//! The registry is well formed, in the manner of Pod Security Admission's own validation of its
//! checks, and every check is documented and exercised.

use std::collections::BTreeSet;

use pci_testkit::{CaseTable, assert_controls_documented};

use super::*;

#[test]
fn ids_are_unique_and_sorted() {
    for pair in CHECKS.windows(2) {
        assert!(
            pair[0].id < pair[1].id,
            "{} must come before {} (sorted, unique)",
            pair[0].id,
            pair[1].id
        );
    }
    let mut ids = CHECKS.map(|c| c.id).to_vec();
    ids.extend(crate::psp::KNOBS.map(|k| k.id));
    assert_eq!(CONTROL_IDS.to_vec(), ids);
}

#[test]
fn every_check_is_well_formed() {
    for check in CHECKS {
        assert!(
            !check.versions.is_empty(),
            "{}: no implementation",
            check.id
        );
        assert_eq!(check.pci, "3.1", "{}", check.id);
        for pair in check.versions.windows(2) {
            assert!(
                pair[0].minimum < pair[1].minimum,
                "{}: versions must be strictly ascending ({} then {})",
                check.id,
                pair[0].minimum,
                pair[1].minimum
            );
        }
        let newest = check.versions.last().map(|v| v.minimum);
        assert!(
            newest <= Some(Version::LATEST),
            "{}: a version newer than {}",
            check.id,
            Version::LATEST
        );
        for versioned in check.versions {
            for overridden in versioned.overrides {
                let target = CHECKS.iter().find(|c| c.id == *overridden);
                assert!(
                    target.is_some_and(|t| t.level < check.level),
                    "{} overrides {overridden}, which must be a check of a lower level",
                    check.id
                );
            }
        }
    }
}

#[test]
fn every_check_is_documented_in_the_readme_and_pci_yml() {
    assert_controls_documented(env!("CARGO_MANIFEST_DIR"), &CONTROL_IDS);
}

#[test]
fn restricted_replaces_what_it_supersedes_and_baseline_runs_no_restricted_check() {
    let at = |level| -> BTreeSet<&str> {
        applicable(level, Version::LATEST)
            .map(|(check, _)| check.id)
            .collect()
    };
    let baseline = at(Level::Baseline);
    let restricted = at(Level::Restricted);
    assert!(baseline.iter().all(|id| {
        CHECKS
            .iter()
            .any(|c| c.id == *id && c.level == Level::Baseline)
    }));
    for superseded in [
        "capabilities_baseline",
        "seccompProfile_baseline",
        "procMount",
    ] {
        assert!(baseline.contains(superseded) && !restricted.contains(superseded));
    }
    assert_eq!(restricted.len(), CHECKS.len() - 3);
    let old: BTreeSet<&str> = applicable(Level::Restricted, Version::v1(21))
        .map(|(check, _)| check.id)
        .collect();
    assert!(
        old.contains("capabilities_baseline") && !old.contains("capabilities_restricted"),
        "capabilities_restricted starts at v1.22"
    );
}

/// The levels at which `check` runs at the newest version: its own, and restricted for a
/// baseline check restricted does not supersede.
fn levels_running(check: &Check) -> Vec<Level> {
    [Level::Baseline, Level::Restricted]
        .into_iter()
        .filter(|level| {
            applicable(*level, Version::LATEST).any(|(running, _)| running.id == check.id)
        })
        .collect()
}

#[test]
fn every_check_has_a_failing_and_a_passing_case_at_every_level_it_runs_at() {
    let table =
        CaseTable::from_yaml(include_str!("../../test_data/controls.yaml")).expect("valid table");
    let level_of = |settings: &serde_json::Value| match settings["level"].as_str() {
        Some("baseline") => Level::Baseline,
        _ => Level::Restricted,
    };
    let mut missing = Vec::new();
    for check in CHECKS {
        let prefix = format!("{} ", check.id);
        for level in levels_running(check) {
            let cases = || {
                table
                    .cases
                    .iter()
                    .filter(|c| level_of(&c.settings) == level)
            };
            let fails = cases().any(|c| c.violations.iter().any(|v| v.starts_with(&prefix)));
            let passes = cases().any(|c| {
                c.passes.iter().any(|id| id == check.id)
                    && !c.violations.iter().any(|v| v.starts_with(&prefix))
            });
            if !fails {
                missing.push(format!("{} fails at {level}", check.id));
            }
            if !passes {
                missing.push(format!("{} passes at {level}", check.id));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "test_data/controls.yaml lacks a case where: {}",
        missing.join("; ")
    );
}

#[test]
fn every_case_that_claims_a_pass_names_a_known_check() {
    let table =
        CaseTable::from_yaml(include_str!("../../test_data/controls.yaml")).expect("valid table");
    for case in &table.cases {
        for id in &case.passes {
            assert!(
                CONTROL_IDS.contains(&id.as_str()),
                "case {:?}: {id}",
                case.name
            );
        }
    }
}

#[test]
fn every_knob_has_a_failing_and_a_passing_case() {
    let table =
        CaseTable::from_yaml(include_str!("../../test_data/knobs.yaml")).expect("valid table");
    let mut missing = Vec::new();
    for knob in crate::psp::KNOBS {
        let prefix = format!("{} ", knob.id);
        let fails = table
            .cases
            .iter()
            .any(|c| c.violations.iter().any(|v| v.starts_with(&prefix)));
        let passes = table.cases.iter().any(|c| {
            c.passes.iter().any(|id| id == knob.id)
                && !c.violations.iter().any(|v| v.starts_with(&prefix))
        });
        if !fails {
            missing.push(format!("{} fails", knob.id));
        }
        if !passes {
            missing.push(format!("{} passes", knob.id));
        }
        assert!(knob.id.starts_with(crate::psp::PREFIX), "{}", knob.id);
    }
    assert!(
        missing.is_empty(),
        "test_data/knobs.yaml lacks a case where: {}",
        missing.join("; ")
    );
    let ids: Vec<&str> = crate::psp::KNOBS.iter().map(|k| k.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "KNOBS are sorted by id");
}

/// `test_data/standard.yaml`: the fixture of one (check, version).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fixture {
    check: String,
    version: String,
    source: String,
    #[serde(default)]
    fails_before: bool,
    #[serde(default)]
    fail: serde_json::Value,
    #[serde(default)]
    pass: serde_json::Value,
    #[serde(default)]
    annotations_fail: serde_json::Value,
    #[serde(default)]
    annotations_pass: serde_json::Value,
}

#[derive(serde::Deserialize)]
struct Fixtures {
    base: serde_json::Value,
    fixtures: Vec<Fixture>,
}

/// `patch` applied to `base` as a JSON merge patch (`pci_testkit::merge`), except that its
/// `containers` patch the base's containers one by one, so a fixture writes only what differs.
fn merged(base: &serde_json::Value, patch: &serde_json::Value) -> serde_json::Value {
    let mut spec = base.clone();
    if patch.is_null() {
        return spec;
    }
    let mut patch = patch.clone();
    let containers = patch
        .as_object_mut()
        .and_then(|fields| fields.remove("containers"));
    pci_testkit::merge(&mut spec, &patch);
    for (index, container) in containers
        .iter()
        .flat_map(|c| c.as_array())
        .flatten()
        .enumerate()
    {
        pci_testkit::merge(&mut spec["containers"][index], container);
    }
    spec
}

/// The pod of a fixture, read as the policy reads a Pod.
fn pod(spec: serde_json::Value, annotations: &serde_json::Value) -> Workload {
    let mut metadata = serde_json::json!({"name": "fixture", "namespace": "default"});
    if annotations.is_object() {
        metadata["annotations"] = annotations.clone();
    }
    let object =
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec});
    Workload::from_json(pci_shared::workload::WorkloadKind::Pod, &object.to_string())
        .expect("a fixture is a valid pod")
}

/// True when the pure standard reports `check` on `workload` at `version`.
fn reports(check: &Check, workload: &Workload, version: Version) -> bool {
    evaluate(workload, check.level, version)
        .iter()
        .any(|finding| finding.violation.control == check.id)
}

#[test]
fn every_check_version_has_a_failing_and_a_passing_fixture_that_behave() {
    let table: Fixtures =
        serde_yaml::from_str(include_str!("../../test_data/standard.yaml")).expect("fixtures");
    let mut problems = Vec::new();
    for check in CHECKS {
        for (index, versioned) in check.versions.iter().enumerate() {
            let version = versioned.minimum;
            let found: Vec<&Fixture> = table
                .fixtures
                .iter()
                .filter(|f| f.check == check.id && Version::parse(&f.version) == Ok(version))
                .collect();
            let [fixture] = found.as_slice() else {
                problems.push(format!(
                    "{} {version}: {} fixtures, expected one",
                    check.id,
                    found.len()
                ));
                continue;
            };
            let cites_psa =
                fixture.source.contains("fixtures_") || fixture.source.contains("policy/check_");
            if !cites_psa {
                problems.push(format!(
                    "{} {version}: cite the PSA fixture or check it follows",
                    check.id
                ));
            }
            let failing = pod(
                merged(&table.base, &fixture.fail),
                &fixture.annotations_fail,
            );
            let passing = pod(
                merged(&table.base, &fixture.pass),
                &fixture.annotations_pass,
            );
            if !reports(check, &failing, version) {
                problems.push(format!(
                    "{} {version}: the failing fixture passes",
                    check.id
                ));
            }
            if reports(check, &passing, version) {
                problems.push(format!("{} {version}: the passing fixture fails", check.id));
            }
            if fixture.fails_before {
                let before = index.checked_sub(1).map(|i| check.versions[i].minimum);
                if !before.is_some_and(|v| reports(check, &passing, v)) {
                    problems.push(format!(
                        "{} {version}: the passing fixture must fail at the previous version",
                        check.id
                    ));
                }
            }
        }
    }
    let unknown = table.fixtures.iter().filter(|f| {
        !CHECKS.iter().any(|c| {
            c.id == f.check
                && c.versions
                    .iter()
                    .any(|v| Version::parse(&f.version) == Ok(v.minimum))
        })
    });
    for fixture in unknown {
        problems.push(format!(
            "{} {}: no such check version",
            fixture.check, fixture.version
        ));
    }
    let base = pod(table.base.clone(), &serde_json::Value::Null);
    for level in [Level::Baseline, Level::Restricted] {
        assert!(
            evaluate(&base, level, Version::LATEST).is_empty(),
            "the base pod passes {level}"
        );
    }
    assert!(
        problems.is_empty(),
        "test_data/standard.yaml:\n{}",
        problems.join("\n")
    );
}
