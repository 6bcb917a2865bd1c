//! Gatekeeper's `exemptImages` entries as pod-security image globs. Gatekeeper compares an
//! image's text as written: an entry is the whole text, or a prefix of it when it ends in `*`.
//! pod-security's globs match normalised references (`nginx` is `docker.io/library/nginx:latest`),
//! so each entry becomes a glob that matches no reference the entry does not, other spellings
//! of the same reference aside:
//!
//! | entry | glob | why |
//! |---|---|---|
//! | `safe.io/*` (ends in `/*`) | `safe.io/**` | every repository under the path, any tag |
//! | `safe.io/app:*` (ends in `:*`) | `safe.io/app:*` | any tag of one repository |
//! | `safe.io/app*` (other prefixes) | `safe.io/app*` | repositories of that one segment only: stricter (Gatekeeper also exempts `safe.io/app-x/y`) |
//! | `nginx-exempt` (no tag) | `nginx-exempt:latest` | the reference Gatekeeper names, not every tag of it |
//! | `nginx:1.25`, `app@sha256:…` | the same | |
//! | `*` | – | every image: no exception can say it (see [`Entry::Everything`]) |
//!
//! An entry that is no valid glob here (a `*` inside the text, which Gatekeeper compares
//! literally; a digest prefix) is dropped: the import is stricter.

use pci_shared::image_pattern::ImagePattern;

/// One `exemptImages` entry, converted.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    /// A glob matching no image the entry does not.
    Glob(String),
    /// `*`: every image, which no exception can name; the constraint judges no container.
    Everything,
    /// Not carried over, and why.
    Dropped(String),
}

/// Converts one entry.
pub fn convert(entry: &str) -> Entry {
    if entry == "*" {
        return Entry::Everything;
    }
    let glob = match entry.strip_suffix('*') {
        Some(prefix) if prefix.contains('*') => None,
        Some(prefix) if prefix.ends_with('/') => Some(format!("{prefix}**")),
        Some(prefix) if prefix.ends_with('@') || prefix.contains("@sha") => None,
        Some(prefix) => Some(format!("{prefix}*")),
        None if entry.contains('*') => None,
        None if has_tag_or_digest(entry) => Some(entry.to_owned()),
        None => Some(format!("{entry}:latest")),
    };
    let Some(glob) = glob else {
        return Entry::Dropped(format!(
            "\"{entry}\": Gatekeeper compares this text literally (a * inside, or a digest prefix); no glob here says the same"
        ));
    };
    match ImagePattern::parse(&glob) {
        Ok(_) => Entry::Glob(glob),
        Err(why) => Entry::Dropped(format!("\"{entry}\": {why}")),
    }
}

/// True when an image name carries a tag (a `:` after its last `/`) or a digest.
fn has_tag_or_digest(image: &str) -> bool {
    image.contains('@')
        || image
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pci_shared::image_reference::ImageReference;

    fn glob(entry: &str) -> ImagePattern {
        match convert(entry) {
            Entry::Glob(glob) => ImagePattern::parse(&glob).expect("valid"),
            other => panic!("{entry}: {other:?}"),
        }
    }

    fn matches(entry: &str, image: &str) -> bool {
        glob(entry).matches(&ImageReference::parse(image).expect("an image"))
    }

    #[test]
    fn globs_match_only_what_gatekeeper_exempts() {
        assert!(matches("safeimages.com/*", "safeimages.com/nginx"));
        assert!(matches("safeimages.com/*", "safeimages.com/team/app:1"));
        assert!(!matches("safeimages.com/*", "safeimages.com.evil.io/nginx"));
        assert!(!matches(
            "safeimages.com/*",
            "docker.io/safeimages.com/nginx"
        ));
        assert!(matches(
            "registry.k8s.io/kube-proxy:*",
            "registry.k8s.io/kube-proxy:v1.30"
        ));
        assert!(!matches(
            "registry.k8s.io/kube-proxy:*",
            "registry.k8s.io/kube-proxy-evil:v1"
        ));
        assert!(matches("nginx-exempt", "nginx-exempt"));
        assert!(matches(
            "nginx-exempt",
            "docker.io/library/nginx-exempt:latest"
        ));
        assert!(!matches("nginx-exempt", "nginx-exempt:evil"));
        assert!(matches("nginx:1.25", "nginx:1.25"));
        assert!(!matches("nginx:1.25", "nginx:1.26"));
        assert!(matches("registry.corp/app*", "registry.corp/app-x:1"));
        assert!(!matches("registry.corp/app*", "registry.corp/other"));
    }

    #[test]
    fn what_no_glob_can_say_is_dropped_or_named() {
        assert_eq!(convert("*"), Entry::Everything);
        assert!(matches!(convert("safe*/app"), Entry::Dropped(_)));
        assert!(matches!(convert("app@sha256:ab*"), Entry::Dropped(_)));
        assert!(matches!(convert("a b"), Entry::Dropped(_)));
    }
}
