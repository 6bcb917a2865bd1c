//! What a source (a Gatekeeper constraint, a PodSecurityPolicy, an SCC) allows beyond the Pod
//! Security Standards baseline level, written here from the sources' own semantics and not from
//! the importer's: when the imported policy refuses what the source accepts, a violation under
//! a level control the source widens is the import's doing (it failed to carry the allowance),
//! any other level violation is the level's.

use serde_json::Value;

/// The capabilities the baseline level lets a container add.
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The SELinux types the baseline level allows.
const BASELINE_SELINUX_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// One level control a source widens: for every container, or only for the containers it
/// exempts; `field` narrows a pod-level control to one field (`hostNetwork` of `hostNamespaces`);
/// `values`, when given, to the values the source lists (the capabilities it allows).
#[derive(Debug)]
struct Widening {
    control: &'static str,
    field: Option<&'static str>,
    exempt_only: bool,
    values: Option<Vec<String>>,
}

/// What one source allows beyond the level.
#[derive(Debug, Default)]
pub struct Allowance {
    widenings: Vec<Widening>,
    /// Gatekeeper's `exemptImages`: image names, or prefixes ending in `*`.
    exempt_images: Vec<String>,
}

impl Allowance {
    /// What `source` allows beyond the level.
    pub fn of(source: &Value) -> Self {
        let kind = source["kind"].as_str().unwrap_or_default();
        let mut allowance = Allowance::default();
        match kind {
            "PodSecurityPolicy" => allowance.psp(&source["spec"], &source["metadata"]),
            "SecurityContextConstraints" => allowance.scc(source),
            _ => allowance.gatekeeper(kind, &source["spec"]["parameters"]),
        }
        allowance
    }

    /// True when the source allows beyond the level what `control` refuses at `path` (where
    /// the object holds `value`) for a container running `image` (`None` for a pod-level field).
    pub fn widens(&self, control: &str, path: &str, value: &Value, image: Option<&str>) -> bool {
        self.widenings.iter().any(|w| {
            w.control == control
                && w.field
                    .is_none_or(|field| path.ends_with(&format!(".{field}")))
                && (!w.exempt_only || image.is_some_and(|image| self.is_exempt(image)))
                && w.values.as_ref().is_none_or(|values| {
                    value.as_str().is_some_and(|v| {
                        values.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(v))
                    })
                })
        })
    }

    /// Gatekeeper's exemption: the image is a listed name, or starts with a listed prefix that
    /// ends in `*` (the text as written, not normalised).
    fn is_exempt(&self, image: &str) -> bool {
        self.exempt_images
            .iter()
            .any(|entry| match entry.strip_suffix('*') {
                Some(prefix) => image.starts_with(prefix),
                None => image == entry,
            })
    }

    fn widen(&mut self, control: &'static str) {
        self.widen_field(control, None);
    }

    fn widen_field(&mut self, control: &'static str, field: Option<&'static str>) {
        self.widenings.push(Widening {
            control,
            field,
            exempt_only: false,
            values: None,
        });
    }

    fn widen_exempt(&mut self, control: &'static str) {
        self.widenings.push(Widening {
            control,
            field: None,
            exempt_only: true,
            values: None,
        });
    }

    /// The level's capability check, for the capabilities the source lists.
    fn widen_capabilities(&mut self, listed: Vec<String>) {
        let beyond = listed
            .iter()
            .any(|c| c == "*" || !BASELINE_CAPABILITIES.contains(&c.to_ascii_uppercase().as_str()));
        if beyond {
            self.widenings.push(Widening {
                control: "capabilities_baseline",
                field: None,
                exempt_only: false,
                values: Some(listed),
            });
        }
    }

    /// The K8sPSP* templates of the Gatekeeper library, as their rego reads the parameters.
    fn gatekeeper(&mut self, kind: &str, parameters: &Value) {
        self.exempt_images = strings(&parameters["exemptImages"]);
        let exempting = !self.exempt_images.is_empty();
        let any = |field: &str, wanted: &dyn Fn(&str) -> bool| {
            strings(&parameters[field]).iter().any(|s| wanted(s))
        };
        match kind {
            "K8sPSPPrivilegedContainer" if exempting => self.widen_exempt("privileged"),
            "K8sPSPHostNetworkingPorts" => {
                if parameters["hostNetwork"] == true {
                    self.widen_field("hostNamespaces", Some("hostNetwork"));
                }
                if !parameters["min"].is_null() || !parameters["max"].is_null() {
                    self.widen("hostPorts");
                }
                if exempting {
                    self.widen_exempt("hostPorts");
                }
            }
            "K8sPSPVolumeTypes" if any("volumes", &|v| v == "hostPath" || v == "*") => {
                self.widen("hostPathVolumes");
            }
            "K8sPSPHostFilesystem"
                if parameters["allowedHostPaths"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty()) =>
            {
                self.widen("hostPathVolumes");
            }
            "K8sPSPCapabilities" => {
                self.widen_capabilities(strings(&parameters["allowedCapabilities"]));
            }
            "K8sPSPForbiddenSysctls" if !strings(&parameters["allowedSysctls"]).is_empty() => {
                self.widen("sysctls");
            }
            "K8sPSPProcMount" => {
                if parameters["procMount"]
                    .as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case("unmasked"))
                {
                    self.widen("procMount");
                }
                if exempting {
                    self.widen_exempt("procMount");
                }
            }
            "K8sPSPSELinuxV2" => {
                let beyond = parameters["allowedSELinuxOptions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(se_linux_beyond_baseline);
                if beyond {
                    self.widen("seLinuxOptions");
                }
            }
            "K8sPSPSeccomp" | "K8sPSPSeccompV2"
                if any("allowedProfiles", &|p| {
                    p == "*" || p.eq_ignore_ascii_case("unconfined")
                }) =>
            {
                self.widen("seccompProfile_baseline");
            }
            "K8sPSPAppArmor" if any("allowedProfiles", &|p| p == "unconfined") => {
                self.widen("appArmorProfile");
            }
            "K8sPSPAllowPrivilegeEscalationContainer" if exempting => {
                self.widen_exempt("allowPrivilegeEscalation");
            }
            "K8sPSPHostProbesLifecycle" if exempting => {
                self.widen_exempt("hostProbesAndHostLifecycle");
            }
            "K8sPSPHostProcess" if exempting => self.widen_exempt("windowsHostProcess"),
            _ => {}
        }
    }

    /// A PodSecurityPolicy's spec and annotations.
    fn psp(&mut self, spec: &Value, metadata: &Value) {
        self.flags(spec, "privileged", ["hostNetwork", "hostPID", "hostIPC"]);
        if spec["hostPorts"].as_array().is_some_and(|p| !p.is_empty()) {
            self.widen("hostPorts");
        }
        let volumes = strings(&spec["volumes"]);
        if volumes.iter().any(|v| v == "hostPath" || v == "*") {
            self.widen("hostPathVolumes");
        }
        self.capabilities(spec);
        if !strings(&spec["allowedUnsafeSysctls"]).is_empty() {
            self.widen("sysctls");
        }
        if strings(&spec["allowedProcMountTypes"])
            .iter()
            .any(|t| t == "Unmasked")
        {
            self.widen("procMount");
        }
        if spec["seLinux"]["rule"] == "MustRunAs"
            && se_linux_beyond_baseline(&spec["seLinux"]["seLinuxOptions"])
        {
            self.widen("seLinuxOptions");
        }
        let annotations = &metadata["annotations"];
        let listed = |key: &str| -> Vec<String> {
            annotations[key]
                .as_str()
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .collect()
        };
        let unconfined = |names: Vec<String>| names.iter().any(|n| n == "*" || n == "unconfined");
        if unconfined(listed(
            "seccomp.security.alpha.kubernetes.io/allowedProfileNames",
        )) {
            self.widen("seccompProfile_baseline");
        }
        if unconfined(listed(
            "apparmor.security.beta.kubernetes.io/allowedProfileNames",
        )) {
            self.widen("appArmorProfile");
        }
        if spec["allowPrivilegeEscalation"] != false {
            self.widen("allowPrivilegeEscalation");
        }
    }

    /// An OpenShift SecurityContextConstraints object (its fields are top-level).
    fn scc(&mut self, scc: &Value) {
        let renamed = serde_json::json!({
            "privileged": scc["allowPrivilegedContainer"],
            "hostNetwork": scc["allowHostNetwork"],
            "hostPID": scc["allowHostPID"],
            "hostIPC": scc["allowHostIPC"],
        });
        self.flags(
            &renamed,
            "privileged",
            ["hostNetwork", "hostPID", "hostIPC"],
        );
        if scc["allowHostPorts"] == true {
            self.widen("hostPorts");
        }
        if scc["allowHostDirVolumePlugin"] == true {
            self.widen("hostPathVolumes");
        }
        self.capabilities(scc);
        if !strings(&scc["allowedUnsafeSysctls"]).is_empty() {
            self.widen("sysctls");
        }
        if strings(&scc["seccompProfiles"])
            .iter()
            .any(|p| p == "*" || p == "unconfined")
        {
            self.widen("seccompProfile_baseline");
        }
        if scc["seLinuxContext"]["type"] == "MustRunAs"
            && se_linux_beyond_baseline(&scc["seLinuxContext"]["seLinuxOptions"])
        {
            self.widen("seLinuxOptions");
        }
        if scc["allowPrivilegeEscalation"] != false {
            self.widen("allowPrivilegeEscalation");
        }
    }

    fn flags(&mut self, spec: &Value, privileged: &str, namespaces: [&'static str; 3]) {
        if spec[privileged] == true {
            self.widen("privileged");
        }
        for field in namespaces {
            if spec[field] == true {
                self.widen_field("hostNamespaces", Some(field));
            }
        }
    }

    fn capabilities(&mut self, spec: &Value) {
        let listed = ["allowedCapabilities", "defaultAddCapabilities"]
            .iter()
            .flat_map(|field| strings(&spec[*field]))
            .collect();
        self.widen_capabilities(listed);
    }
}

/// True when SELinux options set a user, a role, or a type the baseline level refuses.
fn se_linux_beyond_baseline(options: &Value) -> bool {
    !options["user"].is_null()
        || !options["role"].is_null()
        || options["type"]
            .as_str()
            .is_some_and(|t| !BASELINE_SELINUX_TYPES.contains(&t))
}

/// The strings of a list (nothing when absent).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn exemptions_follow_gatekeepers_prefix_rule() {
    let source = serde_json::json!({"kind": "K8sPSPPrivilegedContainer",
        "spec": {"parameters": {"exemptImages": ["safeimages.com/*", "nginx-exempt"]}}});
    let allowance = Allowance::of(&source);
    let path = "spec.containers[0].securityContext.privileged";
    let value = Value::Bool(true);
    assert!(allowance.widens("privileged", path, &value, Some("safeimages.com/a/b:1")));
    assert!(allowance.widens("privileged", path, &value, Some("nginx-exempt")));
    assert!(!allowance.widens("privileged", path, &value, Some("nginx-exempt:1")));
    assert!(!allowance.widens(
        "privileged",
        path,
        &value,
        Some("docker.io/safeimages.com/x")
    ));
    assert!(!allowance.widens("privileged", path, &value, None));
}

#[test]
fn capabilities_widen_only_for_the_ones_listed() {
    let source = serde_json::json!({"kind": "K8sPSPCapabilities",
        "spec": {"parameters": {"allowedCapabilities": ["net_raw"]}}});
    let allowance = Allowance::of(&source);
    let path = "spec.containers[0].securityContext.capabilities.add[0]";
    assert!(allowance.widens("capabilities_baseline", path, &Value::from("NET_RAW"), None));
    assert!(!allowance.widens(
        "capabilities_baseline",
        path,
        &Value::from("SYS_ADMIN"),
        None
    ));
}
