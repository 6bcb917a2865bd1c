//! Where each K8sPSP* kind's rule lands in pod-security: the level's controls that judge the
//! same fields, and what its `exemptImages` may waive. The `psp.<setting>` controls of the
//! settings a constraint sets are added to both by the caller.

/// The level's controls that judge the fields a constraint of `kind` judges: what it refuses,
/// the imported policy may refuse under these (or under the `psp.*` control of its setting).
pub fn level_controls(kind: &str) -> &'static [&'static str] {
    match kind {
        "K8sPSPPrivilegedContainer" => &["privileged"],
        "K8sPSPHostNamespace" => &["hostNamespaces"],
        "K8sPSPHostNetworkingPorts" => &["hostNamespaces", "hostPorts"],
        "K8sPSPVolumeTypes" | "K8sPSPHostFilesystem" => &["hostPathVolumes"],
        "K8sPSPAllowPrivilegeEscalationContainer" => &["allowPrivilegeEscalation"],
        "K8sPSPAllowedUsers" => &["runAsNonRoot", "runAsUser"],
        "K8sPSPCapabilities" => &["capabilities_baseline", "capabilities_restricted"],
        "K8sPSPForbiddenSysctls" => &["sysctls"],
        "K8sPSPProcMount" => &["procMount", "procMount_restricted"],
        "K8sPSPSELinuxV2" => &["seLinuxOptions"],
        "K8sPSPSeccomp" | "K8sPSPSeccompV2" => {
            &["seccompProfile_baseline", "seccompProfile_restricted"]
        }
        "K8sPSPAppArmor" => &["appArmorProfile"],
        "K8sPSPHostProbesLifecycle" => &["hostProbesAndHostLifecycle"],
        "K8sPSPHostProcess" => &["windowsHostProcess"],
        _ => &[],
    }
}

/// How a kind's `exemptImages` carries over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exemptions {
    /// The template does not read `exemptImages`.
    NotRead,
    /// An exception to these controls for the exempt images (a `psp.*` one only when the
    /// constraint set that setting). Each judges containers one by one, or a pod-level field
    /// that Gatekeeper judges only through the containers that inherit it, which an exception
    /// waives only when every container is exempt: as Gatekeeper does.
    Waive(&'static [&'static str]),
    /// The template exempts containers but still judges a pod-level field that pod-security
    /// reports under the same control: an exception would waive that field too when every
    /// container is exempt, so none is written, and exempt containers stay judged (stricter).
    Kept(&'static [&'static str]),
}

/// How `exemptImages` of a constraint of `kind` carries over, as its template's rego reads it.
pub fn exemptions(kind: &str) -> Exemptions {
    match kind {
        "K8sPSPPrivilegedContainer" => Exemptions::Waive(&["privileged"]),
        // hostNetwork is judged for the pod, whatever its images: only host ports are exempt.
        "K8sPSPHostNetworkingPorts" => Exemptions::Waive(&["hostPorts"]),
        "K8sPSPAllowPrivilegeEscalationContainer" => {
            Exemptions::Waive(&["allowPrivilegeEscalation", "psp.allowPrivilegeEscalation"])
        }
        "K8sPSPProcMount" => Exemptions::Waive(&[
            "procMount",
            "procMount_restricted",
            "psp.allowedProcMountTypes",
        ]),
        "K8sPSPReadOnlyRootFilesystem" => Exemptions::Waive(&["psp.readOnlyRootFilesystem"]),
        "K8sPSPAllowedUsers" => Exemptions::Waive(&[
            "psp.runAsUser",
            "psp.runAsGroup",
            "psp.supplementalGroups",
            "psp.fsGroup",
        ]),
        "K8sPSPCapabilities" => {
            Exemptions::Waive(&["psp.allowedCapabilities", "psp.requiredDropCapabilities"])
        }
        "K8sPSPSeccomp" | "K8sPSPSeccompV2" => Exemptions::Waive(&["psp.allowedSeccompProfiles"]),
        "K8sPSPAppArmor" => Exemptions::Waive(&["psp.allowedAppArmorProfiles"]),
        "K8sPSPHostProbesLifecycle" => Exemptions::Waive(&["hostProbesAndHostLifecycle"]),
        // The pod's own seLinuxOptions and windowsOptions.hostProcess are judged whatever the
        // images.
        "K8sPSPSELinuxV2" => Exemptions::Kept(&["psp.seLinux", "seLinuxOptions"]),
        "K8sPSPHostProcess" => Exemptions::Kept(&["windowsHostProcess"]),
        _ => Exemptions::NotRead,
    }
}
