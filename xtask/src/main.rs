//! Project tooling: `cargo run -p xtask -- <command>` (the Makefile's targets call these).
//!
//! - `build`: compile every policy to wasm, optimise it with `wasm-opt`, annotate it with its
//!   `metadata.yml` and README, and write `dist/<name>.wasm`;
//! - `run`: evaluate every policy on its example requests (`policies/<name>/examples/`) and
//!   print a table;
//! - `bench`: size, compile time and evaluation time of every policy, and the throughput of
//!   `pci-policies scan`, against budgets;
//! - `bench-variants`: the same for opt-level and wasm-opt choices (recorded in BENCHMARKS.md);
//! - `generate` (feature `generate`): Artifact Hub packages, the Kustomize bundle `deploy/`
//!   and its flat manifests (protect and monitor rollouts), the PCI matrix, fuzz targets and the
//!   README's policy table (`--check`: fail when stale); `manifests --mode monitor|protect`:
//!   only one rollout's manifests;
//! - `fuzz`: short cargo-fuzz runs of every target in `fuzz/`;
//! - with the `live` feature: `publish` (also `generate`: push every policy in `dist/` to a
//!   registry like `kwctl push`, sign it, attest its SBOM, write pinned manifests and deploy
//!   tree), `pin` (also `generate`: the module lock `deploy/modules.yaml` from `dist/`, then
//!   the generated files) and `record` (regenerate the recorded replay fixtures from live runs
//!   against a real registry).
//!
//! Users annotate, run and push single modules with the `pci-policies` command (`cli/`).

mod bench;
mod build;
mod examples;
#[cfg(test)]
mod function_length;
mod fuzz;
#[cfg(feature = "generate")]
mod generate;
#[cfg(test)]
mod invariants;
#[cfg(all(feature = "live", feature = "generate"))]
mod pin;
#[cfg(all(feature = "live", feature = "generate"))]
mod publish;
#[cfg(feature = "live")]
mod record;
#[cfg(feature = "live")]
mod sbom;
mod scan_bench;
#[cfg(all(test, feature = "generate"))]
mod settings_paths;
mod variants;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, optimise and annotate every policy into dist/.
    Build {
        /// Only these policies (default: all).
        #[arg(long = "policy")]
        policies: Vec<String>,
    },
    /// Evaluate every policy on the examples and print a verdict table.
    Run {
        /// Also write the table to this file.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Measure wasm size, compile time and evaluation time of every policy.
    Bench {
        /// Timed evaluations per request (after warm-up).
        #[arg(long, default_value_t = 5000)]
        iterations: usize,
        /// Where to write the table.
        #[arg(long, default_value = "target/bench/results.md")]
        output: PathBuf,
    },
    /// Write the generated files (Artifact Hub, deploy/, manifests, PCI matrix), or check them.
    #[cfg(feature = "generate")]
    Generate {
        /// Only check that the checked-in files are current.
        #[arg(long)]
        check: bool,
    },
    /// Write the manifests of one rollout: protect (manifests/) or monitor (manifests/monitor/).
    #[cfg(feature = "generate")]
    Manifests {
        #[arg(long, default_value = "protect")]
        mode: String,
    },
    /// Compare opt-level and wasm-opt choices: size and time on the reference request.
    BenchVariants {
        #[arg(long, default_value = "target/bench/variants.md")]
        output: PathBuf,
    },
    /// Short cargo-fuzz runs of every target in fuzz/ (nightly).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Record replay fixtures from live runs against a local registry (test_data/recorded/).
    #[cfg(feature = "live")]
    Record,
    /// Push every policy in dist/ to a registry, sign each pushed digest, attest its SBOM, and
    /// write the release files (pinned manifests, SBOMs, verification config).
    #[cfg(all(feature = "live", feature = "generate"))]
    Publish {
        /// `host[:port][/path]`, a mirror: each policy goes to `<registry>/<id>:<tag>` (default:
        /// its `io.kubewarden.policy.ociUrl`).
        #[arg(long)]
        registry: Option<String>,
        /// Tag (default `v<version>` from the metadata).
        #[arg(long)]
        tag: Option<String>,
        /// Plain HTTP, for local registries only.
        #[arg(long)]
        insecure: bool,
        /// Docker config file with the credentials (default `$DOCKER_CONFIG` or `~/.docker`).
        #[arg(long = "docker-config-json-path")]
        docker_config: Option<PathBuf>,
        /// Where the release files go.
        #[arg(long, default_value = "dist/release")]
        out: PathBuf,
        /// Push without signing (throwaway registries only).
        #[arg(long)]
        unsigned: bool,
        /// A module lock (the release: deploy/modules.yaml) that every reference to push, and
        /// every pushed digest, must equal; checked before the first push and after the last.
        #[arg(long = "expect-lock")]
        expect_lock: Option<PathBuf>,
    },
    /// Write the module lock deploy/modules.yaml from dist/ (each module's manifest digest,
    /// computed without a registry), then the generated files that follow it.
    #[cfg(all(feature = "live", feature = "generate"))]
    Pin,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Build { policies } => build::build(&policies),
        Command::Run { output } => examples::run(output.as_deref()),
        Command::Bench { iterations, output } => bench::bench(iterations, &output),
        #[cfg(feature = "generate")]
        Command::Generate { check } => {
            if check {
                generate::check()
            } else {
                generate::write()
            }
        }
        #[cfg(feature = "generate")]
        Command::Manifests { mode } => {
            generate::manifests::Rollout::parse(&mode).and_then(generate::write_manifests)
        }
        #[cfg(feature = "live")]
        Command::Record => record::record(),
        Command::Fuzz { seconds } => fuzz::fuzz(seconds),
        Command::BenchVariants { output } => variants::bench_variants(&output),
        #[cfg(all(feature = "live", feature = "generate"))]
        Command::Publish {
            registry,
            tag,
            insecure,
            docker_config,
            out,
            unsigned,
            expect_lock,
        } => publish::publish(&publish::Target {
            prefix: registry,
            tag,
            insecure,
            docker_config,
            out,
            unsigned,
            expect_lock,
        }),
        #[cfg(all(feature = "live", feature = "generate"))]
        Command::Pin => pin::pin(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
