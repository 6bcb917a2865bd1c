//! Seccomp and AppArmor profile names as PodSecurityPolicy's annotations listed them
//! (`seccomp.security.alpha.kubernetes.io/allowedProfileNames`,
//! `apparmor.security.beta.kubernetes.io/allowedProfileNames`): `runtime/default`
//! (`docker/default` is the same seccomp profile), `unconfined`, `localhost/<profile>`, a
//! `localhost/` prefix ending in `*`, or `*` for any. Profile fields read as the same names:
//! `RuntimeDefault` is `runtime/default`, `Localhost` with `localhostProfile: p` is
//! `localhost/p`, `Unconfined` is `unconfined`.

/// Which allowlist an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Seccomp,
    AppArmor,
}

impl Family {
    fn fixed_names(self) -> &'static [&'static str] {
        match self {
            Family::Seccomp => &["*", "runtime/default", "docker/default", "unconfined"],
            Family::AppArmor => &["*", "runtime/default", "unconfined"],
        }
    }
}

/// Checks one allowlist entry.
pub fn validate(family: Family, entry: &str) -> Result<(), String> {
    if family.fixed_names().contains(&entry) {
        return Ok(());
    }
    let local = entry.strip_prefix("localhost/").unwrap_or_default();
    let name = local.strip_suffix('*').unwrap_or(local);
    if entry.starts_with("localhost/") && !name.contains('*') && (!name.is_empty() || local == "*")
    {
        return Ok(());
    }
    Err(format!(
        "\"{entry}\" is not a profile name; expected {}, localhost/<profile> or a localhost/ prefix ending in *",
        family.fixed_names().join(", ")
    ))
}

/// The name of a profile field: `type` and `localhostProfile`.
pub fn field_name(profile_type: &str, localhost_profile: Option<&str>) -> String {
    match profile_type {
        "RuntimeDefault" => "runtime/default".to_owned(),
        "Unconfined" => "unconfined".to_owned(),
        "Localhost" => format!("localhost/{}", localhost_profile.unwrap_or_default()),
        other => other.to_owned(),
    }
}

/// True when `allowed` lists `name`.
pub fn is_allowed(allowed: &[String], name: &str) -> bool {
    let runtime_default = |n: &str| n == "runtime/default" || n == "docker/default";
    allowed.iter().any(|entry| {
        entry == "*"
            || entry == name
            || (runtime_default(entry) && runtime_default(name))
            || entry
                .strip_suffix('*')
                .is_some_and(|prefix| name.starts_with(prefix))
    })
}

/// True when `allowed` lets a workload run unconfined: beyond every Pod Security Standards level.
pub fn allows_unconfined(allowed: Option<&[String]>) -> bool {
    allowed.is_some_and(|list| list.iter().any(|e| e == "*" || e == "unconfined"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| (*e).to_owned()).collect()
    }

    #[test]
    fn names_and_wildcards_match() {
        let allowed = list(&["runtime/default", "localhost/profiles/audit-*"]);
        assert!(is_allowed(&allowed, "runtime/default"));
        assert!(is_allowed(&allowed, "docker/default"));
        assert!(is_allowed(&allowed, "localhost/profiles/audit-v2.json"));
        assert!(!is_allowed(&allowed, "localhost/profiles/other.json"));
        assert!(!is_allowed(&allowed, "unconfined"));
        assert!(is_allowed(&list(&["*"]), "unconfined"));
        assert!(allows_unconfined(Some(&list(&["*"]))));
        assert!(!allows_unconfined(Some(&allowed)));
    }

    #[test]
    fn fields_read_as_annotation_names() {
        assert_eq!(field_name("RuntimeDefault", None), "runtime/default");
        assert_eq!(
            field_name("Localhost", Some("p/a.json")),
            "localhost/p/a.json"
        );
        assert_eq!(field_name("Unconfined", None), "unconfined");
    }

    #[test]
    fn validates_entries() {
        for good in [
            "*",
            "runtime/default",
            "docker/default",
            "unconfined",
            "localhost/a.json",
            "localhost/*",
            "localhost/prof-*",
        ] {
            assert!(validate(Family::Seccomp, good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "RuntimeDefault",
            "localhost/",
            "localhost/a*b",
            "runtime/*",
        ] {
            assert!(validate(Family::Seccomp, bad).is_err(), "{bad}");
        }
        assert!(validate(Family::AppArmor, "docker/default").is_err());
        assert!(validate(Family::AppArmor, "localhost/k8s-nginx").is_ok());
    }
}
