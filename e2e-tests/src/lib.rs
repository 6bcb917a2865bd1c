//! What the end-to-end tests share: the bundle in this checkout, one engine, each compiled
//! policy loaded once, and the runners that check tables, examples, metadata and questions
//! through the compiled modules.

pub mod deploy;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use pci_host::admission::AdmissionResponse;
use pci_host::bundle::Bundle;
use pci_host::capabilities::HostCapabilities;
use pci_host::host::{DEFAULT_DEADLINE_TICKS, Engine, Instance, Policy};
use pci_host::run::{RunOptions, run};
use pci_shared::response::ValidationResponse;
use pci_shared::time::Now;
use pci_testkit::{CaseTable, reported_violations, validation_payload};
use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The bundle in this checkout.
pub fn bundle() -> Bundle {
    Bundle::at(root())
}

/// Every policy of the bundle, in name order.
pub fn policies() -> Vec<String> {
    bundle().policies().expect("the policies of the checkout")
}

/// The settings `policy` is benchmarked with (`policies/<policy>/bench.json`): valid settings
/// every policy has.
pub fn bench_settings(policy: &str) -> Value {
    let path = bundle().policy_dir(policy).join("bench.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let bench: Value = serde_json::from_str(&text).expect("bench.json is JSON");
    bench["settings"].clone()
}

/// The shared engine.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new().expect("wasmtime engine"))
}

/// The bytes of `dist/<name>.wasm`, built by `make build`.
pub fn module_bytes(name: &str) -> Vec<u8> {
    let path = bundle().module(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run `make build` first",
            path.display()
        )
    })
}

/// `dist/<name>.wasm`, compiled once per test binary.
pub fn policy(name: &str) -> Arc<Policy> {
    static POLICIES: OnceLock<Mutex<BTreeMap<String, Arc<Policy>>>> = OnceLock::new();
    let cache = POLICIES.get_or_init(Mutex::default);
    let mut cache = cache.lock().expect("cache lock");
    Arc::clone(cache.entry(name.to_owned()).or_insert_with(|| {
        Arc::new(
            engine()
                .load(&module_bytes(name))
                .unwrap_or_else(|e| panic!("cannot load {name}: {e:#}")),
        )
    }))
}

/// A fresh instance of `dist/<name>.wasm` without host capabilities.
pub fn instance(name: &str) -> Instance {
    policy(name)
        .instantiate(HostCapabilities::none(), DEFAULT_DEADLINE_TICKS)
        .expect("instance")
}

/// `kwctl run` of `dist/<name>.wasm` on a request with settings.
pub fn kwctl_run(name: &str, request: &Value, settings: Value) -> AdmissionResponse {
    run(
        &policy(name),
        request,
        RunOptions {
            settings,
            ..RunOptions::default()
        },
    )
    .expect("run")
}

/// A rejection's message, then the details of every violation (the host's answers, trimmed),
/// which the `violations` audit annotation keeps and the message leaves out, one per line.
pub fn message_and_details(response: &AdmissionResponse) -> String {
    let message = response
        .status
        .as_ref()
        .and_then(|status| status.message.clone())
        .unwrap_or_default();
    let audit = serde_json::to_value(&response.audit_annotations).unwrap_or_default();
    std::iter::once(message)
        .chain(pci_testkit::violation_details(&audit))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads `policies/<policy>/test_data/<file>`.
pub fn case_table(policy: &str, file: &str) -> CaseTable {
    let path = bundle().policy_dir(policy).join("test_data").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    CaseTable::from_yaml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs every case of a table through `dist/<policy>.wasm`: the reported violations must be the
/// expected ones, and the wasm must answer byte for byte what the native build (`native`) answers.
pub fn check_table_through_wasm(
    policy: &str,
    table: &CaseTable,
    native: fn(&[u8], Now) -> ValidationResponse,
) {
    let wasm = instance(policy);
    for case in &table.cases {
        let payload = validation_payload(&case.request(&table.base), &case.settings);
        let answer = wasm.call("validate", &payload).expect("validate");
        let response: Value = serde_json::from_slice(&answer).expect("json");
        let native_answer = serde_json::to_string(&native(&payload, Now::read())).expect("json");
        let same_as_native = || {
            assert_eq!(
                std::str::from_utf8(&answer).expect("utf8"),
                native_answer,
                "case {:?}: wasm and native differ",
                case.name
            );
        };
        if case.check_refusal(
            response["accepted"] == Value::Bool(true),
            response["code"].as_u64(),
            response["message"].as_str(),
        ) {
            same_as_native();
            continue;
        }
        assert_eq!(
            reported_violations(&response["audit_annotations"]),
            case.violations,
            "case {:?}: {}",
            case.name,
            response["message"]
        );
        assert_eq!(
            response["accepted"],
            Value::Bool(case.expects_acceptance()),
            "case {:?}",
            case.name
        );
        let warnings: Option<Vec<String>> =
            serde_json::from_value(response["warnings"].clone()).expect("warnings");
        case.check_warnings(warnings.as_deref());
        same_as_native();
    }
}

/// `kwctl run --allow-context-aware --replay-host-capabilities-interactions
/// policies/<policy>/test_data/<session>`; also returns how many exchanges were left unused.
pub fn kwctl_run_replay(
    name: &str,
    request: &Value,
    settings: Value,
    session: &str,
) -> (AdmissionResponse, usize) {
    let path = bundle().policy_dir(name).join("test_data").join(session);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let replay = std::sync::Arc::new(pci_host::replay::Replay::from_yaml(&text).expect("session"));
    let options = RunOptions {
        settings,
        replay: Some(std::sync::Arc::clone(&replay)),
        allow_context_aware: true,
        ..RunOptions::default()
    };
    let response = run(&policy(name), request, options).expect("run");
    (response, replay.remaining())
}

/// The metadata embedded in `dist/<policy>.wasm`, after checking that it is valid (as
/// policy-server checks it), annotated by our tool from the policy README, and that its rules
/// cover every workload kind.
pub fn checked_metadata(policy: &str) -> pci_host::metadata::Metadata {
    let metadata = pci_host::metadata::Metadata::from_module(&module_bytes(policy))
        .expect("readable")
        .expect("annotated");
    metadata.validate().expect("valid metadata");
    assert_eq!(metadata.protocol_version.as_deref(), Some("v1"));
    let readme =
        std::fs::read_to_string(bundle().policy_dir(policy).join("README.md")).expect("readme");
    assert_eq!(
        metadata.annotations.get("io.kubewarden.policy.usage"),
        Some(&readme),
        "{policy}: usage is the README"
    );
    assert!(
        metadata
            .annotations
            .contains_key("io.pci-policies.annotate")
    );
    assert!(!metadata.annotations.contains_key("io.kubewarden.kwctl"));
    for key in [
        "io.kubewarden.policy.title",
        "io.kubewarden.policy.version",
        "io.kubewarden.policy.description",
        "io.kubewarden.policy.author",
        "io.kubewarden.policy.url",
        "io.kubewarden.policy.ociUrl",
        "io.kubewarden.policy.source",
        "io.kubewarden.policy.license",
        "io.kubewarden.policy.category",
        "io.kubewarden.policy.severity",
        "io.artifacthub.displayName",
        "io.artifacthub.keywords",
        "io.artifacthub.resources",
        "io.pci-policies.controls",
        "com.github.release.tag",
    ] {
        assert!(
            metadata
                .annotations
                .get(key)
                .is_some_and(|v| !v.trim().is_empty()),
            "{policy}: metadata.yml lacks {key}"
        );
    }
    let annotation = |key: &str| metadata.annotations[key].as_str();
    assert_eq!(annotation("io.kubewarden.policy.title"), policy);
    assert!(
        annotation("io.kubewarden.policy.ociUrl").ends_with(&format!("/{policy}")),
        "{policy}: the OCI repository is named after the policy"
    );
    assert_eq!(
        annotation("com.github.release.tag"),
        format!("{policy}/v{}", annotation("io.kubewarden.policy.version")),
        "{policy}: the release tag names the policy and its version"
    );
    let resources: Vec<&str> = metadata
        .rules
        .iter()
        .flat_map(|r| r.resources.iter().map(String::as_str))
        .collect();
    for kind in pci_shared::workload::WorkloadKind::ALL {
        assert!(
            resources.contains(&kind.resource()),
            "{policy}: rules miss {}",
            kind.resource()
        );
    }
    metadata
}

/// The verdicts `policies/<policy>/examples/README.md` documents: the rows of its table,
/// `` | `<example>` | ACCEPT, REJECT or MUTATE | what it shows | ``.
pub fn documented_verdicts(policy: &str) -> Vec<(String, String)> {
    let path = bundle().examples_dir(policy).join("README.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            match cells.as_slice() {
                ["", name, verdict, _, ""] if name.starts_with('`') => {
                    Some((name.trim_matches('`').to_owned(), (*verdict).to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

/// Runs every example of `policies/<policy>/examples/` through the compiled policy: each one
/// must be documented in the folder's README with the verdict it gives.
pub fn check_examples(policy_name: &str) {
    let found = pci_host::examples::load(&bundle().examples_dir(policy_name)).expect("examples");
    let expected = documented_verdicts(policy_name);
    let names: Vec<&str> = found.iter().map(|e| e.name.as_str()).collect();
    let documented: Vec<&str> = expected.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names, documented,
        "{policy_name}: every example needs its row in examples/README.md, in name order"
    );
    let compiled = policy(policy_name);
    for (example, (_, verdict)) in found.iter().zip(&expected) {
        let response = example.run(&compiled).expect("run");
        let actual = match (response.allowed, response.patch.is_some()) {
            (false, _) => "REJECT",
            (true, true) => "MUTATE",
            (true, false) => "ACCEPT",
        };
        assert_eq!(
            actual, verdict,
            "{policy_name}/{}: {:?}",
            example.name, response.status
        );
    }
}

/// The top-level settings the compiled policy accepts, as it says itself: every policy refuses
/// unknown settings, and the refusal lists the known ones (serde's `unknown field`, `expected
/// one of …` message).
pub fn settings_fields(name: &str) -> Vec<String> {
    const PROBE: &str = "noSuchSetting";
    let validation = instance(name)
        .validate_settings(&serde_json::json!({ PROBE: null }))
        .expect("validate_settings");
    let message = validation.message.unwrap_or_default();
    assert!(
        !validation.valid && message.contains(&format!("unknown field `{PROBE}`")),
        "{name} does not refuse an unknown setting: {message}"
    );
    fields_in_unknown_field_message(&message)
}

/// The field names of serde's `unknown field `x`, expected …` message.
pub fn fields_in_unknown_field_message(message: &str) -> Vec<String> {
    let Some((_, expected)) = message.split_once(", expected ") else {
        return Vec::new();
    };
    if expected.starts_with("there are no fields") {
        return Vec::new();
    }
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    expected
        .split(", ")
        .flat_map(|part| part.split(" or "))
        .map(|field| field.trim().trim_matches('`').to_owned())
        .filter(|field| !field.is_empty())
        .collect()
}

/// `questions-ui.yml` asks for every top-level setting the compiled policy accepts and
/// nothing else; each question's default is read by the policy without an unknown-field error.
pub fn check_questions_cover_settings(name: &str) {
    let fields = settings_fields(name);
    assert!(!fields.is_empty(), "{name}");
    let path = bundle().policy_dir(name).join("questions-ui.yml");
    let questions: Value =
        yaml_serde::from_str(&std::fs::read_to_string(path).expect("questions-ui.yml"))
            .expect("yaml");
    let questions = questions["questions"].as_array().expect("questions list");
    let top: std::collections::BTreeSet<&str> = questions
        .iter()
        .map(|q| {
            let variable = q["variable"].as_str().expect("variable");
            variable.split('.').next().unwrap_or(variable)
        })
        .collect();
    // Other names a policy accepts for a setting it asks for (PodSecurityPolicy's `hostPorts`
    // is pod-security's `allowedHostPorts`): the form asks once.
    const ALIASES: [&str; 1] = ["hostPorts"];
    let expected: std::collections::BTreeSet<&str> = fields
        .iter()
        .map(String::as_str)
        .filter(|field| !ALIASES.contains(field))
        .collect();
    assert_eq!(
        top, expected,
        "{name}: questions-ui.yml vs the settings the module accepts"
    );
    let instance = instance(name);
    for question in questions {
        let variable = question["variable"].as_str().expect("variable");
        for key in ["label", "type", "group"] {
            assert!(question.get(key).is_some(), "{name}/{variable}: no {key}");
        }
        if question["type"] == "sequence[" {
            continue; // a list of objects: its default is an empty list
        }
        let mut settings = question.get("default").cloned().unwrap_or(Value::Null);
        for part in variable.rsplit('.') {
            settings = serde_json::json!({ part: settings });
        }
        let validation = instance
            .validate_settings(&settings)
            .expect("validate_settings");
        let message = validation.message.unwrap_or_default();
        assert!(
            !message.contains("unknown field"),
            "{name}/{variable}: the policy does not know this setting: {message}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::fields_in_unknown_field_message;

    #[test]
    fn the_fields_of_every_form_of_serde_unknown_field_message() {
        let fields = |m: &str| fields_in_unknown_field_message(m);
        assert_eq!(
            fields("x: unknown field `x`, expected one of `level`, `version`, `mutate`"),
            ["level", "version", "mutate"]
        );
        assert_eq!(
            fields("unknown field `x`, expected `mode` or `exceptions`"),
            ["mode", "exceptions"]
        );
        assert_eq!(fields("unknown field `x`, expected `mode`"), ["mode"]);
        assert!(fields("unknown field `x`, there are no fields").is_empty());
    }
}
