//! Checks of single values of `deploy/bundle.yml`, each answering why a value is refused:
//! Kubernetes names, release versions, resource quantities, container images and image
//! patterns.

use pci_shared::image_reference::ImageReference;

/// An RFC 1123 label (a namespace, a service account, a PolicyServer name): 1 to 63 lower-case
/// letters, digits and `-`, starting and ending with a letter or digit.
pub fn dns_label(name: &str) -> Result<(), String> {
    let valid = (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a DNS label (1 to 63 of a-z, 0-9 and -, starting and ending with a letter or digit)"
        ))
    }
}

/// `major.minor.patch`, each a decimal number.
pub fn release_version(version: &str) -> Result<(), String> {
    let parts: Vec<&str> = version.split('.').collect();
    let numeric = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if parts.len() == 3 && parts.iter().all(numeric) {
        Ok(())
    } else {
        Err(format!("{version:?} is not a version major.minor.patch"))
    }
}

/// The resources a PolicyServer's `requests` and `limits` take.
const RESOURCES: [&str; 3] = ["cpu", "ephemeral-storage", "memory"];

/// A resource name and a Kubernetes quantity (`250m`, `256Mi`, `1.5`, `1e3`), as the
/// PolicyServer CRD's pattern accepts it.
pub fn resource(name: &str, quantity: &str) -> Result<(), String> {
    if !RESOURCES.contains(&name) {
        return Err(format!(
            "{name:?} is not a resource; expected one of {}",
            RESOURCES.join(", ")
        ));
    }
    if is_quantity(quantity) {
        Ok(())
    } else {
        Err(format!(
            "{quantity:?} is not a quantity (a number with an optional suffix: m, Ki, Mi, Gi, k, M, G, …)"
        ))
    }
}

/// `^[+-]?(digits[.digits*]|.digits)(binary SI | decimal SI | e[+-]?number)?$`.
fn is_quantity(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let number_len = number_prefix(unsigned);
    if number_len == 0 {
        return false;
    }
    let suffix = &unsigned[number_len..];
    const SUFFIXES: [&str; 16] = [
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
    ];
    if SUFFIXES.contains(&suffix) {
        return true;
    }
    // A decimal exponent: e or E, an optional sign, a number.
    suffix
        .strip_prefix(['e', 'E'])
        .map(|exponent| exponent.strip_prefix(['+', '-']).unwrap_or(exponent))
        .is_some_and(|exponent| !exponent.is_empty() && number_prefix(exponent) == exponent.len())
}

/// The length of the number `digits[.digits*]` or `.digits` at the start of `text`, or 0.
fn number_prefix(text: &str) -> usize {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let whole = digits(text);
    match text[whole..].strip_prefix('.') {
        Some(rest) => {
            let fraction = digits(rest);
            if whole == 0 && fraction == 0 {
                0
            } else {
                whole + 1 + fraction
            }
        }
        None => whole,
    }
}

/// A container image a node can pull as written: a valid reference with an explicit tag or
/// digest (a bare name would mean `latest`, which moves).
pub fn pinned_image(image: &str) -> Result<(), String> {
    let reference = ImageReference::parse(image).map_err(|error| error.to_string())?;
    if reference.tag().is_none() && reference.digest().is_none() {
        return Err(format!(
            "{image:?} names no tag or digest, so it would run whatever `latest` is"
        ));
    }
    Ok(())
}

/// An image pattern of a system exception: a repository without tag or digest, which matches
/// every tag and digest of it. A tag pattern (`:*`) would miss an image pinned by digest alone,
/// whose effective tag is none; a tag or digest would stop matching at the next upgrade.
pub fn repository_pattern(pattern: &str) -> Result<(), String> {
    // A colon before the last `/` is a registry's port, not a tag.
    let last_segment = pattern.rsplit('/').next().unwrap_or(pattern);
    if pattern.contains('@') || last_segment.contains(':') {
        return Err(format!(
            "{pattern:?} names a tag or digest; write the repository alone, which matches every tag and digest"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for good in [
            "kube-system",
            "a",
            "cattle-fleet-local-system",
            "x9",
            &"a".repeat(63),
        ] {
            assert!(dns_label(good).is_ok(), "{good}");
        }
        for bad in ["", "Kube", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(dns_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions() {
        assert!(release_version("1.31.0").is_ok());
        for bad in ["1.31", "v1.31.0", "1.31.0-rc1", "1..0", ""] {
            assert!(release_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_as_the_crd_pattern_reads_them() {
        for good in [
            "250m", "256Mi", "1Gi", "1", "1.5", ".5", "1.", "+2", "1e3", "1E-3", "2k",
        ] {
            assert!(resource("cpu", good).is_ok(), "{good}");
        }
        for bad in ["", "m", "1.5.2", "1KB", "1e", "1ki", "one", "."] {
            assert!(resource("memory", bad).is_err(), "{bad}");
        }
        let error = resource("gpu", "1").unwrap_err();
        assert!(error.contains("\"gpu\" is not a resource"), "{error}");
    }

    #[test]
    fn images_need_a_tag_or_a_digest() {
        assert!(pinned_image("ghcr.io/kubewarden/policy-server:v1.31.0").is_ok());
        let digest = format!("ghcr.io/kubewarden/policy-server@sha256:{}", "a".repeat(64));
        assert!(pinned_image(&digest).is_ok());
        let error = pinned_image("ghcr.io/kubewarden/policy-server").unwrap_err();
        assert!(error.contains("no tag or digest"), "{error}");
        assert!(pinned_image("Not An Image").is_err());
    }

    #[test]
    fn exception_patterns_name_a_repository_alone() {
        for good in [
            "registry.k8s.io/kube-proxy",
            "localhost:5000/calico/node",
            "docker.io/calico/*",
        ] {
            assert!(repository_pattern(good).is_ok(), "{good}");
        }
        for bad in [
            "registry.k8s.io/kube-proxy:*",
            "registry.k8s.io/kube-proxy:v1.32.4",
            "quay.io/calico/node@sha256:abc",
            "localhost:5000/calico/node:v3",
        ] {
            let error = repository_pattern(bad).unwrap_err();
            assert!(error.contains("names a tag or digest"), "{bad}: {error}");
        }
    }
}
