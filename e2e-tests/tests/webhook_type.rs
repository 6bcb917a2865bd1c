//! The webhook type the manifests derive from the settings (issue 18), checked against what the
//! compiled policies do: on every example and recorded case, a policy patches only when its
//! settings say they can patch, and the validating twin's settings never patch.

use e2e::{bundle, policies, policy};
use pci_host::examples::{Example, load};
use pci_shared::policy::PolicySettings;
use serde_json::{Map, Value};

type Json = Map<String, Value>;

/// What the policy's own settings code says: can these settings patch, and the twin's settings.
fn switch(name: &str, settings: &Value) -> (bool, Value) {
    fn read<S: PolicySettings>(settings: &Value) -> (bool, Value) {
        let can_patch = serde_json::from_value::<S>(settings.clone())
            .map(|s| s.can_patch())
            .unwrap_or_else(|e| panic!("settings {settings}: {e}"));
        let mut twin: Json = settings.as_object().cloned().unwrap_or_default();
        S::turn_off_patching(&mut twin);
        (can_patch, Value::Object(twin))
    }
    match name {
        "image-digest" => read::<image_digest::settings::Settings>(settings),
        "image-signatures" => read::<image_signatures::settings::Settings>(settings),
        "pod-security" => read::<pod_security::settings::Settings>(settings),
        "runtime-isolation" => read::<runtime_isolation::settings::Settings>(settings),
        "trusted-registries" => read::<trusted_registries::settings::Settings>(settings),
        other => panic!("{other}: add its settings type here"),
    }
}

/// Every example and recorded case of `name`.
fn cases(name: &str) -> Vec<Example> {
    let dir = bundle().policy_dir(name);
    let mut cases = load(&bundle().examples_dir(name)).expect("examples");
    cases.extend(load(&dir.join("test_data").join("recorded")).expect("recorded"));
    cases
}

#[test]
fn a_policy_patches_only_when_its_settings_say_they_can() {
    let mut patched = Vec::new();
    for name in policies() {
        let compiled = policy(&name);
        for case in cases(&name) {
            let response = case.run(&compiled).expect("run");
            let (can_patch, _) = switch(&name, &case.settings);
            if response.patch.is_some() {
                assert!(
                    can_patch,
                    "{name}/{}: patched although its settings say they cannot: {}",
                    case.name, case.settings
                );
                patched.push(format!("{name}/{}", case.name));
            }
        }
    }
    // The check above means something: mutating settings are among the cases.
    for name in [
        "image-digest",
        "image-signatures",
        "pod-security",
        "runtime-isolation",
    ] {
        assert!(
            patched
                .iter()
                .any(|case| case.starts_with(&format!("{name}/"))),
            "{name}: no case patches ({patched:?})"
        );
    }
}

#[test]
fn the_validating_twin_never_patches_and_still_judges() {
    for name in policies() {
        let compiled = policy(&name);
        for case in cases(&name) {
            let (can_patch, twin_settings) = switch(&name, &case.settings);
            let (twin_can_patch, _) = switch(&name, &twin_settings);
            assert!(!twin_can_patch, "{name}/{}: {twin_settings}", case.name);
            let original = case.run(&compiled).expect("run");
            let twin = Example {
                settings: twin_settings,
                ..case.clone()
            };
            let response = twin.run(&compiled).expect("run");
            assert!(
                response.patch.is_none(),
                "{name}/{}: the twin patched",
                case.name
            );
            // Settings that cannot patch are left as they are: the same verdict.
            if !can_patch {
                assert_eq!(twin.settings, case.settings, "{name}/{}", case.name);
                assert_eq!(response.allowed, original.allowed, "{name}/{}", case.name);
            }
            // What the original rejects, the twin rejects too: patching off never admits more.
            if !original.allowed {
                assert!(!response.allowed, "{name}/{}: the twin admitted", case.name);
            }
        }
    }
}

/// The validating policies of the generated manifests carry settings that cannot patch, and
/// a policy is mutating exactly when its settings can patch.
#[test]
fn the_generated_manifests_agree_with_the_policies() {
    for dir in ["manifests", "manifests/monitor"] {
        for name in policies() {
            let path = e2e::root().join(dir).join(format!("{name}.yaml"));
            let text = std::fs::read_to_string(&path).expect("manifest");
            let mut validating = 0;
            for document in text.split("\n---\n").skip(1) {
                let document: Value = serde_yaml::from_str(document).expect("yaml");
                let spec = &document["spec"];
                let (can_patch, _) = switch(&name, &spec["settings"]);
                assert_eq!(spec["mutating"], can_patch, "{}", path.display());
                assert_eq!(spec["backgroundAudit"], !can_patch, "{}", path.display());
                validating += usize::from(!can_patch);
            }
            assert_eq!(
                validating,
                1,
                "{}: one validating, audited policy",
                path.display()
            );
        }
    }
}
