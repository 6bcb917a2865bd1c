//! pod-security: a privileged container, host namespaces, a hostPath volume, an added
//! capability (at least one of them), at baseline or restricted and any version.

use serde_json::json;

use super::{Hostility, in_hostile};
use crate::oracle::draft::{Draft, Spot};
use crate::oracle::draw::Draw;

/// The level and version the settings ask for.
struct Level {
    restricted: bool,
    /// The minor version (`latest`: `u32::MAX`).
    minor: u32,
}

/// Settings at a drawn level, version and safe defaults, and at least one threat.
pub fn hostility(draw: &mut Draw<'_>, draft: &mut Draft) -> Hostility {
    let restricted = draw.chance(1, 2);
    let version = draw.pick(&[
        "latest", "latest", "v1.37", "v1.30", "v1.25", "v1.22", "v1.21", "v1.0",
    ]);
    let minor: u32 = version
        .strip_prefix("v1.")
        .map_or(u32::MAX, |minor| minor.parse().unwrap_or(0));
    let mut mutate = json!({});
    for default in [
        "dropAllCapabilities",
        "disallowPrivilegeEscalation",
        "seccompRuntimeDefault",
        "runAsNonRoot",
    ] {
        if draw.chance(1, 4) {
            mutate[default] = json!(true);
        }
    }
    let mut hostility = Hostility {
        settings: json!({"level": if restricted { "restricted" } else { "baseline" },
            "version": version, "mutate": mutate}),
        ..Hostility::default()
    };
    let level = Level { restricted, minor };
    let mut chosen: Vec<usize> = (0..4).filter(|_| draw.chance(1, 2)).collect();
    if chosen.is_empty() {
        chosen.push(draw.range(0, 3));
    }
    for threat in chosen {
        match threat {
            0 => privileged(draft, &mut hostility),
            1 => host_namespace(draw, draft, &mut hostility),
            2 => host_path(draw, draft, &level, &mut hostility),
            _ => capability(draw, draft, &level, &mut hostility),
        }
    }
    hostility
}

fn privileged(draft: &mut Draft, hostility: &mut Hostility) {
    draft.hostile_mut()["securityContext"]["privileged"] = json!(true);
    hostility.expect(
        "privileged",
        in_hostile(draft, "securityContext.privileged"),
    );
    hostility.threats.push("privileged");
}

fn host_namespace(draw: &mut Draw<'_>, draft: &mut Draft, hostility: &mut Hostility) {
    let field = draw.pick(&["hostPID", "hostPID", "hostNetwork", "hostIPC"]);
    draft.spec.insert(field.into(), json!(true));
    hostility.expect("hostNamespaces", Spot::Pod(field.to_owned()));
    hostility.threats.push(field);
}

/// A hostPath volume (`/` most often) at a drawn position, mounted by the hostile container.
fn host_path(draw: &mut Draw<'_>, draft: &mut Draft, level: &Level, hostility: &mut Hostility) {
    let path = draw.pick(&["/", "/", "//", "/etc", "/var/run/docker.sock", "/proc/"]);
    let name = "host-root".to_owned();
    let mut source = json!({"path": path});
    if draw.chance(1, 2) {
        source["type"] = json!(draw.pick(&["Directory", "DirectoryOrCreate", ""]));
    }
    let index = draw.range(0, draft.volumes.len());
    draft
        .volumes
        .insert(index, json!({"name": name, "hostPath": source}));
    let mounts = &mut draft.hostile_mut()["volumeMounts"];
    if !mounts.is_array() {
        *mounts = json!([]);
    }
    if let Some(mounts) = mounts.as_array_mut() {
        mounts.push(json!({"name": name, "mountPath": "/host"}));
    }
    let spot = Spot::Volume {
        name,
        suffix: "hostPath".into(),
    };
    hostility.expect("hostPathVolumes", spot.clone());
    if level.restricted {
        hostility.expect("restrictedVolumes", spot);
    }
    hostility.threats.push("hostPath");
}

/// `SYS_ADMIN` (or another capability, or a spelling the level does not allow) added among
/// capabilities the level allows.
fn capability(draw: &mut Draw<'_>, draft: &mut Draft, level: &Level, hostility: &mut Hostility) {
    let capability = draw.pick(&[
        "SYS_ADMIN",
        "SYS_ADMIN",
        "CAP_SYS_ADMIN",
        "sys_admin",
        "NET_ADMIN",
        "SYS_PTRACE",
        "ALL",
    ]);
    let allowed: &[&str] = if level.restricted {
        &["NET_BIND_SERVICE"]
    } else {
        &["NET_BIND_SERVICE", "CHOWN", "KILL"]
    };
    let mut added: Vec<&str> = (0..draw.range(0, 2)).map(|_| draw.pick(allowed)).collect();
    let index = draw.range(0, added.len());
    added.insert(index, capability);
    draft.hostile_mut()["securityContext"]["capabilities"]["add"] = json!(added);
    // restricted's own capability check replaces baseline's from v1.22.
    let control = if level.restricted && level.minor >= 22 {
        "capabilities_restricted"
    } else {
        "capabilities_baseline"
    };
    hostility.expect(
        control,
        in_hostile(draft, &format!("securityContext.capabilities.add[{index}]")),
    );
    hostility.threats.push("capability");
}
