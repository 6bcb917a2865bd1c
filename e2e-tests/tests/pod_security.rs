//! pod-security through the compiled, annotated wasm, as policy-server runs it.

use e2e::{instance, kwctl_run};
use pci_host::admission::Deployment;
use pci_host::run::{RunOptions, run};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{CaseTable, admission_request, workload_object};
use pod_security::PodSecurity;
use serde_json::{Value, json};

const POLICY: &str = "pod-security";

fn table() -> CaseTable {
    e2e::case_table(POLICY, "controls.yaml")
}

#[test]
fn every_control_case_through_the_wasm_matches_the_table_and_the_native_build() {
    e2e::check_table_through_wasm(
        POLICY,
        &table(),
        pci_shared::policy::evaluate::<PodSecurity>,
    );
}

#[test]
fn every_knob_case_through_the_wasm_matches_the_table_and_the_native_build() {
    e2e::check_table_through_wasm(
        POLICY,
        &e2e::case_table(POLICY, "knobs.yaml"),
        pci_shared::policy::evaluate::<PodSecurity>,
    );
}

#[test]
fn protocol_version_and_settings_validation() {
    let policy = instance(POLICY);
    assert_eq!(policy.protocol_version().expect("protocol"), "v1");
    let valid = policy
        .validate_settings(&json!({"level": "baseline", "version": "v1.30"}))
        .expect("call");
    assert!(valid.valid && valid.message.is_none());
    let invalid = policy
        .validate_settings(&json!({"allowedHostPorts": [{"min": 90, "max": 80}]}))
        .expect("call");
    assert!(!invalid.valid);
    assert_eq!(
        invalid.message.as_deref(),
        Some("allowedHostPorts[0]: min 90 is greater than max 80")
    );
    let typo = policy
        .validate_settings(&json!({"levle": "baseline"}))
        .expect("call");
    assert!(
        typo.message
            .is_some_and(|m| m.starts_with("levle: unknown field `levle`"))
    );
}

#[test]
fn invalid_settings_stop_a_run_like_kwctl() {
    let request = admission_request(
        WorkloadKind::Pod,
        "CREATE",
        workload_object(WorkloadKind::Pod, "p", json!({}), json!({"containers": []})),
    );
    let error = run(
        &e2e::policy(POLICY),
        &request,
        RunOptions {
            settings: json!({"version": "v1.99"}),
            ..RunOptions::default()
        },
    )
    .expect_err("invalid settings");
    assert!(
        error
            .to_string()
            .starts_with("Provided settings are not valid: version: version \"v1.99\" is newer"),
        "{error}"
    );
}

#[test]
fn a_mutation_is_a_json_patch_of_only_the_owned_fields() {
    let spec = json!({
        "x-unknown-to-k8s-openapi": {"nested": [1, {"a": null}]},
        "containers": [
            {"name": "app", "image": "nginx", "securityContext": {"runAsUser": 1000, "x-vendor": "kept"}},
            {"name": "side", "image": "nginx", "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "allowPrivilegeEscalation": false}}
        ]
    });
    let kinds = [
        WorkloadKind::Pod,
        WorkloadKind::Deployment,
        WorkloadKind::CronJob,
    ];
    for kind in kinds {
        let request = admission_request(
            kind,
            "CREATE",
            workload_object(
                kind,
                "web",
                json!({"annotations": {"a": "b"}}),
                spec.clone(),
            ),
        );
        let settings = json!({"mutate": {"dropAllCapabilities": true, "disallowPrivilegeEscalation": true, "seccompRuntimeDefault": true, "runAsNonRoot": true}});
        let response = kwctl_run(POLICY, &request, settings);
        assert!(response.allowed, "{kind:?}: {:?}", response.status);
        assert_eq!(response.patch_type.as_deref(), Some("JSONPatch"));
        let operations = response
            .patch_operations()
            .expect("decodes")
            .expect("patch");
        let prefix = format!("/{}", kind.pod_spec_path().replace('.', "/"));
        let paths: Vec<String> = operations
            .as_array()
            .expect("array")
            .iter()
            .map(|op| {
                format!(
                    "{} {}",
                    op["op"].as_str().unwrap_or_default(),
                    op["path"].as_str().unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(
            paths,
            vec![
                format!("add {prefix}/containers/0/securityContext/allowPrivilegeEscalation"),
                format!("add {prefix}/containers/0/securityContext/capabilities"),
                format!("add {prefix}/securityContext"),
            ],
            "{kind:?}"
        );
        let mut patched = request["object"].clone();
        let patch: json_patch::Patch = serde_json::from_value(operations).expect("patch");
        json_patch::patch(&mut patched, &patch).expect("applies");
        let spec_after = patched.pointer(&prefix).expect("spec");
        assert_eq!(
            spec_after["x-unknown-to-k8s-openapi"],
            spec["x-unknown-to-k8s-openapi"]
        );
        assert_eq!(
            spec_after["containers"][0]["securityContext"]["x-vendor"],
            "kept"
        );
        assert_eq!(spec_after["containers"][1], spec["containers"][1]);
    }
}

#[test]
fn a_compliant_pod_gets_no_patch_so_a_non_mutating_deployment_accepts_it() {
    let table = table();
    let request = admission_request(
        WorkloadKind::Pod,
        "CREATE",
        workload_object(WorkloadKind::Pod, "ok", json!({}), table.base.clone()),
    );
    let settings = json!({"mutate": {"runAsNonRoot": true, "seccompRuntimeDefault": true, "dropAllCapabilities": true, "disallowPrivilegeEscalation": true}});
    let deployment = Deployment {
        monitor: false,
        allowed_to_mutate: false,
    };
    let response = run(
        &e2e::policy(POLICY),
        &request,
        RunOptions {
            settings: settings.clone(),
            deployment,
            ..RunOptions::default()
        },
    )
    .expect("run");
    assert!(response.allowed && response.patch.is_none(), "{response:?}");
    let bare = admission_request(
        WorkloadKind::Pod,
        "CREATE",
        workload_object(
            WorkloadKind::Pod,
            "bare",
            json!({}),
            json!({"containers": [{"name": "a", "image": "nginx"}]}),
        ),
    );
    let response = run(
        &e2e::policy(POLICY),
        &bare,
        RunOptions {
            settings,
            deployment,
            ..RunOptions::default()
        },
    )
    .expect("run");
    assert!(
        !response.allowed,
        "a patch from a policy deployed with mutating: false is a rejection"
    );
}

#[test]
fn bad_input_through_the_wasm_is_a_clear_rejection() {
    let policy = instance(POLICY);
    let truncated = policy
        .call(
            "validate",
            br#"{"request":{"uid":"x","kind":{"group":"","kind":"Pod"},"object":{"spec":"#,
        )
        .expect("answers");
    let truncated: Value = serde_json::from_slice(&truncated).expect("json");
    assert_eq!(truncated["accepted"], json!(false));
    assert_eq!(truncated["code"], json!(400));
    let mut wrong_type = admission_request(
        WorkloadKind::Deployment,
        "CREATE",
        workload_object(
            WorkloadKind::Deployment,
            "d",
            json!({}),
            json!({"containers": [{"name": "a", "ports": [{"hostPort": "80"}]}]}),
        ),
    );
    let response = policy.validate(&wrong_type, &json!({})).expect("answers");
    assert_eq!(response["accepted"], json!(false));
    assert!(
        response["message"].as_str().is_some_and(
            |m| m.contains("spec.template.spec.containers[0].ports[0].hostPort: invalid type")
        ),
        "{response}"
    );
    wrong_type["object"]["spec"] = json!([]);
    let response = policy.validate(&wrong_type, &json!({})).expect("answers");
    assert_eq!(response["accepted"], json!(false));
    for garbage in [
        &b""[..],
        b"null",
        b"\x00\x01",
        b"{\"request\":[],\"settings\":{}}",
    ] {
        let answer: Value =
            serde_json::from_slice(&policy.call("validate", garbage).expect("answers"))
                .expect("json");
        assert_eq!(answer["accepted"], json!(false), "{garbage:?}");
    }
}

#[test]
fn the_module_carries_complete_metadata() {
    let metadata = e2e::checked_metadata(POLICY);
    assert!(metadata.mutating);
    assert_eq!(metadata.host_capabilities, Some(vec![]));
    let resources: Vec<&str> = metadata
        .rules
        .iter()
        .flat_map(|r| r.resources.iter().map(String::as_str))
        .collect();
    assert!(resources.contains(&"pods/ephemeralcontainers"));
}

#[test]
fn pod_security_policy_defaults_through_the_wasm_are_a_json_patch_of_only_unset_fields() {
    let settings = json!({
        "runAsUser": {"rule": "MustRunAs", "ranges": [{"min": 1000, "max": 2000}]},
        "fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 4000, "max": 5000}]},
        "requiredDropCapabilities": ["ALL"],
        "defaultAllowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "mutate": {"podSecurityPolicyDefaults": true, "seccompRuntimeDefault": true, "runAsNonRoot": true}
    });
    let spec = json!({
        "x-unknown-to-k8s-openapi": {"kept": true},
        "containers": [
            {"name": "app", "image": "nginx", "securityContext": {"readOnlyRootFilesystem": true}},
            {"name": "side", "image": "nginx", "securityContext": {"runAsUser": 1500}}
        ]
    });
    for kind in [WorkloadKind::StatefulSet, WorkloadKind::Job] {
        let request = admission_request(
            kind,
            "CREATE",
            workload_object(kind, "web", json!({}), spec.clone()),
        );
        let response = kwctl_run(POLICY, &request, settings.clone());
        assert!(response.allowed, "{kind:?}: {:?}", response.status);
        let operations = response
            .patch_operations()
            .expect("decodes")
            .expect("patch");
        let prefix = format!("/{}", kind.pod_spec_path().replace('.', "/"));
        let mut patched = request["object"].clone();
        let patch: json_patch::Patch = serde_json::from_value(operations).expect("patch");
        json_patch::patch(&mut patched, &patch).expect("applies");
        let after = patched.pointer(&prefix).expect("spec");
        assert_eq!(
            after["x-unknown-to-k8s-openapi"],
            spec["x-unknown-to-k8s-openapi"]
        );
        assert_eq!(after["securityContext"]["runAsUser"], 1000, "{kind:?}");
        assert_eq!(after["securityContext"]["fsGroup"], 4000);
        assert_eq!(
            after["containers"][1]["securityContext"]["runAsUser"], 1500,
            "kept"
        );
        for index in 0..2 {
            let context = &after["containers"][index]["securityContext"];
            assert_eq!(context["readOnlyRootFilesystem"], true);
            assert_eq!(context["allowPrivilegeEscalation"], false);
            assert_eq!(context["capabilities"]["drop"], json!(["ALL"]));
        }
        // The patched object is accepted as it is: no second patch.
        let again = admission_request(kind, "CREATE", patched);
        let response = kwctl_run(POLICY, &again, settings.clone());
        assert!(response.allowed && response.patch.is_none(), "{kind:?}");
    }
}

#[test]
fn pod_security_policy_settings_are_validated_by_the_wasm_naming_the_path() {
    let policy = instance(POLICY);
    for (settings, expected) in [
        (
            json!({"runAsUser": {"rule": "MustRunAs", "ranges": [{"min": 5, "max": 1}]}}),
            "runAsUser.ranges[0]: min 5 is greater than max 1",
        ),
        (
            json!({"supplementalGroups": {"rule": "MayRunAs"}}),
            "supplementalGroups.ranges: MayRunAs needs at least one range",
        ),
        (
            json!({"fsGroup": {"rule": "MustRunAs", "ranges": [{"min": -1, "max": 1}]}}),
            "fsGroup.ranges[0]: ids are not negative, got min -1 and max 1",
        ),
    ] {
        let answer = policy.validate_settings(&settings).expect("call");
        assert!(!answer.valid, "{settings}");
        assert_eq!(answer.message.as_deref(), Some(expected));
    }
    let overlapping = json!({"runAsGroup": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 10}, {"min": 5, "max": 20}]}});
    assert!(policy.validate_settings(&overlapping).expect("call").valid);
}
