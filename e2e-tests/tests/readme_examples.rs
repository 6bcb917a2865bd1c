//! The deployment examples in each policy README are what a reader may copy: every
//! ClusterAdmissionPolicy there runs this policy's module on the bundle's PolicyServer, with
//! settings the compiled module accepts and the rules of its metadata; a validating instance can
//! never patch, and a mutating one comes with its validating twin. Every YAML document of a
//! policy README without a `kind` is settings (`settings: {…}`, or the settings object itself),
//! and the compiled module must accept it as it stands; workloads (`kind: Pod`…) are shown as such.

use pci_shared::policy::{Policy, PolicySettings, read_settings};
use serde::Deserialize;
use serde_json::Value;

/// The PolicyServer `deploy/` runs the bundle on (deploy/bundle.yml).
const POLICY_SERVER: &str = "pci-policies";

#[test]
fn every_readme_example_deploys_what_the_bundle_deploys() {
    for policy in e2e::policies() {
        let readme = std::fs::read_to_string(e2e::bundle().policy_dir(&policy).join("README.md"))
            .expect("README");
        let examples = yaml_documents(&readme, &policy);
        let instances: Vec<&Value> = examples
            .iter()
            .filter(|doc| doc["kind"] == "ClusterAdmissionPolicy")
            .collect();
        assert!(
            !instances.is_empty(),
            "{policy}: the README shows no ClusterAdmissionPolicy"
        );
        for instance in &instances {
            check_instance(&policy, instance);
        }
        for settings_only in examples.iter().filter(|doc| doc.get("kind").is_none()) {
            // `settings: {…}` as in a policy, or the settings object itself (a fragment).
            let settings = settings_only.get("settings").unwrap_or(settings_only);
            check_settings(&policy, settings, &format!("settings example {settings}"));
        }
        check_twins(&policy, &instances);
    }
}

/// Every YAML document of every ```yaml block of `markdown`.
fn yaml_documents(markdown: &str, policy: &str) -> Vec<Value> {
    let mut documents = Vec::new();
    for block in markdown.split("```yaml\n").skip(1) {
        let text = block.split("\n```").next().unwrap_or_default();
        for document in yaml_serde::Deserializer::from_str(text) {
            let value = Value::deserialize(document).unwrap_or_else(|e| {
                panic!("{policy}: a README YAML block does not parse: {e}\n{text}")
            });
            if !value.is_null() {
                documents.push(value);
            }
        }
    }
    documents
}

fn check_instance(policy: &str, instance: &Value) {
    let name = instance["metadata"]["name"].as_str().unwrap_or_default();
    let spec = &instance["spec"];
    let metadata_yml =
        std::fs::read_to_string(e2e::bundle().policy_dir(policy).join("metadata.yml"))
            .expect("metadata.yml");
    let metadata = pci_host::metadata::Metadata::from_yaml(&metadata_yml).expect("metadata.yml");
    let image = &metadata.annotations["io.kubewarden.policy.ociUrl"];
    let version = &metadata.annotations["io.kubewarden.policy.version"];
    let module = spec["module"].as_str().unwrap_or_default();
    assert!(
        module.starts_with(&format!("registry://{image}:v{version}")),
        "{policy}: example {name} runs {module:?}, not this policy's module"
    );
    assert_eq!(
        spec["policyServer"], POLICY_SERVER,
        "{policy}: example {name} must run on the bundle's PolicyServer"
    );
    assert_eq!(
        spec["rules"],
        serde_json::to_value(&metadata.rules).expect("rules"),
        "{policy}: example {name} has other rules than metadata.yml"
    );
    let settings = &spec["settings"];
    check_settings(policy, settings, name);
    let mutating = spec["mutating"].as_bool();
    assert!(
        mutating.is_some(),
        "{policy}: example {name} must say mutating"
    );
    if mutating == Some(false) {
        assert!(
            !can_patch(policy, settings),
            "{policy}: example {name} is validating, but its settings patch"
        );
    }
}

/// The compiled module accepts `settings`.
fn check_settings(policy: &str, settings: &Value, what: &str) {
    let validation = e2e::instance(policy)
        .validate_settings(settings)
        .expect("validate_settings");
    assert!(
        validation.valid,
        "{policy}: the README's {what} has settings the module refuses: {}",
        validation.message.unwrap_or_default()
    );
}

/// Each mutating example `pci-<p>-mutate` is followed by its validating twin `pci-<p>`.
fn check_twins(policy: &str, instances: &[&Value]) {
    let validating: Vec<&str> = instances
        .iter()
        .filter(|i| i["spec"]["mutating"] == false)
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    for instance in instances.iter().filter(|i| i["spec"]["mutating"] == true) {
        let name = instance["metadata"]["name"].as_str().unwrap_or_default();
        let twin = name.strip_suffix("-mutate").unwrap_or_else(|| {
            panic!("{policy}: the mutating example {name} is not named <validating twin>-mutate")
        });
        assert!(
            validating.contains(&twin),
            "{policy}: the mutating example {name} has no validating twin {twin}"
        );
        assert_eq!(
            instance["spec"]["backgroundAudit"], false,
            "{policy}: the mutating example {name} must not be audited (a patch counts as a pass)"
        );
    }
}

/// Whether `settings` can make `policy` patch, asked of the policy's own settings code.
fn can_patch(policy: &str, settings: &Value) -> bool {
    fn ask<P: Policy>(settings: &Value) -> bool {
        read_settings::<P>(&settings.to_string())
            .map(|s| s.can_patch())
            .unwrap_or_else(|e| panic!("settings refused natively: {e}"))
    }
    match policy {
        "image-digest" => ask::<image_digest::Exported>(settings),
        "image-signatures" => ask::<image_signatures::Exported>(settings),
        "pod-security" => ask::<pod_security::Exported>(settings),
        "runtime-isolation" => ask::<runtime_isolation::Exported>(settings),
        "trusted-registries" => ask::<trusted_registries::Exported>(settings),
        other => panic!("{other}: add it to can_patch in e2e-tests/tests/readme_examples.rs"),
    }
}
