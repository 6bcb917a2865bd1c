//! PodSecurityPolicy (`policy/v1beta1`, `extensions/v1beta1`) to pod-security settings: the
//! spec's fields keep their names; the seccomp and AppArmor annotations become settings.

use serde_json::{Value, json};

use super::conversion::Conversion;

/// The spec fields pod-security takes under the same name.
const SAME_NAME: [&str; 23] = [
    "allowPrivilegeEscalation",
    "allowedCapabilities",
    "allowedCSIDrivers",
    "allowedFlexVolumes",
    "allowedHostPaths",
    "allowedProcMountTypes",
    "allowedUnsafeSysctls",
    "defaultAddCapabilities",
    "defaultAllowPrivilegeEscalation",
    "forbiddenSysctls",
    "fsGroup",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "privileged",
    "readOnlyRootFilesystem",
    "requiredDropCapabilities",
    "runAsGroup",
    "runAsUser",
    "runtimeClass",
    "seLinux",
    "supplementalGroups",
    "volumes",
];

const SECCOMP_ALLOWED: &str = "seccomp.security.alpha.kubernetes.io/allowedProfileNames";
const SECCOMP_DEFAULT: &str = "seccomp.security.alpha.kubernetes.io/defaultProfileName";
const APPARMOR_ALLOWED: &str = "apparmor.security.beta.kubernetes.io/allowedProfileNames";
const APPARMOR_DEFAULT: &str = "apparmor.security.beta.kubernetes.io/defaultProfileName";

/// Converts one PodSecurityPolicy.
pub fn convert(object: &Value, origin: &str, level: &str) -> Conversion {
    let name = object["metadata"]["name"].as_str().unwrap_or("imported");
    let mut out = Conversion::new(
        format!("PodSecurityPolicy \"{name}\" ({origin})"),
        name.to_owned(),
        level,
    );
    out.note(
        None,
        "RBAC `use` of the PodSecurityPolicy",
        "a PSP applied to the users and service accounts allowed to use it; a Kubewarden policy applies to every matching namespace: narrow it with namespaceSelector and exceptions",
    );
    let empty = serde_json::Map::new();
    let fields = object["spec"].as_object().unwrap_or(&empty);
    let spec = &object["spec"];
    for (key, value) in fields {
        let source = format!("spec.{key}");
        if SAME_NAME.contains(&key.as_str()) {
            out.set(key, value.clone());
        } else if key == "hostPorts" {
            let ranges = host_ports(value, &mut out);
            out.set("allowedHostPorts", ranges);
        } else {
            out.note(
                None,
                &source,
                "not a PodSecurityPolicySpec field pod-security knows",
            );
        }
    }
    if spec["allowPrivilegeEscalation"].is_null() {
        out.note(
            Some("level"),
            "spec.allowPrivilegeEscalation",
            "unset in a PSP means allowed; the level decides here (restricted requires false); set allowPrivilegeEscalation: true to keep the PSP's leniency, with a warning",
        );
    }
    if level == "restricted" {
        out.note(
            Some("level"),
            "the level",
            "what the PSP allows beyond restricted is accepted with a warning on every request that uses it; choose --level baseline for a PSP that is not meant to be restricted",
        );
    }
    let volumes_allow_host_path = spec["volumes"]
        .as_array()
        .is_some_and(|v| v.iter().any(|t| t == "hostPath" || t == "*"));
    let no_paths = spec["allowedHostPaths"]
        .as_array()
        .is_none_or(Vec::is_empty);
    if volumes_allow_host_path && no_paths {
        out.note(
            Some("volumes"),
            "spec.allowedHostPaths",
            "empty, so any host path is allowed, as in PodSecurityPolicy (with a warning); list prefixes to narrow it",
        );
    }
    strict_when_absent(
        spec,
        "spec.",
        &["allowedCapabilities", "volumes", "allowedProcMountTypes"],
        &mut out,
    );
    annotations(object, &mut out);
    defaults(spec, "the PSP's defaults", &mut out);
    out
}

/// What PodSecurityPolicy read an absent field as, where pod-security's unset setting leaves
/// the level to decide (which allows more): the value that says it, and why.
fn none_when_absent(field: &str) -> Option<(Value, &'static str)> {
    match field {
        "allowedCapabilities" => Some((
            json!([]),
            "unset: no capability may be added beyond defaultAddCapabilities, as in PSP (the level alone would allow its baseline list)",
        )),
        "volumes" => Some((
            json!(["none"]),
            "unset: no volume may be used, as in PSP (the level alone would allow every type but hostPath)",
        )),
        "allowedProcMountTypes" => Some((
            json!(["Default"]),
            "unset: only the Default procMount, as in PSP (the level alone would allow any with hostUsers: false)",
        )),
        _ => None,
    }
}

/// Sets each of `fields` that `spec` and the settings leave unset to what PSP read it as, with
/// a note naming `prefix` and the field.
pub(super) fn strict_when_absent(
    spec: &Value,
    prefix: &str,
    fields: &[&str],
    out: &mut Conversion,
) {
    for field in fields {
        if !spec[*field].is_null() || out.settings.contains_key(*field) {
            continue;
        }
        if let Some((value, why)) = none_when_absent(field) {
            out.set(field, value);
            out.note(Some(field), &format!("{prefix}{field}"), why);
        }
    }
}

/// `hostPorts` ranges; port 0 (no host port) is not a port to allow, so a range from 0 starts at 1.
fn host_ports(value: &Value, out: &mut Conversion) -> Value {
    let mut ranges = value.clone();
    for range in ranges.as_array_mut().into_iter().flatten() {
        if range["min"] == 0 {
            range["min"] = json!(1);
            out.note(
                Some("allowedHostPorts"),
                "spec.hostPorts",
                "a range from 0 starts at 1 here: 0 means no host port, which is always allowed",
            );
        }
    }
    ranges
}

fn annotations(object: &Value, out: &mut Conversion) {
    let annotations = &object["metadata"]["annotations"];
    let list = |key: &str| -> Option<Vec<String>> {
        annotations[key].as_str().map(|text| {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    };
    if let Some(names) = list(SECCOMP_ALLOWED) {
        out.set("allowedSeccompProfiles", json!(names));
    }
    if let Some(names) = list(APPARMOR_ALLOWED) {
        out.set("allowedAppArmorProfiles", json!(names));
    }
    let source = |key: &str| format!("metadata.annotations[{key}]");
    match annotations[SECCOMP_DEFAULT].as_str() {
        Some("runtime/default" | "docker/default") => {
            out.enable_default("seccompRuntimeDefault");
            out.note(
                Some("mutate"),
                &source(SECCOMP_DEFAULT),
                "becomes mutate.seccompRuntimeDefault: the pod's seccompProfile is set to RuntimeDefault where no profile is set",
            );
        }
        Some(other) => out.note(
            None,
            &source(SECCOMP_DEFAULT),
            format!("pod-security defaults seccomp only to RuntimeDefault, not to {other}"),
        ),
        None => {}
    }
    if let Some(profile) = annotations[APPARMOR_DEFAULT].as_str() {
        out.note(
            None,
            &source(APPARMOR_DEFAULT),
            format!("pod-security sets no AppArmor default ({profile}); the container runtime's default applies"),
        );
    }
}

/// Turns on the PodSecurityPolicy defaults when `spec` (PodSecurityPolicySpec's names, which the
/// settings share) implies any, as a PSP (or an SCC) applied them.
pub(super) fn defaults(spec: &Value, source: &str, out: &mut Conversion) {
    if spec["allowPrivilegeEscalation"] == false
        && spec["defaultAllowPrivilegeEscalation"].is_null()
    {
        out.set("defaultAllowPrivilegeEscalation", json!(false));
        out.note(
            Some("defaultAllowPrivilegeEscalation"),
            "allowPrivilegeEscalation",
            "false without a default: a PSP (and an SCC) set allowPrivilegeEscalation: false where a container left it unset; so does mutate.podSecurityPolicyDefaults",
        );
    }
    let must_run_as = ["runAsUser", "runAsGroup", "supplementalGroups", "fsGroup"]
        .iter()
        .any(|k| spec[*k]["rule"] == "MustRunAs");
    let implied = must_run_as
        || spec["seLinux"]["rule"] == "MustRunAs"
        || spec["runAsUser"]["rule"] == "MustRunAsNonRoot"
        || spec["defaultAddCapabilities"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
        || spec["requiredDropCapabilities"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
        || !spec["defaultAllowPrivilegeEscalation"].is_null()
        || spec["allowPrivilegeEscalation"] == false
        || spec["readOnlyRootFilesystem"] == true
        || spec["runtimeClass"]["defaultRuntimeClassName"].is_string();
    if implied {
        out.enable_default("podSecurityPolicyDefaults");
        out.note(
            Some("mutate"),
            source,
            "a PSP (and an SCC) filled in MustRunAs ids, SELinux options, capabilities, privilege escalation and the read-only root where unset: mutate.podSecurityPolicyDefaults does the same (deploy with mutating: true), or turn it off to only validate",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restricted_psp_converts_field_for_field() {
        let psp: Value = yaml_serde::from_str(
            r#"
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata:
  name: restricted
  annotations:
    seccomp.security.alpha.kubernetes.io/allowedProfileNames: 'docker/default,runtime/default'
    apparmor.security.beta.kubernetes.io/allowedProfileNames: 'runtime/default'
    seccomp.security.alpha.kubernetes.io/defaultProfileName:  'runtime/default'
    apparmor.security.beta.kubernetes.io/defaultProfileName:  'runtime/default'
spec:
  privileged: false
  allowPrivilegeEscalation: false
  requiredDropCapabilities: [ALL]
  volumes: [configMap, emptyDir, projected, secret, downwardAPI, csi, persistentVolumeClaim, ephemeral]
  hostNetwork: false
  hostIPC: false
  hostPID: false
  hostPorts: [{min: 8000, max: 8080}]
  runAsUser: {rule: MustRunAsNonRoot}
  seLinux: {rule: RunAsAny}
  supplementalGroups: {rule: MustRunAs, ranges: [{min: 1, max: 65535}]}
  fsGroup: {rule: MustRunAs, ranges: [{min: 1, max: 65535}]}
  readOnlyRootFilesystem: false
"#,
        )
        .unwrap();
        let out = convert(&psp, "psp.yaml", "restricted");
        assert_eq!(out.name, "restricted");
        assert_eq!(
            out.settings["runAsUser"],
            json!({"rule": "MustRunAsNonRoot"})
        );
        assert_eq!(
            out.settings["allowedHostPorts"],
            json!([{"min": 8000, "max": 8080}])
        );
        assert_eq!(
            out.settings["allowedSeccompProfiles"],
            json!(["docker/default", "runtime/default"])
        );
        assert_eq!(
            out.settings["allowedAppArmorProfiles"],
            json!(["runtime/default"])
        );
        assert_eq!(
            out.settings["mutate"],
            json!({"seccompRuntimeDefault": true, "podSecurityPolicyDefaults": true})
        );
        assert!(
            out.notes
                .iter()
                .any(|n| n.source.contains(APPARMOR_DEFAULT))
        );
        assert!(!out.settings.contains_key("hostPorts"));
    }
}
