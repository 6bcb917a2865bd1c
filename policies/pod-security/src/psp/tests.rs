//! The PodSecurityPolicy settings through the policy's entry point: validation messages and the
//! PodSecurityPolicy defaults (the case tables in `test_data/knobs.yaml` cover the checks).

use pci_shared::policy::{evaluate, read_settings};
use pci_shared::response::ValidationResponse;
use pci_shared::time::{Now, Timestamp};
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, validation_payload, workload_object};
use rstest::rstest;
use serde_json::{Value, json};

use crate::{Exported, PodSecurity};

fn run(kind: WorkloadKind, spec: Value, settings: Value) -> ValidationResponse {
    let request = admission_request(
        kind,
        "CREATE",
        workload_object(kind, "web", json!({}), spec),
    );
    evaluate::<PodSecurity>(
        &validation_payload(&request, &settings),
        Now::At(Timestamp(0)),
    )
}

/// Every default the PodSecurityPolicy settings imply.
fn defaults_settings() -> Value {
    json!({
        "level": "restricted",
        "runAsUser": {"rule": "MustRunAs", "ranges": [{"min": 1000, "max": 2000}]},
        "runAsGroup": {"rule": "MustRunAs", "ranges": [{"min": 3000, "max": 3000}]},
        "fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 4000, "max": 5000}]},
        "supplementalGroups": {"rule": "MustRunAs", "ranges": [{"min": 6000, "max": 6000}]},
        "seLinux": {"rule": "MustRunAs", "seLinuxOptions": {"type": "container_t", "level": "s0:c1,c2"}},
        "requiredDropCapabilities": ["ALL"],
        "allowedCapabilities": ["NET_BIND_SERVICE"],
        "defaultAddCapabilities": ["NET_BIND_SERVICE"],
        "allowPrivilegeEscalation": false,
        "defaultAllowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "allowedSeccompProfiles": ["runtime/default"],
        "runtimeClass": {"allowedRuntimeClassNames": ["gvisor"], "defaultRuntimeClassName": "gvisor"},
        "mutate": {"podSecurityPolicyDefaults": true, "seccompRuntimeDefault": true, "runAsNonRoot": true}
    })
}

#[test]
fn the_defaults_make_a_bare_workload_pass_and_touch_nothing_else() {
    for kind in [
        WorkloadKind::Pod,
        WorkloadKind::Deployment,
        WorkloadKind::CronJob,
    ] {
        let spec = json!({
            "x-unknown": {"kept": [1, null]},
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{"name": "app", "image": "nginx", "securityContext": {"x-vendor": "kept"}}]
        });
        let response = run(kind, spec.clone(), defaults_settings());
        assert!(response.accepted, "{kind:?}: {:?}", response.message);
        let mutated = response.mutated_object.map(|m| m.value()).expect("mutated");
        let pod_spec = mutated
            .pointer(&format!("/{}", kind.pod_spec_path().replace('.', "/")))
            .expect("pod spec");
        assert_eq!(pod_spec["x-unknown"], spec["x-unknown"], "{kind:?}");
        assert_eq!(pod_spec["runtimeClassName"], "gvisor");
        let pod_context = &pod_spec["securityContext"];
        assert_eq!(pod_context["runAsUser"], 1000);
        assert_eq!(pod_context["runAsGroup"], 3000);
        assert_eq!(pod_context["fsGroup"], 4000);
        assert_eq!(pod_context["supplementalGroups"], json!([6000]));
        assert_eq!(
            pod_context["seLinuxOptions"],
            json!({"type": "container_t", "level": "s0:c1,c2"})
        );
        for list in ["initContainers", "containers"] {
            let context = &pod_spec[list][0]["securityContext"];
            assert_eq!(
                context["capabilities"],
                json!({"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]})
            );
            assert_eq!(context["allowPrivilegeEscalation"], false);
            assert_eq!(context["readOnlyRootFilesystem"], true);
        }
        assert_eq!(
            pod_spec["containers"][0]["securityContext"]["x-vendor"],
            "kept"
        );
        // Day 2: the mutated object is judged again (a reinvocation, the audit scanner) and
        // needs nothing more.
        let again = run(kind, pod_spec.clone(), defaults_settings());
        assert!(again.accepted && again.mutated_object.is_none(), "{kind:?}");
    }
}

#[test]
fn the_defaults_never_overwrite_and_windows_pods_get_only_the_runtime_class() {
    let spec = json!({
        "securityContext": {"runAsUser": 1500, "fsGroup": 4500},
        "containers": [{"name": "app", "image": "nginx",
            "securityContext": {"allowPrivilegeEscalation": true, "readOnlyRootFilesystem": false}}]
    });
    let response = run(WorkloadKind::Deployment, spec, defaults_settings());
    let message = response.message.unwrap_or_default();
    assert!(!response.accepted);
    assert!(message.contains("readOnlyRootFilesystem (container \"app\"): false; readOnlyRootFilesystem requires true"), "{message}");
    assert!(message.contains("[allowPrivilegeEscalation]"), "{message}");
    let windows = json!({
        "os": {"name": "windows"},
        "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]
    });
    let mut settings = defaults_settings();
    settings["level"] = json!("baseline");
    settings["mutate"] = json!({"podSecurityPolicyDefaults": true});
    let response = run(WorkloadKind::Pod, windows, settings);
    let mutated = response
        .mutated_object
        .map(|m| m.value())
        .expect("runtime class");
    assert_eq!(mutated["spec"]["runtimeClassName"], "gvisor");
    assert!(mutated["spec"].get("securityContext").is_none());
    assert!(
        mutated["spec"]["containers"][0]
            .get("securityContext")
            .is_none()
    );
}

#[test]
fn must_run_as_non_root_defaults_run_as_non_root() {
    let settings = json!({"level": "baseline", "runAsUser": {"rule": "MustRunAsNonRoot"},
        "mutate": {"podSecurityPolicyDefaults": true}});
    let response = run(
        WorkloadKind::Pod,
        json!({"containers": [{"name": "app", "image": "nginx"}]}),
        settings,
    );
    assert!(response.accepted, "{:?}", response.message);
    let mutated = response.mutated_object.map(|m| m.value()).expect("mutated");
    assert_eq!(mutated["spec"]["securityContext"]["runAsNonRoot"], true);
}

#[rstest]
#[case(json!({"runAsUser": {"rule": "MayRunAs", "ranges": [{"min": 1, "max": 2}]}}), "runAsUser.rule: MayRunAs is not a rule of runAsUser")]
#[case(json!({"supplementalGroups": {"rule": "MustRunAs", "ranges": []}}), "supplementalGroups.ranges: MustRunAs needs at least one range")]
#[case(json!({"fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 10, "max": 1}]}}), "fsGroup.ranges[0]: min 10 is greater than max 1")]
#[case(json!({"runAsGroup": {"rule": "MayRunAs", "ranges": [{"min": -5, "max": 1}]}}), "runAsGroup.ranges[0]: ids are not negative")]
#[case(json!({"allowedUnsafeSysctls": ["kernel.msgmax"], "forbiddenSysctls": ["kernel.*"]}), "allowedUnsafeSysctls[0] \"kernel.msgmax\" overlaps forbiddenSysctls[0] \"kernel.*\"")]
#[case(json!({"allowedUnsafeSysctls": ["kernel/msg*"], "forbiddenSysctls": ["kernel.msgmax"]}), "allowedUnsafeSysctls[0] \"kernel/msg*\" (the kubelet applies kernel.msg*) overlaps forbiddenSysctls[0] \"kernel.msgmax\"")]
#[case(json!({"allowedUnsafeSysctls": ["net.core.somaxconn"], "forbiddenSysctls": ["net/core/*"]}), "allowedUnsafeSysctls[0] \"net.core.somaxconn\" overlaps forbiddenSysctls[0] \"net/core/*\" (the kubelet applies net.core.*)")]
#[case(json!({"forbiddenSysctls": ["kernel.*.x"]}), "forbiddenSysctls[0]: \"kernel.*.x\" is not a sysctl name")]
#[case(json!({"volumes": ["configMap", "hostpath"]}), "volumes[1]: \"hostpath\" is not a volume type")]
#[case(json!({"volumes": ["none", "secret"]}), "volumes: none means no volumes")]
#[case(json!({"volumes": ["secret"], "allowedFlexVolumes": [{"driver": "a/b"}]}), "allowedFlexVolumes: volumes does not allow flexVolume")]
#[case(json!({"allowedProcMountTypes": ["Masked"]}), "allowedProcMountTypes[0]: \"Masked\" is not a procMount type")]
#[case(json!({"seLinux": {"rule": "MustRunAs"}}), "seLinux.seLinuxOptions: MustRunAs needs the options")]
#[case(json!({"seLinux": {"rule": "RunAsAny", "seLinuxOptions": {"type": "spc_t"}}}), "seLinux.seLinuxOptions: RunAsAny takes no options")]
#[case(json!({"allowedSeccompProfiles": ["RuntimeDefault"]}), "allowedSeccompProfiles[0]: \"RuntimeDefault\" is not a profile name")]
#[case(json!({"allowedAppArmorProfiles": ["localhost/"]}), "allowedAppArmorProfiles[0]: \"localhost/\" is not a profile name")]
#[case(json!({"allowPrivilegeEscalation": false, "defaultAllowPrivilegeEscalation": true}), "defaultAllowPrivilegeEscalation: true contradicts allowPrivilegeEscalation: false")]
#[case(json!({"defaultAddCapabilities": ["CHOWN"], "requiredDropCapabilities": ["cap_chown"]}), "defaultAddCapabilities[0] \"CHOWN\" is also requiredDropCapabilities[0]")]
#[case(json!({"defaultAddCapabilities": ["CHOWNN"]}), "defaultAddCapabilities[0]: \"CHOWNN\" is not a Linux capability")]
#[case(json!({"runtimeClass": {"allowedRuntimeClassNames": ["gvisor"], "defaultRuntimeClassName": "kata"}}), "runtimeClass.defaultRuntimeClassName: \"kata\" is not in allowedRuntimeClassNames")]
#[case(json!({"runtimeClass": {"allowedRuntimeClassNames": ["*", "gvisor"]}}), "must be the only entry")]
#[case(json!({"runAsUser": {"rule": "MustRunAs", "range": []}}), "runAsUser.range: unknown field `range`")]
#[case(json!({"seLinux": {"rule": "MayRunAs"}}), "seLinux.rule: unknown variant `MayRunAs`")]
fn refuses_inconsistent_settings_naming_the_path(#[case] settings: Value, #[case] expected: &str) {
    let error = read_settings::<Exported>(&settings.to_string()).expect_err("invalid settings");
    assert!(error.contains(expected), "{settings}: {error}");
}

#[test]
fn neutral_question_defaults_are_valid_settings() {
    // What the Rancher form sends when nobody touches the PodSecurityPolicy fields.
    let settings = json!({
        "runAsUser": {"rule": "RunAsAny", "ranges": []},
        "seLinux": {"rule": "RunAsAny", "seLinuxOptions": {"user": "", "role": "", "type": "", "level": ""}},
        "runtimeClass": {"allowedRuntimeClassNames": ["*"], "defaultRuntimeClassName": ""},
        "allowedSeccompProfiles": [], "allowedAppArmorProfiles": [], "allowedProcMountTypes": []
    });
    read_settings::<Exported>(&settings.to_string()).expect("valid");
    let response = run(
        WorkloadKind::Pod,
        json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "runtimeClassName": "kata",
            "containers": [{"name": "app", "image": "nginx",
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}),
        settings,
    );
    assert!(
        response.accepted && response.warnings.is_none(),
        "{response:?}"
    );
}
