//! The Rancher and Artifact Hub forms (`questions-ui.yml`) produce settings the compiled policy
//! accepts: the settings a user gets from the defaults alone, and with an item added to each list
//! of objects (`sequence[`), filled in minimally (the required fields) and fully (every field the
//! form shows), once for each option of the item's selects. The defaults are the values
//! `pci.yml` recommends, so a policy installed from the form is no deviation in the evidence.
//!
//! The form is read as Rancher and kubewarden-ui read it, at its worst: a question is shown when
//! its `show_if` holds (`a=b`, `a!=b`, joined by `&&`) against the values so far, and only a
//! shown question is filled in; but every question's `default` is sent, shown or not (Rancher
//! keeps the values of hidden questions, kubewarden-ui shows every field of a list item and
//! adds an item with every default); a dotted `variable` is a nested setting.

use e2e::{bundle, instance, policies};
use serde_json::{Map, Value, json};

/// Reads `policies/<policy>/<file>` as YAML.
fn yaml(policy: &str, file: &str) -> Value {
    let path = bundle().policy_dir(policy).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn questions(policy: &str) -> Vec<Value> {
    yaml(policy, "questions-ui.yml")["questions"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{policy}: questions-ui.yml has no questions list"))
}

/// The value at a dotted path.
fn value_at<'a>(values: &'a Map<String, Value>, dotted: &str) -> Option<&'a Value> {
    let mut parts = dotted.split('.');
    let mut current = values.get(parts.next()?);
    for part in parts {
        current = current.and_then(|value| value.get(part));
    }
    current
}

/// The value at a dotted path, as Rancher compares it: a string as is, anything else as JSON,
/// nothing as "".
fn answer(values: &Map<String, Value>, dotted: &str) -> String {
    match value_at(values, dotted) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

fn shown(question: &Value, values: &Map<String, Value>) -> bool {
    let Some(condition) = question["show_if"].as_str() else {
        return true;
    };
    condition.split("&&").all(|term| {
        let term = term.trim();
        match term.split_once("!=") {
            Some((left, right)) => answer(values, left.trim()) != right.trim(),
            None => {
                let (left, right) = term.split_once('=').expect("show_if: a=b or a!=b");
                answer(values, left.trim()) == right.trim()
            }
        }
    })
}

fn set(values: &mut Map<String, Value>, dotted: &str, value: Value) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().expect("a variable");
    let mut current = values;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        current = entry.as_object_mut().expect("an object");
    }
    current.insert(last.to_owned(), value);
}

/// How an added item is filled in, beyond its defaults.
#[derive(Clone, Copy, PartialEq)]
enum Fill {
    /// Nothing: the form's defaults only.
    Defaults,
    /// The required fields the defaults leave empty.
    Required,
    /// Every field the form shows blank (no default), and the required ones.
    Every,
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// The values of `questions` (one level: the settings, or one item of a list), filled as
/// `fill` says; `chosen` overrides the default of a select.
fn values_of(
    policy: &str,
    questions: &[Value],
    fill: Fill,
    chosen: &[(&str, &str)],
) -> Map<String, Value> {
    let mut values = Map::new();
    let mut pending: Vec<&Value> = questions.iter().collect();
    while let Some(question) = pending.first().copied() {
        pending.remove(0);
        let variable = question["variable"].as_str().expect("variable");
        let chosen_value = chosen.iter().find(|(v, _)| *v == variable);
        let default = question.get("default").cloned();
        let blank = default.as_ref().is_none_or(is_empty);
        let wants = shown(question, &values)
            && match fill {
                Fill::Defaults => false,
                Fill::Required => question["required"] == true && blank,
                Fill::Every => default.is_none() || (question["required"] == true && blank),
            };
        let value = match (chosen_value, default) {
            (Some((_, option)), _) => Some(json!(option)),
            (None, _) if wants => Some(sample(policy, question)),
            (None, default) => default,
        };
        if let Some(value) = value {
            set(&mut values, variable, value);
        }
        if let Some(subquestions) = question["subquestions"].as_array() {
            for (offset, sub) in subquestions.iter().enumerate() {
                pending.insert(offset, sub);
            }
        }
    }
    values
}

/// A value a user would type into `question` (a field without a usable default).
fn sample(policy: &str, question: &Value) -> Value {
    let variable = question["variable"].as_str().expect("variable");
    if question["type"] == "sequence[" {
        let items = question["sequence_questions"].as_array().expect("items");
        return json!([values_of(policy, items, Fill::Required, &[])]);
    }
    let test_data = |file: &str| {
        let path = bundle().policy_dir(policy).join("test_data").join(file);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let first_control = || yaml(policy, "pci.yml")["controls"][0]["id"].clone();
    match variable {
        "controls" => json!([first_control()]),
        "namespaces" => json!(["kube-system"]),
        "images" => json!(["registry.example.com/tools/*"]),
        "containers" => json!(["app"]),
        "reason" => json!("reviewed by the platform team (CHG-1234)"),
        "approvedBy" => json!("security@example.com"),
        "expires" => json!("2099-12-31"),
        "publicKeys.keys" => json!([test_data("key-a.pub")]),
        "publicKeys.threshold" => json!(1),
        "issuer" => json!("https://token.actions.githubusercontent.com"),
        "subject" => json!(
            "https://github.com/example-org/app/.github/workflows/release.yml@refs/heads/main"
        ),
        "urlPrefix" => json!("https://github.com/example-org/"),
        "githubActions.owner" => json!("example-org"),
        "githubActions.repo" => json!("app"),
        "certificates.certificate" => json!(test_data("chain/leaf.crt")),
        "certificates.certificateChain" => json!([
            test_data("chain/intermediate.crt"),
            test_data("chain/root.crt")
        ]),
        "certificates.requireRekorBundle" => json!(true),
        "annotations" => json!({"env": "prod"}),
        "pathPrefix" => json!("/var/log"),
        "driver" => json!("example.com/lvm"),
        "name" if policy == "runtime-isolation" => json!("fargate-payments"),
        "name" => json!("csi.example.com"),
        "description" => json!("the organisation's isolated placement"),
        "schedulerName" => json!("fargate-scheduler"),
        "runtimeClass.defaultRuntimeClassName" => json!("gvisor"),
        other => match question["type"].as_str() {
            Some("boolean") => json!(true),
            _ => panic!("{policy}: no sample value for {other}: add one to forms.rs"),
        },
    }
}

/// The settings of the form's defaults.
fn default_settings(policy: &str) -> Value {
    Value::Object(values_of(policy, &questions(policy), Fill::Defaults, &[]))
}

fn assert_accepted(policy: &str, what: &str, settings: &Value) {
    let validation = instance(policy)
        .validate_settings(settings)
        .expect("validate_settings");
    assert!(
        validation.valid,
        "{policy}: {what} is refused: {}\nsettings: {settings}",
        validation.message.unwrap_or_default()
    );
}

#[test]
fn the_form_defaults_are_settings_the_policy_accepts() {
    for policy in policies() {
        assert_accepted(&policy, "the form's defaults", &default_settings(&policy));
    }
}

/// Every `sequence[` gets one item, filled minimally and fully, once per option of each select
/// among its fields (a verifier type, a placement preset), each added to the defaults.
#[test]
fn an_added_item_of_every_list_is_accepted() {
    for policy in policies() {
        let all = questions(&policy);
        for question in all.iter().filter(|q| q["type"] == "sequence[") {
            let variable = question["variable"].as_str().expect("variable");
            let items = question["sequence_questions"].as_array().expect("items");
            let mut choices: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
            for select in items.iter().filter(|q| q["type"] == "enum") {
                let name = select["variable"].as_str().expect("variable");
                for option in select["options"].as_array().expect("options") {
                    choices.push(vec![(name, option.as_str().expect("an option"))]);
                }
            }
            let shows = showing(&all, question);
            let shows: Vec<(&str, &str)> = shows
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            for chosen in &choices {
                for fill in [Fill::Required, Fill::Every] {
                    let mut defaults = values_of(&policy, &all, Fill::Defaults, &shows);
                    let item = values_of(&policy, items, fill, chosen);
                    let mut list = value_at(&defaults, variable)
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    list.push(Value::Object(item));
                    set(&mut defaults, variable, Value::Array(list));
                    prerequisite(&policy, variable, &mut defaults);
                    let what = format!("an item of {variable} ({chosen:?})");
                    assert_accepted(&policy, &what, &Value::Object(defaults));
                }
            }
        }
    }
}

/// What a user also sets for an item of `variable` to mean anything, as the field's
/// description says (a flexVolume driver list needs flexVolume among the volume types).
fn prerequisite(policy: &str, variable: &str, settings: &mut Map<String, Value>) {
    if (policy, variable) == ("pod-security", "allowedFlexVolumes")
        && let Some(Value::Array(volumes)) = settings.get_mut("volumes")
    {
        volumes.push(json!("flexVolume"));
    }
}

/// The select values that show `question` (its `show_if`): `a=b` chooses b, `a!=b` the first
/// other option of a.
fn showing(all: &[Value], question: &Value) -> Vec<(String, String)> {
    let Some(condition) = question["show_if"].as_str() else {
        return Vec::new();
    };
    condition
        .split("&&")
        .map(|term| match term.split_once("!=") {
            Some((left, right)) => {
                let select = all
                    .iter()
                    .find(|q| q["variable"] == left.trim())
                    .expect("show_if names a question");
                let other = select["options"]
                    .as_array()
                    .expect("a select")
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|option| *option != right.trim())
                    .expect("another option");
                (left.trim().to_owned(), other.to_owned())
            }
            None => {
                let (left, right) = term.split_once('=').expect("a=b");
                (left.trim().to_owned(), right.trim().to_owned())
            }
        })
        .collect()
}

/// What `pci.yml` recommends is in the form's defaults, value for value.
#[test]
fn the_form_defaults_are_the_pci_recommendation() {
    for policy in policies() {
        let recommended = yaml(&policy, "pci.yml")["settings"].clone();
        let defaults = default_settings(&policy);
        let mut differences = Vec::new();
        compare(&recommended, &defaults, "", &mut differences);
        assert!(
            differences.is_empty(),
            "{policy}: the form's defaults differ from pci.yml's settings:\n  {}",
            differences.join("\n  ")
        );
    }
}

/// Every value of `recommended` is in `form` (objects compared key by key).
fn compare(recommended: &Value, form: &Value, path: &str, differences: &mut Vec<String>) {
    match (recommended, form) {
        (Value::Object(wanted), Value::Object(got)) => {
            for (key, value) in wanted {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                compare(
                    value,
                    got.get(key).unwrap_or(&Value::Null),
                    &path,
                    differences,
                );
            }
        }
        (wanted, got) if wanted == got => {}
        (wanted, got) => differences.push(format!("{path}: pci.yml {wanted}, form {got}")),
    }
}
