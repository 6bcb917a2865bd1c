//! Image patterns (exception and allow/deny globs) and registry entries, matched segment by
//! segment on normalised image references. Patterns normalise exactly as references do
//! ([`normalise_registry`], [`normalise_repository`]).
//!
//! Grammar (documented for users in the README):
//! - a pattern is `name[:tag][@digest]`, normalised like a reference (`nginx` is
//!   `docker.io/library/nginx`, `index.docker.io` and `registry-1.docker.io` are `docker.io`,
//!   the host is lower-cased); a host glob matching one of Docker Hub's names
//!   (`*.docker.io`) matches Docker Hub;
//! - in the registry host, `*` matches within one dot-separated label (and within the port):
//!   `*.corp.com` matches `a.corp.com`, never `a.b.corp.com`, `corp.com` or `corp.com.evil.io`;
//! - in the repository, `*` matches within one path segment, and a segment `**` matches any
//!   number of whole segments: `registry.corp.com/**` matches every repository of that host;
//! - without a tag or digest a pattern matches every tag and digest of the repository; a tag
//!   glob matches the effective tag (`latest` when a reference has neither tag nor digest, no
//!   tag at all when it is pinned by digest alone); a digest must be equal.

use std::fmt;

use crate::glob::{HOST_LABEL, SEGMENT, Wildcards, glob};
use crate::image_reference::{
    DEFAULT_REGISTRY, DOCKER_HUB_ALIASES, Digest, ImageReference, normalise_registry,
    normalise_repository, split_name, split_tag,
};

/// A validated image glob. Two patterns are equal when they normalise alike
/// (`nginx:1.25` is `docker.io/library/nginx:1.25`), whatever their spelling.
#[derive(Clone, Debug)]
pub struct ImagePattern {
    source: String,
    host: String,
    path: Vec<String>,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImagePattern {
    /// Parses a pattern; the error says what is wrong with it.
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("the pattern is empty".into());
        }
        if source.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("pattern \"{source}\" contains whitespace"));
        }
        let (name_and_tag, digest) = match source.split_once('@') {
            Some((rest, digest)) => (rest, Some(Digest::parse(digest)?)),
            None => (source, None),
        };
        let (name, tag) = split_tag(name_and_tag);
        if let Some(tag) = tag
            && (tag.is_empty()
                || !tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-*".contains(&b)))
        {
            return Err(format!("tag pattern \"{tag}\" in \"{source}\" is invalid"));
        }
        let (host, remainder) = split_name(name);
        let host = normalise_registry(host);
        // `**` spans whole segments: `docker.io/**` is every Docker Hub repository, not only
        // the official ones.
        let repository = match remainder {
            "**" => remainder.into(),
            _ => normalise_repository(&host, remainder),
        };
        let path: Vec<String> = repository.split('/').map(str::to_owned).collect();
        check_segments(&path, source)?;
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:*[]".contains(&b))
            || host.is_empty()
        {
            return Err(format!("registry \"{host}\" in \"{source}\" is invalid"));
        }
        Ok(Self {
            source: source.to_owned(),
            host,
            path,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// True when the reference matches this pattern.
    pub fn matches(&self, reference: &ImageReference) -> bool {
        if !host_matches(&self.host, reference.registry()) {
            return false;
        }
        let segments: Vec<&str> = reference.repository().split('/').collect();
        if !match_segments(&self.path, &segments) {
            return false;
        }
        if let Some(tag) = &self.tag {
            match reference.effective_tag() {
                Some(actual) if glob(tag, actual, SEGMENT) => {}
                _ => return false,
            }
        }
        match &self.digest {
            Some(digest) => reference.digest() == Some(digest),
            None => true,
        }
    }
}

impl PartialEq for ImagePattern {
    fn eq(&self, other: &Self) -> bool {
        (&self.host, &self.path, &self.tag, &self.digest)
            == (&other.host, &other.path, &other.tag, &other.digest)
    }
}

impl Eq for ImagePattern {}

impl fmt::Display for ImagePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A validated registry entry: `host[:port][/path/prefix]`, matched at path-segment boundaries.
///
/// The first segment is always the registry host (it must contain a dot or a port, or be
/// `localhost`); `*` matches within one host label, the port, or one path segment. The path is a
/// prefix: `registry.corp.com/payments` covers `registry.corp.com/payments/api`, not
/// `registry.corp.com/payments-evil/api`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryPattern {
    source: String,
    host: String,
    path: Vec<String>,
}

impl RegistryPattern {
    /// Parses a registry entry; the error says what is wrong with it.
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("the entry is empty".into());
        }
        if source.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("entry \"{source}\" contains whitespace"));
        }
        if source.contains('@') {
            return Err(format!(
                "entry \"{source}\" has a digest: registry entries name a host and a path prefix"
            ));
        }
        let mut parts = source.split('/');
        let host_part = parts.next().unwrap_or_default();
        let host = normalise_registry(host_part);
        let looks_like_host =
            host.contains(['.', ':']) || host == "localhost" || host.starts_with('[');
        if !looks_like_host {
            let subject = if host_part == source {
                format!("\"{source}\"")
            } else {
                format!("\"{host_part}\" in \"{source}\"")
            };
            return Err(format!(
                "{subject} is not a registry host (a host has a dot or a port, or is localhost; Docker Hub is docker.io)"
            ));
        }
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:*[]".contains(&b))
        {
            return Err(format!(
                "registry host \"{host_part}\" in \"{source}\" is invalid"
            ));
        }
        let path: Vec<String> = parts.map(str::to_owned).collect();
        check_segments(&path, source)?;
        Ok(Self {
            source: source.to_owned(),
            host,
            path,
        })
    }

    /// True when the reference's registry and repository fall under this entry.
    pub fn matches(&self, reference: &ImageReference) -> bool {
        if !host_matches(&self.host, reference.registry()) {
            return false;
        }
        let segments: Vec<&str> = reference.repository().split('/').collect();
        segments.len() >= self.path.len()
            && self
                .path
                .iter()
                .zip(&segments)
                .all(|(pattern, segment)| glob(pattern, segment, SEGMENT))
    }

    /// True when every reference this entry matches is also matched by `self`.
    /// Conservative: a glob in `other` is only covered by the identical glob.
    pub fn covers(&self, other: &RegistryPattern) -> bool {
        let part_covers = |mine: &str, theirs: &str, wildcards: Wildcards<'_>| {
            if theirs.contains('*') {
                mine == theirs
            } else {
                glob(mine, theirs, wildcards)
            }
        };
        let host_covers = if other.host.contains('*') {
            self.host == other.host
        } else {
            host_matches(&self.host, &other.host)
        };
        host_covers
            && self.path.len() <= other.path.len()
            && self
                .path
                .iter()
                .zip(&other.path)
                .all(|(mine, theirs)| part_covers(mine, theirs, SEGMENT))
    }
}

impl fmt::Display for RegistryPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// True when the host glob `pattern` (normalised) matches the registry `host` (normalised)
/// under any of its names: `docker.io` stands for Docker Hub's other names too
/// ([`DOCKER_HUB_ALIASES`]), so a glob written for one of them (`*.docker.io`,
/// `registry-*.docker.io`) matches it. A literal pattern host is already normalised.
fn host_matches(pattern: &str, host: &str) -> bool {
    glob(pattern, host, HOST_LABEL)
        || (host == DEFAULT_REGISTRY
            && pattern.contains('*')
            && DOCKER_HUB_ALIASES
                .iter()
                .any(|alias| glob(pattern, alias, HOST_LABEL)))
}

/// Repository segments of a pattern: lowercase letters, digits, `.`, `_`, `-` and `*`.
fn check_segments(path: &[String], source: &str) -> Result<(), String> {
    for segment in path {
        let valid = !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-*".contains(&b));
        if !valid {
            return Err(format!(
                "repository segment \"{segment}\" in \"{source}\" is invalid (lowercase letters, digits, '.', '_', '-' and '*'; no tag)"
            ));
        }
    }
    Ok(())
}

fn match_segments(pattern: &[String], segments: &[&str]) -> bool {
    match pattern.split_first() {
        None => segments.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=segments.len()).any(|skip| match_segments(rest, &segments[skip..]))
        }
        Some((first, rest)) => match segments.split_first() {
            Some((segment, remaining)) => {
                glob(first, segment, SEGMENT) && match_segments(rest, remaining)
            }
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const SHA256: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn matches(pattern: &str, image: &str) -> bool {
        let pattern = ImagePattern::parse(pattern).expect("valid pattern");
        let reference = ImageReference::parse(image).expect("valid image");
        pattern.matches(&reference)
    }

    #[rstest]
    #[case::same_image_three_spellings("nginx", "index.docker.io/library/nginx:latest")]
    #[case::normalised_pattern("docker.io/library/nginx", "nginx:1.25")]
    #[case::host_label_glob("*.corp.com/app", "eu.corp.com/app:1")]
    #[case::any_repository("registry.corp.com/**", "registry.corp.com/team/app:1")]
    #[case::segment_glob("registry.corp.com/team/*", "registry.corp.com/team/app")]
    #[case::tag_glob(
        "registry.k8s.io/kube-proxy:v1.*",
        "registry.k8s.io/kube-proxy:v1.31.2"
    )]
    #[case::implicit_latest("nginx:latest", "nginx")]
    #[case::digest_equal(&format!("r.io/app@{SHA256}"), &format!("r.io/app:1@{SHA256}"))]
    #[case::port_glob("registry.corp.com:*/app", "registry.corp.com:5000/app")]
    #[case::host_case("Registry.Corp.com/app", "registry.corp.com/app")]
    #[case::hub_endpoint_pattern("registry-1.docker.io/library/nginx", "nginx:1.25")]
    #[case::hub_endpoint_image("docker.io/library/*", "registry-1.docker.io/library/nginx:1")]
    #[case::hub_endpoint_short_pattern("registry-1.docker.io/nginx:1", "index.docker.io/nginx:1")]
    #[case::hub_endpoint_https_port(
        "docker.io/bitnami/*",
        "registry-1.docker.io:443/bitnami/redis"
    )]
    #[case::hub_glob_written_for_an_alias("registry-*.docker.io/library/*", "nginx")]
    fn matches_the_same_image(#[case] pattern: &str, #[case] image: &str) {
        assert!(matches(pattern, image), "{pattern} should match {image}");
    }

    #[rstest]
    #[case::look_alike_host("registry.corp.com/**", "registry.corp.com.evil.io/x")]
    #[case::host_in_path("registry.corp.com/**", "evil.io/registry.corp.com/x")]
    #[case::label_glob_one_level("*.corp.com/app", "a.b.corp.com/app")]
    #[case::label_glob_not_bare("*.corp.com/app", "corp.com/app")]
    #[case::port_is_another_registry("registry.corp.com/app", "registry.corp.com:5000/app")]
    #[case::segment_glob_one_level("registry.corp.com/team/*", "registry.corp.com/team/a/b")]
    #[case::repository_prefix("registry.corp.com/app", "registry.corp.com/app-evil")]
    #[case::repository_prefix_glob("registry.corp.com/payments", "registry.corp.com/payments/x")]
    #[case::digest_only_is_not_latest("r.io/app:latest", &format!("r.io/app@{SHA256}"))]
    #[case::other_tag("nginx:1.25", "nginx:1.26")]
    #[case::official_is_not_user("nginx", "someone/nginx")]
    #[case::hub_look_alike("docker.io/library/*", "registry-2.docker.io/library/nginx")]
    #[case::hub_endpoint_other_port(
        "docker.io/library/*",
        "registry-1.docker.io:5000/library/nginx"
    )]
    #[case::hub_glob_is_not_another_registry("*.docker.io/library/*", "quay.io/library/nginx")]
    fn does_not_match_other_images(#[case] pattern: &str, #[case] image: &str) {
        assert!(!matches(pattern, image), "{pattern} must not match {image}");
    }

    fn registry_matches(entry: &str, image: &str) -> bool {
        let entry = RegistryPattern::parse(entry).expect("valid entry");
        entry.matches(&ImageReference::parse(image).expect("valid image"))
    }

    #[rstest]
    #[case::host("registry.corp.com", "registry.corp.com/a/b:1", true)]
    #[case::host_case("Registry.CORP.com", "registry.corp.com/a", true)]
    #[case::look_alike_suffix("registry.corp.com", "registry.corp.com.evil.io/x", false)]
    #[case::host_in_path("registry.corp.com", "evil.io/registry.corp.com/x", false)]
    #[case::port_is_another_registry("registry.corp.com", "registry.corp.com:5000/x", false)]
    #[case::explicit_port("registry.corp.com:5000", "registry.corp.com:5000/x", true)]
    #[case::any_port("registry.corp.com:*", "registry.corp.com:5000/x", true)]
    #[case::path_prefix("registry.corp.com/payments", "registry.corp.com/payments/api:1", true)]
    #[case::path_prefix_exact("registry.corp.com/payments", "registry.corp.com/payments", true)]
    #[case::path_prefix_boundary(
        "registry.corp.com/payments",
        "registry.corp.com/payments-evil/api",
        false
    )]
    #[case::label_glob("*.corp.com", "eu.corp.com/x", true)]
    #[case::label_glob_one_level("*.corp.com", "a.b.corp.com/x", false)]
    #[case::docker_hub_official("docker.io/library", "nginx", true)]
    #[case::docker_hub_alias("index.docker.io", "docker.io/bitnami/redis", true)]
    #[case::docker_hub_user("docker.io/library", "bitnami/redis", false)]
    #[case::docker_hub_endpoint_entry("registry-1.docker.io", "nginx", true)]
    #[case::docker_hub_endpoint_image("docker.io", "registry-1.docker.io/library/nginx:1", true)]
    #[case::docker_hub_endpoint_path("docker.io/library", "registry-1.docker.io/nginx", true)]
    #[case::docker_hub_alias_glob("*.docker.io", "bitnami/redis", true)]
    #[case::docker_hub_look_alike("docker.io", "registry-1.docker.io.evil.io/library/nginx", false)]
    fn registry_entries_match_at_boundaries(
        #[case] entry: &str,
        #[case] image: &str,
        #[case] expected: bool,
    ) {
        assert_eq!(
            registry_matches(entry, image),
            expected,
            "{entry} vs {image}"
        );
    }

    #[rstest]
    #[case::no_host("nginx")]
    #[case::digest("registry.corp.com@sha256:abc")]
    #[case::tag_in_path("registry.corp.com/app:1")]
    #[case::empty_segment("registry.corp.com//x")]
    #[case::blank(" ")]
    fn rejects_invalid_registry_entries(#[case] entry: &str) {
        assert!(RegistryPattern::parse(entry).is_err(), "{entry:?}");
    }

    #[test]
    fn coverage_is_literal_prefix_or_glob_over_literal() {
        let parse = |e: &str| RegistryPattern::parse(e).expect("valid");
        assert!(parse("registry.corp.com").covers(&parse("registry.corp.com/payments")));
        assert!(parse("*.corp.com").covers(&parse("eu.corp.com/x")));
        assert!(!parse("registry.corp.com/payments").covers(&parse("registry.corp.com")));
        assert!(!parse("eu.corp.com").covers(&parse("*.corp.com")));
        assert!(parse("docker.io").covers(&parse("registry-1.docker.io/library")));
        assert!(parse("*.docker.io").covers(&parse("docker.io/bitnami")));
    }

    #[rstest]
    #[case::empty("")]
    #[case::blank("  ")]
    #[case::uppercase_repository("registry.corp.com/App")]
    #[case::bad_digest("r.io/app@sha256:abc")]
    #[case::empty_segment("registry.corp.com//app")]
    #[case::empty_tag("nginx:")]
    fn rejects_invalid_patterns(#[case] pattern: &str) {
        assert!(ImagePattern::parse(pattern).is_err(), "{pattern:?}");
    }
}
