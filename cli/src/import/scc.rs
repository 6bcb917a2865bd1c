//! OpenShift SecurityContextConstraints (`security.openshift.io/v1`) to pod-security settings.
//! The fields are PodSecurityPolicy's under other names; the id strategies name their rule
//! `type`, and ranges an SCC leaves to the namespace's annotations cannot be known offline.

use serde_json::{Map, Value, json};

use super::conversion::Conversion;
use super::psp;

/// The largest id a range may end at.
const ID_MAX: u64 = 4_294_967_294;

/// SCC fields pod-security takes under another name (or the same).
const RENAMED: [(&str, &str); 13] = [
    ("allowPrivilegedContainer", "privileged"),
    ("allowHostNetwork", "hostNetwork"),
    ("allowHostPID", "hostPID"),
    ("allowHostIPC", "hostIPC"),
    ("allowPrivilegeEscalation", "allowPrivilegeEscalation"),
    (
        "defaultAllowPrivilegeEscalation",
        "defaultAllowPrivilegeEscalation",
    ),
    ("allowedCapabilities", "allowedCapabilities"),
    ("defaultAddCapabilities", "defaultAddCapabilities"),
    ("requiredDropCapabilities", "requiredDropCapabilities"),
    ("allowedFlexVolumes", "allowedFlexVolumes"),
    ("allowedUnsafeSysctls", "allowedUnsafeSysctls"),
    ("forbiddenSysctls", "forbiddenSysctls"),
    ("readOnlyRootFilesystem", "readOnlyRootFilesystem"),
];

/// Fields about who may use the SCC, or its ranking among SCCs.
const ADMISSION_ONLY: [&str; 3] = ["users", "groups", "priority"];

/// Converts one SecurityContextConstraints object (its fields are top-level, not under `spec`).
pub fn convert(object: &Value, origin: &str, level: &str) -> Conversion {
    let name = object["metadata"]["name"].as_str().unwrap_or("imported");
    let mut out = Conversion::new(
        format!("SecurityContextConstraints \"{name}\" ({origin})"),
        name.to_owned(),
        level,
    );
    let empty = Map::new();
    let fields = object.as_object().unwrap_or(&empty);
    for (key, value) in fields {
        let source = key.as_str();
        if let Some((_, setting)) = RENAMED.iter().find(|(scc, _)| scc == key) {
            if !value.is_null() {
                out.set(setting, value.clone());
            }
            continue;
        }
        match source {
            "apiVersion" | "kind" | "metadata" => {}
            "allowHostPorts" => {
                let ranges = if value == &Value::Bool(true) {
                    json!([{"min": 1, "max": 65535}])
                } else {
                    json!([])
                };
                out.set("allowedHostPorts", ranges);
            }
            "volumes" => out.set("volumes", value.clone()),
            "seccompProfiles" => out.set("allowedSeccompProfiles", value.clone()),
            "runAsUser" => run_as_user(value, &mut out),
            "seLinuxContext" => se_linux(value, &mut out),
            "fsGroup" | "supplementalGroups" => groups(source, value, &mut out),
            "allowHostDirVolumePlugin" => {}
            _ if ADMISSION_ONLY.contains(&source) => out.note(
                None,
                source,
                "who may use an SCC and its priority decide which SCC admits a pod in OpenShift; a Kubewarden policy applies to every matching namespace: narrow it with namespaceSelector and exceptions",
            ),
            _ => out.note(None, source, "not an SCC field pod-security knows"),
        }
    }
    host_dir_volumes(fields, &mut out);
    psp::strict_when_absent(object, "", &["allowedCapabilities", "volumes"], &mut out);
    seccomp_default(object, &mut out);
    let settings = Value::Object(out.settings.clone());
    psp::defaults(&settings, "the SCC's defaults", &mut out);
    out
}

/// OpenShift gives a pod without a profile the first of `seccompProfiles`.
fn seccomp_default(object: &Value, out: &mut Conversion) {
    match object["seccompProfiles"][0].as_str() {
        Some("runtime/default" | "docker/default") => {
            out.enable_default("seccompRuntimeDefault");
            out.note(
                Some("mutate"),
                "seccompProfiles[0]",
                "OpenShift sets the first listed profile on a pod that names none: mutate.seccompRuntimeDefault does the same",
            );
        }
        Some(other) => out.stricter(
            Some("allowedSeccompProfiles"),
            "seccompProfiles[0]",
            &["psp.allowedSeccompProfiles"],
            format!("OpenShift sets {other} on a pod that names no profile; pod-security defaults only to RuntimeDefault, so such a pod is refused"),
        ),
        None => {}
    }
}

/// `allowHostDirVolumePlugin` decides whether `hostPath` is among the volume types.
fn host_dir_volumes(fields: &Map<String, Value>, out: &mut Conversion) {
    let allowed = fields.get("allowHostDirVolumePlugin") == Some(&Value::Bool(true));
    let mut volumes: Vec<Value> = fields
        .get("volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let any = volumes.iter().any(|v| v == "*");
    let listed = volumes.iter().any(|v| v == "hostPath");
    if allowed && !any && !listed {
        volumes.push(json!("hostPath"));
    }
    if !allowed {
        volumes.retain(|v| v != "hostPath");
        if any {
            out.note(
                Some("volumes"),
                "allowHostDirVolumePlugin",
                "false with volumes [*]: pod-security cannot say \"any type but hostPath\"; hostPath volumes are still refused by the level (hostPathVolumes) unless allowedHostPaths lists them",
            );
        }
    }
    if fields.contains_key("volumes") || allowed {
        out.set("volumes", Value::Array(volumes));
    }
    if allowed {
        out.note(
            Some("volumes"),
            "allowHostDirVolumePlugin",
            "true: any host path is allowed (with a warning); list allowedHostPaths to narrow it",
        );
    }
}

fn run_as_user(value: &Value, out: &mut Conversion) {
    let source = "runAsUser";
    let range = |min: &Value, max: &Value| json!({"rule": "MustRunAs", "ranges": [{"min": min, "max": max}]});
    match value["type"].as_str().unwrap_or_default() {
        "MustRunAs" if value["uid"].is_i64() => {
            out.set(source, range(&value["uid"], &value["uid"]))
        }
        "MustRunAsRange" if value["uidRangeMin"].is_i64() && value["uidRangeMax"].is_i64() => {
            out.set(source, range(&value["uidRangeMin"], &value["uidRangeMax"]));
        }
        "MustRunAs" | "MustRunAsRange" => {
            out.set(source, json!({"rule": "MustRunAsNonRoot"}));
            out.note(
                Some(source),
                source,
                "the range comes from the namespace's openshift.io/sa.scc.uid-range annotation, which a policy cannot read: MustRunAsNonRoot keeps pods off root, as every such range does, but admits other ids outside the namespace's range (looser than OpenShift there): set runAsUser ranges per namespace policy",
            );
        }
        "MustRunAsNonRoot" => out.set(source, json!({"rule": "MustRunAsNonRoot"})),
        "RunAsAny" => out.set(source, json!({"rule": "RunAsAny"})),
        other => out.note(None, source, format!("unknown type {other:?}")),
    }
}

fn se_linux(value: &Value, out: &mut Conversion) {
    match value["type"].as_str().unwrap_or_default() {
        "MustRunAs" if value["seLinuxOptions"].is_object() => out.set(
            "seLinux",
            json!({"rule": "MustRunAs", "seLinuxOptions": value["seLinuxOptions"]}),
        ),
        "MustRunAs" => out.note(
            None,
            "seLinuxContext",
            "the MCS level comes from the namespace's openshift.io/sa.scc.mcs annotation, which a policy cannot read; set seLinux options per namespace policy",
        ),
        "RunAsAny" => out.set("seLinux", json!({"rule": "RunAsAny"})),
        other => out.note(None, "seLinuxContext", format!("unknown type {other:?}")),
    }
}

fn groups(source: &str, value: &Value, out: &mut Conversion) {
    let ranges = value["ranges"].as_array().filter(|r| !r.is_empty());
    match (value["type"].as_str().unwrap_or_default(), ranges) {
        ("MustRunAs", Some(ranges)) => {
            out.set(source, json!({"rule": "MustRunAs", "ranges": ranges}))
        }
        ("MustRunAs", None) => {
            out.set(
                source,
                json!({"rule": "MayRunAs", "ranges": [{"min": 1, "max": ID_MAX}]}),
            );
            out.note(
                Some(source),
                source,
                "the range comes from the namespace's openshift.io/sa.scc.supplemental-groups annotation, which a policy cannot read: MayRunAs from 1 keeps group 0 out, as every such range does, but admits other ids outside the namespace's range (looser than OpenShift there): set ranges per namespace policy",
            );
        }
        ("RunAsAny", _) => out.set(source, json!({"rule": "RunAsAny"})),
        (other, _) => out.note(None, source, format!("unknown type {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_v2_converts_with_notes_for_namespace_ranges() {
        let scc: Value = yaml_serde::from_str(
            r#"
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: restricted-v2}
allowHostDirVolumePlugin: false
allowHostIPC: false
allowHostNetwork: false
allowHostPID: false
allowHostPorts: false
allowPrivilegeEscalation: false
allowPrivilegedContainer: false
allowedCapabilities: [NET_BIND_SERVICE]
defaultAddCapabilities: null
fsGroup: {type: MustRunAs}
groups: []
priority: null
readOnlyRootFilesystem: false
requiredDropCapabilities: [ALL]
runAsUser: {type: MustRunAsRange}
seLinuxContext: {type: MustRunAs}
seccompProfiles: [runtime/default]
supplementalGroups: {type: RunAsAny}
users: []
volumes: [configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret]
"#,
        )
        .unwrap();
        let out = convert(&scc, "scc.yaml", "restricted");
        assert_eq!(out.settings["privileged"], false);
        assert_eq!(out.settings["allowedHostPorts"], json!([]));
        assert_eq!(
            out.settings["allowedSeccompProfiles"],
            json!(["runtime/default"])
        );
        assert_eq!(
            out.settings["supplementalGroups"],
            json!({"rule": "RunAsAny"})
        );
        assert!(!out.settings.contains_key("defaultAddCapabilities"));
        assert_eq!(
            out.settings["runAsUser"],
            json!({"rule": "MustRunAsNonRoot"}),
            "the namespace's range is unknown, but never includes root"
        );
        assert_eq!(
            out.settings["fsGroup"],
            json!({"rule": "MayRunAs", "ranges": [{"min": 1, "max": ID_MAX}]})
        );
        assert_eq!(
            out.settings["mutate"],
            json!({"podSecurityPolicyDefaults": true, "seccompRuntimeDefault": true}),
            "OpenShift applies the SCC's defaults as a PSP did, and its first seccomp profile"
        );
        let unexpressed: Vec<&str> = out
            .notes
            .iter()
            .filter(|n| n.setting.is_none())
            .map(|n| n.source.as_str())
            .collect();
        assert_eq!(
            unexpressed,
            ["groups", "priority", "seLinuxContext", "users"]
        );
    }

    #[test]
    fn anyuid_and_host_dirs() {
        let scc: Value = yaml_serde::from_str(
            "{kind: SecurityContextConstraints, metadata: {name: hostmount-anyuid}, allowHostDirVolumePlugin: true, runAsUser: {type: MustRunAsRange, uidRangeMin: 1000, uidRangeMax: 2000}, volumes: [configMap, nfs]}",
        )
        .unwrap();
        let out = convert(&scc, "scc.yaml", "baseline");
        assert_eq!(
            out.settings["volumes"],
            json!(["configMap", "nfs", "hostPath"])
        );
        assert_eq!(
            out.settings["runAsUser"],
            json!({"rule": "MustRunAs", "ranges": [{"min": 1000, "max": 2000}]})
        );
    }
}
