//! The dependency invariants of ARCHITECTURE.md, checked on the workspace as cargo sees it
//! (`cargo metadata`): policies never depend on the host; the shared crate knows no policy;
//! only the command, the developer tasks and the end-to-end tests run the host; test support
//! stays out of what ships; nothing depends on a tool.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// A workspace crate and the workspace crates it depends on, by kind (`normal`, `dev`, `build`).
struct Member {
    name: String,
    is_policy: bool,
    depends_on: Vec<(String, String)>,
}

fn members() -> Vec<Member> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(crate::workspace::root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let workspace: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    packages
        .iter()
        .map(|package| {
            let manifest = package["manifest_path"].as_str().unwrap_or_default();
            let depends_on = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|dependency| {
                    let name = dependency["name"].as_str()?;
                    let kind = dependency["kind"].as_str().unwrap_or("normal");
                    workspace
                        .contains(&name)
                        .then(|| (name.to_owned(), kind.to_owned()))
                })
                .collect();
            Member {
                name: package["name"].as_str().unwrap_or_default().to_owned(),
                is_policy: manifest.contains("/policies/"),
                depends_on,
            }
        })
        .collect()
}

/// Who depends on `crate_name`, and how.
fn dependents<'a>(members: &'a [Member], crate_name: &str) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut found: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for member in members {
        for (name, kind) in &member.depends_on {
            if name == crate_name {
                found.entry(&member.name).or_default().push(kind);
            }
        }
    }
    found
}

#[test]
fn the_workspace_has_the_crates_the_architecture_describes() {
    let members = members();
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    for expected in [
        "pci-shared",
        "pci-testkit",
        "pci-host",
        "pci-policies",
        "e2e-tests",
        "xtask",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} is missing: {names:?}"
        );
    }
    assert!(members.iter().filter(|m| m.is_policy).count() >= 5);
}

#[test]
fn policies_depend_on_the_shared_crate_and_never_on_the_host_or_a_tool() {
    for policy in members().iter().filter(|m| m.is_policy) {
        for (name, kind) in &policy.depends_on {
            let allowed = match kind.as_str() {
                "normal" => name == "pci-shared",
                "dev" => name == "pci-testkit",
                _ => false,
            };
            assert!(
                allowed,
                "policy {} depends on {name} ({kind}); a policy may use pci-shared, and pci-testkit in its tests",
                policy.name
            );
        }
    }
}

#[test]
fn the_shared_crate_knows_no_policy_and_no_other_workspace_crate() {
    let members = members();
    let shared = members
        .iter()
        .find(|m| m.name == "pci-shared")
        .expect("pci-shared");
    assert!(
        shared.depends_on.is_empty(),
        "pci-shared depends on {:?}",
        shared.depends_on
    );
}

#[test]
fn only_the_command_the_developer_tasks_and_the_end_to_end_tests_use_the_host() {
    let members = members();
    let users: Vec<&str> = dependents(&members, "pci-host").into_keys().collect();
    assert_eq!(users, ["e2e-tests", "pci-policies", "xtask"]);
    let host = members
        .iter()
        .find(|m| m.name == "pci-host")
        .expect("pci-host");
    assert!(
        host.depends_on.is_empty(),
        "the host runs any policy module and links none: {:?}",
        host.depends_on
    );
}

#[test]
fn test_support_never_ships_and_nothing_depends_on_a_tool() {
    let members = members();
    for (user, kinds) in dependents(&members, "pci-testkit") {
        assert!(
            kinds.iter().all(|k| *k == "dev") || user == "e2e-tests",
            "{user} depends on pci-testkit as {kinds:?}: test support is a dev-dependency"
        );
    }
    let testkit = members
        .iter()
        .find(|m| m.name == "pci-testkit")
        .expect("pci-testkit");
    assert!(
        testkit
            .depends_on
            .iter()
            .all(|(name, _)| name == "pci-shared"),
        "pci-testkit builds requests on the shared model only: {:?}",
        testkit.depends_on
    );
    for tool in ["xtask", "e2e-tests", "pci-policies"] {
        let users = dependents(&members, tool);
        assert!(users.is_empty(), "{tool} is used by {users:?}");
    }
}
