//! The parameters of each K8sPSP* kind as pod-security settings, read as the template's rego
//! reads them (what an absent parameter means included). What a template refuses that no
//! setting can refuse fails the import, naming the field; what the import refuses beyond the
//! template is said in a "stricter than the source" note.

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::constraint::Constraint;
use super::{ids, profiles, sysctls};
use crate::import::conversion::Conversion;

/// Converts one constraint's parameters; `false` for a kind no setting expresses (noted).
pub fn convert(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<bool> {
    let id = constraint.id();
    match constraint.kind {
        "K8sPSPPrivilegedContainer" => out.narrow("privileged", json!(false), &id)?,
        "K8sPSPHostNamespace" => {
            out.narrow("hostPID", json!(false), &id)?;
            out.narrow("hostIPC", json!(false), &id)?;
        }
        "K8sPSPHostNetworkingPorts" => host_network_ports(constraint, out)?,
        "K8sPSPVolumeTypes" => volumes(constraint, out)?,
        "K8sPSPHostFilesystem" => host_paths(constraint, out)?,
        "K8sPSPFlexVolumes" => flex_volumes(constraint, out)?,
        "K8sPSPReadOnlyRootFilesystem" => {
            out.narrow("readOnlyRootFilesystem", json!(true), &id)?;
        }
        "K8sPSPAllowPrivilegeEscalationContainer" => {
            out.narrow("allowPrivilegeEscalation", json!(false), &id)?;
        }
        "K8sPSPAllowedUsers" => ids::allowed_users(constraint, out)?,
        "K8sPSPFSGroup" => ids::fs_group(constraint, out)?,
        "K8sPSPCapabilities" => capabilities(constraint, out)?,
        "K8sPSPForbiddenSysctls" => sysctls::convert(constraint, out)?,
        "K8sPSPProcMount" => proc_mount(constraint, out)?,
        "K8sPSPSELinuxV2" => se_linux(constraint, out)?,
        "K8sPSPSeccomp" => profiles::seccomp(constraint, out)?,
        "K8sPSPSeccompV2" => profiles::seccomp_v2(constraint, out)?,
        "K8sPSPAppArmor" => profiles::app_armor(constraint, out)?,
        "K8sPSPHostProbesLifecycle" => out.note(
            Some("level"),
            &id,
            "the level's hostProbesAndHostLifecycle check refuses the same (from Kubernetes v1.34: keep version at latest)",
        ),
        "K8sPSPHostProcess" => out.note(
            Some("level"),
            &id,
            "the level's windowsHostProcess check refuses the same",
        ),
        _ => {
            out.note(
                None,
                &id,
                "no pod-security setting does what this constraint does",
            );
            return Ok(false);
        }
    }
    Ok(true)
}

/// `hostNetwork` is refused unless `true`; host ports are judged against `min` and `max` only
/// when given (each bound on its own).
fn host_network_ports(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let parameters = constraint.parameters;
    let allowed = parameters["hostNetwork"] == true;
    out.narrow("hostNetwork", json!(allowed), &constraint.at("hostNetwork"))?;
    let bound = |field: &str| -> Result<Option<i64>> {
        match &parameters[field] {
            Value::Null => Ok(None),
            value => match value.as_i64() {
                Some(port) => Ok(Some(port)),
                None => bail!("{}: {value} is not a port number", constraint.at(field)),
            },
        }
    };
    let (min, max) = (bound("min")?, bound("max")?);
    if min.is_none() && max.is_none() {
        out.note(
            Some("hostNetwork"),
            &constraint.at("min"),
            "min and max unset: the constraint does not judge host ports; the level refuses them",
        );
        return Ok(());
    }
    let (low, high) = (min.unwrap_or(1).max(1), max.unwrap_or(65535).min(65535));
    if low > high {
        out.note(
            Some("hostNetwork"),
            &constraint.at("min"),
            "no port lies between min and max: every host port is refused, as the level refuses them",
        );
        return Ok(());
    }
    out.narrow(
        "allowedHostPorts",
        json!([{"min": low, "max": high}]),
        &constraint.at("min"),
    )
}

/// Volume types, named as Gatekeeper reads them: the pod volume's source key.
fn volumes(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let source = constraint.at("volumes");
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for volume in constraint.strings("volumes").unwrap_or_default() {
        match volume.as_str() {
            // The pod's key is `cephfs`; pod-security names the type `cephFS`, as PSP did.
            "cephfs" => kept.push("cephFS".to_owned()),
            "cephFS" | "none" => dropped.push(volume),
            _ => kept.push(volume),
        }
    }
    if !dropped.is_empty() {
        out.note(
            Some("volumes"),
            &source,
            format!(
                "{} match no volume source key, so Gatekeeper allows nothing by them: left out",
                dropped.join(", ")
            ),
        );
    }
    if kept.is_empty() {
        kept.push("none".to_owned());
        out.stricter(
            Some("volumes"),
            &source,
            &["psp.volumes"],
            "no volume type is allowed: none refuses a volume without a source too, which Gatekeeper accepts",
        );
    }
    out.narrow("volumes", json!(kept), &source)
}

/// `allowedHostPaths`: none given refuses every hostPath volume, as the level does.
fn host_paths(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let Some(paths) = constraint.parameters["allowedHostPaths"]
        .as_array()
        .filter(|p| !p.is_empty())
    else {
        return Ok(());
    };
    let paths: Vec<Value> = paths
        .iter()
        .map(|p| json!({"pathPrefix": p["pathPrefix"], "readOnly": p["readOnly"] == true}))
        .collect();
    out.narrow(
        "allowedHostPaths",
        json!(paths),
        &constraint.at("allowedHostPaths"),
    )
}

/// `allowedFlexVolumes`: none given refuses every flexVolume, which an empty setting (any
/// driver) cannot say.
fn flex_volumes(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let source = constraint.at("allowedFlexVolumes");
    let Some(drivers) = constraint.parameters["allowedFlexVolumes"]
        .as_array()
        .filter(|d| !d.is_empty())
    else {
        bail!(
            "{source}: none listed refuses every flexVolume in Gatekeeper, but an empty allowedFlexVolumes allows any driver: leave flexVolume out of K8sPSPVolumeTypes' volumes instead"
        );
    };
    let drivers: Vec<Value> = drivers
        .iter()
        .map(|d| json!({"driver": d["driver"]}))
        .collect();
    out.narrow("allowedFlexVolumes", json!(drivers), &source)
}

/// Once every constraint is in: drivers are moot when `volumes` refuses flexVolume (Gatekeeper
/// refuses every flexVolume then), and pod-security refuses to list them.
pub fn reconcile(out: &mut Conversion) {
    let refuses_flex = out
        .settings
        .get("volumes")
        .and_then(Value::as_array)
        .is_some_and(|v| !v.iter().any(|t| t == "flexVolume" || t == "*"));
    if refuses_flex && out.settings.remove("allowedFlexVolumes").is_some() {
        out.note(
            Some("volumes"),
            "allowedFlexVolumes",
            "volumes does not list flexVolume, so no driver can be used: the drivers are left out",
        );
    }
}

/// `allowedCapabilities` (none given: none may be added) and `requiredDropCapabilities`.
fn capabilities(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let source = constraint.at("allowedCapabilities");
    let drop = constraint.strings("requiredDropCapabilities");
    let name = |c: &str| {
        let upper = c.to_ascii_uppercase();
        upper.strip_prefix("CAP_").unwrap_or(&upper).to_owned()
    };
    // Named in both lists: pod-security refuses to allow and require dropping one capability
    // (`ALL` in the drop list does not count: drop everything, add back what is allowed).
    let must_drop = |c: &str| drop.iter().flatten().any(|d| name(d) == name(c));
    let mut allowed = Vec::new();
    for capability in constraint
        .strings("allowedCapabilities")
        .unwrap_or_default()
    {
        if name(&capability) == "ALL" {
            out.stricter(
                Some("allowedCapabilities"),
                &source,
                &["psp.allowedCapabilities"],
                "ALL lets a container add ALL (and nothing else by name) in Gatekeeper; pod-security cannot allow it without allowing every capability (*): left out",
            );
        } else if capability != "*" && must_drop(&capability) {
            out.stricter(
                Some("allowedCapabilities"),
                &source,
                &["psp.allowedCapabilities"],
                format!(
                    "{capability} must also be dropped (requiredDropCapabilities), which pod-security refuses to allow at once: left out, so a container adding and dropping it is refused"
                ),
            );
        } else {
            allowed.push(capability);
        }
    }
    out.narrow("allowedCapabilities", json!(allowed), &source)?;
    if let Some(drop) = drop {
        out.narrow(
            "requiredDropCapabilities",
            json!(drop),
            &constraint.at("requiredDropCapabilities"),
        )?;
    }
    Ok(())
}

/// `procMount`: `Unmasked` allows both types; anything else is `Default`.
fn proc_mount(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let unmasked = constraint.parameters["procMount"]
        .as_str()
        .is_some_and(|p| p.eq_ignore_ascii_case("unmasked"));
    let types = if unmasked {
        json!(["Default", "Unmasked"])
    } else {
        json!(["Default"])
    };
    out.narrow("allowedProcMountTypes", types, &constraint.at("procMount"))
}

/// `allowedSELinuxOptions`: Gatekeeper accepts options whose every field set equals that of
/// one allowed entry, and no options at all; `seLinux: MustRunAs` takes exactly one set of
/// options and requires them, so the first entry is required (stricter).
fn se_linux(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let source = constraint.at("allowedSELinuxOptions");
    let Some(entries) = constraint.parameters["allowedSELinuxOptions"]
        .as_array()
        .filter(|e| !e.is_empty())
    else {
        bail!(
            "{source}: none listed refuses every pod or container that sets seLinuxOptions, which pod-security cannot say: list the options meant"
        );
    };
    let first: serde_json::Map<String, Value> = ["user", "role", "type", "level"]
        .into_iter()
        .filter(|k| entries[0][*k].is_string())
        .map(|k| (k.to_owned(), entries[0][k].clone()))
        .collect();
    if first.is_empty() {
        bail!(
            "{source}[0]: names no user, role, type or level, which allows only empty options: pod-security cannot say it"
        );
    }
    let others = if entries.len() > 1 {
        ", options matching only another allowed entry are refused"
    } else {
        ""
    };
    out.stricter(
        Some("seLinux"),
        &source,
        &["psp.seLinux"],
        format!(
            "MustRunAs requires exactly the first entry's options on the pod or every container: a pod without options (mutate.podSecurityPolicyDefaults can set them), or with only some of these fields{others}, is refused"
        ),
    );
    out.narrow(
        "seLinux",
        json!({"rule": "MustRunAs", "seLinuxOptions": first}),
        &source,
    )
}
