//! The consistency of the PodSecurityPolicy-named settings, with messages naming the path:
//! what PodSecurityPolicy's API validation refused, plus entries it silently ignored.

use super::id_ranges::IdRule;
use super::profiles::{self, Family};
use super::settings::SeLinuxRule;
use super::{sysctl_patterns, volume_types};
use crate::capabilities;
use crate::settings::Settings;

const USER_RULES: &[IdRule] = &[
    IdRule::MustRunAs,
    IdRule::MustRunAsNonRoot,
    IdRule::RunAsAny,
];
const GROUP_RULES: &[IdRule] = &[IdRule::MustRunAs, IdRule::MayRunAs, IdRule::RunAsAny];

/// The first inconsistency of the PodSecurityPolicy-named settings, if any.
pub fn validate(settings: &Settings) -> Result<(), String> {
    for (name, strategy, rules) in [
        ("runAsUser", &settings.run_as_user, USER_RULES),
        ("runAsGroup", &settings.run_as_group, GROUP_RULES),
        (
            "supplementalGroups",
            &settings.supplemental_groups,
            GROUP_RULES,
        ),
        ("fsGroup", &settings.fs_group, GROUP_RULES),
    ] {
        if let Some(strategy) = strategy {
            strategy.validate(name, rules)?;
        }
    }
    sysctls(settings)?;
    volumes(settings)?;
    proc_mount_types(settings)?;
    se_linux(settings)?;
    profile_lists(settings)?;
    if settings.default_allow_privilege_escalation == Some(true)
        && settings.allow_privilege_escalation == Some(false)
    {
        return Err(
            "defaultAllowPrivilegeEscalation: true contradicts allowPrivilegeEscalation: false"
                .to_owned(),
        );
    }
    default_capabilities(settings)?;
    runtime_class(settings)
}

/// `allowedProcMountTypes`: Default or Unmasked.
fn proc_mount_types(settings: &Settings) -> Result<(), String> {
    if let Some(types) = &settings.allowed_proc_mount_types {
        for (index, value) in types.iter().enumerate() {
            if value != "Default" && value != "Unmasked" {
                return Err(format!(
                    "allowedProcMountTypes[{index}]: \"{value}\" is not a procMount type; expected Default or Unmasked"
                ));
            }
        }
    }
    Ok(())
}

/// `seLinux`: MustRunAs with the options pods must carry, RunAsAny without.
fn se_linux(settings: &Settings) -> Result<(), String> {
    if let Some(strategy) = &settings.se_linux {
        let options = strategy.se_linux_options.as_ref().filter(|o| !o.is_empty());
        match (strategy.rule, options) {
            (SeLinuxRule::MustRunAs, None) => {
                return Err(
                    "seLinux.seLinuxOptions: MustRunAs needs the options pods must carry"
                        .to_owned(),
                );
            }
            (SeLinuxRule::RunAsAny, Some(_)) => {
                return Err(
                    "seLinux.seLinuxOptions: RunAsAny takes no options; remove them or use MustRunAs"
                        .to_owned(),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// `allowedSeccompProfiles`, `allowedAppArmorProfiles`: profile names.
fn profile_lists(settings: &Settings) -> Result<(), String> {
    for (name, family, list) in [
        (
            "allowedSeccompProfiles",
            Family::Seccomp,
            &settings.allowed_seccomp_profiles,
        ),
        (
            "allowedAppArmorProfiles",
            Family::AppArmor,
            &settings.allowed_app_armor_profiles,
        ),
    ] {
        for (index, entry) in list.iter().flatten().enumerate() {
            profiles::validate(family, entry)
                .map_err(|reason| format!("{name}[{index}]: {reason}"))?;
        }
    }
    Ok(())
}

/// `runtimeClass`: named classes, `*` alone, a default among them.
fn runtime_class(settings: &Settings) -> Result<(), String> {
    if let Some(runtime) = &settings.runtime_class {
        let allowed = &runtime.allowed_runtime_class_names;
        if let Some(index) = allowed.iter().position(String::is_empty) {
            return Err(format!(
                "runtimeClass.allowedRuntimeClassNames[{index}]: empty name"
            ));
        }
        if allowed.len() > 1 && allowed.iter().any(|name| name == "*") {
            return Err("runtimeClass.allowedRuntimeClassNames: * allows any runtime class and must be the only entry".to_owned());
        }
        if let Some(default) = runtime
            .default_runtime_class_name
            .as_ref()
            .filter(|name| !name.is_empty())
            && !allowed.iter().any(|name| name == "*" || name == default)
        {
            return Err(format!(
                "runtimeClass.defaultRuntimeClassName: \"{default}\" is not in allowedRuntimeClassNames"
            ));
        }
    }
    Ok(())
}

fn sysctls(settings: &Settings) -> Result<(), String> {
    for (name, list) in [
        ("allowedUnsafeSysctls", &settings.allowed_unsafe_sysctls),
        ("forbiddenSysctls", &settings.forbidden_sysctls),
    ] {
        for (index, pattern) in list.iter().enumerate() {
            sysctl_patterns::validate(pattern)
                .map_err(|reason| format!("{name}[{index}]: {reason}"))?;
        }
    }
    for (index, allowed) in settings.allowed_unsafe_sysctls.iter().enumerate() {
        if let Some((forbidden_index, forbidden)) = settings
            .forbidden_sysctls
            .iter()
            .enumerate()
            .find(|(_, forbidden)| sysctl_patterns::overlaps(allowed, forbidden))
        {
            return Err(format!(
                "allowedUnsafeSysctls[{index}] \"{allowed}\"{} overlaps forbiddenSysctls[{forbidden_index}] \"{forbidden}\"{}: a sysctl cannot be both allowed and forbidden",
                sysctl_patterns::applied_note(allowed),
                sysctl_patterns::applied_note(forbidden),
            ));
        }
    }
    Ok(())
}

fn volumes(settings: &Settings) -> Result<(), String> {
    if let Some(volumes) = &settings.volumes {
        for (index, name) in volumes.iter().enumerate() {
            if !volume_types::KNOWN.contains(&name.as_str()) {
                return Err(format!(
                    "volumes[{index}]: \"{name}\" is not a volume type; expected one of {}",
                    volume_types::KNOWN.join(", ")
                ));
            }
        }
        if volumes.len() > 1 && volumes.iter().any(|v| v == "none") {
            return Err(
                "volumes: none means no volumes; it cannot be listed with other types".to_owned(),
            );
        }
    }
    for (index, entry) in settings.allowed_flex_volumes.iter().enumerate() {
        if entry.driver.is_empty() {
            return Err(format!("allowedFlexVolumes[{index}].driver: empty driver"));
        }
    }
    let flex_allowed = settings
        .volumes
        .as_ref()
        .is_none_or(|v| volume_types::allows(v, "flexVolume"));
    if !settings.allowed_flex_volumes.is_empty() && !flex_allowed {
        return Err("allowedFlexVolumes: volumes does not allow flexVolume (or *), so no driver can be used".to_owned());
    }
    for (index, entry) in settings.allowed_csi_drivers.iter().enumerate() {
        if entry.name.is_empty() {
            return Err(format!("allowedCSIDrivers[{index}].name: empty name"));
        }
    }
    Ok(())
}

fn default_capabilities(settings: &Settings) -> Result<(), String> {
    for (index, name) in settings.default_add_capabilities.iter().enumerate() {
        if !capabilities::is_known(name) {
            return Err(format!(
                "defaultAddCapabilities[{index}]: \"{name}\" is not a Linux capability"
            ));
        }
        let normalized = capabilities::normalize(name);
        if let Some(drop_index) = settings
            .required_drop_capabilities
            .iter()
            .position(|d| capabilities::normalize(d) == normalized)
        {
            return Err(format!(
                "defaultAddCapabilities[{index}] \"{name}\" is also requiredDropCapabilities[{drop_index}]: a container cannot be given by default what it must drop"
            ));
        }
    }
    Ok(())
}
