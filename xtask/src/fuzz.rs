//! `make fuzz`: short `cargo +nightly fuzz` runs of every target in `fuzz/`, seeded with the
//! examples and the bench corpus. A crash stops the run; its input is in `fuzz/artifacts/`,
//! and each one found becomes a regression test.

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::workspace;

/// Runs every fuzz target for `seconds`.
pub fn fuzz(seconds: u64) -> Result<()> {
    let fuzz_dir = workspace::root().join("fuzz");
    let list = Command::new("cargo")
        .current_dir(&fuzz_dir)
        .args(["+nightly", "fuzz", "list"])
        .output()
        .context("cannot run `cargo +nightly fuzz list` (cargo-fuzz and the nightly toolchain)")?;
    if !list.status.success() {
        bail!(
            "`cargo +nightly fuzz list` failed: {}",
            String::from_utf8_lossy(&list.stderr)
        );
    }
    let targets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    for target in &targets {
        seed(target)?;
        println!("fuzz: {target} for {seconds} s");
        let status = Command::new("cargo")
            .current_dir(&fuzz_dir)
            .args(["+nightly", "fuzz", "run", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .arg("-max_len=65536")
            .status()
            .context("cannot run cargo fuzz")?;
        if !status.success() {
            bail!(
                "fuzz target {target} failed: the crashing input is under fuzz/artifacts/{target}/"
            );
        }
    }
    println!(
        "fuzz: {} targets ran {seconds} s each without a failure",
        targets.len()
    );
    Ok(())
}

/// Seeds `fuzz/corpus/<target>/` with real requests, so the fuzzer starts from valid input.
fn seed(target: &str) -> Result<()> {
    let root = workspace::root();
    let dir = root.join("fuzz").join("corpus").join(target);
    std::fs::create_dir_all(&dir)?;
    if target == "image_reference" {
        for (index, image) in [
            "nginx",
            "docker.io/library/nginx:1.25",
            "registry.corp.com:5000/payments/api@sha256:3333333333333333333333333333333333333333333333333333333333333333",
            "localhost/app:v1",
        ]
        .iter()
        .enumerate()
        {
            std::fs::write(dir.join(format!("seed-{index}")), image)?;
        }
        return Ok(());
    }
    if target == "manifest_reader" {
        // Real manifests, and the separators, markers and encodings the reader must follow.
        let shop = root.join("examples").join("shop");
        let mut seeds = vec![
            "--- {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}}\n--- !!map\nkind: Pod\n--- # c\n...\n".to_owned(),
            "\u{feff}%YAML 1.1\r\n---\r\na: &x {b: 1}\r\nc: {<<: *x, d: 0644}\r\n...\r\n".to_owned(),
        ];
        for entry in std::fs::read_dir(&shop)? {
            seeds.push(std::fs::read_to_string(entry?.path())?);
        }
        for (index, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{index}")), seed)?;
        }
        return Ok(());
    }
    if target == "group_expression" {
        for (index, expression) in [
            "pinned_by_digest() || signature_verified() || immutable_tags_registry()",
            "!(a( ) && b\u{3000}()) == true",
            "a(\u{00a0}) != false",
        ]
        .iter()
        .enumerate()
        {
            std::fs::write(dir.join(format!("seed-{index}")), expression)?;
        }
        return Ok(());
    }
    let policy = target.replace('_', "-");
    let settings = crate::bench::bench_settings(&policy)?;
    let mut requests = Vec::new();
    for dir in [
        root.join("bench").join("corpus"),
        workspace::bundle().examples_dir(&policy),
    ] {
        for example in pci_host::examples::load(&dir)? {
            requests.push(example.request);
        }
    }
    for (index, request) in requests.iter().enumerate() {
        let text = json!({"request": request, "settings": settings}).to_string();
        let mut payload = vec![0u8];
        payload.extend(text.as_bytes());
        std::fs::write(dir.join(format!("seed-request-{index}")), payload)?;
        // The security oracle (mode 3) draws its case from any bytes: these give it a start.
        let mut oracle = vec![3u8];
        oracle.extend(text.as_bytes());
        std::fs::write(dir.join(format!("seed-oracle-{index}")), oracle)?;
    }
    let mut settings_seed = vec![1u8];
    settings_seed.extend(settings.to_string().into_bytes());
    std::fs::write(dir.join("seed-settings"), settings_seed)?;
    Ok(())
}
