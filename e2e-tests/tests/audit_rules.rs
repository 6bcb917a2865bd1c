//! The audit scanner's reading of our webhook rules (`../shared/docs/kubewarden-operations.md`
//! §1.2): rules with a literal `*` or without CREATE are dropped; every other rule's
//! apiGroups × apiVersions × resources must map to a kind through the API server's RESTMapper,
//! or the whole policy is left out of background audit. Checked on every compiled module's
//! metadata and on every generated manifest.

use e2e::{checked_metadata, policies, root};
use pci_host::metadata::Rule;
use yaml_serde::Value;

/// The resources of the built-in API groups our rules may name, as the RESTMapper knows them.
const KNOWN: &[(&str, &str, &str)] = &[
    ("", "v1", "pods"),
    ("", "v1", "replicationcontrollers"),
    ("", "v1", "podtemplates"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "replicasets"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
    ("batch", "v1", "jobs"),
    ("batch", "v1", "cronjobs"),
];

/// What the scanner would fail on in `rules`, and the resources it audits.
fn scan(rules: &[Rule]) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut audited = Vec::new();
    for rule in rules {
        let wildcard = [&rule.api_groups, &rule.api_versions, &rule.resources]
            .iter()
            .any(|values| values.iter().any(|v| v == "*"));
        if wildcard || !rule.operations.iter().any(|op| op == "CREATE") {
            continue;
        }
        for group in &rule.api_groups {
            for version in &rule.api_versions {
                for resource in &rule.resources {
                    let known = KNOWN.iter().any(|(g, v, r)| {
                        (g, v, r) == (&group.as_str(), &version.as_str(), &resource.as_str())
                    });
                    if known {
                        audited.push(resource.clone());
                    } else {
                        errors.push(format!(
                            "no matches for {group}/{version}, Resource={resource}"
                        ));
                    }
                }
            }
        }
    }
    (errors, audited)
}

/// Every resource of the bundle's workload kinds, audited.
fn all_audited() -> Vec<String> {
    let mut all: Vec<String> = KNOWN.iter().map(|(_, _, r)| (*r).to_owned()).collect();
    all.sort();
    all
}

fn assert_audited(what: &str, rules: &[Rule]) {
    let (errors, mut audited) = scan(rules);
    assert!(
        errors.is_empty(),
        "{what}: the audit scanner would skip the policy: {errors:?}"
    );
    audited.sort();
    assert_eq!(
        audited,
        all_audited(),
        "{what}: every workload kind is audited"
    );
    assert!(
        rules
            .iter()
            .any(|rule| rule.resources == ["pods/ephemeralcontainers"]
                && rule.operations == ["UPDATE"]),
        "{what}: kubectl debug is still judged, in an UPDATE-only rule"
    );
}

#[test]
fn the_scanner_maps_every_rule_of_every_module() {
    for policy in policies() {
        assert_audited(&policy, &checked_metadata(&policy).rules);
    }
}

#[test]
fn the_scanner_maps_every_rule_of_every_generated_manifest() {
    let mut checked = 0;
    for path in manifest_files() {
        let text = std::fs::read_to_string(&path).expect("manifest");
        for document in text.split("\n---") {
            let document: Value = yaml_serde::from_str(document).expect("yaml");
            let Some(rules) = document.get("spec").and_then(|spec| spec.get("rules")) else {
                continue;
            };
            let rules: Vec<Rule> = yaml_serde::from_value(rules.clone()).expect("rules");
            let name = document["metadata"]["name"].as_str().unwrap_or_default();
            assert_audited(&format!("{}: {name}", path.display()), &rules);
            checked += 1;
        }
    }
    assert!(
        checked >= 2 * policies().len(),
        "{checked} policies found in manifests/"
    );
}

/// Every YAML file under manifests/ (both rollouts, the policy group).
fn manifest_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![root().join("manifests")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("manifests/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The shape the scanner rejects is caught: the rule before issue 18 put the subresource
/// next to `pods` under CREATE.
#[test]
fn a_subresource_under_create_is_caught() {
    let rule = |resources: &[&str], operations: &[&str]| Rule {
        api_groups: vec![String::new()],
        api_versions: vec!["v1".to_owned()],
        resources: resources.iter().map(|r| (*r).to_owned()).collect(),
        operations: operations.iter().map(|o| (*o).to_owned()).collect(),
    };
    let (errors, _) = scan(&[rule(
        &["pods", "pods/ephemeralcontainers"],
        &["CREATE", "UPDATE"],
    )]);
    assert_eq!(
        errors,
        ["no matches for /v1, Resource=pods/ephemeralcontainers"]
    );
    let (errors, _) = scan(&[rule(&["pods/ephemeralcontainers"], &["UPDATE"])]);
    assert!(errors.is_empty());
    let mixed = Rule {
        api_groups: vec![String::new(), "apps".to_owned()],
        ..rule(&["pods"], &["CREATE"])
    };
    assert_eq!(scan(&[mixed]).0, ["no matches for apps/v1, Resource=pods"]);
}
