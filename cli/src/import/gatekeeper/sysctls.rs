//! K8sPSPForbiddenSysctls. Gatekeeper refuses a sysctl that `forbiddenSysctls` matches, and,
//! when `allowedSysctls` is given, every sysctl it does not match, safe ones included; a
//! sysctl both allowed and forbidden is forbidden. pod-security's `forbiddenSysctls` is the
//! same, but its `allowedUnsafeSysctls` only widens the level beyond the safe set, and a
//! pattern may not be both allowed and forbidden. So:
//!
//! - `forbiddenSysctls` is copied;
//! - `allowedSysctls: []` forbids every sysctl (`forbiddenSysctls: ["*"]`);
//! - `allowedSysctls` without `*`: the level's safe sysctls it does not match are forbidden by
//!   name, and the other names it lists become `allowedUnsafeSysctls`;
//! - an allowed pattern a forbidden one wholly covers adds nothing (forbidden wins); one it
//!   covers in part is dropped: stricter, said in a note.
//!
//! Patterns are written as the kubelet reads sysctl names (`kernel/msgmax` is `kernel.msgmax`),
//! so the settings stay valid whichever spelling pod-security compares.

use anyhow::Result;
use serde_json::json;

use super::constraint::Constraint;
use crate::import::conversion::Conversion;

/// The safe sysctls of the latest Kubernetes version pod-security knows: its `sysctls` check
/// allows them at every level (a test checks this list against the compiled module's message).
pub const SAFE: [&str; 14] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

/// Converts a K8sPSPForbiddenSysctls constraint.
pub fn convert(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let read = |field: &str| {
        constraint
            .strings(field)
            .map(|list| list.iter().map(|p| normalise(p)).collect::<Vec<_>>())
    };
    let mut forbidden = read("forbiddenSysctls").unwrap_or_default();
    if let Some(allowed) = read("allowedSysctls") {
        let source = constraint.at("allowedSysctls");
        if allowed.is_empty() {
            forbidden = vec!["*".to_owned()];
            out.note(
                Some("forbiddenSysctls"),
                &source,
                "empty: no sysctl is allowed, so every sysctl is forbidden",
            );
        } else if !allowed.iter().any(|a| a == "*") {
            forbid_unlisted_safe(&allowed, &mut forbidden, &source, out);
        }
        let unsafe_allowed = allowed_beyond_level(&allowed, &forbidden, &source, out);
        if !unsafe_allowed.is_empty() {
            out.narrow("allowedUnsafeSysctls", json!(unsafe_allowed), &source)?;
        }
    }
    if !forbidden.is_empty() {
        out.narrow(
            "forbiddenSysctls",
            json!(forbidden),
            &constraint.at("forbiddenSysctls"),
        )?;
    }
    Ok(())
}

/// Once every constraint is in: an unsafe sysctl one constraint allows and another forbids is
/// forbidden (Gatekeeper refuses it), so the allowed patterns a forbidden one reaches go.
pub fn reconcile(out: &mut Conversion) {
    let list = |out: &Conversion, key: &str| -> Vec<String> {
        out.settings
            .get(key)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let forbidden = list(out, "forbiddenSysctls");
    let allowed = list(out, "allowedUnsafeSysctls");
    if allowed.is_empty() {
        return;
    }
    let kept = allowed_beyond_level(
        &allowed,
        &forbidden,
        "forbiddenSysctls of another constraint",
        out,
    );
    if kept.is_empty() {
        out.settings.remove("allowedUnsafeSysctls");
    } else {
        out.set("allowedUnsafeSysctls", json!(kept));
    }
}

/// Gatekeeper's `allowedSysctls` refuses safe sysctls too: those it does not match are
/// forbidden by name.
fn forbid_unlisted_safe(
    allowed: &[String],
    forbidden: &mut Vec<String>,
    source: &str,
    out: &mut Conversion,
) {
    let unlisted: Vec<&str> = SAFE
        .into_iter()
        .filter(|safe| !allowed.iter().any(|a| matches(a, safe)))
        .filter(|safe| !forbidden.iter().any(|f| matches(f, safe)))
        .collect();
    if unlisted.is_empty() {
        return;
    }
    forbidden.extend(unlisted.iter().map(|s| (*s).to_owned()));
    out.note(
        Some("forbiddenSysctls"),
        source,
        format!(
            "Gatekeeper refuses every sysctl it does not list, safe ones too: the level's safe sysctls it does not list are forbidden by name ({}); import again when a Kubernetes version adds safe sysctls",
            unlisted.join(", ")
        ),
    );
}

/// The allowed patterns that widen the level: not a safe name (the level allows those), not
/// reached by a forbidden pattern (forbidden wins; one reached in part is dropped, stricter).
fn allowed_beyond_level(
    allowed: &[String],
    forbidden: &[String],
    source: &str,
    out: &mut Conversion,
) -> Vec<String> {
    let mut kept = Vec::new();
    for pattern in allowed {
        if forbidden.iter().any(|f| covers(f, pattern)) || SAFE.contains(&pattern.as_str()) {
            continue;
        }
        if let Some(forbidding) = forbidden.iter().find(|f| overlaps(pattern, f)) {
            out.stricter(
                Some("allowedUnsafeSysctls"),
                source,
                &["sysctls"],
                format!(
                    "\"{pattern}\" is also partly forbidden (\"{forbidding}\"): Gatekeeper allows the rest of it, pod-security cannot allow a pattern it forbids in part, so it is not allowed beyond the level"
                ),
            );
            continue;
        }
        kept.push(pattern.clone());
    }
    kept
}

/// A sysctl name or pattern as the kubelet reads it: when its first separator is `/`, the
/// separators swap (`net/ipv4/conf/eth0.1/rp_filter` is `net.ipv4.conf.eth0/1.rp_filter`).
pub fn normalise(name: &str) -> String {
    match name.find(['.', '/']) {
        Some(index) if name.as_bytes()[index] == b'/' => name
            .chars()
            .map(|c| match c {
                '/' => '.',
                '.' => '/',
                other => other,
            })
            .collect(),
        _ => name.to_owned(),
    }
}

/// True when `pattern` (a name, a prefix ending in `*`, or `*`) matches the sysctl `name`.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// True when every sysctl `inner` matches, `outer` matches too.
fn covers(outer: &str, inner: &str) -> bool {
    match (outer.strip_suffix('*'), inner.strip_suffix('*')) {
        (Some(outer), _) => inner.starts_with(outer),
        (None, Some(_)) => false,
        (None, None) => outer == inner,
    }
}

/// True when some sysctl both patterns match exists.
fn overlaps(a: &str, b: &str) -> bool {
    match (a.strip_suffix('*'), b.strip_suffix('*')) {
        (Some(a), Some(b)) => a.starts_with(b) || b.starts_with(a),
        (Some(prefix), None) => b.starts_with(prefix),
        (None, Some(prefix)) => a.starts_with(prefix),
        (None, None) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn convert_yaml(parameters: &str) -> Conversion {
        let object: Value = yaml_serde::from_str(&format!(
            "{{kind: K8sPSPForbiddenSysctls, metadata: {{name: s}}, spec: {{parameters: {parameters}}}}}"
        ))
        .unwrap();
        let mut out = Conversion::new("t".into(), "n".into(), "baseline");
        convert(&Constraint::of(&object), &mut out).expect("converts");
        out
    }

    #[test]
    fn forbidden_wins_over_allowed() {
        let out = convert_yaml("{forbiddenSysctls: ['*'], allowedSysctls: ['*']}");
        assert_eq!(out.settings["forbiddenSysctls"], json!(["*"]));
        assert!(!out.settings.contains_key("allowedUnsafeSysctls"));
        assert!(
            out.notes.iter().all(|n| n.stricter.is_empty()),
            "nothing lost"
        );
    }

    #[test]
    fn an_empty_allowed_list_forbids_everything() {
        let out = convert_yaml("{forbiddenSysctls: ['kernel.*'], allowedSysctls: []}");
        assert_eq!(out.settings["forbiddenSysctls"], json!(["*"]));
    }

    #[test]
    fn allowed_names_forbid_the_unlisted_safe_ones_and_widen_the_unsafe_ones() {
        let out = convert_yaml(
            "{forbiddenSysctls: ['kernel.*'], allowedSysctls: ['net.*', 'kernel/msgmax', 'kernel.shm_rmid_forced']}",
        );
        assert_eq!(out.settings["forbiddenSysctls"], json!(["kernel.*"]));
        assert_eq!(out.settings["allowedUnsafeSysctls"], json!(["net.*"]));
        let out = convert_yaml("{allowedSysctls: ['net.ipv4.tcp_syncookies', 'vm.swappiness']}");
        let forbidden = out.settings["forbiddenSysctls"].as_array().unwrap();
        assert_eq!(forbidden.len(), SAFE.len() - 1);
        assert!(!forbidden.contains(&json!("net.ipv4.tcp_syncookies")));
        assert_eq!(
            out.settings["allowedUnsafeSysctls"],
            json!(["vm.swappiness"])
        );
    }

    #[test]
    fn a_pattern_forbidden_in_part_is_dropped_and_said() {
        let out = convert_yaml("{forbiddenSysctls: ['net.core.somaxconn'], allowedSysctls: ['*']}");
        assert_eq!(
            out.settings["forbiddenSysctls"],
            json!(["net.core.somaxconn"])
        );
        assert!(!out.settings.contains_key("allowedUnsafeSysctls"));
        assert_eq!(out.notes[0].stricter, ["sysctls"]);
    }

    #[test]
    fn names_are_read_as_the_kubelet_reads_them() {
        assert_eq!(normalise("kernel/msgmax"), "kernel.msgmax");
        assert_eq!(
            normalise("net/ipv4/conf/eth0.1/rp_filter"),
            "net.ipv4.conf.eth0/1.rp_filter"
        );
        assert_eq!(
            normalise("net.ipv4.conf.eth0/1.rp_filter"),
            "net.ipv4.conf.eth0/1.rp_filter"
        );
        assert_eq!(normalise("*"), "*");
    }
}
