//! The release files agree with each other: the targets and archive names release.yml builds
//! are the ones scripts/install.sh downloads, the container image copies the binaries the
//! release stages, and action.yml declares every input it reads and passes `pci-policies scan`
//! only flags it has. The action's scan and verdict steps run here on a stand-in command.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_serde::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    yaml_serde::from_str(&text(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn release_job(job: &str) -> Value {
    yaml(".github/workflows/release.yml")["jobs"][job].clone()
}

/// The `run` scripts of a list of steps, joined.
fn scripts(steps: &Value) -> String {
    let steps = steps.as_sequence().expect("steps");
    steps
        .iter()
        .filter_map(|step| step["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The step with this `id` or `name`.
fn step<'a>(steps: &'a Value, key: &str) -> &'a Value {
    steps
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|step| step["id"].as_str() == Some(key) || step["name"].as_str() == Some(key))
        .unwrap_or_else(|| panic!("no step {key}"))
}

/// The targets of release.yml's `cli` matrix.
fn release_targets() -> BTreeSet<String> {
    release_job("cli")["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("the cli job's matrix.include")
        .iter()
        .map(|entry| entry["target"].as_str().expect("target").to_owned())
        .collect()
}

/// The targets install.sh picks by `uname`: the triples its case arms assign to `target`.
fn install_targets() -> BTreeSet<String> {
    text("scripts/install.sh")
        .lines()
        .filter_map(|line| line.split_once(") target=")?.1.split_once(" ;;"))
        .map(|(target, _)| target)
        .filter(|target| {
            target
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn install_sh_downloads_the_archives_release_yml_builds() {
    let targets = release_targets();
    assert_eq!(
        targets,
        BTreeSet::from(
            [
                "x86_64-unknown-linux-musl",
                "aarch64-unknown-linux-musl",
                "x86_64-apple-darwin",
                "aarch64-apple-darwin",
            ]
            .map(String::from)
        )
    );
    assert_eq!(install_targets(), targets, "install.sh's targets");

    // The names: the build archives pci-policies-$TARGET/ as pci-policies-$TARGET.tar.gz and
    // uploads it as the artifact the release job attaches with SHA256SUMS and its bundle.
    let build = scripts(&release_job("cli")["steps"]);
    assert!(build.contains("name=\"pci-policies-$TARGET\""), "{build}");
    assert!(
        build.contains("tar -C dist/cli -czf \"dist/cli/$name.tar.gz\" \"$name\""),
        "{build}"
    );
    let publish = scripts(&release_job("cli-release")["steps"]);
    for asset in [
        "dist/cli/pci-policies-*.tar.gz",
        "dist/cli/SHA256SUMS",
        "dist/cli/SHA256SUMS.sigstore.json",
    ] {
        assert!(publish.contains(asset), "cli-release attaches no {asset}");
    }
    assert!(publish.contains("sha256sum pci-policies-*.tar.gz > SHA256SUMS"));
    assert!(
        publish.contains("cosign sign-blob --yes --bundle SHA256SUMS.sigstore.json SHA256SUMS")
    );

    let install = text("scripts/install.sh");
    for expected in [
        "archive=pci-policies-$target.tar.gz",
        "fetch SHA256SUMS\n",
        "fetch SHA256SUMS.sigstore.json",
        "\"pci-policies-$target/pci-policies\"",
        "/.github/workflows/release.yml@refs/tags/",
    ] {
        assert!(install.contains(expected), "install.sh has no {expected}");
    }
}

#[test]
fn the_image_copies_the_binaries_the_release_stages() {
    let job = release_job("image");
    let build = step(&job["steps"], "image");
    assert_eq!(build["with"]["file"].as_str(), Some("cli/Dockerfile"));
    assert_eq!(build["with"]["context"].as_str(), Some("dist/image"));
    let platforms: BTreeSet<&str> = build["with"]["platforms"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(platforms, BTreeSet::from(["linux/amd64", "linux/arm64"]));

    // The stage step puts each platform's musl binary at dist/image/<platform>/pci-policies,
    // which the Dockerfile copies as ${TARGETPLATFORM}/pci-policies from the context.
    let stage = scripts(&job["steps"]);
    assert!(stage.contains("for pair in amd64:x86_64 arm64:aarch64; do"));
    assert!(stage.contains("name=\"pci-policies-${pair#*:}-unknown-linux-musl\""));
    assert!(stage.contains(
        "cp \"dist/cli/$name/pci-policies\" \"dist/image/linux/$platform/pci-policies\""
    ));
    // Each platform's binary precompiles the default policies into the share the image installs
    // beside it.
    assert!(stage.contains("\"dist/image/linux/$platform/pci-policies\" precompile"));
    assert!(stage.contains("--out \"dist/image/linux/$platform/share\""));
    let targets = release_targets();
    for arch in ["x86_64", "aarch64"] {
        assert!(targets.contains(&format!("{arch}-unknown-linux-musl")));
    }
    let dockerfile = text("cli/Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    for expected in [
        "FROM scratch",
        "ARG TARGETPLATFORM",
        "COPY ${TARGETPLATFORM}/pci-policies /usr/local/bin/pci-policies",
        "COPY ${TARGETPLATFORM}/share /usr/local/share/pci-policies",
        "COPY --chown=65532:65532 cache /var/cache/pci-policies",
        "ENV PCI_POLICIES_CACHE=/var/cache/pci-policies",
        "USER 65532:65532",
        "ENTRYPOINT [\"/usr/local/bin/pci-policies\"]",
    ] {
        assert!(
            instructions.contains(&expected),
            "cli/Dockerfile: no {expected}"
        );
    }
    // Pushed by digest and signed.
    assert!(scripts(&job["steps"]).contains("cosign sign --yes \"$IMAGE@$DIGEST\""));
}

/// The `inputs.<name>` an action reads, in `${{ }}` and in `if:` expressions.
fn inputs_read(action: &str) -> BTreeSet<String> {
    action
        .match_indices("inputs.")
        .map(|(at, _)| {
            action[at + "inputs.".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_action_reads_only_the_inputs_it_declares_and_declares_none_it_ignores() {
    let action = yaml("action.yml");
    let declared: BTreeSet<String> = action["inputs"]
        .as_mapping()
        .expect("inputs")
        .keys()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect();
    let read = inputs_read(&text("action.yml"));
    assert_eq!(read, declared);
    assert_eq!(
        inputs_read("if: inputs.a == 'x'\nrun: ${{ inputs.b-c }}"),
        BTreeSet::from(["a".to_owned(), "b-c".to_owned()])
    );
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let install = scripts(&action["runs"]["steps"]);
    assert!(install.contains("sh \"$INSTALL_SH\" \"$@\""));
    assert!(
        text("action.yml").contains("INSTALL_SH: ${{ github.action_path }}/scripts/install.sh")
    );
}

/// The action's step `key`, run with bash as the runner runs it, with a stand-in
/// `pci-policies` on PATH that records its arguments and exits with `code`.
fn run_step(key: &str, work: &Path, env: &[(&str, &str)], code: u8) -> (Option<i32>, String) {
    let action = yaml("action.yml");
    let script = step(&action["runs"]["steps"], key)["run"]
        .as_str()
        .unwrap()
        .to_owned();
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("pci-policies");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit {code}\n",
            work.join("args").display()
        ),
    )
    .unwrap();
    assert!(
        Command::new("chmod")
            .arg("0755")
            .arg(&fake)
            .status()
            .unwrap()
            .success()
    );
    let output_file = work.join("github-output");
    std::fs::write(&output_file, "").unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
        .current_dir(work)
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output_file)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code(),
        std::fs::read_to_string(&output_file).unwrap(),
    )
}

#[test]
fn the_action_scans_with_its_inputs_and_fails_with_the_scan_exit_code() {
    let work = std::env::temp_dir().join(format!("action-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let inputs = [
        ("SCAN_PATHS", "k8s/\nrendered.yaml  *.yml"),
        ("POLICIES", "deploy/policies.yaml"),
        ("SARIF", "out.sarif"),
        ("FAIL_ON", "warn"),
        ("ARGS", "--offline --jobs 2"),
    ];
    for code in [0u8, 1, 2] {
        let (status, outputs) = run_step("scan", &work, &inputs, code);
        assert_eq!(
            status,
            Some(0),
            "the scan step records the code, the verdict step fails"
        );
        assert_eq!(outputs, format!("exit-code={code}\n"));
        let args = std::fs::read_to_string(work.join("args")).unwrap();
        assert_eq!(
            args.lines().collect::<Vec<_>>(),
            [
                "scan",
                "k8s/",
                "rendered.yaml",
                "*.yml",
                "-o",
                "sarif=out.sarif",
                "-o",
                "table",
                "--fail-on",
                "warn",
                "--policies",
                "deploy/policies.yaml",
                "--offline",
                "--jobs",
                "2"
            ]
        );
        let code_text = code.to_string();
        let (status, _) = run_step("The scan's verdict", &work, &[("CODE", &code_text)], 0);
        assert_eq!(status, Some(i32::from(code)));
    }
    std::fs::write(work.join("out.sarif"), "{}").unwrap();
    let (_, outputs) = run_step("scan", &work, &inputs, 1);
    assert_eq!(outputs, "exit-code=1\nsarif-written=true\n");
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn the_scan_flags_the_action_passes_exist() {
    let help = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
        .args(["scan", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let action = yaml("action.yml");
    let scan = step(&action["runs"]["steps"], "scan")["run"]
        .as_str()
        .unwrap();
    // The arguments it builds: the words after `set --` that are options.
    let flags: BTreeSet<&str> = scan
        .lines()
        .filter_map(|line| line.split_once("set -- ").map(|(_, args)| args))
        .flat_map(|args| args.split_whitespace())
        .filter(|word| word.starts_with('-'))
        .collect();
    let help_words: BTreeSet<&str> = help
        .split(|c: char| c.is_whitespace() || c == ',')
        .collect();
    for flag in &flags {
        assert!(
            help_words.contains(flag),
            "scan --help has no {flag}:\n{help}"
        );
    }
    // The ones this test knows the action passes (a new one: add it here).
    assert_eq!(flags, BTreeSet::from(["-o", "--fail-on", "--policies"]));
    for format in ["sarif", "table"] {
        assert!(
            help.contains(format),
            "scan --help names no {format} output"
        );
    }
    assert!(help.contains("warn"), "--fail-on warn");
}
