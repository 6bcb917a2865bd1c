use super::*;

fn constraint(yaml: &str) -> Value {
    yaml_serde::from_str(yaml).unwrap()
}

fn import(yamls: &[&str]) -> Result<Conversion> {
    let mut import = Import::new("baseline");
    for yaml in yamls {
        import.add(&constraint(yaml))?;
    }
    Ok(import.finish())
}

#[test]
fn the_library_constraints_add_up_to_one_set_of_settings() {
    let out = import(&[
        "{kind: K8sPSPPrivilegedContainer, metadata: {name: psp-privileged-container}, spec: {match: {namespaces: [kube-system]}, parameters: {exemptImages: [\"registry.k8s.io/kube-proxy:*\"]}}}",
        "{kind: K8sPSPHostNetworkingPorts, metadata: {name: psp-host-network-ports}, spec: {parameters: {hostNetwork: false, min: 80, max: 9000}}}",
        "{kind: K8sPSPAllowedUsers, metadata: {name: psp-pods-allowed-user-ranges}, spec: {parameters: {runAsUser: {rule: MustRunAs, ranges: [{min: 100, max: 200}]}, fsGroup: {rule: MayRunAs, ranges: [{min: 100, max: 200}]}}}}",
        "{kind: K8sPSPSeccomp, metadata: {name: psp-seccomp}, spec: {enforcementAction: dryrun, parameters: {allowedProfiles: [runtime/default], allowedLocalhostFiles: [profiles/audit.json]}}}",
        "{kind: K8sPSPProcMount, metadata: {name: psp-proc-mount}, spec: {parameters: {procMount: Default}}}",
        "{kind: K8sPSPAutomountServiceAccountTokenPod, metadata: {name: sa-token}, spec: {}}",
    ])
    .expect("imports");
    assert_eq!(out.settings["privileged"], false);
    assert_eq!(
        out.settings["allowedHostPorts"],
        json!([{"min": 80, "max": 9000}])
    );
    assert_eq!(
        out.settings["runAsUser"]["ranges"],
        json!([{"min": 100, "max": 200}])
    );
    assert_eq!(
        out.settings["allowedSeccompProfiles"],
        json!(["runtime/default"])
    );
    assert_eq!(out.settings["allowedProcMountTypes"], json!(["Default"]));
    assert_eq!(
        out.settings["exceptions"],
        json!([{
            "controls": ["privileged"],
            "images": ["registry.k8s.io/kube-proxy:*"],
            "namespaces": ["kube-system"],
            "reason": "exemptImages of Gatekeeper constraint K8sPSPPrivilegedContainer psp-privileged-container"
        }])
    );
    let sources: Vec<&str> = out.notes.iter().map(|n| n.source.as_str()).collect();
    assert!(
        sources.contains(&"K8sPSPSeccomp psp-seccomp: spec.enforcementAction"),
        "{sources:?}"
    );
    assert!(
        sources.contains(&"K8sPSPAutomountServiceAccountTokenPod sa-token"),
        "{sources:?}"
    );
}

/// The controls the exception of a lone constraint of `kind` with `parameters` waives.
fn exempted(kind: &str, parameters: &str) -> Value {
    let out = import(&[&format!(
        "{{kind: {kind}, metadata: {{name: c}}, spec: {{parameters: {parameters}}}}}"
    )])
    .expect("imports");
    out.settings
        .get("exceptions")
        .map_or(Value::Null, |e| e[0]["controls"].clone())
}

#[test]
fn exemptions_cover_the_controls_the_constraint_reports_under_and_no_pod_level_field() {
    let exempt = "exemptImages: [safeimages.com/*]";
    assert_eq!(
        exempted(
            "K8sPSPAllowPrivilegeEscalationContainer",
            &format!("{{{exempt}}}")
        ),
        json!(["allowPrivilegeEscalation", "psp.allowPrivilegeEscalation"])
    );
    assert_eq!(
        exempted(
            "K8sPSPProcMount",
            &format!("{{procMount: Default, {exempt}}}")
        ),
        json!([
            "procMount",
            "procMount_restricted",
            "psp.allowedProcMountTypes"
        ])
    );
    assert_eq!(
        exempted(
            "K8sPSPSeccomp",
            &format!("{{allowedProfiles: [runtime/default], {exempt}}}")
        ),
        json!(["psp.allowedSeccompProfiles"])
    );
    assert_eq!(
        exempted(
            "K8sPSPHostNetworkingPorts",
            &format!("{{hostNetwork: false, min: 80, max: 90, {exempt}}}")
        ),
        json!(["hostPorts"]),
        "hostNetwork is judged for the pod whatever its images"
    );
    assert_eq!(
        exempted(
            "K8sPSPAllowedUsers",
            &format!("{{runAsUser: {{rule: MustRunAsNonRoot}}, {exempt}}}")
        ),
        json!(["psp.runAsUser"])
    );
    assert_eq!(
        exempted(
            "K8sPSPSELinuxV2",
            &format!("{{allowedSELinuxOptions: [{{type: container_t}}], {exempt}}}")
        ),
        Value::Null
    );
    assert_eq!(
        exempted("K8sPSPHostProcess", &format!("{{{exempt}}}")),
        Value::Null
    );
}

#[test]
fn every_exception_names_its_namespaces() {
    let out = import(&[
        "{kind: K8sPSPPrivilegedContainer, metadata: {name: p}, spec: {match: {excludedNamespaces: [kube-system]}, parameters: {exemptImages: [safe.io/*]}}}",
    ])
    .expect("imports");
    assert_eq!(out.settings["exceptions"][0]["namespaces"], json!(["*"]));
    assert_eq!(
        out.settings["exceptions"][0]["images"],
        json!(["safe.io/**"])
    );
    let text = out.render_settings(0);
    assert!(
        text.contains("cluster-wide (namespaces: [\"*\"])"),
        "{text}"
    );
    assert!(
        text.contains("the settings apply there too (stricter there)"),
        "{text}"
    );
}

#[test]
fn an_exemption_is_dropped_where_another_constraint_judges_the_same_control() {
    let out = import(&[
        "{kind: K8sPSPPrivilegedContainer, metadata: {name: a}, spec: {parameters: {exemptImages: [safe.io/*]}}}",
        "{kind: K8sPSPPrivilegedContainer, metadata: {name: b}}",
    ])
    .expect("imports");
    assert!(!out.settings.contains_key("exceptions"));
    assert!(
        out.notes.iter().any(|n| n.stricter == ["privileged"]
            && n.why
                .starts_with("K8sPSPPrivilegedContainer b also refuses")),
        "{:?}",
        out.notes
    );
}

#[test]
fn fs_group_is_converted_and_conflicting_constraints_are_refused() {
    let out = import(&["{kind: K8sPSPFSGroup, metadata: {name: f}, spec: {parameters: {rule: MustRunAs, ranges: [{min: 1, max: 1000}]}}}"])
        .expect("imports");
    assert_eq!(
        out.settings["fsGroup"],
        json!({"rule": "MustRunAs", "ranges": [{"min": 1, "max": 1000}]})
    );
    let error = import(&[
        "{kind: K8sPSPFSGroup, metadata: {name: f}, spec: {parameters: {rule: MustRunAs, ranges: [{min: 1, max: 1000}]}}}",
        "{kind: K8sPSPAllowedUsers, metadata: {name: u}, spec: {parameters: {fsGroup: {rule: MayRunAs, ranges: [{min: 5, max: 5}]}}}}",
    ])
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("K8sPSPAllowedUsers u: parameters.fsGroup sets fsGroup to"),
        "{error}"
    );
}

#[test]
fn host_ports_follow_the_bounds_given() {
    let ports = |parameters: &str| {
        import(&[&format!("{{kind: K8sPSPHostNetworkingPorts, metadata: {{name: h}}, spec: {{parameters: {parameters}}}}}")])
            .expect("imports")
            .settings
            .get("allowedHostPorts")
            .cloned()
    };
    assert_eq!(
        ports("{min: 0, max: 80}"),
        Some(json!([{"min": 1, "max": 80}]))
    );
    assert_eq!(
        ports("{min: 8000}"),
        Some(json!([{"min": 8000, "max": 65535}]))
    );
    assert_eq!(ports("{hostNetwork: true}"), None);
    assert_eq!(ports("{min: 90, max: 80}"), None);
}

#[test]
fn every_image_exempt_judges_no_container() {
    let out = import(&[
        "{kind: K8sPSPReadOnlyRootFilesystem, metadata: {name: r}, spec: {parameters: {exemptImages: ['*']}}}",
        "{kind: K8sPSPHostNetworkingPorts, metadata: {name: h}, spec: {parameters: {hostNetwork: false, min: 1, max: 2, exemptImages: ['*']}}}",
    ])
    .expect("imports");
    assert!(!out.settings.contains_key("readOnlyRootFilesystem"));
    assert!(!out.settings.contains_key("allowedHostPorts"));
    assert_eq!(out.settings["hostNetwork"], false);
}

/// Issue 29 review: a constraint whose `exemptImages: ["*"]` exempts every container lost the
/// notes on its `enforcementAction` and `match`.
#[test]
fn a_constraint_exempting_every_image_keeps_its_scope_notes() {
    let conversion = import(&[
        "{kind: K8sPSPAllowPrivilegeEscalationContainer, metadata: {name: ape}, spec: {enforcementAction: dryrun, match: {namespaces: [team-a]}, parameters: {exemptImages: ['*']}}}",
    ])
    .expect("converts");
    let rendered = format!("{conversion:?}");
    for note in [
        "K8sPSPAllowPrivilegeEscalationContainer ape: spec.enforcementAction",
        "K8sPSPAllowPrivilegeEscalationContainer ape: spec.match.namespaces",
    ] {
        assert!(rendered.contains(note), "{note}: {rendered}");
    }
}
