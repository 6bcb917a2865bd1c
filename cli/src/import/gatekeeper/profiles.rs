//! K8sPSPSeccomp, K8sPSPSeccompV2 and K8sPSPAppArmor: the profiles each container may run,
//! as `allowedSeccompProfiles` and `allowedAppArmorProfiles`.
//!
//! Gatekeeper judges each container's own profile, or the pod's when the container names none;
//! pod-security also judges the pod's own profile, and refuses a container without one unless
//! `*` is listed: both stricter, said in a note. A template that allows the unset profile and
//! exactly what the baseline level allows (RuntimeDefault, any Localhost profile) is the level:
//! then nothing is set. A list that admits no profile pod-security can name refuses every pod:
//! the import fails, naming the field.

use anyhow::{Result, bail};
use serde_json::json;

use super::constraint::Constraint;
use crate::import::conversion::Conversion;

const SECCOMP: &str = "allowedSeccompProfiles";
const APPARMOR: &str = "allowedAppArmorProfiles";

/// What a template allows, in pod-security's profile names.
#[derive(Debug, Default)]
struct Allowed {
    names: Vec<String>,
    /// A container with no profile (Gatekeeper's `not configured`) is allowed.
    unset: bool,
    /// Entries that name nothing pod-security can match as Gatekeeper does, dropped.
    dropped: Vec<String>,
}

impl Allowed {
    fn push(&mut self, name: String) {
        if !self.names.contains(&name) {
            self.names.push(name);
        }
    }

    /// A `localhost/<file>` name; a `*` inside a file name is literal in Gatekeeper but a
    /// prefix here, so such a file is dropped (`*` alone is any file).
    fn localhost(&mut self, file: &str) {
        match file {
            "*" => self.push("localhost/*".to_owned()),
            "" => {}
            f if f.contains('*') => self.dropped.push(format!("localhost/{f}")),
            f => self.push(format!("localhost/{f}")),
        }
    }
}

/// K8sPSPSeccomp: `allowedProfiles` in the annotations' names (`runtime/default`,
/// `docker/default`, `unconfined`, `localhost/<file>`, `localhost/*`, `*`) or the field's types
/// (`RuntimeDefault`, `Unconfined`, `Localhost`, each with every `allowedLocalhostFiles` entry);
/// `not configured` allows a container without a profile.
pub fn seccomp(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let profiles = constraint.strings("allowedProfiles").unwrap_or_default();
    let files = constraint
        .strings("allowedLocalhostFiles")
        .unwrap_or_default();
    let mut allowed = Allowed::default();
    for profile in &profiles {
        match profile.as_str() {
            "*" => return star(constraint, SECCOMP, out),
            "not configured" => allowed.unset = true,
            "runtime/default" | "docker/default" | "unconfined" | "localhost/*" => {
                allowed.push(profile.clone());
            }
            "RuntimeDefault" if !files.is_empty() => allowed.push("runtime/default".to_owned()),
            "Unconfined" if !files.is_empty() => allowed.push("unconfined".to_owned()),
            "Localhost" => files.iter().for_each(|f| allowed.localhost(f)),
            p if p.starts_with("localhost/") => allowed.localhost(&p["localhost/".len()..]),
            other => allowed.dropped.push(other.to_owned()),
        }
    }
    if files.iter().any(|f| f == "*") && profiles.iter().any(|p| p == "Localhost") {
        allowed.push("localhost/*".to_owned());
    }
    set(constraint, SECCOMP, "allowedProfiles", allowed, out)
}

/// K8sPSPSeccompV2: `allowedProfiles` are the field's types (`RuntimeDefault`, `Unconfined`,
/// `Localhost` with each `allowedLocalhostFiles` entry, `not configured`, `*`); the annotations
/// are not read.
pub fn seccomp_v2(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let profiles = constraint.strings("allowedProfiles").unwrap_or_default();
    let files = constraint
        .strings("allowedLocalhostFiles")
        .unwrap_or_default();
    let mut allowed = Allowed::default();
    for profile in &profiles {
        match profile.as_str() {
            "*" => return star(constraint, SECCOMP, out),
            "not configured" => allowed.unset = true,
            "RuntimeDefault" => allowed.push("runtime/default".to_owned()),
            "Unconfined" => allowed.push("unconfined".to_owned()),
            "Localhost" => files.iter().for_each(|f| allowed.localhost(f)),
            other => allowed.dropped.push(other.to_owned()),
        }
    }
    set(constraint, SECCOMP, "allowedProfiles", allowed, out)
}

/// K8sPSPAppArmor: `allowedProfiles` are compared as written with the container's profile
/// (`runtime/default`, `unconfined`, `localhost/<name>`, or an annotation's text); a container
/// naming none runs `runtime/default`. `*` is no wildcard there, so entries with `*` are dropped.
pub fn app_armor(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    let mut allowed = Allowed::default();
    for profile in constraint.strings("allowedProfiles").unwrap_or_default() {
        match profile.as_str() {
            "runtime/default" => {
                allowed.unset = true;
                allowed.push(profile);
            }
            "unconfined" => allowed.push(profile),
            p if p.starts_with("localhost/")
                && p.len() > "localhost/".len()
                && !p.contains('*') =>
            {
                allowed.push(profile);
            }
            _ => allowed.dropped.push(profile),
        }
    }
    set(constraint, APPARMOR, "allowedProfiles", allowed, out)
}

/// `*`: every profile, the unset one included.
fn star(constraint: &Constraint<'_>, setting: &str, out: &mut Conversion) -> Result<()> {
    out.narrow(setting, json!(["*"]), &constraint.at("allowedProfiles"))
}

fn set(
    constraint: &Constraint<'_>,
    setting: &str,
    field: &str,
    allowed: Allowed,
    out: &mut Conversion,
) -> Result<()> {
    let source = constraint.at(field);
    let control = format!("psp.{setting}");
    if !allowed.dropped.is_empty() {
        out.stricter(
            Some(setting),
            &source,
            &[control.as_str()],
            format!(
                "{} name no profile pod-security matches as Gatekeeper does (a * inside is literal there), so they allow nothing here",
                allowed.dropped.join(", ")
            ),
        );
    }
    if allowed.names.is_empty() && !allowed.unset {
        bail!(
            "{source}: allows no profile pod-security can name, so Gatekeeper refuses every container; an empty {setting} would allow any: list the profiles meant"
        );
    }
    if setting == SECCOMP && is_the_baseline_level(&allowed) {
        out.note(
            Some("level"),
            &source,
            "allows the unset profile, RuntimeDefault and any Localhost profile, and not Unconfined: what the baseline level allows (seccompProfile_baseline), so no setting is needed",
        );
        return Ok(());
    }
    if allowed.names.is_empty() {
        bail!(
            "{source}: allows only containers without a profile, which pod-security cannot say: list the profiles meant"
        );
    }
    let unset = if allowed.unset {
        "a container naming no profile (Gatekeeper allows it here) is refused unless * is listed; "
    } else {
        ""
    };
    out.stricter(
        Some(setting),
        &source,
        &[control.as_str()],
        format!(
            "{unset}the pod's own profile is judged too, even where every container names its own"
        ),
    );
    out.narrow(setting, json!(allowed.names), &source)
}

/// True when a seccomp allowlist is what the baseline level allows.
fn is_the_baseline_level(allowed: &Allowed) -> bool {
    let has = |name: &str| allowed.names.iter().any(|n| n == name);
    allowed.unset
        && (has("runtime/default") || has("docker/default"))
        && has("localhost/*")
        && !has("unconfined")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn convert(kind: &str, parameters: &str) -> Result<Conversion> {
        let object: Value = yaml_serde::from_str(&format!(
            "{{kind: {kind}, metadata: {{name: p}}, spec: {{parameters: {parameters}}}}}"
        ))
        .unwrap();
        let constraint = Constraint::of(&object);
        let mut out = Conversion::new("t".into(), "n".into(), "baseline");
        match kind {
            "K8sPSPSeccomp" => seccomp(&constraint, &mut out),
            "K8sPSPSeccompV2" => seccomp_v2(&constraint, &mut out),
            _ => app_armor(&constraint, &mut out),
        }
        .map(|()| out)
    }

    #[test]
    fn seccomp_names_and_types_become_profile_names() {
        let out = convert(
            "K8sPSPSeccomp",
            "{allowedProfiles: [runtime/default, Localhost, localhost/a.json], allowedLocalhostFiles: [b.json]}",
        )
        .unwrap();
        assert_eq!(
            out.settings[SECCOMP],
            json!(["runtime/default", "localhost/b.json", "localhost/a.json"])
        );
        assert_eq!(out.notes[0].stricter, ["psp.allowedSeccompProfiles"]);
    }

    #[test]
    fn the_baseline_level_sets_nothing_and_an_empty_list_is_refused() {
        let out = convert(
            "K8sPSPSeccompV2",
            "{allowedProfiles: [RuntimeDefault, Localhost, not configured], allowedLocalhostFiles: ['*']}",
        )
        .unwrap();
        assert!(!out.settings.contains_key(SECCOMP));
        assert!(convert("K8sPSPSeccompV2", "{allowedProfiles: []}").is_err());
        assert!(convert("K8sPSPSeccomp", "{allowedProfiles: [RuntimeDefault]}").is_err());
    }

    #[test]
    fn app_armor_wildcards_are_literal_in_gatekeeper() {
        let out = convert(
            "K8sPSPAppArmor",
            "{allowedProfiles: [runtime/default, localhost/*]}",
        )
        .unwrap();
        assert_eq!(out.settings[APPARMOR], json!(["runtime/default"]));
        assert!(
            out.notes
                .iter()
                .all(|n| n.stricter == ["psp.allowedAppArmorProfiles"])
        );
    }
}
