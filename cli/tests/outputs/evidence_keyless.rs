//! A pack signed keyless: `evidence --statement` writes the statement, a test Sigstore signs
//! it as `cosign attest-blob --statement … --new-bundle-format` would (a Fulcio certificate for
//! a GitHub Actions workflow, a Rekor `dsse` entry), and `evidence verify` checks the bundle
//! with the trust root and the signer's identity.

use std::path::{Path, PathBuf};

use pci_host::keyless::identity::GITHUB_ACTIONS_ISSUER;
use pci_host::keyless_fixture::{Signer, TestSigstore};
use serde_json::{Value, json};

use super::{pci_policies, scratch};

const WORKFLOW: &str =
    "https://github.com/corp/platform/.github/workflows/evidence.yml@refs/heads/main";

/// The pack of the example prod cluster (dated 2025-06-01) with its statement, signed by `signer` of `sigstore`;
/// returns the pack's folder.
fn keyless_pack(dir: &Path, sigstore: &TestSigstore, signer: &Signer) -> PathBuf {
    let out = dir.join("pack");
    let stdout = prod_pack(&out, &["--statement"]);
    sign(&out, &stdout, sigstore, signer);
    out
}

/// Signs the statement of the pack in `out` as cosign would (`stdout`: what the pack printed).
fn sign(out: &Path, stdout: &str, sigstore: &TestSigstore, signer: &Signer) {
    assert!(
        stdout.contains("to sign keyless, run: cosign attest-blob --statement"),
        "{stdout}"
    );
    let statement: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("evidence.statement.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        statement["predicateType"],
        "https://pci-policies.io/evidence-pack/v1"
    );
    let bundle = sigstore.attest(&statement, signer).unwrap();
    std::fs::write(out.join("evidence.sigstore.json"), bundle.to_string()).unwrap();
}

/// Builds the pack of the example prod cluster into `out` with `extra` arguments; its output.
fn prod_pack(out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "evidence",
        "--cluster",
        "prod=examples/fleet/prod",
        // The day the test Sigstore logs its signatures (a pack is not signed before its date).
        "--date",
        "2025-06-01",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = pci_policies(&args);
    assert_eq!(code, 0, "{stderr}");
    stdout
}

/// Asserts that `evidence verify` (its exit code and stderr) refused, saying `expected`.
fn refused((code, _, stderr): (i32, String, String), expected: &str) {
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(expected), "{expected}: {stderr}");
}

fn trust_root(dir: &Path, sigstore: &TestSigstore) -> PathBuf {
    let path = dir.join("trusted_root.json");
    std::fs::write(&path, sigstore.trusted_root().to_string()).unwrap();
    path
}

fn verify(pack: &Path, root: &Path, identity: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "evidence",
        "verify",
        pack.to_str().unwrap(),
        "--sigstore-trust-config",
        root.to_str().unwrap(),
    ];
    args.extend_from_slice(identity);
    pci_policies(&args)
}

#[test]
fn a_keyless_signed_pack_verifies_for_its_signer_only() {
    let dir = scratch("keyless");
    let sigstore = TestSigstore::new("evidence keyless").unwrap();
    let pack = keyless_pack(
        &dir,
        &sigstore,
        &Signer::uri(GITHUB_ACTIONS_ISSUER, WORKFLOW),
    );
    let root = trust_root(&dir, &sigstore);
    let exact = [
        "--certificate-identity",
        WORKFLOW,
        "--certificate-oidc-issuer",
        GITHUB_ACTIONS_ISSUER,
    ];
    let (code, stdout, stderr) = verify(&pack, &root, &exact);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("verified, signed pack of prod dated 2025-06-01")
            && stdout.contains(&format!("signed by {WORKFLOW} ({GITHUB_ACTIONS_ISSUER})")),
        "{stdout}"
    );
    // Kept for inspection (target/test-scratch/keyless-*/signed), as signed.
    let kept = dir.join("signed");
    std::fs::create_dir_all(&kept).unwrap();
    for entry in std::fs::read_dir(&pack).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, kept.join(path.file_name().unwrap())).unwrap();
    }
    let prefix = [
        "--certificate-identity-prefix",
        "https://github.com/corp/platform",
        "--certificate-oidc-issuer",
        GITHUB_ACTIONS_ISSUER,
    ];
    assert_eq!(verify(&pack, &root, &prefix).0, 0);

    // Another repository, another issuer, a prefix that only shares the text.
    for identity in [
        [
            "--certificate-identity",
            "https://github.com/corp/other/.github/workflows/evidence.yml@refs/heads/main",
            "--certificate-oidc-issuer",
            GITHUB_ACTIONS_ISSUER,
        ],
        [
            "--certificate-identity",
            WORKFLOW,
            "--certificate-oidc-issuer",
            "https://accounts.example.com",
        ],
        [
            "--certificate-identity-prefix",
            "https://github.com/corp/plat",
            "--certificate-oidc-issuer",
            GITHUB_ACTIONS_ISSUER,
        ],
    ] {
        let (code, _, stderr) = verify(&pack, &root, &identity);
        assert_eq!(code, 1, "{identity:?}");
        assert!(
            stderr.contains(&format!(
                "signed by issuer {GITHUB_ACTIONS_ISSUER} and subject {WORKFLOW}, not by"
            )),
            "{stderr}"
        );
    }

    // The trust root of another Sigstore does not know this Rekor log.
    let other = TestSigstore::new("another").unwrap();
    let other_root = dir.join("other");
    std::fs::create_dir_all(&other_root).unwrap();
    refused(
        verify(&pack, &trust_root(&other_root, &other), &exact),
        "not a tlog of the trust root",
    );

    // An edited page is refused, naming the file.
    let index = pack.join("index.html");
    let original = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, original.replace("operational", "0perational")).unwrap();
    refused(
        verify(&pack, &root, &exact),
        "index.html: edited since it was signed",
    );
    std::fs::write(&index, original).unwrap();

    // A pack rebuilt in the same folder drops the bundle of the earlier one.
    prod_pack(&pack, &[]);
    assert!(!pack.join("evidence.sigstore.json").exists());
    assert!(!pack.join("evidence.statement.json").exists());
    refused(
        verify(&pack, &root, &exact),
        "no signature (build the pack with --statement",
    );
}

#[test]
fn keyless_verification_needs_the_signers_issuer_and_identity() {
    let dir = scratch("keyless-args");
    let pack = dir.to_str().unwrap();
    for args in [
        vec!["evidence", "verify", pack],
        vec![
            "evidence",
            "verify",
            pack,
            "--sigstore-trust-config",
            "root.json",
        ],
        vec![
            "evidence",
            "verify",
            pack,
            "--sigstore-trust-config",
            "root.json",
            "--certificate-identity",
            WORKFLOW,
        ],
        vec![
            "evidence",
            "verify",
            pack,
            "--certificate-identity",
            WORKFLOW,
        ],
        vec![
            "evidence",
            "verify",
            pack,
            "--key",
            "cosign.pub",
            "--sigstore-trust-config",
            "root.json",
        ],
    ] {
        let (code, _, stderr) = pci_policies(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("--key") || stderr.contains("--certificate-oidc-issuer"),
            "{args:?}: says what to give: {stderr}"
        );
    }
}

/// What the files beside a keyless pack may not say: a date after the signing day, a statement
/// other than the one signed; and the mistakes a user makes get a way out.
#[test]
fn a_keyless_pack_is_refused_for_what_it_claims_beyond_its_signature() {
    let dir = scratch("keyless-claims");
    let sigstore = TestSigstore::new("evidence keyless claims").unwrap();
    let signer = Signer::uri(GITHUB_ACTIONS_ISSUER, WORKFLOW);
    let root = trust_root(&dir, &sigstore);
    let exact = [
        "--certificate-identity",
        WORKFLOW,
        "--certificate-oidc-issuer",
        GITHUB_ACTIONS_ISSUER,
    ];

    // Dated 2026-12-01, signed (logged) on 2025-06-01.
    let later = dir.join("later");
    let (code, stdout, stderr) = pci_policies(&[
        "evidence",
        "--cluster",
        "prod=examples/fleet/prod",
        "--date",
        "2026-12-01",
        "--statement",
        "--out",
        later.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    sign(&later, &stdout, &sigstore, &signer);
    refused(
        verify(&later, &root, &exact),
        "the pack is dated 2026-12-01 but was signed (logged by Rekor) on 2025-06-01",
    );

    // A statement whose date is not the pack's, signed as such.
    let other_day = dir.join("other-day");
    let stdout = prod_pack(&other_day, &["--statement"]);
    let path = other_day.join("evidence.statement.json");
    let mut statement: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    statement["predicate"]["date"] = json!("2025-05-01");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&statement).unwrap() + "\n",
    )
    .unwrap();
    sign(&other_day, &stdout, &sigstore, &signer);
    refused(
        verify(&other_day, &root, &exact),
        "the statement is dated 2025-05-01, the pack \"2025-06-01\"",
    );

    let pack = keyless_pack(&dir, &sigstore, &signer);
    let statement = pack.join("evidence.statement.json");
    let original = std::fs::read_to_string(&statement).unwrap();
    std::fs::write(&statement, original.replace("2025-06-01", "2025-06-02")).unwrap();
    refused(
        verify(&pack, &root, &exact),
        "evidence.statement.json: differs from the statement that was signed",
    );
    // The same statement, other bytes (a duplicate key would read the same to a parser).
    std::fs::write(&statement, original.replace("\n", "\r\n")).unwrap();
    assert_eq!(verify(&pack, &root, &exact).0, 1);
    std::fs::write(&statement, &original).unwrap();
    assert_eq!(verify(&pack, &root, &exact).0, 0);

    for prefix in ["https://github.com", "https://github.com/corp/"] {
        let (code, _, stderr) = verify(
            &pack,
            &root,
            &[
                "--certificate-identity-prefix",
                prefix,
                "--certificate-oidc-issuer",
                GITHUB_ACTIONS_ISSUER,
            ],
        );
        assert_eq!(code, 1, "{prefix}");
        assert!(stderr.contains("too broad"), "{prefix}: {stderr}");
    }

    let (code, _, stderr) = pci_policies(&[
        "evidence",
        "verify",
        pack.to_str().unwrap(),
        "--key",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("signed keyless (evidence.sigstore.json), not with a key: verify it with --sigstore-trust-config"),
        "{stderr}"
    );

    std::fs::remove_file(pack.join("evidence.sigstore.json")).unwrap();
    let (code, _, stderr) = verify(&pack, &root, &exact);
    assert_eq!(code, 1);
    assert!(
        stderr
            .contains("evidence.statement.json is not signed yet: cosign attest-blob --statement"),
        "{stderr}"
    );
}
