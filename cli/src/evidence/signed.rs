//! A signed pack: an in-toto statement whose subjects are the pack's `index.html` and
//! `evidence.json` (sha256), signed in one of two ways.
//!
//! - With a cosign key (`--sign-key`): a DSSE envelope, `evidence.intoto.json`, in the form
//!   `cosign verify-blob-attestation` reads:
//!
//!   ```text
//!   cosign verify-blob-attestation --key cosign.pub --signature DIR/evidence.intoto.json \
//!       --type https://pci-policies.io/evidence-pack/v1 --insecure-ignore-tlog DIR/index.html
//!   ```
//!
//! - Keyless (`--statement`): the pack writes the statement, `evidence.statement.json`, and
//!   cosign signs it with the signer's OIDC identity into a Sigstore bundle:
//!
//!   ```text
//!   cosign attest-blob --statement DIR/evidence.statement.json --new-bundle-format \
//!       --bundle DIR/evidence.sigstore.json --yes
//!   ```
//!
//! `pci-policies evidence verify DIR` checks either, with the public key (`--key`) or with a
//! Sigstore trust root and the signer's identity (`--sigstore-trust-config`,
//! `--certificate-identity`, `--certificate-oidc-issuer`), and that both files are byte for
//! byte what was signed: an edited pack is refused, naming the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use pci_host::keyless::identity::Identity;
use serde_json::{Value, json};

/// The predicate type of the pack's statement.
pub const PREDICATE_TYPE: &str = "https://pci-policies.io/evidence-pack/v1";
/// The envelope's file, beside the pack (signed with a key).
pub const ENVELOPE: &str = "evidence.intoto.json";
/// The unsigned statement, for cosign to sign keyless.
pub const STATEMENT: &str = "evidence.statement.json";
/// The Sigstore bundle cosign writes when it signs the statement keyless.
pub const SIGSTORE_BUNDLE: &str = "evidence.sigstore.json";
/// The largest `evidence.statement.json` read (a statement is a few kilobytes).
const MAX_STATEMENT_BYTES: u64 = 1 << 20;
/// The files the statement covers.
pub const SUBJECTS: [&str; 2] = ["index.html", "evidence.json"];

/// `pci-policies evidence verify`.
#[derive(Args)]
#[command(
    override_usage = "pci-policies evidence verify DIR --key cosign.pub\n       \
        pci-policies evidence verify DIR --sigstore-trust-config trusted_root.json \
        --certificate-oidc-issuer ISSUER (--certificate-identity ID | --certificate-identity-prefix URL)",
    after_help = "A pack signed with a key has evidence.intoto.json: give --key. A pack signed keyless \
        (cosign attest-blob --statement evidence.statement.json --new-bundle-format) has \
        evidence.sigstore.json: give the Sigstore trust root (trusted_root.json from `cosign \
        trusted-root create`, or the public-good one from Sigstore's TUF repository), the \
        signer's OIDC issuer and its identity, exactly (preferred: a workflow pinned to its ref, \
        …/evidence.yml@refs/heads/main) or by a prefix of at least OWNER/REPOSITORY."
)]
pub struct VerifyArgs {
    /// The pack's folder (index.html, evidence.json, and evidence.intoto.json or
    /// evidence.sigstore.json).
    dir: PathBuf,
    /// The public key the pack was signed for (cosign.pub): checks evidence.intoto.json.
    #[arg(long)]
    key: Option<PathBuf>,
    /// A keyless-signed pack: the Sigstore trust root (trusted_root.json or a
    /// ClientTrustConfig, read offline) that checks evidence.sigstore.json.
    #[arg(
        long = "sigstore-trust-config",
        value_name = "FILE",
        conflicts_with = "key"
    )]
    sigstore_trust_config: Option<PathBuf>,
    /// The signer's identity in its certificate, exactly (an e-mail or a workflow URI).
    #[arg(long, requires = "sigstore_trust_config")]
    certificate_identity: Option<String>,
    /// Or a URL prefix of the signer's identity, at least OWNER/REPOSITORY
    /// (`https://github.com/corp/platform`).
    #[arg(
        long,
        requires = "sigstore_trust_config",
        conflicts_with = "certificate_identity"
    )]
    certificate_identity_prefix: Option<String>,
    /// The OIDC issuer of the signer's certificate (`https://token.actions.githubusercontent.com`).
    #[arg(long, requires = "sigstore_trust_config")]
    certificate_oidc_issuer: Option<String>,
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
    if !path.is_file() {
        bail!("{}: not a file of the pack", path.display());
    }
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

/// Removes the signatures and statement of an earlier pack written in `dir`.
pub fn remove_stale(dir: &Path) -> Result<()> {
    for name in [ENVELOPE, STATEMENT, SIGSTORE_BUNDLE] {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(error).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes the unsigned statement of the pack in `dir` for cosign to sign keyless; returns its
/// path.
pub fn write_statement(dir: &Path, predicate: Value) -> Result<PathBuf> {
    let path = dir.join(STATEMENT);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&statement(dir, predicate)?)? + "\n",
    )
    .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
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
    if !dir.join(ENVELOPE).exists() && dir.join(SIGSTORE_BUNDLE).is_file() {
        bail!(
            "{}: signed keyless ({SIGSTORE_BUNDLE}), not with a key: verify it with --sigstore-trust-config trusted_root.json --certificate-oidc-issuer ISSUER --certificate-identity ID",
            dir.display()
        );
    }
    let envelope_path = signature_file(dir, ENVELOPE, "build the pack with --sign-key")?;
    let envelope = std::fs::read(&envelope_path)
        .with_context(|| format!("cannot read {}", envelope_path.display()))?;
    let public_key = read_public_key(key)?;
    let statement = pci_host::release::verify_attestation(&envelope, &public_key)
        .with_context(|| format!("{}", envelope_path.display()))?;
    check_statement(dir, &envelope_path, &statement)
}

/// Checks the keyless-signed pack in `dir` (its Sigstore bundle) with the trust root at
/// `trust_config`, signed by `identity`; the statement's predicate and who signed.
pub fn verify_keyless_pack(
    dir: &Path,
    trust_config: &Path,
    identity: &Identity,
) -> Result<(Value, String)> {
    if !dir.join(SIGSTORE_BUNDLE).exists() && dir.join(ENVELOPE).is_file() {
        bail!(
            "{}: signed with a key ({ENVELOPE}), not keyless: verify it with --key cosign.pub",
            dir.display()
        );
    }
    let hint = if dir.join(STATEMENT).is_file() {
        format!(
            "{STATEMENT} is not signed yet: cosign attest-blob --statement {} --new-bundle-format --bundle {} --yes",
            shell_word(&dir.join(STATEMENT).display().to_string()),
            shell_word(&dir.join(SIGSTORE_BUNDLE).display().to_string())
        )
    } else {
        "build the pack with --statement and sign evidence.statement.json with cosign attest-blob"
            .to_owned()
    };
    let bundle_path = signature_file(dir, SIGSTORE_BUNDLE, &hint)?;
    let bundle = std::fs::read(&bundle_path)
        .with_context(|| format!("cannot read {}", bundle_path.display()))?;
    let trust = pci_host::trust_root::TrustRoot::from_file(trust_config)?;
    let verifier = pci_host::keyless::Verifier::new(&trust)
        .map_err(|e| anyhow::anyhow!("--sigstore-trust-config {}: {e}", trust_config.display()))?;
    let attestation = verifier
        .verify_attestation_bundle(&bundle, pci_host::keyless::now())
        .map_err(|e| anyhow::anyhow!("{}: {e}", bundle_path.display()))?;
    if !identity.names(&attestation.issuer, &attestation.subject) {
        bail!(
            "{}: signed by issuer {} and subject {}, not by {}",
            bundle_path.display(),
            attestation.issuer,
            attestation.subject.as_str(),
            identity.describe()
        );
    }
    let predicate = check_statement(dir, &bundle_path, &attestation.statement)?;
    check_unsigned_statement(dir, &attestation.statement)?;
    let logged_on = super::history::date_of(attestation.integrated_time);
    if let Some(date) = predicate["date"]
        .as_str()
        .filter(|date| *date > logged_on.as_str())
    {
        bail!(
            "{}: the pack is dated {date} but was signed (logged by Rekor) on {logged_on}: a pack cannot be signed before its date",
            bundle_path.display()
        );
    }
    let signer = format!(
        "{} ({}), logged {}",
        attestation.subject.as_str(),
        attestation.issuer,
        super::operational::rfc3339(attestation.integrated_time)
    );
    Ok((predicate, signer))
}

/// The unsigned `evidence.statement.json` beside a keyless pack must say what was signed,
/// byte for byte as the pack wrote it (or as the payload signed): an assessor may read it, and
/// a file that only parses to the same statement (duplicate keys) could show another.
fn check_unsigned_statement(dir: &Path, signed: &Value) -> Result<()> {
    let path = dir.join(STATEMENT);
    if !path.exists() {
        return Ok(());
    }
    let metadata =
        std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if !metadata.is_file() || metadata.len() > MAX_STATEMENT_BYTES {
        bail!(
            "{}: not a statement file (a regular file of at most {MAX_STATEMENT_BYTES} bytes)",
            path.display()
        );
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let written = serde_json::to_string_pretty(signed)? + "\n";
    if bytes != written.as_bytes() && bytes != serde_json::to_vec(signed)? {
        bail!(
            "{}: differs from the statement that was signed (edited since): remove it or restore it",
            path.display()
        );
    }
    Ok(())
}

/// `text` quoted for a POSIX shell when it holds anything but plain path characters.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The signature file `name` of the pack in `dir`, which must exist (`hint`: how to make it).
fn signature_file(dir: &Path, name: &str, hint: &str) -> Result<PathBuf> {
    if !dir.is_dir() {
        bail!("{}: not a pack's folder", dir.display());
    }
    let path = dir.join(name);
    if !path.is_file() {
        bail!("{}: no signature ({hint})", path.display());
    }
    Ok(path)
}

/// A verified statement is the pack's: its predicate type, and both files byte for byte what
/// it names. Returns its predicate.
fn check_statement(dir: &Path, source: &Path, statement: &Value) -> Result<Value> {
    if statement["predicateType"] != PREDICATE_TYPE {
        bail!(
            "{}: the statement is a {}, not an evidence pack",
            source.display(),
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
    // The signed date is the pack's own: a statement cannot date the pack otherwise.
    let predicate = statement["predicate"].clone();
    let signed_date = predicate["date"]
        .as_str()
        .filter(|date| pci_shared::time::Date::parse(date).is_ok())
        .with_context(|| {
            format!(
                "{}: the signed statement has no date (YYYY-MM-DD)",
                source.display()
            )
        })?;
    let pack: Value = serde_json::from_slice(&std::fs::read(dir.join("evidence.json"))?)
        .context("evidence.json: not JSON")?;
    if pack["date"].as_str() != Some(signed_date) {
        bail!(
            "{}: the statement is dated {signed_date}, the pack {}",
            source.display(),
            pack["date"]
        );
    }
    Ok(predicate)
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
    ) + &predicate["maxAuditAgeHours"]
        .as_u64()
        .map(|hours| format!(", audit results at most {hours} hours old"))
        .unwrap_or_default()
}

/// `pci-policies evidence verify DIR --key KEY` (or keyless): prints what was verified.
pub fn verify(args: &VerifyArgs) -> Result<()> {
    let (predicate, signer) = match (&args.key, &args.sigstore_trust_config) {
        (Some(key), _) => (verify_pack(&args.dir, key)?, None),
        (None, Some(trust_config)) => {
            let (predicate, signer) =
                verify_keyless_pack(&args.dir, trust_config, &identity(args)?)?;
            (predicate, Some(signer))
        }
        (None, None) => usage_error(
            "give --key cosign.pub for a pack signed with a key, or --sigstore-trust-config trusted_root.json with --certificate-oidc-issuer ISSUER and --certificate-identity ID (or --certificate-identity-prefix URL) for a keyless one",
        ),
    };
    println!(
        "{}: verified, {} ({}){}",
        args.dir.display(),
        described(&predicate),
        SUBJECTS.join(", "),
        signer
            .map(|s| format!(", signed by {s}"))
            .unwrap_or_default()
    );
    if let Some(prefix) = &args.certificate_identity_prefix {
        println!("  the signer matched by prefix {prefix}, not exactly");
    }
    Ok(())
}

/// Exits as clap does for a usage error (status 2), saying what to give.
fn usage_error(message: &str) -> ! {
    clap::Error::raw(
        clap::error::ErrorKind::MissingRequiredArgument,
        format!("{message}\n"),
    )
    .exit()
}

/// The signer `evidence verify` requires of a keyless pack.
fn identity(args: &VerifyArgs) -> Result<Identity> {
    let Some(issuer) = args.certificate_oidc_issuer.as_deref() else {
        usage_error(
            "--sigstore-trust-config needs the signer: --certificate-oidc-issuer ISSUER and --certificate-identity ID (or --certificate-identity-prefix URL)",
        )
    };
    match (
        &args.certificate_identity,
        &args.certificate_identity_prefix,
    ) {
        (Some(subject), None) => Ok(Identity::Exact {
            issuer: issuer.to_owned(),
            subject: subject.clone(),
        }),
        (None, Some(prefix)) => {
            let identity = Identity::prefix(issuer, prefix).map_err(|e| {
                anyhow::anyhow!(
                    "--certificate-identity-prefix: {e}; did you mean https://{prefix}?"
                )
            })?;
            // Past the scheme and host: at least OWNER/REPOSITORY.
            let path_segments = prefix.split_once("://").map_or(0, |(_, rest)| {
                rest.split('/').skip(1).filter(|s| !s.is_empty()).count()
            });
            if path_segments < 2 {
                bail!(
                    "--certificate-identity-prefix {prefix}: too broad, give at least OWNER/REPOSITORY (https://github.com/corp/platform), better the exact --certificate-identity of the workflow at its ref"
                );
            }
            Ok(identity)
        }
        _ => usage_error(
            "--sigstore-trust-config needs the signer's identity: --certificate-identity ID (or --certificate-identity-prefix URL)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_a_shell_would_split_are_quoted() {
        assert_eq!(shell_word("pack/evidence.json"), "pack/evidence.json");
        assert_eq!(shell_word("my pack/x"), "'my pack/x'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
    }

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
