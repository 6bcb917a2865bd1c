//! The one rule by which the organisation's settings allow more than the standard: each finding
//! of a Pod Security Standards check is kept, reworded (the message lists what the settings
//! allow too), dropped, or turned into a warning that repeats on every request using it:
//! `pod-security: container "app" is privileged, allowed by privileged: true beyond the
//! baseline level`.
//!
//! | finding | allowed by |
//! |---|---|
//! | `privileged` | `privileged: true` |
//! | `hostNamespaces` | `hostNetwork`, `hostPID`, `hostIPC: true` |
//! | `allowPrivilegeEscalation` | `allowPrivilegeEscalation: true` |
//! | `capabilities_*` add | `allowedCapabilities`, `defaultAddCapabilities` |
//! | `hostPathVolumes` | `allowedHostPaths` (read-only entries: every mount read-only), or `volumes` with hostPath and no `allowedHostPaths` |
//! | `hostPorts` | `allowedHostPorts` |
//! | `restrictedVolumes` | `volumes`; a hostPath `allowedHostPaths` covers is left to `hostPathVolumes` |
//! | `runAsUser` 0 | `runAsUser` `MustRunAs` ranges including 0 (one warning) |
//! | `runAsNonRoot` | the same ranges (no warning of its own) |
//! | `seLinuxOptions` | `seLinux` `MustRunAs` with exactly those options (one warning per options) |
//! | `seccompProfile_*` unconfined | `allowedSeccompProfiles` with `unconfined` or `*` |
//! | `appArmorProfile` | `allowedAppArmorProfiles` listing the profile |
//! | `sysctls` | `allowedUnsafeSysctls` |
//! | `procMount*` | `allowedProcMountTypes` |

use std::collections::BTreeSet;

use pci_shared::pod::{SeLinuxOptions, Volume};
use pci_shared::violation::{Violation, Violations};

use super::settings::SeLinuxRule;
use super::{Layer, profiles, sysctl_patterns, volume_types};
use crate::capabilities::{BASELINE_ALLOWED, RESTRICTED_ALLOWED};
use crate::check::{Finding, Found, shown};
use crate::checks::{common, host_path_volumes, host_ports};
use crate::host_path::is_under;
use crate::settings::AllowedHostPath;

/// What the rule makes of the findings of one evaluation: the violations that stand and the
/// warnings, in the order of the findings.
#[derive(Default)]
pub struct Widened<'a> {
    pub violations: Violations,
    pub notes: Vec<String>,
    /// The SELinux options already warned about, and whether user 0 was.
    warned_selinux: Vec<&'a SeLinuxOptions>,
    warned_root: bool,
}

impl<'a> Widened<'a> {
    /// Applies the rule to `finding`.
    pub fn judge(&mut self, layer: &Layer<'a>, finding: Finding<'a>) {
        let Finding { violation, found } = finding;
        let settings = layer.settings;
        match found {
            Found::Fixed => self.violations.push(violation),
            Found::Privileged if settings.privileged == Some(true) => {
                self.warn(layer, &violation, "is privileged", "privileged: true");
            }
            Found::HostNamespace(field) if namespace_allowed(layer, field) => {
                self.warn(
                    layer,
                    &violation,
                    &format!("uses {field}"),
                    &format!("{field}: true"),
                );
            }
            Found::Escalation(value) if settings.allow_privilege_escalation == Some(true) => {
                let what = format!(
                    "may escalate privileges (allowPrivilegeEscalation {})",
                    shown(value)
                );
                self.warn(layer, &violation, &what, "allowPrivilegeEscalation: true");
            }
            Found::Capability(added) => self.capability(layer, violation, added),
            Found::HostPath(volume) => self.host_path(layer, violation, volume),
            Found::HostPort(port) => self.host_port(layer, violation, port),
            Found::VolumeSource(volume, source) => self.volume(layer, violation, volume, source),
            Found::RootUser if root_allowed(layer) => {
                if !std::mem::replace(&mut self.warned_root, true) {
                    let pod_level = Violation {
                        container: None,
                        ..violation
                    };
                    self.warn(
                        layer,
                        &pod_level,
                        "runs as user 0",
                        "runAsUser ranges including 0",
                    );
                }
            }
            // Not required while user 0 is allowed (the warning is runAsUser's, when 0 is used).
            Found::NonRoot if root_allowed(layer) => {}
            Found::SeLinux(options) => self.se_linux(layer, violation, options),
            Found::Annotation(key, value)
                if annotation_allowed(layer, violation.control, value) =>
            {
                let setting = profile_setting(violation.control);
                self.warn(layer, &violation, &format!("sets {key}: {value}"), setting);
            }
            Found::Profile(profile) if profile_allowed(layer, violation.control, profile) => {
                let family = if violation.control == "appArmorProfile" {
                    "AppArmor"
                } else {
                    "seccomp"
                };
                let setting = profile_setting(violation.control);
                self.warn(
                    layer,
                    &violation,
                    &format!("runs {family} {profile}"),
                    setting,
                );
            }
            Found::ProfileUnset if pod_runs_allowed_unconfined(layer) => {}
            Found::Sysctl(name) if sysctl_allowed(layer, name) => {
                let what = format!("sets sysctl {name}{}", sysctl_patterns::applied_note(name));
                self.warn(layer, &violation, &what, "allowedUnsafeSysctls");
            }
            Found::ProcMount(value) if proc_mount_allowed(layer, value) => {
                self.warn(
                    layer,
                    &violation,
                    &format!("uses procMount {value}"),
                    "allowedProcMountTypes",
                );
            }
            _ => self.violations.push(violation),
        }
    }

    /// The warning for what `setting` allows beyond the level, about the container or the pod
    /// `violation` names.
    fn warn(&mut self, layer: &Layer<'_>, violation: &Violation, what: &str, setting: &str) {
        let subject = match &violation.container {
            Some(name) => format!("container \"{name}\""),
            None => "the pod".to_owned(),
        };
        self.notes.push(format!(
            "pod-security: {subject} {what}, allowed by {setting} beyond the {} level",
            layer.settings.level
        ));
    }

    fn capability(&mut self, layer: &Layer<'_>, mut violation: Violation, added: &str) {
        if let Some(setting) = layer.capability_setting_allowing(added) {
            return self.warn(layer, &violation, &format!("adds {added}"), setting);
        }
        let level_allowed: &[&str] = if violation.control == "capabilities_restricted" {
            &RESTRICTED_ALLOWED
        } else {
            &BASELINE_ALLOWED
        };
        // Named once each, though both settings may list a capability.
        let beyond: BTreeSet<&str> = layer
            .default_adds
            .iter()
            .chain(layer.allowed_capabilities.iter().flatten())
            .map(String::as_str)
            .filter(|name| !level_allowed.contains(name))
            .collect();
        if !beyond.is_empty() {
            let beyond: Vec<&str> = beyond.into_iter().collect();
            violation.message = common::added_message(added, level_allowed, &beyond);
        }
        self.violations.push(violation);
    }

    fn host_path(&mut self, layer: &Layer<'_>, mut violation: Violation, volume: &Volume) {
        let allowed = &layer.settings.allowed_host_paths;
        let path = volume.host_path.as_ref().map_or("", |h| h.path.as_str());
        let entries = allowing_entries(allowed, path);
        let what = format!("mounts host path \"{path}\" (volume \"{}\")", volume.name);
        let Some(first) = entries.first() else {
            let any_path = allowed.is_empty()
                && (layer.settings.volumes.as_deref())
                    .is_some_and(|v| volume_types::allows(v, "hostPath"));
            if any_path {
                return self.warn(
                    layer,
                    &violation,
                    &what,
                    "volumes with hostPath and no allowedHostPaths",
                );
            }
            let prefixes: Vec<&str> = allowed.iter().map(|e| e.path_prefix.as_str()).collect();
            violation.message = host_path_volumes::message(volume, path, &prefixes);
            return self.violations.push(violation);
        };
        let allowed_by = format!("allowedHostPaths \"{}\"", first.path_prefix);
        if entries.iter().any(|entry| !entry.read_only) {
            return self.warn(layer, &violation, &what, &allowed_by);
        }
        let writable = writable_mounts(layer, volume, path, &first.path_prefix, &violation);
        if writable.is_empty() {
            self.warn(layer, &violation, &format!("{what} read-only"), &allowed_by);
        }
        for violation in writable {
            self.violations.push(violation);
        }
    }

    fn host_port(&mut self, layer: &Layer<'_>, mut violation: Violation, port: i32) {
        let ranges = &layer.settings.allowed_host_ports;
        let number = i64::from(port);
        if let Some(range) = ranges.iter().find(|r| (r.min..=r.max).contains(&number)) {
            let setting = format!("allowedHostPorts {}-{}", range.min, range.max);
            return self.warn(
                layer,
                &violation,
                &format!("uses host port {port}"),
                &setting,
            );
        }
        let listed: Vec<(i64, i64)> = ranges.iter().map(|r| (r.min, r.max)).collect();
        violation.message = host_ports::message(port, &listed);
        self.violations.push(violation);
    }

    fn volume(&mut self, layer: &Layer<'_>, violation: Violation, volume: &Volume, source: &str) {
        let settings = layer.settings;
        let reviewed_host_path = source == "hostPath"
            && volume.host_path.as_ref().is_some_and(|h| {
                !allowing_entries(&settings.allowed_host_paths, &h.path).is_empty()
            });
        if reviewed_host_path {
            return;
        }
        if settings
            .volumes
            .as_deref()
            .is_some_and(|listed| volume_types::allows(listed, source))
        {
            let what = format!("uses {source} volume \"{}\"", volume.name);
            return self.warn(layer, &violation, &what, "volumes");
        }
        self.violations.push(violation);
    }

    fn se_linux(&mut self, layer: &Layer<'_>, violation: Violation, options: &'a SeLinuxOptions) {
        let required = (layer.settings.se_linux.as_ref())
            .filter(|s| s.rule == SeLinuxRule::MustRunAs)
            .and_then(|s| s.se_linux_options.as_ref())
            .filter(|r| r.matches(options));
        let Some(required) = required else {
            return self.violations.push(violation);
        };
        if !self
            .warned_selinux
            .iter()
            .any(|seen| std::ptr::eq(*seen, options))
        {
            self.warned_selinux.push(options);
            let what = format!("uses SELinux options {}", required.describe());
            self.warn(layer, &violation, &what, "seLinux");
        }
    }
}

/// The `allowedHostPaths` entries covering `path`.
pub fn allowing_entries<'s>(
    allowed: &'s [AllowedHostPath],
    path: &str,
) -> Vec<&'s AllowedHostPath> {
    allowed
        .iter()
        .filter(|entry| is_under(path, &entry.path_prefix))
        .collect()
}

/// The violations of every container mounting `volume` writable, which a read-only
/// `allowedHostPaths` entry (`prefix`) forbids.
fn writable_mounts(
    layer: &Layer<'_>,
    volume: &Volume,
    path: &str,
    prefix: &str,
    finding: &Violation,
) -> Vec<Violation> {
    let mut found = Vec::new();
    for container in layer.containers() {
        for (index, mount) in container.container.volume_mounts.iter().enumerate() {
            if mount.name == volume.name && mount.read_only != Some(true) {
                found.push(Violation {
                    path: container.path().field("volumeMounts").index(index).field("readOnly"),
                    container: Some(container.name().to_owned()),
                    message: format!(
                        "mounts host path \"{path}\" writable; allowedHostPaths entry \"{prefix}\" requires readOnly: true"
                    ),
                    ..finding.clone()
                });
            }
        }
    }
    found
}

fn namespace_allowed(layer: &Layer<'_>, field: &str) -> bool {
    let settings = layer.settings;
    let allowed = match field {
        "hostNetwork" => settings.host_network,
        "hostPID" => settings.host_pid,
        _ => settings.host_ipc,
    };
    allowed == Some(true)
}

/// True when the `runAsUser` setting's ranges include root.
fn root_allowed(layer: &Layer<'_>) -> bool {
    (layer.settings.run_as_user.as_ref()).is_some_and(|s| s.allows_root())
}

fn profile_setting(control: &str) -> &'static str {
    if control == "appArmorProfile" {
        "allowedAppArmorProfiles"
    } else {
        "allowedSeccompProfiles"
    }
}

/// True when the settings let workloads run seccomp unconfined.
fn unconfined_allowed(layer: &Layer<'_>) -> bool {
    profiles::allows_unconfined(layer.settings.allowed_seccomp_profiles.as_deref())
}

fn app_armor_allows(layer: &Layer<'_>, name: &str) -> bool {
    (layer.settings.allowed_app_armor_profiles.as_deref())
        .is_some_and(|list| profiles::is_allowed(list, name))
}

fn annotation_allowed(layer: &Layer<'_>, control: &str, value: &str) -> bool {
    if control == "appArmorProfile" {
        app_armor_allows(layer, value)
    } else {
        unconfined_allowed(layer)
    }
}

fn profile_allowed(layer: &Layer<'_>, control: &str, profile: &str) -> bool {
    if control == "appArmorProfile" {
        app_armor_allows(layer, &profiles::field_name(profile, None))
    } else {
        profile == "Unconfined" && unconfined_allowed(layer)
    }
}

/// True when the pod's seccomp profile is Unconfined and the settings allow it: its containers
/// need no profile of their own.
fn pod_runs_allowed_unconfined(layer: &Layer<'_>) -> bool {
    let pod_type = (layer.spec().security_context.as_ref())
        .and_then(|sc| sc.seccomp_profile.as_ref())
        .map(|p| p.profile_type.as_str());
    pod_type == Some("Unconfined") && unconfined_allowed(layer)
}

fn sysctl_allowed(layer: &Layer<'_>, name: &str) -> bool {
    (layer.settings.allowed_unsafe_sysctls.iter())
        .any(|pattern| sysctl_patterns::matches(pattern, name))
}

fn proc_mount_allowed(layer: &Layer<'_>, value: &str) -> bool {
    (layer.settings.allowed_proc_mount_types.as_deref())
        .unwrap_or_default()
        .iter()
        .any(|t| t == value)
}
