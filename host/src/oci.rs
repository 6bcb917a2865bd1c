//! Publishing and fetching policies as OCI artifacts, as `kwctl push` and policy-server do.
//!
//! A policy is one layer (`application/vnd.wasm.content.layer.v1+wasm`, the annotated module)
//! and the config `{}` (`application/vnd.wasm.config.v1+json`); the manifest carries the
//! metadata annotations that fit on one line. Credentials come from the Docker config.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use oci_client::client::{
    Certificate, CertificateEncoding, ClientConfig, ClientProtocol, Config, ImageLayer,
};
use oci_client::manifest::{
    IMAGE_CONFIG_MEDIA_TYPE, IMAGE_LAYER_GZIP_MEDIA_TYPE, OciImageManifest, OciManifest,
    WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;

use crate::metadata::Metadata;

mod bounded;
#[cfg(test)]
mod pull_tests;

/// Manifest media types the OCI lookups accept: OCI and Docker manifests and indexes.
const MANIFEST_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The media type of a DSSE envelope layer (cosign attestations).
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// The annotation OCI tools read for the source repository.
pub const OCI_SOURCE_ANNOTATION: &str = "org.opencontainers.image.source";
const POLICY_SOURCE_ANNOTATION: &str = "io.kubewarden.policy.source";
/// The first bytes of every wasm module.
const WASM_MAGIC: &[u8] = b"\0asm";
/// The largest layer [`Registry::pull_artifact`] takes (64 MiB): the files of an evidence
/// pack or a signature are far smaller; more is a registry to stop reading from.
pub const MAX_LAYER_BYTES: u64 = 64 * 1024 * 1024;
/// The most layers [`Registry::pull_artifact`] takes (an evidence pack has three, a signature
/// image one per signature); the layers together may declare at most twice
/// [`MAX_LAYER_BYTES`], so memory stays bounded.
pub const MAX_LAYERS: usize = 64;

/// How to reach a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// HTTPS (the default), trusting the Mozilla roots built in (webpki-roots) and the
    /// certificates given to [`Registry::with_roots`].
    Https,
    /// Plain HTTP, only when asked (local registries).
    Http,
    /// HTTPS, except plain HTTP for these registries (`host[:port]`), like kwctl's insecure sources.
    HttpsExcept(Vec<String>),
}

impl Transport {
    /// Plain HTTP when the user asked for it (`--insecure`), else HTTPS.
    pub fn insecure_if(insecure: bool) -> Self {
        if insecure { Self::Http } else { Self::Https }
    }
}

/// Where the registry's credentials come from.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// The Docker config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
    DockerConfig,
    /// A given Docker config file.
    DockerConfigFile(std::path::PathBuf),
    /// No credentials.
    Anonymous,
}

impl Credentials {
    /// The given Docker config file (`--docker-config`), else the user's Docker config.
    pub fn docker(config: Option<&Path>) -> Self {
        match config {
            Some(path) => Self::DockerConfigFile(path.to_path_buf()),
            None => Self::DockerConfig,
        }
    }
}

/// A connection to one registry.
pub struct Registry {
    client: Client,
    credentials: Credentials,
    runtime: tokio::runtime::Runtime,
}

/// What a push returns: the immutable reference and the manifest digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// `registry/repository@sha256:…`.
    pub immutable_ref: String,
    /// `sha256:…` of the manifest.
    pub manifest_digest: String,
}

/// One layer of an image, with the annotations of its descriptor.
#[derive(Clone, Debug)]
pub struct PulledLayer {
    pub data: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// An artifact pulled back from a registry ([`Registry::pull_artifact`]).
#[derive(Clone, Debug)]
pub struct PulledArtifact {
    pub layers: Vec<PulledLayer>,
    /// The manifest's `artifactType`.
    pub artifact_type: Option<String>,
    /// The manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// `sha256:…` of the manifest.
    pub manifest_digest: String,
}

/// A policy pulled back from a registry.
#[derive(Clone, Debug)]
pub struct Pulled {
    /// The module bytes (the first and only layer).
    pub module: Vec<u8>,
    /// Media type of that layer.
    pub layer_media_type: String,
    /// The config blob and its media type.
    pub config: Vec<u8>,
    pub config_media_type: String,
    /// The manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// `sha256:…` of the manifest.
    pub manifest_digest: String,
}

/// What a push uploads: the layers, the config, and the manifest naming them, built once so
/// that what is pushed and the digest computed without a registry are the same bytes.
pub struct Artifact {
    layers: Vec<ImageLayer>,
    config: Config,
    manifest: OciImageManifest,
}

/// One file of an artifact ([`Artifact::files`]): its name, media type and bytes.
pub struct ArtifactFile {
    pub name: String,
    pub media_type: String,
    pub data: Vec<u8>,
}

/// The annotation naming a layer's file, as ORAS and `oras pull` use it.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// The media type and content of an OCI 1.1 artifact's empty config.
const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

impl Artifact {
    /// The manifest of `layers` and `config` with `annotations`, as oci-client builds it.
    fn new(
        layers: Vec<ImageLayer>,
        config: Config,
        annotations: Option<BTreeMap<String, String>>,
    ) -> Self {
        let manifest = OciImageManifest::build(&layers, &config, annotations);
        Self {
            layers,
            config,
            manifest,
        }
    }

    /// An OCI 1.1 artifact of `artifact_type` holding `files`, one layer each, named by its
    /// [`TITLE_ANNOTATION`] (what `oras pull` writes it as), with the empty config.
    pub fn files(
        artifact_type: &str,
        files: Vec<ArtifactFile>,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        let layers = files
            .into_iter()
            .map(|file| {
                let title = BTreeMap::from([(TITLE_ANNOTATION.to_owned(), file.name)]);
                ImageLayer::new(file.data, file.media_type, Some(title))
            })
            .collect();
        let config = Config {
            data: b"{}".to_vec(),
            media_type: EMPTY_CONFIG_MEDIA_TYPE.to_string(),
            annotations: None,
        };
        let mut artifact = Self::new(layers, config, Some(annotations));
        artifact.manifest.artifact_type = Some(artifact_type.to_owned());
        artifact
    }

    /// What `kwctl push` uploads for an annotated module: the module as the one
    /// `application/vnd.wasm.content.layer.v1+wasm` layer, the config `{}`
    /// (`application/vnd.wasm.config.v1+json`), and the one-line metadata annotations on the
    /// manifest ([`manifest_annotations`]). The metadata must be valid, as kwctl requires.
    pub fn policy(module: &[u8]) -> Result<Self> {
        let metadata = Metadata::from_module(module)?
            .context("the module is not annotated: run `make build` first")?;
        metadata.validate()?;
        let layer = ImageLayer::new(module.to_vec(), WASM_LAYER_MEDIA_TYPE.to_string(), None);
        let config = Config {
            data: b"{}".to_vec(),
            media_type: WASM_CONFIG_MEDIA_TYPE.to_string(),
            annotations: None,
        };
        let annotations = manifest_annotations(&metadata.annotations);
        Ok(Self::new(vec![layer], config, Some(annotations)))
    }

    /// The manifest as oci-client sends it: OCI canonical JSON (sorted keys, no spaces).
    pub fn manifest_bytes(&self) -> Result<Vec<u8>> {
        use serde::Serialize;
        let mut bytes = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(
            &mut bytes,
            olpc_cjson::CanonicalFormatter::new(),
        );
        OciManifest::from(self.manifest.clone())
            .serialize(&mut serializer)
            .context("cannot serialise the manifest as canonical JSON")?;
        Ok(bytes)
    }

    /// `sha256:<hex>` of [`Artifact::manifest_bytes`]: the digest a registry answers the push
    /// with, and the one a `registry://…@sha256:…` reference pins.
    pub fn manifest_digest(&self) -> Result<String> {
        Ok(crate::digest::sha256_digest(&self.manifest_bytes()?))
    }
}

/// The manifest digest `make publish` (and `kwctl push`) pushes for an annotated module,
/// computed without a registry: what `make pin` writes to the module lock.
pub fn policy_manifest_digest(module: &[u8]) -> Result<String> {
    Artifact::policy(module)?.manifest_digest()
}

impl Registry {
    /// A client speaking `transport` with `credentials`.
    pub fn new(transport: Transport, credentials: Credentials) -> Result<Self> {
        Self::with_roots(transport, credentials, &[])
    }

    /// A client that also trusts `roots`, PEM certificates of private certificate authorities
    /// (a registry whose certificate no public root signs).
    pub fn with_roots(
        transport: Transport,
        credentials: Credentials,
        roots: &[Vec<u8>],
    ) -> Result<Self> {
        let extra_root_certificates = roots
            .iter()
            .map(|pem| Certificate {
                encoding: CertificateEncoding::Pem,
                data: pem.clone(),
            })
            .collect();
        let protocol = match transport {
            Transport::Https => ClientProtocol::Https,
            Transport::Http => ClientProtocol::Http,
            Transport::HttpsExcept(hosts) => ClientProtocol::HttpsExcept(hosts),
        };
        let client = Client::new(ClientConfig {
            protocol,
            extra_root_certificates,
            ..Default::default()
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime for registry calls")?;
        Ok(Self {
            client,
            credentials,
            runtime,
        })
    }

    /// Pushes an annotated policy module to `reference` (`registry/repository:tag`), as
    /// `kwctl push` does, and returns the immutable reference.
    pub fn push_policy(&self, module: &[u8], reference: &str) -> Result<Pushed> {
        let artifact = Artifact::policy(module)
            .map_err(|error| anyhow!("the module for {reference} cannot be pushed: {error:#}"))?;
        self.push(reference, artifact)
    }

    /// Pushes an artifact built beforehand ([`Artifact::policy`]) to `reference`.
    pub fn push_artifact(&self, reference: &str, artifact: Artifact) -> Result<Pushed> {
        self.push(reference, artifact)
    }

    /// Pushes a container image made of one config (`application/vnd.oci.image.config.v1+json`)
    /// and one layer (`application/vnd.oci.image.layer.v1.tar+gzip`), for tests that need images.
    pub fn push_image(&self, reference: &str, config: &[u8], layer: &[u8]) -> Result<Pushed> {
        let layer = ImageLayer::new(
            layer.to_vec(),
            IMAGE_LAYER_GZIP_MEDIA_TYPE.to_string(),
            None,
        );
        let config = Config {
            data: config.to_vec(),
            media_type: IMAGE_CONFIG_MEDIA_TYPE.to_string(),
            annotations: None,
        };
        self.push(reference, Artifact::new(vec![layer], config, None))
    }

    /// Pushes an artifact's blobs and manifest; the registry must answer with the digest of
    /// the manifest sent ([`Artifact::manifest_digest`]), else the push is an error.
    fn push(&self, reference: &str, artifact: Artifact) -> Result<Pushed> {
        let expected_digest = artifact.manifest_digest()?;
        let reference = parse_reference(reference)?;
        let auth = self.auth(&reference)?;
        let Artifact {
            layers,
            config,
            manifest,
        } = artifact;
        let response = self
            .runtime
            .block_on(
                self.client
                    .push(&reference, &layers, config, &auth, Some(manifest)),
            )
            .with_context(|| format!("push of {reference} failed"))?;
        let manifest_digest = digest_of_manifest_url(&response.manifest_url)?;
        if manifest_digest != expected_digest {
            bail!(
                "push of {reference}: the registry stored the manifest as {manifest_digest}, not as the digest of what was sent ({expected_digest})"
            );
        }
        Ok(Pushed {
            immutable_ref: format!(
                "{}/{}@{}",
                reference.registry(),
                reference.repository(),
                manifest_digest
            ),
            manifest_digest,
        })
    }

    /// Pushes a cosign attestation of the manifest `digest` in `repository`
    /// (`registry/repository`): the signed DSSE `envelope` as the one layer of
    /// `<repository>:sha256-<hex>.att`, where `cosign verify-attestation` and
    /// `cosign download attestation` look for it.
    pub fn push_attestation(
        &self,
        repository: &str,
        digest: &str,
        envelope: &[u8],
        predicate_type: &str,
    ) -> Result<Pushed> {
        let hex = digest
            .strip_prefix("sha256:")
            .with_context(|| format!("{digest} is not a sha256 digest"))?;
        let layer = ImageLayer::new(
            envelope.to_vec(),
            DSSE_MEDIA_TYPE.to_string(),
            Some(BTreeMap::from([
                (
                    "dev.cosignproject.cosign/signature".to_owned(),
                    String::new(),
                ),
                ("predicateType".to_owned(), predicate_type.to_owned()),
            ])),
        );
        let config = serde_json::json!({
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer.sha256_digest()]},
        });
        let config = Config {
            data: serde_json::to_vec(&config)?,
            media_type: IMAGE_CONFIG_MEDIA_TYPE.to_string(),
            annotations: None,
        };
        self.push(
            &format!("{repository}:sha256-{hex}.att"),
            Artifact::new(vec![layer], config, None),
        )
    }

    /// The layers of `reference` of `media_type`, with their annotations.
    pub fn pull_layers(&self, reference: &str, media_type: &str) -> Result<Vec<PulledLayer>> {
        Ok(self.pull_artifact(reference, &[media_type])?.layers)
    }

    /// An artifact whose layers are all of `media_types` (a layer of another type is an
    /// error), none larger than [`MAX_LAYER_BYTES`]: its layers with their annotations,
    /// manifest annotations and digest.
    pub fn pull_artifact(&self, reference: &str, media_types: &[&str]) -> Result<PulledArtifact> {
        self.pull_artifact_bounded(reference, media_types, MAX_LAYER_BYTES)
    }

    /// The same, with layers of at most `max_layer_bytes` (twice that in all, at most
    /// [`MAX_LAYERS`]). A layer is refused before it is fetched when the manifest declares it
    /// larger, and cut off when the registry sends more
    /// than declared; oci-client checks each layer's digest.
    pub fn pull_artifact_bounded(
        &self,
        reference: &str,
        media_types: &[&str],
        max_layer_bytes: u64,
    ) -> Result<PulledArtifact> {
        let reference = parse_reference(reference)?;
        let auth = self.auth(&reference)?;
        let (manifest, manifest_digest) = self
            .runtime
            .block_on(self.client.pull_image_manifest(&reference, &auth))
            .with_context(|| format!("pull of {reference} failed"))?;
        if manifest.layers.len() > MAX_LAYERS {
            bail!(
                "{reference}: {} layers, more than the {MAX_LAYERS} accepted",
                manifest.layers.len()
            );
        }
        let declared: u64 = manifest
            .layers
            .iter()
            .map(|d| u64::try_from(d.size).unwrap_or(u64::MAX))
            .fold(0, u64::saturating_add);
        if declared > max_layer_bytes.saturating_mul(2) {
            bail!(
                "{reference}: its layers declare {declared} bytes in all, more than the {} accepted",
                max_layer_bytes.saturating_mul(2)
            );
        }
        for descriptor in &manifest.layers {
            if !media_types.contains(&descriptor.media_type.as_str()) {
                bail!(
                    "{reference}: a layer of media type {}, not one of {}",
                    descriptor.media_type,
                    media_types.join(", ")
                );
            }
            let size = u64::try_from(descriptor.size).unwrap_or(u64::MAX);
            if size > max_layer_bytes {
                bail!(
                    "{reference}: layer {} declares {} bytes, more than the {max_layer_bytes} accepted",
                    descriptor.digest,
                    descriptor.size
                );
            }
        }
        let mut layers = Vec::new();
        for descriptor in &manifest.layers {
            let mut received = bounded::Bounded::new(u64::try_from(descriptor.size)?);
            self.runtime
                .block_on(self.client.pull_blob(&reference, descriptor, &mut received))
                .with_context(|| format!("pull of {reference}: layer {}", descriptor.digest))?;
            layers.push(PulledLayer {
                data: received.into_inner(),
                annotations: descriptor.annotations.clone().unwrap_or_default(),
            });
        }
        Ok(PulledArtifact {
            layers,
            artifact_type: manifest.artifact_type,
            annotations: manifest.annotations.unwrap_or_default(),
            manifest_digest,
        })
    }

    /// The user and password the Docker config holds for `reference`'s registry, if any.
    pub fn basic_credentials(&self, reference: &str) -> Result<Option<(String, String)>> {
        let reference = parse_reference(reference)?;
        Ok(match self.auth(&reference)? {
            RegistryAuth::Basic(user, password) => Some((user, password)),
            _ => None,
        })
    }

    /// Pulls a policy as policy-server does: every layer must be a wasm layer, the first
    /// layer is the module, and it must be wasm.
    pub fn pull_policy(&self, reference: &str) -> Result<Pulled> {
        let reference = parse_reference(reference)?;
        let auth = self.auth(&reference)?;
        let image = self
            .runtime
            .block_on(
                self.client
                    .pull(&reference, &auth, vec![WASM_LAYER_MEDIA_TYPE]),
            )
            .with_context(|| format!("pull of {reference} failed"))?;
        let Some(layer) = image.layers.into_iter().next() else {
            bail!("{reference} has no layer");
        };
        if !layer.data.starts_with(WASM_MAGIC) {
            bail!("{reference}: the layer is not a wasm module");
        }
        let manifest_digest = image
            .digest
            .with_context(|| format!("{reference}: the registry sent no manifest digest"))?;
        Ok(Pulled {
            module: layer.data.to_vec(),
            layer_media_type: layer.media_type,
            config: image.config.data.to_vec(),
            config_media_type: image.config.media_type,
            annotations: image
                .manifest
                .and_then(|manifest| manifest.annotations)
                .unwrap_or_default(),
            manifest_digest,
        })
    }

    /// The digest a tag points to now (`sha256:…`), as the host capability
    /// `oci/v1/manifest_digest` answers it.
    pub fn manifest_digest(&self, reference: &str) -> Result<String> {
        let reference = parse_reference(reference)?;
        let auth = self.auth(&reference)?;
        self.runtime
            .block_on(self.client.fetch_manifest_digest(&reference, &auth))
            .with_context(|| format!("cannot read the manifest digest of {reference}"))
    }

    /// The manifest (image manifest or index) as the registry serves it, and its digest: what
    /// the host capability `oci/v1/oci_manifest` answers.
    pub fn manifest_raw(&self, reference: &str) -> Result<(Vec<u8>, String)> {
        let reference = parse_reference(reference)?;
        let auth = self.auth(&reference)?;
        let (bytes, digest) = self
            .runtime
            .block_on(
                self.client
                    .pull_manifest_raw(&reference, &auth, MANIFEST_MEDIA_TYPES),
            )
            .with_context(|| format!("cannot fetch the manifest of {reference}"))?;
        Ok((bytes.to_vec(), digest))
    }

    /// The image manifest, its digest and the image configuration: what the host capability
    /// `oci/v1/oci_manifest_config` answers.
    pub fn manifest_and_config(&self, reference: &str) -> Result<(Value, String, Value)> {
        let reference = parse_reference(reference)?;
        let auth = self.auth(&reference)?;
        let (manifest, digest, config) = self
            .runtime
            .block_on(self.client.pull_manifest_and_config(&reference, &auth))
            .with_context(|| format!("cannot fetch the manifest and config of {reference}"))?;
        let config: Value = serde_json::from_str(&config)
            .with_context(|| format!("the config of {reference} is not JSON"))?;
        Ok((serde_json::to_value(&manifest)?, digest, config))
    }

    fn auth(&self, reference: &Reference) -> Result<RegistryAuth> {
        let registry = reference.resolve_registry();
        match &self.credentials {
            Credentials::Anonymous => Ok(RegistryAuth::Anonymous),
            Credentials::DockerConfig => {
                let credential = docker_credential::get_credential(registry);
                auth_from(credential, registry)
            }
            Credentials::DockerConfigFile(path) => {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("cannot read Docker config {}", path.display()))?;
                let credential = docker_credential::get_credential_from_reader(file, registry);
                auth_from(credential, registry)
            }
        }
    }
}

/// Turns a Docker config lookup into registry auth, as kwctl does: user and password become
/// basic auth; no config or no entry means anonymous; identity tokens are not supported.
pub fn auth_from(
    credential: Result<
        docker_credential::DockerCredential,
        docker_credential::CredentialRetrievalError,
    >,
    registry: &str,
) -> Result<RegistryAuth> {
    use docker_credential::{CredentialRetrievalError as Error, DockerCredential};
    match credential {
        Ok(DockerCredential::UsernamePassword(user, password)) => {
            Ok(RegistryAuth::Basic(user, password))
        }
        Ok(DockerCredential::IdentityToken(_)) => {
            eprintln!(
                "warning: the Docker config holds an identity token for {registry}; identity tokens are not supported, pushing anonymously"
            );
            Ok(RegistryAuth::Anonymous)
        }
        Err(Error::ConfigNotFound | Error::ConfigReadError | Error::NoCredentialConfigured) => {
            Ok(RegistryAuth::Anonymous)
        }
        Err(error) => bail!("cannot read the credentials for {registry}: {error}"),
    }
}

/// The certificates of a PEM bundle, one PEM text each (the registry client reads one
/// certificate per entry); an error when it holds none.
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certificates = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(length) = rest[start..].find(END) else {
            bail!("a certificate without its END line");
        };
        let end = start + length + END.len();
        certificates.push(format!("{}\n", &rest[start..end]).into_bytes());
        rest = &rest[end..];
    }
    if certificates.is_empty() {
        bail!("no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    Ok(certificates)
}

/// The manifest annotations for a policy's metadata annotations, as `kwctl push` writes them:
/// multi-line values are left out, the rest trimmed, and the policy source is copied to
/// `org.opencontainers.image.source` unless that is set.
pub fn manifest_annotations(annotations: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut manifest: BTreeMap<String, String> = annotations
        .iter()
        .filter(|(_, value)| value.trim().lines().count() <= 1)
        .map(|(key, value)| (key.clone(), value.trim().to_owned()))
        .collect();
    if let Some(source) = manifest.get(POLICY_SOURCE_ANNOTATION).cloned() {
        manifest
            .entry(OCI_SOURCE_ANNOTATION.to_owned())
            .or_insert(source);
    }
    manifest
}

/// Where a policy is published: by default its `io.kubewarden.policy.ociUrl`, the one registry
/// the bundle names (metadata, Artifact Hub, the module lock); with a `prefix` (a mirror, a
/// local registry) `<prefix>/<id>`, where `id` is the last path element of the ociUrl (as the
/// upstream release does). The tag defaults to `v<io.kubewarden.policy.version>`.
pub fn policy_reference(
    prefix: Option<&str>,
    metadata: &Metadata,
    tag: Option<&str>,
) -> Result<String> {
    let annotation = |key: &str| {
        metadata
            .annotations
            .get(key)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
            .with_context(|| format!("the policy metadata has no {key} annotation"))
    };
    let oci_url = annotation("io.kubewarden.policy.ociUrl")?;
    let tag = match tag {
        Some(tag) => tag.to_owned(),
        None => format!("v{}", annotation("io.kubewarden.policy.version")?),
    };
    let repository = match prefix {
        None => oci_url.to_owned(),
        Some(prefix) => {
            let id = oci_url.rsplit('/').next().unwrap_or(oci_url);
            let prefix = prefix.strip_prefix("registry://").unwrap_or(prefix);
            format!("{}/{id}", prefix.trim_end_matches('/'))
        }
    };
    let reference = format!("{repository}:{tag}");
    parse_reference(&reference)?;
    Ok(reference)
}

/// Parses `registry/repository[:tag][@digest]`, accepting kwctl's `registry://` prefix.
pub fn parse_reference(reference: &str) -> Result<Reference> {
    let bare = reference.strip_prefix("registry://").unwrap_or(reference);
    bare.parse::<Reference>()
        .with_context(|| format!("{reference:?} is not an OCI reference"))
}

/// The `sha256:…` at the end of the manifest URL a push returns.
fn digest_of_manifest_url(url: &str) -> Result<String> {
    let digest = url
        .rsplit('/')
        .next()
        .filter(|last| is_manifest_digest(last))
        .with_context(|| {
            format!("the registry answered the push with {url:?}, not a manifest digest")
        })?;
    Ok(digest.to_owned())
}

/// `sha256:` + 64 hex or `sha512:` + 128 hex, as kwctl accepts.
fn is_manifest_digest(text: &str) -> bool {
    let hex_of = |len: usize, hex: &str| {
        hex.len() == len
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match text.split_once(':') {
        Some(("sha256", hex)) => hex_of(64, hex),
        Some(("sha512", hex)) => hex_of(128, hex),
        _ => false,
    }
}

/// Reads an annotated module from disk.
pub fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !bytes.starts_with(WASM_MAGIC) {
        bail!("{} is not a wasm module", path.display());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_split_into_its_certificates() {
        let one = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----";
        let bundle = format!("# CA one\n{one}\n# CA two\n{}\n", one.replace("AAA", "BBB"));
        let certificates = pem_certificates(&bundle).unwrap();
        assert_eq!(certificates.len(), 2);
        assert_eq!(certificates[0], format!("{one}\n").into_bytes());
        assert!(String::from_utf8_lossy(&certificates[1]).contains("BBB"));
        assert!(pem_certificates("not a certificate").is_err());
        assert!(pem_certificates("-----BEGIN CERTIFICATE-----\nAAA").is_err());
    }

    #[test]
    fn multi_line_annotations_are_left_out_and_the_source_is_copied() {
        let annotations = BTreeMap::from([
            (
                "io.kubewarden.policy.usage".to_owned(),
                "# Title\n\nText".to_owned(),
            ),
            (
                "io.kubewarden.policy.title".to_owned(),
                "  image-digest \n".to_owned(),
            ),
            (
                POLICY_SOURCE_ANNOTATION.to_owned(),
                "https://github.com/a/b".to_owned(),
            ),
        ]);
        let manifest = manifest_annotations(&annotations);
        assert_eq!(
            manifest,
            BTreeMap::from([
                (
                    "io.kubewarden.policy.title".to_owned(),
                    "image-digest".to_owned()
                ),
                (
                    POLICY_SOURCE_ANNOTATION.to_owned(),
                    "https://github.com/a/b".to_owned()
                ),
                (
                    OCI_SOURCE_ANNOTATION.to_owned(),
                    "https://github.com/a/b".to_owned()
                ),
            ])
        );
    }

    #[test]
    fn an_explicit_oci_source_is_kept() {
        let annotations = BTreeMap::from([
            (
                POLICY_SOURCE_ANNOTATION.to_owned(),
                "https://github.com/a/b".to_owned(),
            ),
            (
                OCI_SOURCE_ANNOTATION.to_owned(),
                "https://git.example/c".to_owned(),
            ),
        ]);
        assert_eq!(
            manifest_annotations(&annotations)[OCI_SOURCE_ANNOTATION],
            "https://git.example/c"
        );
    }

    #[test]
    fn the_push_answer_must_end_in_a_manifest_digest() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_of_manifest_url(&format!("http://r:5000/v2/p/manifests/sha256:{hex}")).unwrap(),
            format!("sha256:{hex}")
        );
        for bad in [
            "http://r:5000/v2/p/manifests/v1",
            "http://r:5000/v2/p/manifests/sha256:abc",
            "http://r:5000/v2/p/manifests/md5:0123",
        ] {
            assert!(digest_of_manifest_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn docker_config_credentials_become_basic_auth() {
        let config = r#"{"auths":{"registry.example.com":{"auth":"dXNlcjpzM2NyZXQ="}}}"#;
        let credential = docker_credential::get_credential_from_reader(
            config.as_bytes(),
            "registry.example.com",
        );
        assert!(matches!(
            auth_from(credential, "registry.example.com").unwrap(),
            RegistryAuth::Basic(user, password) if user == "user" && password == "s3cret"
        ));
        let other =
            docker_credential::get_credential_from_reader(config.as_bytes(), "other.example.com");
        assert!(matches!(
            auth_from(other, "other.example.com").unwrap(),
            RegistryAuth::Anonymous
        ));
    }

    #[test]
    fn policies_go_to_their_oci_url_unless_a_prefix_is_given() {
        let metadata = Metadata::from_yaml(
            "rules: []\nmutating: false\nannotations:\n  io.kubewarden.policy.ociUrl: ghcr.io/pci-policies/image-digest\n  io.kubewarden.policy.version: 0.1.0\n",
        )
        .unwrap();
        assert_eq!(
            policy_reference(None, &metadata, None).unwrap(),
            "ghcr.io/pci-policies/image-digest:v0.1.0"
        );
        assert_eq!(
            policy_reference(
                Some("registry://127.0.0.1:5000/team/"),
                &metadata,
                Some("v9")
            )
            .unwrap(),
            "127.0.0.1:5000/team/image-digest:v9"
        );
    }

    #[test]
    fn references_accept_the_registry_scheme() {
        let reference =
            parse_reference("registry://127.0.0.1:5000/pci/image-digest:v0.1.0").unwrap();
        assert_eq!(reference.registry(), "127.0.0.1:5000");
        assert_eq!(reference.repository(), "pci/image-digest");
        assert_eq!(reference.tag(), Some("v0.1.0"));
        assert!(parse_reference("Not A Reference!").is_err());
    }
}
