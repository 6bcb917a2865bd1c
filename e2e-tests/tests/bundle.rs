//! What every policy of the bundle must satisfy, checked through its compiled, annotated module
//! for each policy found in the checkout: a new policy is covered without an edit here.

use e2e::{check_examples, check_questions_cover_settings, checked_metadata, policies};

#[test]
fn every_policy_carries_complete_metadata() {
    for policy in policies() {
        checked_metadata(&policy);
    }
}

#[test]
fn every_example_gives_the_verdict_its_readme_documents() {
    for policy in policies() {
        check_examples(&policy);
    }
}

#[test]
fn questions_ui_asks_for_exactly_the_settings_each_module_accepts() {
    for policy in policies() {
        check_questions_cover_settings(&policy);
    }
}

#[test]
fn every_module_speaks_protocol_v1_and_names_its_controls_in_exceptions() {
    for policy in policies() {
        let instance = e2e::instance(&policy);
        assert_eq!(
            instance.protocol_version().expect("protocol"),
            "v1",
            "{policy}"
        );
        let mut unknown = e2e::bench_settings(&policy);
        unknown["exceptions"] = serde_json::json!([{"controls": ["noSuchControl"],
            "containers": ["app"], "namespaces": ["default"], "reason": "r"}]);
        let validation = instance
            .validate_settings(&unknown)
            .expect("validate_settings");
        let message = validation.message.unwrap_or_default();
        assert!(
            !validation.valid
                && message.contains("unknown control \"noSuchControl\"; known controls: "),
            "{policy}: {message}"
        );
    }
}

/// Only the namespace is guarded by RBAC: every module refuses an exception scoped by what a
/// pod's author writes alone, and says what to add.
#[test]
fn every_module_refuses_an_exception_without_namespaces() {
    for policy in policies() {
        let instance = e2e::instance(&policy);
        // The first control the module knows, as its refusal of an unknown one lists them.
        let mut settings = e2e::bench_settings(&policy);
        settings["exceptions"] = serde_json::json!([{"controls": ["noSuchControl"],
            "containers": ["kube-proxy"], "namespaces": ["kube-system"], "reason": "r"}]);
        let message = instance
            .validate_settings(&settings)
            .expect("validate_settings")
            .message
            .unwrap_or_default();
        let control = message
            .split_once("known controls: ")
            .and_then(|(_, known)| known.split(", ").next())
            .unwrap_or_else(|| panic!("{policy}: {message}"))
            .to_owned();
        settings["exceptions"] = serde_json::json!([{"controls": [control],
            "containers": ["kube-proxy"], "reason": "r"}]);
        let validation = instance
            .validate_settings(&settings)
            .expect("validate_settings");
        assert!(!validation.valid, "{policy}");
        assert_eq!(
            validation.message.unwrap_or_default(),
            format!(
                "exceptions[0] (controls: {control}) must name the namespaces it applies in, because only the namespace is guarded by RBAC (a pod's author writes its images and container names): add namespaces: [\"<namespace>\"] to it, or namespaces: [\"*\"] to let any namespace's author claim it"
            ),
            "{policy}"
        );
        settings["exceptions"][0]["namespaces"] = serde_json::json!(["kube-system"]);
        let validation = instance
            .validate_settings(&settings)
            .expect("validate_settings");
        assert!(validation.valid, "{policy}: {:?}", validation.message);
    }
}

/// The request Kubewarden's audit scanner sends for the stored object of `admission`: always a
/// CREATE, without oldObject, userInfo, subResource or dryRun, and with the quirk of
/// `resource.resource` holding the kind name.
fn audit_scanner_request(admission: &serde_json::Value) -> serde_json::Value {
    let kind = &admission["kind"];
    serde_json::json!({
        "uid": "audit-scanner",
        "kind": kind,
        "requestKind": kind,
        "resource": {"group": kind["group"], "version": kind["version"], "resource": kind["kind"]},
        "name": admission["name"],
        "namespace": admission["namespace"],
        "operation": "CREATE",
        "object": admission["object"],
    })
}

#[test]
fn the_audit_scanner_gets_the_verdict_admission_gets_for_every_example() {
    for policy in policies() {
        let compiled = e2e::policy(&policy);
        let examples =
            pci_host::examples::load(&e2e::bundle().examples_dir(&policy)).expect("examples");
        for example in examples {
            let admitted = example.run(&compiled).expect("admission");
            let mut replayed = example.clone();
            replayed.request = audit_scanner_request(&example.request);
            let audited = replayed.run(&compiled).expect("audit");
            let name = format!("{policy}/{}", example.name);
            assert_eq!(
                audited.allowed,
                admitted.allowed,
                "{name}: {}",
                audited.message()
            );
            assert_eq!(audited.patch.is_some(), admitted.patch.is_some(), "{name}");
            if example.request["operation"] == "CREATE" {
                assert_eq!(audited.message(), admitted.message(), "{name}");
            }
        }
    }
}
