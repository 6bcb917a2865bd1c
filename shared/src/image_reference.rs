//! Image references: the distribution reference grammar with Docker's normalisation.
//!
//! `nginx`, `docker.io/library/nginx`, `index.docker.io/library/nginx:latest` and
//! `registry-1.docker.io/library/nginx` are the same image; the registry host is compared in
//! lower case; repositories must be lower case; a digest must be well formed for its algorithm.
//! Anything else is an [`ImageError`] naming the reason.

use std::borrow::Cow;
use std::fmt;

/// The registry used when a reference names none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The other names of Docker Hub's registry a runtime pulls from: its legacy name (which
/// Docker's own reference parser reads as `docker.io`) and the endpoint that `docker.io` stands
/// for (where containerd and Docker send every Docker Hub pull), each also with the HTTPS port
/// written out, and `docker.io` itself with that port (the same host Docker Inc. serves; the
/// short name's port only spelled out). One registry, so one name wherever images are matched.
pub const DOCKER_HUB_ALIASES: [&str; 5] = [
    "index.docker.io",
    "registry-1.docker.io",
    "index.docker.io:443",
    "registry-1.docker.io:443",
    "docker.io:443",
];
const OFFICIAL_NAMESPACE: &str = "library";
const NAME_TOTAL_LENGTH_MAX: usize = 255;
const TAG_LENGTH_MAX: usize = 128;

/// A digest algorithm a container runtime accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    /// Parses an algorithm name (`sha256`, `sha384`, `sha512`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The algorithm's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Number of hex characters of an encoded digest.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha384 => 96,
            Self::Sha512 => 128,
        }
    }
}

/// A content digest such as `sha256:e3b0…`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    pub algorithm: DigestAlgorithm,
    pub hex: String,
}

impl Digest {
    /// Parses `algorithm:hex`, requiring lowercase hex of the algorithm's exact length.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (algorithm, hex) = text
            .split_once(':')
            .ok_or_else(|| format!("digest \"{text}\" is not of the form algorithm:hex"))?;
        let algorithm = DigestAlgorithm::parse(algorithm).ok_or_else(|| {
            format!("digest algorithm \"{algorithm}\" is not supported (sha256, sha384, sha512)")
        })?;
        if hex.len() != algorithm.hex_len() {
            return Err(format!(
                "{} digest must have {} hex characters, found {}",
                algorithm.name(),
                algorithm.hex_len(),
                hex.len()
            ));
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!("{} digest must be lowercase hex", algorithm.name()));
        }
        Ok(Self {
            algorithm,
            hex: hex.to_owned(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// Why an image string is not a valid reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageError {
    pub input: String,
    pub reason: String,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid image reference \"{}\": {}",
            self.input.escape_debug(),
            self.reason
        )
    }
}

impl std::error::Error for ImageError {}

/// A parsed, normalised image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageReference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageReference {
    /// Parses and normalises an image reference as a container runtime would.
    pub fn parse(input: &str) -> Result<Self, ImageError> {
        parse_reference(input).map_err(|reason| ImageError {
            input: input.to_owned(),
            reason,
        })
    }

    /// The registry host, lower case, with its port if any (`docker.io`, `registry.corp.com:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path (`library/nginx`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag as written, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The tag a runtime resolves: the written tag, `latest` when there is neither tag nor
    /// digest, and none for a reference pinned by digest alone.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// `registry/repository`, the registry written so that it reads back as a registry.
    pub fn name(&self) -> String {
        format!("{}/{}", self.printable_registry(), self.repository)
    }

    /// The registry as printed. A host without `.` or `:` that is not `localhost` is a registry
    /// only because it was written with upper-case letters (Docker's rule); lower-cased it would
    /// read back as a Docker Hub namespace, a different image. Host names ignore case, so such a
    /// registry is printed in upper case: same host, same meaning when read again.
    fn printable_registry(&self) -> Cow<'_, str> {
        let recognised = self.registry.contains(['.', ':']) || self.registry == "localhost";
        if recognised {
            Cow::Borrowed(&self.registry)
        } else {
            Cow::Owned(self.registry.to_ascii_uppercase())
        }
    }

    /// `registry/repository:tag` with the tag a runtime resolves, as the host's
    /// `oci/v1/manifest_digest` is asked about it. Meant for a reference with a tag, or with
    /// neither tag nor digest (`latest`).
    pub fn tagged_name(&self) -> String {
        format!(
            "{}:{}",
            self.name(),
            self.effective_tag().unwrap_or("latest")
        )
    }

    /// `image` (this reference as written) pinned to `digest`, keeping the tag people read, as
    /// Kyverno's mutateDigest writes it: `nginx:1.27@sha256:…`; an image without a tag gets the
    /// `latest` it stood for (`nginx:latest@sha256:…`). The one pin format of every policy.
    pub fn pinned_text(&self, image: &str, digest: impl fmt::Display) -> String {
        match self.tag() {
            Some(_) => format!("{image}@{digest}"),
            None => format!("{image}:latest@{digest}"),
        }
    }

    /// The same reference with a different digest (the tag is kept for readability).
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }
}

impl fmt::Display for ImageReference {
    /// The fully normalised form: `registry/repository[:tag][@digest]`, with `:latest` made
    /// explicit when the reference has neither tag nor digest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.printable_registry(), self.repository)?;
        if let Some(tag) = self.effective_tag() {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn parse_reference(input: &str) -> Result<ImageReference, String> {
    if input.is_empty() {
        return Err("the reference is empty".into());
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the reference contains whitespace or control characters".into());
    }
    let (name_and_tag, digest) = match input.split_once('@') {
        Some((rest, digest)) => (rest, Some(Digest::parse(digest)?)),
        None => (input, None),
    };
    let (name, tag) = split_tag(name_and_tag);
    if let Some(tag) = tag {
        validate_tag(tag)?;
    }
    if name.is_empty() {
        return Err("the repository name is empty".into());
    }
    let (registry, path) = split_name(name);
    validate_registry(registry)?;
    validate_repository(path)?;
    let registry = normalise_registry(registry);
    let repository = normalise_repository(&registry, path).into_owned();
    // Docker checks the length of the normalised name (`docker.io/library/…` included).
    let normalised_length = registry.len() + 1 + repository.len();
    if normalised_length > NAME_TOTAL_LENGTH_MAX {
        return Err(format!(
            "the repository name is {normalised_length} characters long once normalised ({registry}/…), the maximum is {NAME_TOTAL_LENGTH_MAX}"
        ));
    }
    Ok(ImageReference {
        registry,
        repository,
        tag: tag.map(str::to_owned),
        digest,
    })
}

/// Splits `name[:tag]`: a colon is a tag separator only after the last `/` (else it is a port).
pub(crate) fn split_tag(name_and_tag: &str) -> (&str, Option<&str>) {
    let last_slash = name_and_tag.rfind('/');
    match name_and_tag.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
            (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
        }
        _ => (name_and_tag, None),
    }
}

/// Splits a name into its registry (as written) and path, by Docker's rule: the first component
/// is a registry when it contains `.` or `:`, is `localhost`, or has upper-case letters;
/// otherwise the registry is `docker.io`.
pub(crate) fn split_name(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_REGISTRY, name),
    }
}

/// A registry host as images are compared: lower case (hosts ignore case), and Docker Hub's
/// other names (`index.docker.io`, its endpoint `registry-1.docker.io`, either with `:443`)
/// read as `docker.io`. References and patterns both use it, so an allow or deny entry, an
/// exception or a signature rule written with any of these names matches the images written
/// with any other.
pub fn normalise_registry(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&host.as_str()) {
        DEFAULT_REGISTRY.to_owned()
    } else {
        host
    }
}

/// A repository path as images are compared: a one-segment Docker Hub path is an official image
/// (`nginx` is `library/nginx`). `registry` is already normalised.
pub fn normalise_repository<'a>(registry: &str, path: &'a str) -> Cow<'a, str> {
    if registry == DEFAULT_REGISTRY && !path.contains('/') {
        Cow::Owned(format!("{OFFICIAL_NAMESPACE}/{path}"))
    } else {
        Cow::Borrowed(path)
    }
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= TAG_LENGTH_MAX
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "tag \"{tag}\" is invalid (1 to {TAG_LENGTH_MAX} of [A-Za-z0-9_.-], not starting with . or -)"
        ))
    }
}

fn validate_registry(registry: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (ipv6, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("registry \"{registry}\" has an unclosed IPv6 bracket"))?;
        if ipv6.is_empty() || !ipv6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(format!(
                "registry \"{registry}\" is not a valid IPv6 address"
            ));
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return Err(format!("registry \"{registry}\" is invalid")),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |label: &str| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
        };
        if !host.split('.').all(label_ok) {
            return Err(format!("registry host \"{host}\" is not a valid host name"));
        }
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
        if !valid {
            return Err(format!(
                "registry port \"{port}\" is not a number from 1 to 65535"
            ));
        }
    }
    Ok(())
}

fn validate_repository(repository: &str) -> Result<(), String> {
    if repository.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("repository \"{repository}\" must be lowercase"));
    }
    for component in repository.split('/') {
        if !is_path_component(component) {
            return Err(format!(
                "repository path component \"{component}\" is invalid \
                 (lowercase letters and digits, separated by '.', '_', '__' or dashes)"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let valid = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !valid {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    /// Found by fuzzing: a 240-character Docker Hub name is 258 characters once normalised to
    /// `docker.io/library/…`, which Docker refuses and which our own print could not read back.
    #[test]
    fn the_length_limit_applies_to_the_normalised_name() {
        let short_enough = "a".repeat(255 - "docker.io/library/".len());
        assert!(ImageReference::parse(&short_enough).is_ok());
        let too_long = format!("{short_enough}b");
        let error = ImageReference::parse(&too_long).unwrap_err().to_string();
        assert!(
            error.contains("256 characters long once normalised"),
            "{error}"
        );
        let printed = ImageReference::parse(&short_enough).unwrap().to_string();
        assert!(ImageReference::parse(&printed).is_ok());
    }

    /// Found by fuzzing: `l-oYYYYr` is a registry only because of its upper-case letters, and
    /// its lower-cased print read back as the Docker Hub image `docker.io/l-oyyyyr/co`.
    #[test]
    fn a_registry_recognised_by_its_case_prints_as_a_registry() {
        let reference = ImageReference::parse("l-oYYYYr/co:v1").unwrap();
        assert_eq!(reference.registry(), "l-oyyyyr");
        assert_eq!(reference.to_string(), "L-OYYYYR/co:v1");
        assert_eq!(reference.name(), "L-OYYYYR/co");
        let again = ImageReference::parse(&reference.to_string()).unwrap();
        assert_eq!(again, reference);
        // Registries recognised by a dot, a port or `localhost` print as they are.
        for (input, printed) in [
            ("Registry.Corp.com/app:1", "registry.corp.com/app:1"),
            ("MyHost:5000/app", "myhost:5000/app:latest"),
            ("localhost/app:2", "localhost/app:2"),
            ("nginx", "docker.io/library/nginx:latest"),
        ] {
            assert_eq!(ImageReference::parse(input).unwrap().to_string(), printed);
        }
    }

    use super::*;
    use rstest::rstest;

    const SHA256: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[rstest]
    #[case::official("nginx", "docker.io/library/nginx:latest")]
    #[case::official_explicit("docker.io/library/nginx", "docker.io/library/nginx:latest")]
    #[case::legacy_index(
        "index.docker.io/library/nginx:latest",
        "docker.io/library/nginx:latest"
    )]
    #[case::legacy_index_upper_host(
        "INDEX.docker.io/library/nginx",
        "docker.io/library/nginx:latest"
    )]
    #[case::hub_endpoint("registry-1.docker.io/library/nginx:1", "docker.io/library/nginx:1")]
    #[case::hub_endpoint_upper_host(
        "Registry-1.Docker.IO/bitnami/redis:7",
        "docker.io/bitnami/redis:7"
    )]
    #[case::hub_endpoint_official_short(
        "registry-1.docker.io/nginx",
        "docker.io/library/nginx:latest"
    )]
    #[case::hub_endpoint_https_port(
        "registry-1.docker.io:443/library/nginx:1",
        "docker.io/library/nginx:1"
    )]
    #[case::legacy_index_https_port("index.docker.io:443/nginx", "docker.io/library/nginx:latest")]
    #[case::short_name_https_port("docker.io:443/nginx:1", "docker.io/library/nginx:1")]
    #[case::hub_look_alike(
        "registry-2.docker.io/library/nginx:1",
        "registry-2.docker.io/library/nginx:1"
    )]
    #[case::hub_other_port(
        "registry-1.docker.io:5000/library/nginx:1",
        "registry-1.docker.io:5000/library/nginx:1"
    )]
    #[case::user_repo("bitnami/redis:7.2", "docker.io/bitnami/redis:7.2")]
    #[case::registry_port(
        "registry.corp.com:5000/team/app:1.0",
        "registry.corp.com:5000/team/app:1.0"
    )]
    #[case::localhost("localhost/app", "localhost/app:latest")]
    #[case::localhost_port("localhost:5000/app", "localhost:5000/app:latest")]
    #[case::host_case("Registry.Corp.COM/app", "registry.corp.com/app:latest")]
    #[case::tag_and_digest(&format!("ghcr.io/org/app:1.2@{SHA256}"), &format!("ghcr.io/org/app:1.2@{SHA256}"))]
    #[case::digest_only(&format!("ghcr.io/org/app@{SHA256}"), &format!("ghcr.io/org/app@{SHA256}"))]
    #[case::separators(
        "quay.io/a__b/c-d--e.f_g:v1_2.3-rc",
        "quay.io/a__b/c-d--e.f_g:v1_2.3-rc"
    )]
    #[case::ipv6("[::1]:5000/app:1", "[::1]:5000/app:1")]
    #[case::ipv4("10.0.0.1:5000/app", "10.0.0.1:5000/app:latest")]
    #[case::deep_path("registry.corp.com/a/b/c/d", "registry.corp.com/a/b/c/d:latest")]
    #[case::image_named_like_port("localhost:5000", "docker.io/library/localhost:5000")]
    fn normalises_valid_references(#[case] input: &str, #[case] normalised: &str) {
        let reference = ImageReference::parse(input).expect("valid reference");
        assert_eq!(reference.to_string(), normalised);
    }

    #[test]
    fn sha512_digests_need_128_hex_characters() {
        let hex = "a".repeat(128);
        let reference = ImageReference::parse(&format!("r.io/app@sha512:{hex}")).expect("valid");
        assert_eq!(
            reference.digest().map(|d| d.algorithm),
            Some(DigestAlgorithm::Sha512)
        );
        assert!(ImageReference::parse(&format!("r.io/app@sha512:{}", "a".repeat(64))).is_err());
    }

    #[rstest]
    #[case::empty("", "empty")]
    #[case::leading_space(" nginx", "whitespace")]
    #[case::trailing_newline("nginx\n", "whitespace")]
    #[case::uppercase_repository("registry.corp.com/App", "must be lowercase")]
    #[case::uppercase_official("NGINX", "must be lowercase")]
    #[case::at_host("registry.corp.com@evil.io", "not of the form")]
    #[case::short_digest("nginx@sha256:abc", "64 hex")]
    #[case::uppercase_digest(&SHA256.replace("e3b0", "E3B0").replacen("sha256:", "nginx@sha256:", 1), "lowercase hex")]
    #[case::unknown_algorithm("nginx@md5:d41d8cd98f00b204e9800998ecf8427e", "not supported")]
    #[case::empty_tag("nginx:", "tag")]
    #[case::dash_tag("nginx:-x", "tag")]
    #[case::long_tag(&format!("nginx:{}", "a".repeat(129)), "tag")]
    #[case::double_slash("registry.corp.com//app", "component")]
    #[case::trailing_slash("registry.corp.com/app/", "component")]
    #[case::bad_separator("registry.corp.com/a...b", "component")]
    #[case::bad_port("registry.corp.com:99999/app", "port")]
    #[case::empty_port("registry.corp.com:/app", "port")]
    #[case::bad_host("-bad.io/app", "host")]
    #[case::too_long(&format!("registry.corp.com/{}", "a".repeat(300)), "maximum is 255")]
    #[case::only_tag(":latest", "empty")]
    fn rejects_invalid_references(#[case] input: &str, #[case] reason: &str) {
        let error = ImageReference::parse(input).expect_err("invalid reference");
        assert!(error.reason.contains(reason), "{input:?}: {error}");
    }

    #[test]
    fn effective_tag_is_latest_only_without_digest() {
        let latest = ImageReference::parse("nginx").expect("valid");
        assert_eq!(latest.effective_tag(), Some("latest"));
        let pinned =
            ImageReference::parse(&format!("registry.corp.com/app@{SHA256}")).expect("valid");
        assert_eq!(pinned.effective_tag(), None);
    }

    #[test]
    fn tagged_name_is_what_the_host_resolves() {
        let tagged = |input: &str| ImageReference::parse(input).expect("valid").tagged_name();
        assert_eq!(tagged("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            tagged("registry.corp.com/app:1.0"),
            "registry.corp.com/app:1.0"
        );
        assert_eq!(
            tagged(&format!("registry.corp.com/app:1.0@{SHA256}")),
            "registry.corp.com/app:1.0"
        );
    }

    #[test]
    fn a_pin_keeps_the_tag_and_names_latest_when_there_is_none() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for (image, pinned) in [
            ("nginx:1.27", format!("nginx:1.27@{digest}")),
            ("nginx", format!("nginx:latest@{digest}")),
            (
                "registry.corp.com:5000/app",
                format!("registry.corp.com:5000/app:latest@{digest}"),
            ),
        ] {
            let reference = ImageReference::parse(image).expect(image);
            assert_eq!(reference.pinned_text(image, &digest), pinned);
        }
    }
}
