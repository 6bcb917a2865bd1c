//! Gatekeeper PSP-library constraints (`constraints.gatekeeper.sh`, kinds `K8sPSP*`) to
//! pod-security settings: every constraint of the input adds its `spec.parameters` to one set
//! of settings, as they would all run together.

use serde_json::{Value, json};

use super::conversion::Conversion;

/// The pod-security controls a constraint kind enforces, for its `exemptImages`.
fn controls_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "K8sPSPPrivilegedContainer" => &["privileged"],
        "K8sPSPHostNamespace" => &["hostNamespaces"],
        "K8sPSPHostNetworkingPorts" => &["hostNamespaces", "hostPorts"],
        "K8sPSPVolumeTypes" => &["psp.volumes"],
        "K8sPSPHostFilesystem" => &["hostPathVolumes"],
        "K8sPSPFlexVolumes" => &["psp.allowedFlexVolumes"],
        "K8sPSPReadOnlyRootFilesystem" => &["psp.readOnlyRootFilesystem"],
        "K8sPSPAllowPrivilegeEscalationContainer" => &["allowPrivilegeEscalation"],
        "K8sPSPAllowedUsers" => &["psp.runAsUser"],
        "K8sPSPCapabilities" => &["psp.allowedCapabilities", "psp.requiredDropCapabilities"],
        "K8sPSPForbiddenSysctls" => &["psp.forbiddenSysctls"],
        "K8sPSPProcMount" => &["procMount"],
        "K8sPSPSELinuxV2" => &["psp.seLinux"],
        "K8sPSPSeccomp" => &["psp.allowedSeccompProfiles"],
        "K8sPSPAppArmor" => &["psp.allowedAppArmorProfiles"],
        _ => &[],
    }
}

/// Adds one constraint to `out`.
pub fn add(object: &Value, out: &mut Conversion) {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or(kind);
    let parameters = &object["spec"]["parameters"];
    let at = |field: &str| format!("{kind} {name}: parameters.{field}");
    let copy = |out: &mut Conversion, field: &str, setting: &str| {
        if !parameters[field].is_null() {
            out.set(setting, parameters[field].clone());
        }
    };
    match kind {
        "K8sPSPPrivilegedContainer" => out.set("privileged", json!(false)),
        "K8sPSPHostNamespace" => {
            out.set("hostPID", json!(false));
            out.set("hostIPC", json!(false));
        }
        "K8sPSPHostNetworkingPorts" => {
            copy(out, "hostNetwork", "hostNetwork");
            if let (Some(min), Some(max)) = (parameters["min"].as_i64(), parameters["max"].as_i64())
            {
                out.set("allowedHostPorts", json!([{"min": min.max(1), "max": max}]));
            } else {
                out.set("allowedHostPorts", json!([]));
            }
        }
        "K8sPSPVolumeTypes" => copy(out, "volumes", "volumes"),
        "K8sPSPHostFilesystem" => copy(out, "allowedHostPaths", "allowedHostPaths"),
        "K8sPSPFlexVolumes" => copy(out, "allowedFlexVolumes", "allowedFlexVolumes"),
        "K8sPSPReadOnlyRootFilesystem" => out.set("readOnlyRootFilesystem", json!(true)),
        "K8sPSPAllowPrivilegeEscalationContainer" => {
            out.set("allowPrivilegeEscalation", json!(false));
        }
        "K8sPSPAllowedUsers" => {
            for field in ["runAsUser", "runAsGroup", "supplementalGroups", "fsGroup"] {
                copy(out, field, field);
            }
        }
        "K8sPSPCapabilities" => {
            copy(out, "allowedCapabilities", "allowedCapabilities");
            copy(out, "requiredDropCapabilities", "requiredDropCapabilities");
        }
        "K8sPSPForbiddenSysctls" => {
            copy(out, "forbiddenSysctls", "forbiddenSysctls");
            if !parameters["allowedSysctls"].is_null() {
                copy(out, "allowedSysctls", "allowedUnsafeSysctls");
                out.note(
                    Some("allowedUnsafeSysctls"),
                    &at("allowedSysctls"),
                    "Gatekeeper's allowedSysctls limits every sysctl; here it only allows unsafe ones beyond the level (safe ones stay allowed): forbid the rest with forbiddenSysctls",
                );
            }
        }
        "K8sPSPProcMount" => {
            let types = match parameters["procMount"].as_str() {
                Some("Unmasked") => json!(["Default", "Unmasked"]),
                _ => json!(["Default"]),
            };
            out.set("allowedProcMountTypes", types);
        }
        "K8sPSPSELinuxV2" => se_linux(parameters, &at("allowedSELinuxOptions"), out),
        "K8sPSPSeccomp" => {
            let mut profiles: Vec<Value> = parameters["allowedProfiles"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for file in parameters["allowedLocalhostFiles"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(file) = file.as_str() {
                    profiles.push(json!(format!("localhost/{file}")));
                }
            }
            out.set("allowedSeccompProfiles", Value::Array(profiles));
        }
        "K8sPSPAppArmor" => copy(out, "allowedProfiles", "allowedAppArmorProfiles"),
        _ => {
            out.note(
                None,
                &format!("{kind} {name}"),
                "no pod-security setting does what this constraint does",
            );
            return;
        }
    }
    exempt_images(kind, name, parameters, out);
    let action = object["spec"]["enforcementAction"]
        .as_str()
        .unwrap_or("deny");
    if action != "deny" {
        out.note(
            None,
            &format!("{kind} {name}: spec.enforcementAction"),
            format!("{action}: deploy the policy with mode: monitor to only report"),
        );
    }
    if !object["spec"]["match"].is_null() {
        out.note(
            None,
            &format!("{kind} {name}: spec.match"),
            "the constraint's match (namespaces, kinds, labels) becomes the policy's namespaceSelector and rules, not a setting",
        );
    }
}

/// `exemptImages` becomes an exception to the constraint's control for those images.
fn exempt_images(kind: &str, name: &str, parameters: &Value, out: &mut Conversion) {
    let Some(images) = parameters["exemptImages"]
        .as_array()
        .filter(|i| !i.is_empty())
    else {
        return;
    };
    let controls = controls_of(kind);
    if controls.is_empty() {
        return;
    }
    let exception = json!({
        "controls": controls,
        "images": images,
        "reason": format!("exemptImages of Gatekeeper constraint {kind} {name}"),
    });
    let list = out
        .settings
        .entry("exceptions")
        .or_insert_with(|| json!([]));
    if let Value::Array(list) = list {
        list.push(exception);
    }
    out.note(
        Some("exceptions"),
        &format!("{kind} {name}: parameters.exemptImages"),
        "Gatekeeper's image prefixes ending in * are globs here (on normalised references); add approvedBy and expires",
    );
}

fn se_linux(parameters: &Value, source: &str, out: &mut Conversion) {
    match parameters["allowedSELinuxOptions"].as_array().map(Vec::as_slice) {
        Some([one]) => {
            out.set("seLinux", json!({"rule": "MustRunAs", "seLinuxOptions": one}));
            out.note(
                Some("seLinux"),
                source,
                "Gatekeeper allowed pods without options; MustRunAs requires them (mutate.podSecurityPolicyDefaults can set them)",
            );
        }
        Some(_) => out.note(
            None,
            source,
            "several allowed option sets: seLinux MustRunAs takes exactly one; the level's seLinuxOptions check still refuses custom users, roles and types",
        ),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(yaml: &str) -> Value {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn the_library_constraints_add_up_to_one_set_of_settings() {
        let mut out = Conversion::new("gatekeeper".into(), "psp".into(), "baseline");
        for yaml in [
            "{kind: K8sPSPPrivilegedContainer, metadata: {name: psp-privileged-container}, spec: {parameters: {exemptImages: [\"registry.k8s.io/kube-proxy:*\"]}}}",
            "{kind: K8sPSPHostNetworkingPorts, metadata: {name: psp-host-network-ports}, spec: {parameters: {hostNetwork: false, min: 80, max: 9000}}}",
            "{kind: K8sPSPAllowedUsers, metadata: {name: psp-pods-allowed-user-ranges}, spec: {parameters: {runAsUser: {rule: MustRunAs, ranges: [{min: 100, max: 200}]}, fsGroup: {rule: MayRunAs, ranges: [{min: 100, max: 200}]}}}}",
            "{kind: K8sPSPSeccomp, metadata: {name: psp-seccomp}, spec: {enforcementAction: dryrun, parameters: {allowedProfiles: [runtime/default], allowedLocalhostFiles: [profiles/audit.json]}}}",
            "{kind: K8sPSPProcMount, metadata: {name: psp-proc-mount}, spec: {parameters: {procMount: Default}}}",
            "{kind: K8sPSPAutomountServiceAccountTokenPod, metadata: {name: sa-token}, spec: {}}",
        ] {
            add(&constraint(yaml), &mut out);
        }
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
            json!(["runtime/default", "localhost/profiles/audit.json"])
        );
        assert_eq!(out.settings["allowedProcMountTypes"], json!(["Default"]));
        assert_eq!(
            out.settings["exceptions"][0]["controls"],
            json!(["privileged"])
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
}
