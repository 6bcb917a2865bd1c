//! Sysctl patterns of `forbiddenSysctls` and `allowedUnsafeSysctls`, as PodSecurityPolicy read
//! them: a sysctl name (`kernel.msgmax`), a prefix ending in `*` (`kernel.msg*`), or `*` for
//! every sysctl. Names use `.` or `/` as separator, as the API server accepts them.

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

/// True when `pattern` covers the sysctl `name`.
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// True when some sysctl matched by `allowed` is also matched by `forbidden`: an allowed name
/// under a forbidden prefix, or an allowed prefix inside a forbidden one.
pub fn overlaps(allowed: &str, forbidden: &str) -> bool {
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
    fn patterns_match_names_and_prefixes(
        #[case] pattern: &str,
        #[case] name: &str,
        #[case] expected: bool,
    ) {
        assert_eq!(matches(pattern, name), expected);
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
    }
}
