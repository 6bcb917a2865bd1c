//! Upstream Kubewarden `*-psp` policies (ClusterAdmissionPolicy / AdmissionPolicy objects whose
//! module is one of them) to pod-security settings: every such policy of the input adds its
//! settings to one set, as they would all run together.

use anyhow::Result;
use serde_json::{Value, json};

use super::conversion::Conversion;

/// The upstream module a policy runs, by the name in its reference, if it is a PSP one.
pub fn upstream_module(object: &Value) -> Option<&'static str> {
    let module = object["spec"]["module"].as_str()?;
    MODULES.into_iter().find(|name| {
        module
            .rsplit('/')
            .next()
            .is_some_and(|last| last.split([':', '@']).next() == Some(*name))
    })
}

const MODULES: [&str; 15] = [
    "allow-privilege-escalation-psp",
    "allowed-fsgroups-psp",
    "allowed-proc-mount-types-psp",
    "apparmor-psp",
    "capabilities-psp",
    "flexvolume-drivers-psp",
    "host-namespaces-psp",
    "hostpaths-psp",
    "pod-privileged",
    "readonly-root-filesystem-psp",
    "seccomp-psp",
    "selinux-psp",
    "sysctl-psp",
    "user-group-psp",
    "volumes-psp",
];

/// Adds one upstream policy's settings to `out`; two policies that set one setting differently
/// are an error (see [`Conversion::narrow`]).
pub fn add(object: &Value, module: &str, out: &mut Conversion) -> Result<()> {
    let upstream = Upstream {
        module,
        name: object["metadata"]["name"].as_str().unwrap_or(module),
        settings: &object["spec"]["settings"],
    };
    upstream.add_settings(out)?;
    upstream.deployment_notes(&object["spec"], out);
    Ok(())
}

/// One upstream policy: its module, its name and its settings.
struct Upstream<'a> {
    module: &'a str,
    name: &'a str,
    settings: &'a Value,
}

impl Upstream<'_> {
    /// Where a setting came from: `<module> (<name>): settings.<field>`.
    fn source(&self, field: &str) -> String {
        format!("{} ({}): settings.{field}", self.module, self.name)
    }

    /// Where a setting implied by the whole policy came from: `<module> (<name>)`.
    fn whole(&self) -> String {
        format!("{} ({})", self.module, self.name)
    }

    /// Narrows `setting` to the upstream `field`'s value, when it is set.
    fn copy(&self, out: &mut Conversion, field: &str, setting: &str) -> Result<()> {
        if self.settings[field].is_null() {
            return Ok(());
        }
        out.narrow(setting, self.settings[field].clone(), &self.source(field))
    }

    /// The pod-security settings this module's upstream settings mean.
    fn add_settings(&self, out: &mut Conversion) -> Result<()> {
        let settings = self.settings;
        match self.module {
            "pod-privileged" => out.narrow("privileged", json!(false), &self.whole())?,
            "readonly-root-filesystem-psp" => {
                out.narrow("readOnlyRootFilesystem", json!(true), &self.whole())?;
            }
            "host-namespaces-psp" => self.host_namespaces(out)?,
            "volumes-psp" => self.copy(out, "allowedTypes", "volumes")?,
            "apparmor-psp" => self.copy(out, "allowed_profiles", "allowedAppArmorProfiles")?,
            "seccomp-psp" => seccomp(settings, &self.source("allowed_profiles"), out)?,
            "selinux-psp" => self.selinux(out)?,
            "capabilities-psp" => {
                self.copy(out, "allowed_capabilities", "allowedCapabilities")?;
                self.copy(
                    out,
                    "required_drop_capabilities",
                    "requiredDropCapabilities",
                )?;
                self.copy(out, "default_add_capabilities", "defaultAddCapabilities")?;
            }
            "flexvolume-drivers-psp" => {
                self.copy(out, "allowedFlexVolumes", "allowedFlexVolumes")?;
            }
            "hostpaths-psp" => self.host_paths(out)?,
            "allowed-proc-mount-types-psp" => {
                let unmasked = settings["allow_unmasked_proc_mount_type"] == true;
                let types = if unmasked {
                    json!(["Default", "Unmasked"])
                } else {
                    json!(["Default"])
                };
                out.narrow("allowedProcMountTypes", types, &self.whole())?;
            }
            "sysctl-psp" => {
                self.copy(out, "allowedUnsafeSysctls", "allowedUnsafeSysctls")?;
                self.copy(out, "forbiddenSysctls", "forbiddenSysctls")?;
            }
            "user-group-psp" => self.user_group(out)?,
            "allowed-fsgroups-psp" if settings["rule"].is_string() => {
                out.narrow("fsGroup", settings.clone(), &self.whole())?;
            }
            "allow-privilege-escalation-psp" => {
                let allowed = settings["default_allow_privilege_escalation"] == true;
                out.narrow("allowPrivilegeEscalation", json!(allowed), &self.whole())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// host-namespaces-psp: the three host namespaces (unset: not allowed) and the host ports.
    fn host_namespaces(&self, out: &mut Conversion) -> Result<()> {
        let settings = self.settings;
        for (field, setting) in [
            ("allow_host_ipc", "hostIPC"),
            ("allow_host_pid", "hostPID"),
            ("allow_host_network", "hostNetwork"),
        ] {
            out.narrow(
                setting,
                json!(settings[field].as_bool().unwrap_or(false)),
                &self.source(field),
            )?;
        }
        let ports = settings["allow_host_ports"].clone();
        if !ports.is_null() {
            out.narrow("allowedHostPorts", ports, &self.source("allow_host_ports"))?;
        }
        Ok(())
    }

    /// selinux-psp: `MustRunAs` with the options it names, else `RunAsAny`.
    fn selinux(&self, out: &mut Conversion) -> Result<()> {
        let settings = self.settings;
        let options: serde_json::Map<String, Value> = ["user", "role", "type", "level"]
            .into_iter()
            .filter(|k| settings[*k].is_string())
            .map(|k| (k.to_owned(), settings[k].clone()))
            .collect();
        match settings["rule"].as_str() {
            Some("MustRunAs") => out.narrow(
                "seLinux",
                json!({"rule": "MustRunAs", "seLinuxOptions": options}),
                &self.whole(),
            ),
            _ => out.narrow("seLinux", json!({"rule": "RunAsAny"}), &self.whole()),
        }
    }

    /// hostpaths-psp: the allowed host paths, with a note that an empty list now allows none.
    fn host_paths(&self, out: &mut Conversion) -> Result<()> {
        self.copy(out, "allowedHostPaths", "allowedHostPaths")?;
        if self.settings["allowedHostPaths"]
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            out.note(
                Some("allowedHostPaths"),
                &self.source("allowedHostPaths"),
                "empty allowed every host path upstream; here empty allows none (list volumes: [hostPath, …] to allow any, with a warning)",
            );
        }
        Ok(())
    }

    /// user-group-psp: the three id strategies, with a note where upstream overwrote ids.
    fn user_group(&self, out: &mut Conversion) -> Result<()> {
        for (field, setting) in [
            ("run_as_user", "runAsUser"),
            ("run_as_group", "runAsGroup"),
            ("supplemental_groups", "supplementalGroups"),
        ] {
            let mut strategy = self.settings[field].clone();
            if let Some(map) = strategy.as_object_mut() {
                if map.remove("overwrite") == Some(Value::Bool(true)) {
                    out.note(
                        Some(setting),
                        &self.source(&format!("{field}.overwrite")),
                        "upstream replaced ids that were set; pod-security never overwrites a value a pod states (it rejects it), and fills unset ids with mutate.podSecurityPolicyDefaults",
                    );
                }
                out.narrow(setting, strategy, &self.source(field))?;
            }
        }
        Ok(())
    }

    /// What the policy's `spec` says of how it ran: mutating (the PSP defaults are enabled) or
    /// in monitor mode.
    fn deployment_notes(&self, spec: &Value, out: &mut Conversion) {
        let (module, name) = (self.module, self.name);
        if spec["mutating"] == true {
            out.enable_default("podSecurityPolicyDefaults");
            out.note(
                Some("mutate"),
                &format!("{module} ({name}): spec.mutating"),
                "the upstream policy mutated: mutate.podSecurityPolicyDefaults applies the PSP defaults these settings imply",
            );
        }
        if spec["mode"] == "monitor" {
            out.note(
                None,
                &format!("{module} ({name}): spec.mode"),
                "monitor: deploy pod-security with mode: monitor too",
            );
        }
    }
}

/// seccomp-psp's three lists as one list of profile names.
fn seccomp(settings: &Value, source: &str, out: &mut Conversion) -> Result<()> {
    let strings = |field: &str| -> Vec<String> {
        settings[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let mut names = strings("allowed_profiles");
    let localhost = strings("localhost_profiles");
    for profile_type in strings("profile_types") {
        match profile_type.as_str() {
            "RuntimeDefault" => names.push("runtime/default".to_owned()),
            "Unconfined" => names.push("unconfined".to_owned()),
            "Localhost" if localhost.is_empty() => names.push("localhost/*".to_owned()),
            "Localhost" => names.extend(localhost.iter().map(|p| format!("localhost/{p}"))),
            _ => {}
        }
    }
    names.sort();
    names.dedup();
    out.narrow("allowedSeccompProfiles", json!(names), source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(module: &str, settings: Value) -> Value {
        json!({"kind": "ClusterAdmissionPolicy", "metadata": {"name": "p"},
            "spec": {"module": module, "settings": settings}})
    }

    #[test]
    fn upstream_settings_become_one_set() {
        let mut out = Conversion::new("kubewarden".into(), "psp".into(), "restricted");
        for object in [
            policy(
                "registry://ghcr.io/kubewarden/policies/host-namespaces-psp:v0.1.2",
                json!({"allow_host_ipc": false, "allow_host_network": true, "allow_host_ports": [{"min": 443, "max": 443}]}),
            ),
            policy(
                "ghcr.io/kubewarden/policies/user-group-psp@sha256:abc",
                json!({"run_as_user": {"rule": "MustRunAs", "ranges": [{"min": 1000, "max": 2000}], "overwrite": true}}),
            ),
            policy(
                "registry://ghcr.io/jvanz/policies/seccomp-psp:v1",
                json!({"allowed_profiles": ["runtime/default"], "profile_types": ["Localhost"], "localhost_profiles": ["a.json"]}),
            ),
            policy(
                "registry://ghcr.io/kubewarden/policies/allowed-proc-mount-types-psp:v1.0.1",
                json!({"allow_unmasked_proc_mount_type": true}),
            ),
        ] {
            let module = upstream_module(&object).expect("a psp module");
            add(&object, module, &mut out).expect("converts");
        }
        assert_eq!(out.settings["hostNetwork"], true);
        assert_eq!(out.settings["hostPID"], false);
        assert_eq!(
            out.settings["allowedHostPorts"],
            json!([{"min": 443, "max": 443}])
        );
        assert_eq!(
            out.settings["runAsUser"],
            json!({"rule": "MustRunAs", "ranges": [{"min": 1000, "max": 2000}]})
        );
        assert_eq!(
            out.settings["allowedSeccompProfiles"],
            json!(["localhost/a.json", "runtime/default"])
        );
        assert_eq!(
            out.settings["allowedProcMountTypes"],
            json!(["Default", "Unmasked"])
        );
        assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
        assert!(
            upstream_module(&policy(
                "registry://ghcr.io/kubewarden/policies/trusted-repos:v1",
                json!({})
            ))
            .is_none()
        );
    }
}
