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

/// The registry client `args` ask for.
fn registry_for(args: &RegistryArgs) -> Result<Registry> {
    Registry::new(
        Transport::insecure_if(args.insecure),
        Credentials::docker(args.docker_config.as_deref()),
    )
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
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let tagged = reference.contains('/') && last.contains(':');
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
    registry: &RegistryArgs,
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
    let artifact = pci_host::oci::Artifact::files(ARTIFACT_TYPE, files, annotations);
    let pushed = registry_for(registry)?.push_artifact(reference, artifact)?;
    Ok(pushed.immutable_ref)
}

/// `pci-policies evidence pull REFERENCE --out DIR --key KEY`: writes the pack and verifies
/// it; a pack that does not verify is removed again.
pub fn pull(args: &PullArgs) -> Result<()> {
    let reference = args
        .reference
        .strip_prefix("registry://")
        .unwrap_or(&args.reference);
    let media_types: Vec<&str> = FILES.iter().map(|(_, media_type)| *media_type).collect();
    let pulled = registry_for(&args.registry)?.pull_artifact(reference, &media_types)?;
    if pulled.artifact_type.as_deref() != Some(ARTIFACT_TYPE) {
        bail!(
            "{reference}: not an evidence pack (artifactType {}, expected {ARTIFACT_TYPE})",
            pulled.artifact_type.as_deref().unwrap_or("none")
        );
    }
    let mut files: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for layer in pulled.layers {
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
    // Written beside the destination and verified there first: a pack that does not verify
    // never replaces what --out held.
    let staging = args.out.join(format!(".pull-{}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let verified = stage_and_verify(&staging, &files, &args.key, reference);
    let moved = verified.and_then(|predicate| {
        for name in files.keys() {
            std::fs::rename(staging.join(name), args.out.join(name))
                .with_context(|| format!("cannot write {}", args.out.join(name).display()))?;
        }
        Ok(predicate)
    });
    let _ = std::fs::remove_dir_all(&staging);
    let predicate = moved?;
    println!(
        "{reference} ({}) -> {}: verified, signed pack dated {}",
        pulled.manifest_digest,
        args.out.display(),
        predicate["date"].as_str().unwrap_or("an unknown date")
    );
    Ok(())
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
        assert!(push_reference("", "2026-12-06").is_err());
    }
}
