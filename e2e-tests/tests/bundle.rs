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
            "containers": ["app"], "reason": "r"}]);
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
