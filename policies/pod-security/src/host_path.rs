//! hostPath prefixes compared at path-component boundaries, never as raw strings.

/// Checks an `allowedHostPaths` prefix: absolute, without `..` components.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    if !prefix.starts_with('/') {
        return Err(format!("must be an absolute path, got \"{prefix}\""));
    }
    if components(prefix).is_none() {
        return Err(format!("\"{prefix}\" must not contain '..' components"));
    }
    Ok(())
}

/// The components of an absolute path (`.` and empty components dropped), or `None` for a
/// relative path or one with `..` components, which no prefix may allow.
fn components(path: &str) -> Option<Vec<&str>> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    Some(parts)
}

/// True when `path` is `prefix` or lies below it: `/var/log` covers `/var/log/pods` but not
/// `/var/logs` nor `/var/log/../../etc`.
pub fn is_under(path: &str, prefix: &str) -> bool {
    match (components(path), components(prefix)) {
        (Some(path), Some(prefix)) => path.starts_with(&prefix),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/var/log", "/var/log", true)]
    #[case("/var/log/pods", "/var/log", true)]
    #[case("/var/log/", "/var/log", true)]
    #[case("//var//log/./pods", "/var/log/", true)]
    #[case("/var/anything", "/", true)]
    #[case("/var/logs", "/var/log", false)]
    #[case("/var/log/../../etc", "/var/log", false)]
    #[case("/var", "/var/log", false)]
    #[case("var/log", "/var/log", false)]
    fn matches_at_component_boundaries(
        #[case] path: &str,
        #[case] prefix: &str,
        #[case] expected: bool,
    ) {
        assert_eq!(is_under(path, prefix), expected, "{path} under {prefix}");
    }
}
