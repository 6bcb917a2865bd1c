//! A signed pack as an OCI artifact: `evidence --push REPOSITORY` uploads `index.html`,
//! `evidence.json` and `evidence.intoto.json`, one layer each named by its title annotation
//! (what `oras pull` writes them as), tagged with the pack's date, so a registry keeps one
//! pack a day for as long as its retention says (PCI DSS 10.5.1: twelve months).
//! `evidence pull REFERENCE --out DIR --key KEY` writes the three files back and verifies them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use pci_host::oci::{
    ArtifactFile, Credentials, Registry, TITLE_ANNOTATION, Transport, parse_reference,
};

use super::RegistryArgs;
use super::signed::{self, ENVELOPE};

/// The manifest's `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.pci-policies.evidence-pack.v1";
/// The annotation holding the pack's date.
const DATE_ANNOTATION: &str = "io.pci-policies.evidence.date";
/// The annotation listing the pack's clusters.
const CLUSTERS_ANNOTATION: &str = "io.pci-policies.evidence.clusters";

/// The files of a pushed pack, with their media types.
const FILES: [(&str, &str); 3] = [
    ("index.html", "text/html"),
    ("evidence.json", "application/json"),
    (ENVELOPE, pci_host::oci::DSSE_MEDIA_TYPE),
];

/// The registry client `args` ask for: a Docker config that is named must exist, and every
/// certificate of `--registry-ca` (a PEM file, or the `.crt` and `.pem` files of a folder) is
/// trusted besides the public roots.
pub fn registry_for(args: &RegistryArgs) -> Result<Registry> {
    if let Some(config) = &args.docker_config
        && !config.is_file()
    {
        bail!(
            "--docker-config-json-path {}: no such file",
            config.display()
        );
    }
    let mut roots = Vec::new();
    if let Some(path) = &args.registry_ca {
        for file in ca_files(path)? {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("--registry-ca {}", file.display()))?;
            roots.extend(
                pci_host::oci::pem_certificates(&text)
                    .with_context(|| format!("--registry-ca {}", file.display()))?,
            );
        }
    }
    Registry::with_roots(
        Transport::insecure_if(args.insecure),
        Credentials::docker(args.docker_config.as_deref()),
        &roots,
    )
}

/// The certificate files `--registry-ca` names: the file, or a folder's `.crt` and `.pem`
/// files (a folder may be empty: a ConfigMap that was never created mounts as one).
fn ca_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("--registry-ca {}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|file| {
            file.is_file()
                && file
                    .extension()
                    .is_some_and(|ext| ext == "crt" || ext == "pem")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// `error` with what usually causes it: TLS spoken to a plain-HTTP registry, or credentials
/// the registry refuses.
fn explained(error: anyhow::Error) -> anyhow::Error {
    let text = format!("{error:#}");
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        error.context("the registry may speak plain HTTP: add --insecure (local registries only)")
    } else if text.contains("401") || text.contains("UNAUTHORIZED") || text.contains("Unauthorized")
    {
        error.context(
            "the registry refused the credentials: give them in a Docker config (--docker-config-json-path, or DOCKER_CONFIG)",
        )
    } else {
        error
    }
}

/// `pci-policies evidence pull`.
#[derive(Args)]
pub struct PullArgs {
    /// The pack: `registry/repository:YYYY-MM-DD` (or `@sha256:…`).
    reference: String,
    /// Where to write index.html, evidence.json and evidence.intoto.json.
    #[arg(long)]
    out: PathBuf,
    /// The public key the pack must be signed with (cosign.pub): a pack that does not verify
    /// is refused.
    #[arg(long)]
    key: PathBuf,
    /// The cluster the pack must cover: a signed pack of another cluster is refused.
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// The reference a pack is pushed to: `repository`'s own tag, else the pack's date.
pub fn push_reference(repository: &str, date: &str) -> Result<String> {
    let reference = repository.strip_prefix("registry://").unwrap_or(repository);
    if reference.is_empty() {
        bail!("--push is empty: give REGISTRY/REPOSITORY, e.g. registry.example.com/pci/evidence");
    }
    if reference.contains('@') {
        bail!("--push {repository}: give a repository (and a tag), not a digest");
    }
    if !reference.contains('/') {
        bail!(
            "--push {repository}: give REGISTRY/REPOSITORY, e.g. {repository}/pci/evidence (the tag is the pack's date)"
        );
    }
    let host = reference.split('/').next().unwrap_or_default();
    if !(host.contains('.') || host.contains(':') || host == "localhost") {
        bail!(
            "--push {repository}: name the registry's host first (registry.example.com/{reference}): a bare name would go to Docker Hub"
        );
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let tagged = last.contains(':');
    if let Some((_, tag)) = last.split_once(':')
        && pci_shared::time::Date::parse(tag).is_ok()
        && tag != date
    {
        bail!("--push {repository}: the tag {tag} is a date, but the pack is dated {date}");
    }
    let reference = if tagged {
        reference.to_owned()
    } else {
        format!("{reference}:{date}")
    };
    parse_reference(&reference).with_context(|| format!("--push {repository}"))?;
    Ok(reference)
}

/// Pushes the signed pack in `dir` to `reference`; returns the immutable reference.
pub fn push(
    dir: &Path,
    reference: &str,
    date: &str,
    clusters: &[String],
    registry: &Registry,
) -> Result<String> {
    let mut files = Vec::new();
    for (name, media_type) in FILES {
        let path = dir.join(name);
        let data =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        files.push(ArtifactFile {
            name: name.to_owned(),
            media_type: media_type.to_owned(),
            data,
        });
    }
    let mut annotations = BTreeMap::from([
        (DATE_ANNOTATION.to_owned(), date.to_owned()),
        (
            "org.opencontainers.image.title".to_owned(),
            "PCI DSS evidence pack".to_owned(),
        ),
    ]);
    if !clusters.is_empty() {
        annotations.insert(CLUSTERS_ANNOTATION.to_owned(), clusters.join(","));
    }
    // A pack is evidence of its day: one already pushed under the tag is never replaced.
    if let Ok(digest) = registry.manifest_digest(reference) {
        bail!(
            "{reference} already holds a pack ({digest}): a pushed pack is never replaced; push this one under another tag (--push REPOSITORY:{date}-2)"
        );
    }
    let artifact = pci_host::oci::Artifact::files(ARTIFACT_TYPE, files, annotations);
    let pushed = registry
        .push_artifact(reference, artifact)
        .map_err(explained)?;
    Ok(pushed.immutable_ref)
}

/// `pci-policies evidence pull REFERENCE --out DIR --key KEY`: writes the pack and verifies
/// it; a pack that does not verify is removed again.
pub fn pull(args: &PullArgs) -> Result<()> {
    let reference = args
        .reference
        .strip_prefix("registry://")
        .unwrap_or(&args.reference);
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if !last.contains(':') {
        bail!(
            "{reference}: give the pack's tag (its date, {reference}:YYYY-MM-DD) or its digest (@sha256:…): packs are not tagged latest"
        );
    }
    signed::read_public_key(&args.key)?;
    let media_types: Vec<&str> = FILES.iter().map(|(_, media_type)| *media_type).collect();
    let pulled = registry_for(&args.registry)?
        .pull_artifact(reference, &media_types)
        .map_err(explained)?;
    if pulled.artifact_type.as_deref() != Some(ARTIFACT_TYPE) {
        bail!(
            "{reference}: not an evidence pack (artifactType {}, expected {ARTIFACT_TYPE})",
            pulled.artifact_type.as_deref().unwrap_or("none")
        );
    }
    let files = pack_files(pulled.layers, reference)?;
    // Written beside the destination and verified there first: a pack that does not verify
    // never replaces what --out held.
    let created = !args.out.exists();
    let staging = args.out.join(format!(".pull-{}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let verified = stage_and_verify(&staging, &files, &args.key, reference)
        .and_then(|predicate| {
            agrees(
                predicate,
                &pulled.annotations,
                args.cluster.as_deref(),
                reference,
            )
        })
        .map_err(|error| {
            // Name the files as they would have been written, not the staging folder.
            let staged = staging.display().to_string();
            anyhow::anyhow!(format!("{error:#}").replace(&staged, &args.out.display().to_string()))
        });
    let moved = verified.and_then(|predicate| {
        for name in files.keys() {
            std::fs::rename(staging.join(name), args.out.join(name))
                .with_context(|| format!("cannot write {}", args.out.join(name).display()))?;
        }
        Ok(predicate)
    });
    let _ = std::fs::remove_dir_all(&staging);
    if moved.is_err() && created {
        let _ = std::fs::remove_dir(&args.out);
    }
    let predicate = moved?;
    println!(
        "{reference} ({}) -> {}: verified, {}",
        pulled.manifest_digest,
        args.out.display(),
        signed::described(&predicate)
    );
    Ok(())
}

/// The pack's three files from the pulled layers, by title; any other layer, a title twice,
/// or a file missing is an error.
fn pack_files(
    layers: Vec<pci_host::oci::PulledLayer>,
    reference: &str,
) -> Result<BTreeMap<&'static str, Vec<u8>>> {
    let mut files: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
    for layer in layers {
        let title = layer
            .annotations
            .get(TITLE_ANNOTATION)
            .map(String::as_str)
            .unwrap_or_default();
        let Some((name, _)) = FILES.iter().find(|(name, _)| *name == title) else {
            bail!("{reference}: a layer titled {title:?} is not a file of an evidence pack");
        };
        if files.insert(name, layer.data).is_some() {
            bail!("{reference}: two layers are titled {title}");
        }
    }
    for (name, _) in FILES {
        if !files.contains_key(name) {
            bail!("{reference}: the pack has no {name}");
        }
    }
    Ok(files)
}

/// What was signed must agree with what the manifest says (date, clusters) and with the cluster
/// asked for.
fn agrees(
    predicate: serde_json::Value,
    annotations: &BTreeMap<String, String>,
    cluster: Option<&str>,
    reference: &str,
) -> Result<serde_json::Value> {
    let clusters: Vec<&str> = predicate["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str())
        .collect();
    let dated = predicate["date"].as_str().unwrap_or_default();
    if let Some(date) = annotations.get(DATE_ANNOTATION)
        && date != dated
    {
        bail!("{reference}: the manifest says {date}, but the signed pack is dated {dated}");
    }
    if let Some(listed) = annotations.get(CLUSTERS_ANNOTATION)
        && listed.split(',').collect::<Vec<_>>() != clusters
    {
        bail!(
            "{reference}: the manifest names clusters {listed}, but the signed pack covers {}",
            clusters.join(",")
        );
    }
    if let Some(wanted) = cluster
        && !clusters.contains(&wanted)
    {
        bail!(
            "{reference}: a signed pack of {}, not of cluster {wanted}",
            if clusters.is_empty() {
                "manifests".to_owned()
            } else {
                clusters.join(", ")
            }
        );
    }
    Ok(predicate)
}

/// Writes `files` into `staging` and verifies them with `key`; a pack tagged with a date must
/// be the pack of that date (an older pack pushed again under a newer tag is refused).
fn stage_and_verify(
    staging: &Path,
    files: &BTreeMap<&str, Vec<u8>>,
    key: &Path,
    reference: &str,
) -> Result<serde_json::Value> {
    for (name, data) in files {
        let path = staging.join(name);
        std::fs::write(&path, data).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let predicate = signed::verify_pack(staging, key)
        .with_context(|| format!("{reference}: the pack does not verify"))?;
    let tag = reference
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once(':'))
        .map(|(_, tag)| tag);
    if let Some(tag) = tag.filter(|tag| pci_shared::time::Date::parse(tag).is_ok()) {
        let dated = predicate["date"].as_str().unwrap_or_default();
        if dated != tag {
            bail!(
                "{reference}: tagged {tag}, but the signed pack is dated {dated}: an older pack pushed again under a newer tag is not that day's evidence"
            );
        }
    }
    Ok(predicate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_is_tagged_with_its_date_unless_the_repository_has_a_tag() {
        assert_eq!(
            push_reference("registry.example.com/pci/evidence", "2026-12-06").unwrap(),
            "registry.example.com/pci/evidence:2026-12-06"
        );
        assert_eq!(
            push_reference("localhost:5000/evidence", "2026-12-06").unwrap(),
            "localhost:5000/evidence:2026-12-06"
        );
        assert_eq!(
            push_reference("registry://localhost:5000/evidence:weekly", "2026-12-06").unwrap(),
            "localhost:5000/evidence:weekly"
        );
        assert!(push_reference("localhost:5000/evidence@sha256:00", "2026-12-06").is_err());
        assert!(push_reference("localhost:5000", "2026-12-06").is_err());
        assert!(
            push_reference("evidence", "2026-12-06").is_err(),
            "Docker Hub"
        );
        assert!(
            push_reference("myorg/evidence", "2026-12-06").is_err(),
            "Docker Hub"
        );
        assert!(push_reference("r.example.com/e:2026-11-30", "2026-12-06").is_err());
        assert_eq!(
            push_reference("r.example.com/e:2026-12-06-2", "2026-12-06").unwrap(),
            "r.example.com/e:2026-12-06-2"
        );
        assert!(push_reference("", "2026-12-06").is_err());
    }
}
