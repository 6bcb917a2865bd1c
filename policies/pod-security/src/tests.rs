//! Policy-level tests through the same entry point the wasm exports (`policy::evaluate`).

use pci_shared::policy::evaluate;
use pci_shared::response::ValidationResponse;
use pci_shared::time::{Now, Timestamp};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{
    CaseTable, WorkloadCase, admission_request, reported_violations, validation_payload,
    workload_object,
};
use serde_json::{Value, json};

use crate::PodSecurity;

/// 2026-11-22T00:00:00Z, so exception expiry is deterministic.
const NOW: Now = Now::At(Timestamp(20_779 * 86_400));

fn run(request: &Value, settings: Value) -> ValidationResponse {
    evaluate::<PodSecurity>(&validation_payload(request, &settings), NOW)
}

fn audit(response: &ValidationResponse) -> Value {
    serde_json::to_value(&response.audit_annotations).expect("serialisable")
}

fn pod(spec: Value) -> Value {
    admission_request(
        WorkloadKind::Pod,
        "CREATE",
        workload_object(WorkloadKind::Pod, "web", json!({}), spec),
    )
}

fn compliant_spec() -> Value {
    json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "registry.corp.com/app:1",
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
    })
}

#[test]
fn control_table() {
    let table =
        CaseTable::from_yaml(include_str!("../test_data/controls.yaml")).expect("valid table");
    assert!(table.cases.len() > 80, "the table lost cases");
    check_table(&table);
}

#[test]
fn knob_table() {
    let table = CaseTable::from_yaml(include_str!("../test_data/knobs.yaml")).expect("valid table");
    assert!(table.cases.len() > 60, "the table lost cases");
    check_table(&table);
}

/// The Rancher form (questions-ui.yml) sends every question's default: each one on its own must
/// judge every control case without settings (restricted, latest: the form's own level) as if
/// it were left out, so a user who never touches a field gets the level and nothing else —
/// except the defaults that are the PCI recommendation and stricter than the level
/// ([`STRICTER_THAN_THE_LEVEL`]): with them, whatever the level refuses is still refused.
#[test]
fn every_default_of_the_form_judges_like_no_setting() {
    let questions: Value =
        serde_yaml::from_str(include_str!("../questions-ui.yml")).expect("questions-ui.yml");
    let table =
        CaseTable::from_yaml(include_str!("../test_data/controls.yaml")).expect("valid table");
    // What the form sends per top-level setting: nested questions merged under their head.
    let mut defaults = serde_json::Map::new();
    for question in questions["questions"].as_array().expect("questions") {
        let (Some(variable), Some(default)) =
            (question["variable"].as_str(), question.get("default"))
        else {
            continue;
        };
        if question.get("show_if").is_some() || variable == "exceptions" {
            continue;
        }
        match variable.split_once('.') {
            Some((head, tail)) => {
                defaults.entry(head).or_insert_with(|| json!({}))[tail] = default.clone();
            }
            None => {
                defaults.insert(variable.to_owned(), default.clone());
            }
        }
    }
    let mut compared = 0;
    for (setting, default) in &defaults {
        let unset = |case: &&WorkloadCase| case.settings.as_object().is_none_or(|s| s.is_empty());
        for case in table.cases.iter().filter(unset) {
            let settings = json!({ setting: default });
            let request = case.request(&table.base);
            let with_default = run(&request, settings.clone());
            let without = run(&request, json!({}));
            if STRICTER_THAN_THE_LEVEL.contains(&setting.as_str()) {
                assert!(
                    without.accepted || !with_default.accepted,
                    "case {:?}: the form's default {setting}: {default} admits what the level refuses",
                    case.name
                );
                compared += 1;
                continue;
            }
            assert_eq!(
                (with_default.accepted, &with_default.message),
                (without.accepted, &without.message),
                "case {:?}: the form's default {setting}: {default} changes the verdict",
                case.name
            );
            compared += 1;
        }
    }
    assert!(compared > 500, "only {compared} comparisons");
}

/// The form's defaults that are `pci.yml`'s recommendation and stricter than the restricted
/// level: no added capability at all (not even NET_BIND_SERVICE), and drop ALL at any level.
const STRICTER_THAN_THE_LEVEL: [&str; 2] = ["allowedCapabilities", "requiredDropCapabilities"];

fn check_table(table: &CaseTable) {
    table.check(|payload| evaluate::<PodSecurity>(payload, NOW));
}

#[test]
fn a_rejection_names_every_violation_with_container_value_and_allowed_values() {
    let request = pod(json!({
        "hostNetwork": true,
        "containers": [
            {"name": "app", "image": "nginx", "securityContext": {"privileged": true}},
            {"name": "side", "image": "nginx", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}
        ]
    }));
    let response = run(&request, json!({"level": "baseline"}));
    assert!(!response.accepted);
    assert_eq!(response.code, Some(403));
    assert_eq!(
        response.message.as_deref(),
        Some(
            "pod-security rejected Pod default/web: 3 violations in container \"app\", container \"side\" and the pod (PCI DSS 3.1); \
             fix each as its line says, or request an exception:\n\
             - [privileged] spec.containers[0].securityContext.privileged (container \"app\"): true; allowed: false or unset\n\
             - [capabilities_baseline] spec.containers[1].securityContext.capabilities.add[0] (container \"side\"): adds NET_ADMIN; \
             allowed: AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT\n\
             - [hostNamespaces] spec.hostNetwork: true; allowed: false or unset\n\
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/privileged.md, \
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/capabilities_baseline.md, \
             https://github.com/pci-policies/pci-policies/blob/main/docs/controls/hostNamespaces.md"
        )
    );
    assert_eq!(response.warnings.as_ref().map(Vec::len), Some(3));
}

#[test]
fn the_same_request_gives_the_same_bytes() {
    let request = pod(
        json!({"hostPID": true, "containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "nginx"}]}),
    );
    let first = serde_json::to_string(&run(&request, json!({}))).expect("json");
    for _ in 0..5 {
        assert_eq!(
            serde_json::to_string(&run(&request, json!({}))).expect("json"),
            first
        );
    }
}

#[test]
fn exceptions_waive_narrowly_and_visibly() {
    let mut spec = compliant_spec();
    spec["hostNetwork"] = json!(true);
    spec["containers"][0]["image"] = json!("registry.k8s.io/kube-proxy:v1.31.2");
    spec["containers"][0]["securityContext"]["privileged"] = json!(true);
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
    let request = pod(spec);
    let exception = json!({"controls": ["privileged", "hostNamespaces", "allowPrivilegeEscalation"],
        "images": ["registry.k8s.io/kube-proxy:*"], "namespaces": ["default"], "reason": "kube-proxy programs iptables (CHG-1234)", "expires": "2027-03-31"});
    let response = run(&request, json!({"exceptions": [exception]}));
    assert!(response.accepted, "{:?}", response.message);
    let warnings = response.warnings.clone().unwrap_or_default();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings.iter().all(
            |w| w.contains("reason: kube-proxy programs iptables (CHG-1234), until 2027-03-31")
        )
    );
    let applied: Value = serde_json::from_str(
        audit(&response)["exceptions-applied"]
            .as_str()
            .expect("audit"),
    )
    .expect("json");
    assert_eq!(applied.as_array().map(Vec::len), Some(3));

    let expired = json!({"controls": ["privileged", "hostNamespaces", "allowPrivilegeEscalation"],
        "images": ["registry.k8s.io/kube-proxy:*"], "namespaces": ["default"], "reason": "r", "expires": "2026-11-21"});
    let response = run(&request, json!({"exceptions": [expired]}));
    assert!(!response.accepted);
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.contains("expired on 2026-11-21"))
            .count(),
        3
    );

    let other_image = json!({"controls": ["privileged"], "images": ["registry.k8s.io/kube-proxy-evil:*"], "namespaces": ["default"], "reason": "r"});
    assert!(!run(&request, json!({"exceptions": [other_image]})).accepted);
}

#[test]
fn without_a_clock_only_exceptions_without_expiry_waive() {
    let mut spec = compliant_spec();
    spec["hostNetwork"] = json!(true);
    spec["containers"][0]["securityContext"]["privileged"] = json!(true);
    let request = pod(spec);
    let expiring = json!({"controls": ["privileged", "hostNamespaces"], "containers": ["app"],
        "namespaces": ["default"], "reason": "r", "expires": "2999-12-31"});
    let settings = json!({"level": "baseline", "exceptions": [expiring]});
    let payload = validation_payload(&request, &settings);
    assert!(evaluate::<PodSecurity>(&payload, NOW).accepted);
    let response = evaluate::<PodSecurity>(&payload, Now::Unreadable);
    assert!(!response.accepted);
    assert_eq!(
        reported_violations(&audit(&response)),
        [
            "privileged spec.containers[0].securityContext.privileged",
            "hostNamespaces spec.hostNetwork"
        ]
    );
    assert!(audit(&response)["exceptions-clock-unreadable"].is_string());
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.starts_with(
                "pod-security: exception #0 expires on 2999-12-31 but the clock cannot be read, so it waives nothing"
            ))
            .count(),
        2,
        "{warnings:?}"
    );

    let mut lasting = expiring;
    lasting.as_object_mut().map(|e| e.remove("expires"));
    let settings = json!({"level": "baseline", "exceptions": [lasting]});
    let response =
        evaluate::<PodSecurity>(&validation_payload(&request, &settings), Now::Unreadable);
    assert!(response.accepted, "{:?}", response.message);
}

#[test]
fn a_capability_only_allowed_by_settings_is_accepted_with_a_warning() {
    let mut spec = compliant_spec();
    spec["containers"][0]["securityContext"]["capabilities"]["add"] =
        json!(["NET_BIND_SERVICE", "NET_RAW"]);
    let settings = json!({"allowedCapabilities": ["NET_BIND_SERVICE", "cap_net_raw"]});
    let response = run(&pod(spec.clone()), settings.clone());
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(
        response.warnings,
        Some(vec![
            "pod-security: container \"app\" adds NET_RAW, allowed by allowedCapabilities beyond the restricted level".to_owned()
        ])
    );
    // The container's spelling is compared verbatim, as Pod Security Admission does.
    let mut respelled = spec.clone();
    respelled["containers"][0]["securityContext"]["capabilities"]["add"] = json!(["cap_net_raw"]);
    let response = run(&pod(respelled), settings);
    assert!(
        response.message.as_deref().is_some_and(|m| m.contains(
            "[capabilities_restricted] spec.containers[0].securityContext.capabilities.add[0] (container \"app\"): \
             adds cap_net_raw; allowed: NET_BIND_SERVICE, and NET_RAW by the settings \
             (names are compared exactly, as Pod Security Admission does: write NET_RAW for cap_net_raw)\n\
             https://"
        )),
        "{:?}",
        response.message
    );
    let response = run(&pod(spec), json!({}));
    assert!(
        !response.accepted,
        "without the setting, restricted refuses NET_RAW"
    );
}

#[test]
fn non_workloads_deletes_and_status_updates_are_not_applicable() {
    let config_map = json!({"uid": "u", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
        "operation": "CREATE", "object": {"data": {"hostNetwork": "true"}}});
    assert!(run(&config_map, json!({})).accepted);
    let mut delete =
        pod(json!({"hostPID": true, "containers": [{"name": "app", "image": "nginx"}]}));
    delete["operation"] = json!("DELETE");
    delete["object"] = Value::Null;
    assert!(run(&delete, json!({})).accepted);
    let mut status =
        pod(json!({"hostPID": true, "containers": [{"name": "app", "image": "nginx"}]}));
    status["subResource"] = json!("status");
    assert!(run(&status, json!({})).accepted);
    let mut debug =
        pod(json!({"hostPID": true, "containers": [{"name": "app", "image": "nginx"}]}));
    debug["subResource"] = json!("ephemeralcontainers");
    assert!(!run(&debug, json!({})).accepted);
}

#[test]
fn bad_input_is_a_clear_rejection_never_an_accept() {
    let mut malformed = pod(compliant_spec());
    malformed["object"]["spec"]["containers"][0]["securityContext"]["privileged"] = json!("yes");
    let response = run(&malformed, json!({}));
    assert!(!response.accepted);
    assert_eq!(response.code, Some(400));
    assert!(
        response.message.as_deref().is_some_and(
            |m| m.contains("spec.containers[0].securityContext.privileged: invalid type")
        ),
        "{:?}",
        response.message
    );

    let mut missing = pod(compliant_spec());
    missing["object"] = Value::Null;
    assert!(!run(&missing, json!({})).accepted);

    for payload in [
        &b"{"[..],
        b"[]",
        b"{\"request\":{\"uid\":7},\"settings\":{}}",
        b"\xff\xfe",
    ] {
        let response = evaluate::<PodSecurity>(payload, NOW);
        assert!(
            !response.accepted && response.code == Some(400),
            "{payload:?}: {response:?}"
        );
    }

    let response = run(&pod(compliant_spec()), json!({"level": "strict"}));
    assert!(!response.accepted);
    assert!(response.message.is_some_and(|m| m.contains(
        "invalid settings: level: \"strict\" is not a level; expected baseline or restricted"
    )));
}

mod mutation {
    use super::*;

    const ALL_DEFAULTS: &str = r#"{"mutate":{"dropAllCapabilities":true,"disallowPrivilegeEscalation":true,"seccompRuntimeDefault":true,"runAsNonRoot":true}}"#;

    fn all_defaults() -> Value {
        serde_json::from_str(ALL_DEFAULTS).expect("json")
    }

    #[test]
    fn defaults_make_a_bare_pod_restricted_and_keep_everything_else() {
        let spec = json!({
            "x-future-pod-field": {"kept": [1, 2]},
            "containers": [
                {"name": "app", "image": "nginx", "x-unknown": true, "securityContext": {"runAsUser": 1000, "capabilities": {"add": ["NET_BIND_SERVICE"]}}},
                {"name": "side", "image": "nginx", "securityContext": {"readOnlyRootFilesystem": true, "seLinuxOptions": {"level": "s0:c1"}}}
            ],
            "initContainers": [{"name": "init", "image": "busybox"}]
        });
        let request = pod(spec);
        let response = run(&request, all_defaults());
        assert!(response.accepted, "{:?}", response.message);
        let mutated = response.mutated_object.map(|m| m.value()).expect("mutated");
        let mut expected = request["object"].clone();
        let spec = &mut expected["spec"];
        spec["securityContext"] =
            json!({"seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": true});
        spec["containers"][0]["securityContext"]["capabilities"]["drop"] = json!(["ALL"]);
        spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(false);
        spec["containers"][1]["securityContext"]["capabilities"] = json!({"drop": ["ALL"]});
        spec["containers"][1]["securityContext"]["allowPrivilegeEscalation"] = json!(false);
        spec["initContainers"][0]["securityContext"] =
            json!({"capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": false});
        assert_eq!(mutated, expected);
    }

    #[test]
    fn a_compliant_pod_gets_no_patch() {
        let response = run(&pod(compliant_spec()), all_defaults());
        assert!(response.accepted);
        assert!(response.mutated_object.is_none());
        let mut by_container = compliant_spec();
        by_container["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}});
        by_container["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
        let response = run(&pod(by_container), all_defaults());
        assert!(
            response.accepted && response.mutated_object.is_none(),
            "{response:?}"
        );
    }

    #[test]
    fn explicit_values_are_never_overwritten_so_validation_still_rejects_them() {
        let mut spec = compliant_spec();
        spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
        spec["securityContext"]["runAsNonRoot"] = json!(false);
        let response = run(&pod(spec), all_defaults());
        assert!(!response.accepted);
        assert!(response.mutated_object.is_none());
        let reported = reported_violations(&audit(&response));
        assert!(reported.contains(&"allowPrivilegeEscalation spec.containers[0].securityContext.allowPrivilegeEscalation".to_owned()));
        assert!(reported.contains(&"runAsNonRoot spec.securityContext.runAsNonRoot".to_owned()));
    }

    #[test]
    fn privileged_containers_do_not_get_an_invalid_combination() {
        let spec = json!({"containers": [{"name": "app", "image": "nginx", "securityContext": {"privileged": true}}]});
        let response = run(
            &pod(spec),
            json!({"level": "baseline", "mutate": {"disallowPrivilegeEscalation": true}}),
        );
        assert!(!response.accepted, "privileged stays refused");
        let spec = json!({"containers": [{"name": "app", "image": "nginx", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]});
        let response = run(
            &pod(spec),
            json!({"level": "baseline", "mutate": {"disallowPrivilegeEscalation": true}}),
        );
        assert!(!response.accepted);
        assert!(response.mutated_object.is_none());
    }

    #[test]
    fn adding_drops_to_one_container_keeps_the_others_security_context() {
        let spec = json!({"containers": [
            {"name": "a", "image": "nginx", "securityContext": {"capabilities": {"drop": ["ALL"]}, "runAsUser": 1001}},
            {"name": "b", "image": "nginx"}
        ]});
        let request = pod(spec);
        let response = run(
            &request,
            json!({"level": "baseline", "mutate": {"dropAllCapabilities": true}}),
        );
        let mutated = response.mutated_object.map(|m| m.value()).expect("mutated");
        assert_eq!(
            mutated["spec"]["containers"][0],
            request["object"]["spec"]["containers"][0]
        );
        assert_eq!(
            mutated["spec"]["containers"][1]["securityContext"],
            json!({"capabilities": {"drop": ["ALL"]}})
        );
    }

    #[test]
    fn windows_pods_get_no_linux_only_fields() {
        let spec = json!({"os": {"name": "windows"}, "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]});
        let response = run(&pod(spec), all_defaults());
        assert!(response.accepted, "{:?}", response.message);
        let mutated = response
            .mutated_object
            .map(|m| m.value())
            .expect("runAsNonRoot applies to Windows too");
        assert_eq!(
            mutated["spec"]["securityContext"],
            json!({"runAsNonRoot": true})
        );
        assert!(
            mutated["spec"]["containers"][0]
                .get("securityContext")
                .is_none()
        );
    }

    #[test]
    fn pod_updates_are_never_mutated_but_changed_templates_are() {
        // A metadata-only Pod UPDATE (oldObject = object) passes, reported, unmutated.
        let mut update = pod(json!({"containers": [{"name": "app", "image": "nginx"}]}));
        update["operation"] = json!("UPDATE");
        update["oldObject"] = update["object"].clone();
        let response = run(&update, all_defaults());
        assert!(response.accepted && response.mutated_object.is_none());
        assert!(
            response
                .warnings
                .unwrap_or_default()
                .iter()
                .any(|w| w.starts_with("pod-security: not enforced on this UPDATE")),
        );
        // An image bump is judged as is: a Pod's spec is not mutated on UPDATE.
        update["oldObject"]["spec"]["containers"][0]["image"] = json!("nginx:old");
        let response = run(&update, all_defaults());
        assert!(!response.accepted && response.mutated_object.is_none());

        for kind in WorkloadKind::ALL
            .into_iter()
            .filter(|k| *k != WorkloadKind::Pod)
        {
            let object = workload_object(
                kind,
                "web",
                json!({}),
                json!({"containers": [{"name": "app", "image": "nginx"}]}),
            );
            let mut old = object.clone();
            let image = format!(
                "/{}/containers/0/image",
                kind.pod_spec_path().replace('.', "/")
            );
            *old.pointer_mut(&image).expect("image") = json!("nginx:old");
            let mut request = admission_request(kind, "UPDATE", object.clone());
            request["oldObject"] = old;
            let response = run(&request, all_defaults());
            assert!(response.accepted, "{kind:?}: {:?}", response.message);
            let mutated = response.mutated_object.map(|m| m.value()).expect("mutated");
            let spec_path = format!("/{}", kind.pod_spec_path().replace('.', "/"));
            assert_eq!(
                mutated.pointer(&format!("{spec_path}/securityContext/runAsNonRoot")),
                Some(&json!(true)),
                "{kind:?}"
            );
            // The same template: nothing to judge, nothing to change.
            let unchanged = run(&admission_request(kind, "UPDATE", object), all_defaults());
            assert!(
                unchanged.accepted && unchanged.mutated_object.is_none(),
                "{kind:?}"
            );
        }
    }
}

/// The security oracle (`pci_testkit::oracle`): workloads hostile to this policy, in every kind
/// and container list, with benign noise, unknown fields, UPDATEs and exceptions that cover or
/// narrowly miss, are never admitted without a covering exception, and every rejection names
/// the control, field path and container. On failure it prints the case number to replay.
#[test]
fn security_oracle() {
    let tally = pci_testkit::oracle::check_policy::<crate::Exported>();
    eprintln!("{tally:?}");
}
