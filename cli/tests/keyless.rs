//! Keyless signatures verified offline by the `pci-policies` binary with
//! `--sigstore-trust-config`: a test Sigstore (`pci_host::keyless_fixture`: a Fulcio-style CA
//! and a Rekor key) signs a module and an image in Debian's docker-registry; `verify` checks the
//! module against a verification config, `scan` the image with image-signatures. Needs `dist/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pci_host::image_registry::ImageRegistry;
use pci_host::keyless::identity::GITHUB_ACTIONS_ISSUER;
use pci_host::keyless_fixture::{Signer, TestSigstore, push_signature};
use pci_host::local_registry::LocalRegistry;
use pci_host::oci::{Credentials, Registry, Transport};
use serde_json::Value;

const WORKFLOW: &str = "https://github.com/corp/app/.github/workflows/release.yml@refs/tags/v1";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the binary with `stdin`; the exit code, standard output and standard error.
fn pci_policies(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
        .current_dir(root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A file in a fresh temporary folder (removed by the test).
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keyless-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `pci-policies verify` checks a keyless-signed module: the githubAction and genericIssuer
/// entries pass with the trust root (here a ClientTrustConfig, as kwctl reads it); without
/// the flag, with another identity, or with another Sigstore's trust root, it refuses.
#[test]
fn verify_checks_keyless_modules_with_the_trust_config() {
    let local = LocalRegistry::start().expect("docker-registry (run `make setup`)");
    let registry = Registry::new(Transport::Http, Credentials::Anonymous).unwrap();
    let repository = format!("{}/pci/image-digest", local.address());
    let reference = format!("{repository}:v0.1.0");
    let module = std::fs::read(root().join("dist/image-digest.wasm")).expect("run `make build`");
    let pushed = registry.push_policy(&module, &reference).unwrap();
    let sigstore = TestSigstore::new("cli tests").unwrap();
    let layer = sigstore
        .sign(
            &repository,
            &pushed.manifest_digest,
            &Signer::uri(GITHUB_ACTIONS_ISSUER, WORKFLOW),
        )
        .unwrap();
    push_signature(&repository, &pushed.manifest_digest, &[layer]).unwrap();

    let dir = temp_dir("verify");
    let trust = write(
        &dir,
        "client-trust-config.json",
        &sigstore.client_trust_config().to_string(),
    );
    let config = |owner: &str| {
        format!(
            "apiVersion: v1\nallOf:\n  - kind: githubAction\n    owner: {owner}\n    repo: app\nanyOf:\n  signatures:\n    - kind: genericIssuer\n      issuer: {GITHUB_ACTIONS_ISSUER}\n      subject:\n        urlPrefix: https://github.com/corp\n"
        )
    };
    let good = write(&dir, "good.yml", &config("corp"));
    let intruder = write(&dir, "intruder.yml", &config("intruder"));
    let verify = |config: &str, trust: Option<&str>| {
        let mut args = vec![
            "verify",
            &reference,
            "--verification-config-path",
            config,
            "--insecure",
        ];
        if let Some(trust) = trust {
            args.extend(["--sigstore-trust-config", trust]);
        }
        pci_policies(&args, "")
    };

    let (code, stdout, stderr) = verify(&good, Some(&trust));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("verified {}", pushed.manifest_digest)),
        "{stdout}"
    );

    let (code, _, stderr) = verify(&good, None);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("allOf[0] githubAction corp/app")
            && stderr.contains("pass --sigstore-trust-config FILE"),
        "{stderr}"
    );

    let (code, _, stderr) = verify(&intruder, Some(&trust));
    assert_ne!(code, 0);
    assert!(
        stderr.contains("no signature by a GitHub Actions workflow of intruder/app"),
        "{stderr}"
    );

    let stranger = TestSigstore::new("stranger").unwrap();
    let other_root = write(
        &dir,
        "trusted_root.json",
        &stranger.trusted_root().to_string(),
    );
    let (code, _, stderr) = verify(&good, Some(&other_root));
    assert_ne!(code, 0);
    assert!(stderr.contains("not a tlog of the trust root"), "{stderr}");

    let broken = write(
        &dir,
        "broken.json",
        r#"{"tlogs": [], "certificateAuthorities": []}"#,
    );
    let (code, _, stderr) = verify(&good, Some(&broken));
    assert_ne!(code, 0);
    assert!(
        stderr.contains("broken.json is not a usable Sigstore trust config")
            && stderr.contains("certificateAuthorities: no Fulcio certificate authority"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `pci-policies scan` with image-signatures asking for a GitHub Actions signature: the
/// keyless-signed image passes with a trusted_root.json; an image signed under another
/// Sigstore fails; without the flag the check fails with a message naming it, never a pass.
#[test]
fn scan_verifies_keyless_signatures_with_the_trust_config() {
    let images = ImageRegistry::start().expect("docker-registry (run `make setup`)");
    let sigstore = TestSigstore::new("cli scan").unwrap();
    let stranger = TestSigstore::new("stranger").unwrap();
    let signed = |name: &str, by: &TestSigstore| {
        let digest = images.push(name, name).unwrap();
        let image = images.image(name);
        let repository = image.rsplit_once(':').unwrap().0.to_owned();
        let layer = by
            .sign(
                &repository,
                &digest,
                &Signer::uri(GITHUB_ACTIONS_ISSUER, WORKFLOW),
            )
            .unwrap();
        push_signature(&repository, &digest, &[layer]).unwrap();
        image
    };
    let trusted = signed("shop/web:1.0", &sigstore);
    let foreign = signed("shop/foreign:1.0", &stranger);

    let dir = temp_dir("scan");
    let trust = write(
        &dir,
        "trusted_root.json",
        &sigstore.trusted_root().to_string(),
    );
    let bundle = std::fs::read_to_string(root().join("manifests/pci-policies.yaml")).unwrap();
    let policy = bundle
        .split("\n---\n")
        .find(|doc| doc.contains("name: pci-image-signatures\n"))
        .unwrap()
        .replace("owner: example-org", "owner: corp")
        .replace(
            "registry.example.com/**",
            &format!("{}/**", images.registry.address()),
        );
    let policies = write(&dir, "policies.yaml", &policy);
    let pod = |image: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop}}\nspec:\n  containers:\n  - name: web\n    image: {image}\n"
        )
    };
    let scan = |image: &str, trust: Option<&str>| {
        let mut args = vec![
            "scan",
            "-",
            "--policies",
            &policies,
            "--insecure",
            "-o",
            "json",
        ];
        if let Some(trust) = trust {
            args.extend(["--sigstore-trust-config", trust]);
        }
        let (code, stdout, stderr) = pci_policies(&args, &pod(image));
        let report: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
        (code, report["results"][0].clone())
    };

    let (code, result) = scan(&trusted, Some(&trust));
    assert_eq!(
        (code, result["verdict"].as_str()),
        (0, Some("pass")),
        "{result:#}"
    );

    let (code, result) = scan(&foreign, Some(&trust));
    assert_eq!(
        (code, result["verdict"].as_str()),
        (1, Some("fail")),
        "{result:#}"
    );
    assert!(
        result["findings"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not a tlog of the trust root"),
        "{result:#}"
    );

    let (code, result) = scan(&trusted, None);
    assert_ne!(code, 0);
    assert_ne!(result["verdict"], "pass");
    assert!(
        result["findings"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("--sigstore-trust-config"),
        "{result:#}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
