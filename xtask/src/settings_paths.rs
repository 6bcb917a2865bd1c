//! The settings error paths the policies compute from serde_json's positions
//! (`pci_shared::validated`, `input::path_at`) are the paths serde_path_to_error tracks: checked
//! on thousands of broken variants of every policy's recommended and example settings.

use std::path::Path;

use pci_shared::policy::{Policy, read_settings};
use serde_json::{Value, json};

use crate::workspace;

/// The settings documents a policy ships: `pci.yml`'s, the examples', the case tables'.
fn seeds(policy: &Path) -> Vec<Value> {
    let mut seeds = Vec::new();
    let pci: Value =
        yaml_serde::from_str(&std::fs::read_to_string(policy.join("pci.yml")).expect("pci.yml"))
            .expect("pci.yml is YAML");
    seeds.push(pci["settings"].clone());
    let mut files: Vec<_> = std::fs::read_dir(policy.join("examples"))
        .into_iter()
        .flatten()
        .chain(
            std::fs::read_dir(policy.join("test_data"))
                .into_iter()
                .flatten(),
        )
        .flatten()
        .map(|entry| entry.path())
        .collect();
    files.sort();
    for file in files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let read = || std::fs::read_to_string(&file).expect("a settings file");
        if name.ends_with("settings.json") {
            seeds.push(serde_json::from_str(&read()).expect("settings JSON"));
        } else if name.ends_with(".yaml") {
            let table: Value = yaml_serde::from_str(&read()).expect("case table");
            for case in table["cases"].as_array().into_iter().flatten() {
                if case["settings"].is_object() {
                    seeds.push(case["settings"].clone());
                }
            }
        }
    }
    seeds.retain(Value::is_object);
    seeds
}

/// Every value put in place of a node.
fn replacements() -> [Value; 10] {
    [
        json!(true),
        json!("not-a-valid-value"),
        json!(12345),
        json!(-1),
        json!(1.5),
        json!(null),
        json!([]),
        json!({}),
        json!(["not-a-valid-value"]),
        json!({"unknownKey": 1}),
    ]
}

/// The variants of `document`: every node replaced by every [`replacements`] value, every key
/// removed, an unknown key added to every object.
fn variants(document: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    walk(
        document,
        &mut |edit| out.push(edit(document)),
        &mut Vec::new(),
    );
    out
}

type Edit<'a> = &'a dyn Fn(&Value) -> Value;

fn walk(node: &Value, emit: &mut dyn FnMut(Edit<'_>), at: &mut Vec<Step>) {
    for replacement in replacements() {
        let at_now = at.clone();
        emit(&move |doc: &Value| with(doc, &at_now, |slot| *slot = replacement.clone()));
    }
    match node {
        Value::Object(map) => {
            let at_now = at.clone();
            emit(&move |doc: &Value| {
                with(doc, &at_now, |slot| {
                    if let Value::Object(m) = slot {
                        m.insert("unknownKey".into(), json!(1));
                    }
                })
            });
            for (key, child) in map {
                let at_now = at.clone();
                let removed = key.clone();
                emit(&move |doc: &Value| {
                    with(doc, &at_now, |slot| {
                        if let Value::Object(m) = slot {
                            m.remove(&removed);
                        }
                    })
                });
                at.push(Step::Key(key.clone()));
                walk(child, emit, at);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                at.push(Step::Index(index));
                walk(child, emit, at);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn with(doc: &Value, at: &[Step], change: impl FnOnce(&mut Value)) -> Value {
    let mut copy = doc.clone();
    let mut slot = &mut copy;
    for step in at {
        slot = match step {
            Step::Key(key) => &mut slot[key.as_str()],
            Step::Index(index) => &mut slot[*index],
        };
    }
    change(slot);
    copy
}

/// What serde_path_to_error says of `text`: the error as `read_settings` words it, if serde
/// refuses the data of the text.
fn oracle<P: Policy>(text: &str) -> Option<String> {
    // A syntax error (not data) was always located by its position: the same code reads it.
    if let Err(error) = serde_json::from_str::<P::Settings>(text)
        && error.line() > 0
        && !error.is_data()
    {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let error = serde_path_to_error::deserialize::<_, P::Settings>(&mut deserializer).err()?;
    let message = error.inner().to_string();
    let message = match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    };
    Some(match error.path().to_string().as_str() {
        "" | "." => message,
        path => format!("{path}: {message}"),
    })
}

/// Every variant's error, compact and pretty, against the oracle; the mismatches.
fn mismatches<P: Policy>(name: &str) -> (usize, Vec<String>) {
    let policy = workspace::root().join("policies").join(name);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for seed in seeds(&policy) {
        for variant in variants(&seed) {
            if !variant.is_object() {
                continue;
            }
            for text in [
                variant.to_string(),
                serde_json::to_string_pretty(&variant).unwrap_or_default(),
            ] {
                let Some(expected) = oracle::<P>(&text) else {
                    continue;
                };
                checked += 1;
                match read_settings::<P>(&text) {
                    Err(actual) if actual == expected => {}
                    other => wrong.push(format!(
                        "{name} {variant}\n  expected {expected}\n  got      {other:?}",
                        other = other.err()
                    )),
                }
            }
        }
    }
    (checked, wrong)
}

#[test]
fn settings_error_paths_are_the_tracked_paths() {
    let mut wrong = Vec::new();
    for (name, run) in [
        (
            "image-digest",
            mismatches::<image_digest::Exported> as fn(&str) -> (usize, Vec<String>),
        ),
        ("image-signatures", mismatches::<image_signatures::Exported>),
        ("pod-security", mismatches::<pod_security::Exported>),
        (
            "runtime-isolation",
            mismatches::<runtime_isolation::Exported>,
        ),
        (
            "trusted-registries",
            mismatches::<trusted_registries::Exported>,
        ),
    ] {
        let (checked, mut found) = run(name);
        assert!(checked > 100, "{name}: only {checked} broken variants");
        wrong.append(&mut found);
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
