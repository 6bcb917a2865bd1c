//! `scripts/install.sh` against a release folder made here as release.yml makes one (an archive
//! per target, SHA256SUMS by `sha256sum`), served as `file://`: it installs a good archive, and
//! refuses, installing nothing, a tampered or unlisted one, a signature cosign rejects, or a
//! missing cosign when the signature is required. cosign is a stand-in script that records how
//! it was called.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TARGET: &str = "x86_64-unknown-linux-musl";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/install.sh")
}

/// A fresh folder under the temporary directory.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("install-sh-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the command runs")
}

/// A release folder: `pci-policies-<TARGET>.tar.gz` holding a binary that prints `marker` (and
/// appends its arguments to `<itself>.args`), and SHA256SUMS of every archive.
fn release(dir: &Path, marker: &str) {
    let name = format!("pci-policies-{TARGET}");
    std::fs::create_dir_all(dir.join(&name)).unwrap();
    let binary = dir.join(&name).join("pci-policies");
    std::fs::write(
        &binary,
        format!("#!/bin/sh\n[ $# -eq 0 ] || printf '%s\\n' \"$@\" >> \"$0.args\"\necho {marker}\n"),
    )
    .unwrap();
    let chmod = run(Command::new("chmod").arg("0755").arg(&binary));
    assert!(chmod.status.success());
    let tar =
        run(Command::new("tar")
            .current_dir(dir)
            .args(["-czf", &format!("{name}.tar.gz"), &name]));
    assert!(tar.status.success(), "{tar:?}");
    let sums = run(Command::new("sh")
        .current_dir(dir)
        .args(["-c", "sha256sum pci-policies-*.tar.gz > SHA256SUMS"]));
    assert!(sums.status.success(), "{sums:?}");
    std::fs::write(dir.join("SHA256SUMS.sigstore.json"), "{}").unwrap();
}

/// A stand-in cosign that writes its arguments to `<dir>/cosign.args` and exits with `code`.
fn cosign(dir: &Path, code: u8) -> PathBuf {
    let path = dir.join("cosign");
    let log = dir.join("cosign.args");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit {code}\n",
            log.display()
        ),
    )
    .unwrap();
    assert!(
        run(Command::new("chmod").arg("0755").arg(&path))
            .status
            .success()
    );
    path
}

/// install.sh from `release_dir` into `<work>/bin`, with `cosign` as the cosign command.
fn install(release_dir: &Path, work: &Path, cosign: &Path, extra: &[&str]) -> Output {
    run(Command::new("sh")
        .arg(script())
        .args(["--version", "v0.1.0", "--target", TARGET, "--base-url"])
        .arg(format!("file://{}", release_dir.display()))
        .arg("--dir")
        .arg(work.join("bin"))
        .args(extra)
        .env("PCI_POLICIES_COSIGN", cosign))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_good_archive_is_installed_and_says_the_signature_was_not_checked_without_cosign() {
    let work = folder("good");
    release(&work.join("release"), "the-released-binary");
    let output = install(&work.join("release"), &work, &work.join("no-cosign"), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("only the checksum was checked"),
        "{}",
        stderr(&output)
    );
    let installed = run(&mut Command::new(work.join("bin/pci-policies")));
    assert_eq!(
        String::from_utf8_lossy(&installed.stdout),
        "the-released-binary\n"
    );
    // The default policies precompiled where the command looks: <prefix>/share beside bin.
    let args = std::fs::read_to_string(work.join("bin/pci-policies.args")).unwrap();
    assert_eq!(
        args,
        format!("precompile\n--out\n{}/share/pci-policies\n", work.display())
    );
    std::fs::remove_file(work.join("bin/pci-policies.args")).unwrap();
    let again = install(
        &work.join("release"),
        &work,
        &work.join("no-cosign"),
        &["--no-precompile"],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!work.join("bin/pci-policies.args").exists());
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_tampered_archive_is_refused_and_nothing_is_installed() {
    let work = folder("tampered");
    let release_dir = work.join("release");
    release(&release_dir, "genuine");
    // The archive replaced after SHA256SUMS was written, as a compromised mirror would.
    let sums = std::fs::read(release_dir.join("SHA256SUMS")).unwrap();
    release(&release_dir, "tampered");
    std::fs::write(release_dir.join("SHA256SUMS"), sums).unwrap();
    let output = install(&release_dir, &work, &work.join("no-cosign"), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("refusing to install it"),
        "{}",
        stderr(&output)
    );
    assert!(!work.join("bin").exists());
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn an_archive_sha256sums_does_not_list_is_refused() {
    let work = folder("unlisted");
    let release_dir = work.join("release");
    release(&release_dir, "genuine");
    std::fs::write(release_dir.join("SHA256SUMS"), "").unwrap();
    let output = install(&release_dir, &work, &work.join("no-cosign"), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!("lists no pci-policies-{TARGET}.tar.gz")),
        "{}",
        stderr(&output)
    );
    assert!(!work.join("bin").exists());
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn the_signature_is_checked_for_the_release_workflow_of_the_version() {
    let work = folder("signed");
    release(&work.join("release"), "genuine");
    let cosign = cosign(&work, 0);
    let output = install(
        &work.join("release"),
        &work,
        &cosign,
        &["--require-signature", "--trusted-root", "root.json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let args = std::fs::read_to_string(work.join("cosign.args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args[0], "verify-blob");
    for expected in [
        "--certificate-identity=https://github.com/pci-policies/pci-policies/.github/workflows/release.yml@refs/tags/v0.1.0",
        "--certificate-oidc-issuer=https://token.actions.githubusercontent.com",
        "--trusted-root=root.json",
    ] {
        assert!(args.contains(&expected), "{expected} not in {args:?}");
    }
    assert!(
        args.iter()
            .any(|a| a.starts_with("--bundle=") && a.ends_with("/SHA256SUMS.sigstore.json"))
    );
    assert!(args.last().unwrap().ends_with("/SHA256SUMS"), "{args:?}");
    assert!(work.join("bin/pci-policies").is_file());
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_signature_cosign_rejects_is_refused() {
    let work = folder("bad-signature");
    release(&work.join("release"), "genuine");
    let cosign = cosign(&work, 1);
    let output = install(&work.join("release"), &work, &cosign, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the signature of SHA256SUMS does not verify"),
        "{}",
        stderr(&output)
    );
    assert!(!work.join("bin").exists());
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_required_signature_without_cosign_is_refused() {
    let work = folder("no-cosign");
    release(&work.join("release"), "genuine");
    let output = install(
        &work.join("release"),
        &work,
        &work.join("no-cosign"),
        &["--require-signature"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cosign is not installed and --require-signature was given"),
        "{}",
        stderr(&output)
    );
    assert!(!work.join("bin").exists());
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_version_that_is_not_a_tag_is_refused_before_downloading() {
    let output = run(Command::new("sh").arg(script()).args([
        "--version",
        "0.1.0; rm -rf /",
        "--base-url",
        "file:///nowhere",
    ]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("expected latest or a release tag such as v0.1.0"),
        "{}",
        stderr(&output)
    );
}
