//! Sysctl patterns of `forbiddenSysctls` and `allowedUnsafeSysctls`, as PodSecurityPolicy read
//! them: a sysctl name (`kernel.msgmax`), a prefix ending in `*` (`kernel.msg*`), or `*` for
//! every sysctl. Names use `.` or `/` as separator, as the API server accepts them.
//!
//! Names and patterns are compared as the kubelet applies them ([`normalise`]): `kernel/msgmax`
//! is the sysctl `kernel.msgmax`, so `kernel.*` forbids it and `kernel/*` is the family
//! `kernel.*`. The level's own safe list is compared exactly, as Pod Security Admission does
//! (`checks/sysctls.rs`).

use std::borrow::Cow;

/// A sysctl name (or pattern) as the kubelet applies it: when its first separator is `/`,
/// every `/` becomes `.` and every `.` becomes `/` (`kernel/msgmax` is `kernel.msgmax`,
/// `net/ipv4/conf/eno2.100/rp_filter` is `net.ipv4.conf.eno2/100.rp_filter`, the `.` of a VLAN
/// interface name kept as `/`); a name whose first separator is `.` is kept as written. This is
/// Kubernetes' `NormalizeName` (`k8s.io/component-helpers/node/util/sysctl`), the rule of
/// sysctl.d(5).
///
/// A pattern normalises the same way, and a prefix keeps matching: a prefix without a separator
/// is unchanged by the swap, one with a separator shares its first separator with every name it
/// starts.
pub fn normalise(name: &str) -> Cow<'_, str> {
    match name.find(['.', '/']) {
        Some(first) if name.as_bytes()[first] == b'/' => Cow::Owned(
            name.chars()
                .map(|c| match c {
                    '/' => '.',
                    '.' => '/',
                    other => other,
                })
                .collect(),
        ),
        _ => Cow::Borrowed(name),
    }
}

/// For messages that show `name` as written: ` (the kubelet applies kernel.msgmax)` when the
/// kubelet applies another spelling, else nothing.
pub fn applied_note(name: &str) -> String {
    match normalise(name) {
        Cow::Borrowed(_) => String::new(),
        Cow::Owned(applied) => format!(" (the kubelet applies {applied})"),
    }
}

/// Checks one pattern.
pub fn validate(pattern: &str) -> Result<(), String> {
    if pattern == "*" {
        return Ok(());
    }
    let name = pattern.strip_suffix('*').unwrap_or(pattern);
    let well_formed = !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'/' | b'_' | b'-')
        })
        && (pattern.ends_with('*')
            || name
                .bytes()
                .last()
                .is_some_and(|b| b.is_ascii_alphanumeric()))
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if !well_formed || name.contains('*') {
        return Err(format!(
            "\"{pattern}\" is not a sysctl name, a prefix ending in * or *"
        ));
    }
    Ok(())
}

/// True when `pattern` covers the sysctl `name`, both read as the kubelet applies them.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (pattern, name) = (normalise(pattern), normalise(name));
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// True when some sysctl matched by `allowed` is also matched by `forbidden`: an allowed name
/// under a forbidden prefix, or an allowed prefix inside a forbidden one; both read as the
/// kubelet applies them (`kernel/msg*` overlaps `kernel.msgmax`).
pub fn overlaps(allowed: &str, forbidden: &str) -> bool {
    let (allowed, forbidden) = (normalise(allowed), normalise(forbidden));
    match (allowed.strip_suffix('*'), forbidden.strip_suffix('*')) {
        (_, Some(forbidden_prefix)) => allowed.starts_with(forbidden_prefix),
        (Some(allowed_prefix), None) => forbidden.starts_with(allowed_prefix),
        (None, None) => allowed == forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("*", "kernel.msgmax", true)]
    #[case("kernel.msg*", "kernel.msgmax", true)]
    #[case("kernel.msg*", "kernel.shm_rmid_forced", false)]
    #[case("kernel.msgmax", "kernel.msgmax", true)]
    #[case("kernel.msgmax", "kernel.msgmaxx", false)]
    #[case("net/ipv4/*", "net/ipv4/tcp_syncookies", true)]
    #[case("kernel.*", "kernel/msgmax", true)]
    #[case("kernel.msgmax", "kernel/msgmax", true)]
    #[case("kernel/*", "kernel.msgmax", true)]
    #[case("ker*", "kernel/msgmax", true)]
    #[case("net.ipv4.conf.eno2/100.*", "net/ipv4/conf/eno2.100/rp_filter", true)]
    #[case("net/ipv4/conf/eno2.100/*", "net.ipv4.conf.eno2/100.rp_filter", true)]
    #[case("net.ipv4.conf.eno2.*", "net/ipv4/conf/eno2.100/rp_filter", false)]
    #[case("kernel/msgmax", "kernel.msgmax.x", false)]
    fn patterns_match_names_and_prefixes(
        #[case] pattern: &str,
        #[case] name: &str,
        #[case] expected: bool,
    ) {
        assert_eq!(matches(pattern, name), expected);
    }

    #[rstest]
    #[case("kernel.msgmax", "kernel.msgmax")]
    #[case("kernel/msgmax", "kernel.msgmax")]
    #[case("net/ipv4/conf/eno2.100/rp_filter", "net.ipv4.conf.eno2/100.rp_filter")]
    #[case("net.ipv4.conf.eno2/100.rp_filter", "net.ipv4.conf.eno2/100.rp_filter")]
    #[case("kernel/*", "kernel.*")]
    #[case("kernel", "kernel")]
    #[case("*", "*")]
    fn names_normalise_as_the_kubelet_applies_them(#[case] written: &str, #[case] applied: &str) {
        assert_eq!(normalise(written), applied);
    }

    #[test]
    fn messages_note_the_name_applied_when_it_is_not_the_name_written() {
        assert_eq!(applied_note("kernel.msgmax"), "");
        assert_eq!(
            applied_note("kernel/msgmax"),
            " (the kubelet applies kernel.msgmax)"
        );
    }

    /// The other spelling of a name or pattern that the kubelet applies alike.
    fn respelled(name: &str) -> String {
        name.chars()
            .map(|c| match c {
                '/' => '.',
                '.' => '/',
                other => other,
            })
            .collect()
    }

    #[test]
    fn both_spellings_of_a_name_or_a_pattern_match_alike() {
        let names = [
            "kernel.msgmax",
            "kernel.shm_rmid_forced",
            "net.ipv4.tcp_syncookies",
        ];
        let patterns = [
            "*",
            "kernel.*",
            "kernel.msg*",
            "ker*",
            "kernel.msgmax",
            "net.*",
        ];
        for name in names {
            for pattern in patterns {
                let expected = matches(pattern, name);
                for (p, n) in [
                    (pattern.to_owned(), respelled(name)),
                    (respelled(pattern), name.to_owned()),
                    (respelled(pattern), respelled(name)),
                ] {
                    assert_eq!(matches(&p, &n), expected, "{p} {n}");
                }
                for allowed in patterns {
                    let expected = overlaps(allowed, pattern);
                    assert_eq!(
                        overlaps(&respelled(allowed), pattern),
                        expected,
                        "{allowed} {pattern}"
                    );
                    assert_eq!(overlaps(allowed, &respelled(pattern)), expected);
                }
            }
        }
    }

    #[test]
    fn validates_names_prefixes_and_star() {
        for good in [
            "*",
            "kernel.msgmax",
            "kernel.*",
            "net.ipv4.conf.eth0-1.rp_filter",
            "net/ipv4/*",
        ] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "**",
            "kernel.*.max",
            "Kernel.msgmax",
            "kernel.msgmax.",
            "*kernel",
            "kernel msg",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overlaps_when_one_set_reaches_into_the_other() {
        assert!(overlaps("kernel.msgmax", "kernel.*"));
        assert!(overlaps("kernel.*", "kernel.msgmax"));
        assert!(overlaps("kernel.msg*", "*"));
        assert!(overlaps("kernel.msgmax", "kernel.msgmax"));
        assert!(!overlaps("kernel.msgmax", "net.*"));
        assert!(!overlaps("net.core.*", "kernel.msgmax"));
        assert!(overlaps("kernel/msg*", "kernel.msgmax"));
        assert!(overlaps("kernel.msgmax", "kernel/*"));
        assert!(overlaps("kernel/msgmax", "kernel.msgmax"));
        assert!(!overlaps("kernel/msgmax", "net.*"));
    }
}
