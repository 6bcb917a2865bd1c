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
        assert!(!check.fields.is_empty(), "{}: reads no field", check.id);
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
