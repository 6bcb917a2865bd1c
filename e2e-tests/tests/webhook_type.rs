//! The webhook type the manifests derive from the settings (issue 18), checked against what the
//! compiled policies do: on every example and recorded case, a policy patches only when its
//! settings say they can patch, and the validating twin's settings never patch; and the pair
//! deployed together never disagrees: the twin accepts what its mutating instance produced
//! (issue 29).

use std::sync::Arc;

use e2e::{bundle, policies, policy};
use pci_host::admission::AdmissionResponse;
use pci_host::capabilities::{LiveAnswers, SessionAnswers};
use pci_host::examples::{Example, load};
use pci_host::host::Policy;
use pci_host::run::{RunOptions, run};
use pci_shared::policy::PolicySettings;
use pci_shared::workload::WorkloadKind;
use pci_testkit::kubectl_debug;
use serde_json::{Map, Value, json};

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

/// The workload kind of `request`, when it carries a pod spec.
fn workload_kind(request: &Value) -> Option<WorkloadKind> {
    let (group, kind) = (&request["kind"]["group"], &request["kind"]["kind"]);
    WorkloadKind::ALL
        .into_iter()
        .find(|k| *group == k.group() && *kind == k.name())
}

/// `object` with `edit` applied to every container of its pod spec (`kind`'s place for it).
fn edit_containers(kind: WorkloadKind, object: &Value, edit: impl Fn(&mut Value)) -> Value {
    let mut edited = object.clone();
    let spec = format!("/{}", kind.pod_spec_path().replace('.', "/"));
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let containers = edited
            .pointer_mut(&format!("{spec}/{list}"))
            .and_then(Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            edit(container);
        }
    }
    edited
}

/// An UPDATE of `request`'s object from `old` to `new`.
fn update(request: &Value, old: Value, new: Value) -> Value {
    let mut update = request.clone();
    update["operation"] = json!("UPDATE");
    update["oldObject"] = old;
    update["object"] = new;
    update
}

/// The requests a case stands for on a live cluster: the case itself and, for a workload it
/// creates, the UPDATEs of day 2, each named.
fn day_two_variants(request: &Value) -> Vec<(&'static str, Value)> {
    let mut variants = vec![("as written", request.clone())];
    let Some(kind) = workload_kind(request) else {
        return variants;
    };
    if request["operation"] != "CREATE" {
        return variants;
    }
    let object = &request["object"];
    // The same workload, as it runs unpinned, with an environment variable changed in its pod
    // spec: a new template for a controller (a rollout), nothing significant for a Pod.
    let env_changed = edit_containers(kind, object, |container| {
        container["env"] = json!([{"name": "PAIR_CHECK", "value": "changed"}]);
    });
    variants.push((
        "environment variable changed",
        update(request, object.clone(), env_changed),
    ));
    let mut labelled = object.clone();
    labelled["metadata"]["labels"]["pair-check"] = json!("relabelled");
    variants.push(("relabelled", update(request, object.clone(), labelled)));
    if kind == WorkloadKind::Pod {
        // Every image new to the Pod (`kubectl set image` of each container).
        let old_images = edit_containers(kind, object, |container| {
            container["image"] = json!("old.registry.invalid/previous:0");
        });
        variants.push((
            "every image changed",
            update(request, old_images, object.clone()),
        ));
        // A significant UPDATE that leaves every image as it runs (the seccomp annotation).
        let mut annotated = object.clone();
        annotated["metadata"]["annotations"]["seccomp.security.alpha.kubernetes.io/pod"] =
            json!("runtime/default");
        variants.push((
            "seccomp annotation changed",
            update(request, object.clone(), annotated),
        ));
        // `kubectl debug` with a copy of the first container: the whole Pod is judged, its
        // running images unchanged.
        let mut debugger = object["spec"]["containers"][0].clone();
        debugger["name"] = json!("pair-debugger");
        if let Some(debug) = kubectl_debug(request, debugger) {
            variants.push(("kubectl debug", debug));
        }
    }
    variants
}

/// `kwctl run` of `request`, the host answering from `session` read as a table (any recorded
/// question, in any order, any number of times), so that an UPDATE built from a case, and the
/// twin after its mutating instance, get the answers the case recorded.
fn run_answered(
    compiled: &Policy,
    request: &Value,
    settings: &Value,
    session: Option<&str>,
) -> AdmissionResponse {
    let live = session.map(|text| {
        Arc::new(SessionAnswers::from_yaml(text).expect("session")) as Arc<dyn LiveAnswers>
    });
    let options = RunOptions {
        settings: settings.clone(),
        live,
        allow_context_aware: true,
        ..RunOptions::default()
    };
    run(compiled, request, options).expect("run")
}

/// `request` with the mutating instance's patch applied to its object.
fn patched(request: &Value, response: &AdmissionResponse) -> Value {
    let mut patched = request.clone();
    if let Some(operations) = response.patch_operations().expect("a readable patch") {
        let patch: json_patch::Patch = serde_json::from_value(operations).expect("a JSON patch");
        json_patch::patch(&mut patched["object"], &patch).expect("the patch applies");
    }
    patched
}

/// The pair deployed for settings that can patch (a mutating instance, then its validating
/// twin with the settings through `turn_off_patching`) never disagrees: on every example and
/// recorded case, and the day-2 UPDATEs built from them, the twin accepts what its mutating
/// instance produced, unless the mutating instance itself rejected the request.
#[test]
fn the_validating_twin_accepts_what_its_mutating_instance_produced() {
    let mut disagreements = Vec::new();
    let mut patched_variants = Vec::new();
    for name in policies() {
        let compiled = policy(&name);
        for case in cases(&name) {
            let (can_patch, twin_settings) = switch(&name, &case.settings);
            if !can_patch {
                continue;
            }
            let session = case.session.as_deref();
            for (variant, request) in day_two_variants(&case.request) {
                let mutated = run_answered(&compiled, &request, &case.settings, session);
                if !mutated.allowed {
                    continue;
                }
                if mutated.patch.is_some() {
                    patched_variants.push(format!("{name}/{}: {variant}", case.name));
                }
                let produced = patched(&request, &mutated);
                let twin = run_answered(&compiled, &produced, &twin_settings, session);
                if !twin.allowed {
                    disagreements.push(format!(
                        "{name}/{} ({variant}): the mutating instance accepted{}, its twin rejected: {}",
                        case.name,
                        if mutated.patch.is_some() { " and patched" } else { "" },
                        twin.message()
                    ));
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "the pair disagrees:\n{}",
        disagreements.join("\n")
    );
    // The check means something: the mutating instances patched, on CREATE and on the
    // controller UPDATE whose template changed (a rollout pins every image again).
    for expected in [
        "image-digest/resolve-two-tags: as written",
        "image-digest/resolve-two-tags: environment variable changed",
        "image-signatures/01-signed-deployment: environment variable changed",
        "image-digest/03-resolve-tags: every image changed",
    ] {
        assert!(
            patched_variants.iter().any(|v| v == expected),
            "{expected} did not patch: {patched_variants:?}"
        );
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
                let document: Value = yaml_serde::from_str(document).expect("yaml");
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
