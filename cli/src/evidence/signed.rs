//! A signed pack: an in-toto statement whose subjects are the pack's `index.html` and
//! `evidence.json` (sha256), signed with a cosign key as a DSSE envelope
//! (`evidence.intoto.json`), in the form `cosign verify-blob-attestation` reads:
//!
//! ```text
//! cosign verify-blob-attestation --key cosign.pub --signature DIR/evidence.intoto.json \
//!     --type https://pci-policies.io/evidence-pack/v1 --insecure-ignore-tlog DIR/index.html
//! ```
//!
//! `pci-policies evidence verify DIR --key cosign.pub` checks the signature and that both files
//! are byte for byte what was signed: an edited pack is refused, naming the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};

/// The predicate type of the pack's statement.
pub const PREDICATE_TYPE: &str = "https://pci-policies.io/evidence-pack/v1";
/// The envelope's file, beside the pack.
pub const ENVELOPE: &str = "evidence.intoto.json";
/// The files the statement covers.
pub const SUBJECTS: [&str; 2] = ["index.html", "evidence.json"];

/// `pci-policies evidence verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The pack's folder (index.html, evidence.json, evidence.intoto.json).
    dir: PathBuf,
    /// The public key the pack was signed for (cosign.pub).
    #[arg(long)]
    key: PathBuf,
}

/// The statement about the pack in `dir`: each subject's sha256, and what the pack says.
fn statement(dir: &Path, predicate: Value) -> Result<Value> {
    let mut subjects = Vec::new();
    for name in SUBJECTS {
        subjects.push(json!({"name": name, "digest": {"sha256": sha256_of(&dir.join(name))?}}));
    }
    Ok(json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": PREDICATE_TYPE,
        "subject": subjects,
        "predicate": predicate,
    }))
}

fn sha256_of(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(pci_host::digest::sha256_hex(&bytes))
}

/// Reads the cosign private key at `key` (its password in `COSIGN_PASSWORD`; an unencrypted
/// PKCS#8 PEM is taken too).
pub fn read_key(key: &Path) -> Result<pci_host::release::SigningKey> {
    let pem = std::fs::read(key).with_context(|| format!("--sign-key {}", key.display()))?;
    let password = std::env::var("COSIGN_PASSWORD").unwrap_or_default();
    pci_host::release::SigningKey::from_cosign_pem(&pem, password.as_bytes()).with_context(|| {
        format!(
            "--sign-key {}: a cosign private key (cosign generate-key-pair) or an unencrypted PKCS#8 PEM (openssl pkcs8 -topk8 -nocrypt)",
            key.display()
        )
    })
}

/// Removes the envelope of an earlier pack written in `dir`.
pub fn remove_stale(dir: &Path) -> Result<()> {
    let path = dir.join(ENVELOPE);
    match std::fs::remove_file(&path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Signs the pack in `dir` with the cosign private key at `key`; writes the envelope and
/// returns its path.
pub fn sign(dir: &Path, key: &Path, predicate: Value) -> Result<PathBuf> {
    let key = read_key(key)?;
    let envelope = key.envelope(&statement(dir, predicate)?)?;
    let path = dir.join(ENVELOPE);
    std::fs::write(&path, serde_json::to_string_pretty(&envelope)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The public key at `key` (cosign.pub); a private key is refused.
pub fn read_public_key(key: &Path) -> Result<String> {
    let public_key =
        std::fs::read_to_string(key).with_context(|| format!("--key {}", key.display()))?;
    if public_key.contains("PRIVATE KEY") {
        bail!(
            "--key {}: a private key; give the public key (cosign.pub)",
            key.display()
        );
    }
    Ok(public_key)
}

/// Checks the pack in `dir` against its envelope and `key`; the statement's predicate.
pub fn verify_pack(dir: &Path, key: &Path) -> Result<Value> {
    if !dir.is_dir() {
        bail!("{}: not a pack's folder", dir.display());
    }
    let envelope_path = dir.join(ENVELOPE);
    let envelope = std::fs::read(&envelope_path).with_context(|| {
        format!(
            "{}: no signature (build the pack with --sign-key)",
            envelope_path.display()
        )
    })?;
    let public_key = read_public_key(key)?;
    let statement = pci_host::release::verify_attestation(&envelope, &public_key)
        .with_context(|| format!("{}", envelope_path.display()))?;
    if statement["predicateType"] != PREDICATE_TYPE {
        bail!(
            "{}: the statement is a {}, not an evidence pack",
            envelope_path.display(),
            statement["predicateType"]
        );
    }
    let subjects = statement["subject"].as_array().cloned().unwrap_or_default();
    for name in SUBJECTS {
        let signed = subjects
            .iter()
            .find(|s| s["name"] == name)
            .and_then(|s| s["digest"]["sha256"].as_str())
            .with_context(|| format!("the signed statement does not cover {name}"))?;
        let actual = sha256_of(&dir.join(name))?;
        if actual != signed {
            bail!(
                "{}: edited since it was signed (sha256 {actual}, signed {signed})",
                dir.join(name).display()
            );
        }
    }
    Ok(statement["predicate"].clone())
}

/// What a verified statement's predicate says: "signed pack of prod, staging dated 2026-12-01".
pub fn described(predicate: &Value) -> String {
    format!(
        "signed pack of {} dated {}",
        predicate["clusters"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "manifests".to_owned()),
        predicate["date"].as_str().unwrap_or("an unknown date"),
    )
}

/// `pci-policies evidence verify DIR --key KEY`: prints what was verified.
pub fn verify(args: &VerifyArgs) -> Result<()> {
    let predicate = verify_pack(&args.dir, &args.key)?;
    println!(
        "{}: verified, {} ({})",
        args.dir.display(),
        described(&predicate),
        SUBJECTS.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_names_both_files_with_their_digests() {
        let dir = std::env::temp_dir().join(format!("pack-statement-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<p>pack</p>").unwrap();
        std::fs::write(dir.join("evidence.json"), "{}").unwrap();
        let statement = statement(&dir, json!({"date": "2026-12-01"})).unwrap();
        assert_eq!(statement["predicateType"], PREDICATE_TYPE);
        assert_eq!(statement["subject"][1]["name"], "evidence.json");
        assert_eq!(
            statement["subject"][1]["digest"]["sha256"],
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
