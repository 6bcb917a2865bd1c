//! `pci-policies`: the bundle's command for users.
//!
//! - `run`: evaluate a compiled policy on one request, with the flags of `kwctl run`;
//! - `annotate`: embed `metadata.yml` (and a README as usage) into a module, like `kwctl annotate`;
//! - `push`: push an annotated module to a registry, like `kwctl push`, and print its immutable
//!   reference;
//! - `verify`: check a published module's signatures with a Kubewarden verification config,
//!   like `kwctl verify`;
//! - `scan`: check files of manifests with the deployed policies, in CI (exit 0/1/2);
//! - `precompile`: a deployment's modules and compiled code into the folder installed beside
//!   the command, so a first scan starts at once;
//! - `evidence`: the assessor's evidence pack (index.html and evidence.json);
//! - `import`: PodSecurityPolicy, SCC, Gatekeeper PSP and upstream `*-psp` settings as
//!   pod-security settings.

mod deployment_objects;
mod evidence;
mod import;
mod markup;
mod profile;
mod push;
mod run;
mod scan;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use pci_host::annotate::annotate_file;
use pci_host::host::Engine;

/// The PCI DSS container-orchestration policies for Kubewarden, without kwctl.
#[derive(Parser)]
#[command(name = "pci-policies", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate an annotated policy on an admission request and print the AdmissionResponse.
    Run(run::RunArgs),
    /// Embed metadata.yml into a module as the io.kubewarden.metadata section.
    Annotate {
        /// The module (.wasm) to annotate.
        module: PathBuf,
        /// The policy metadata (metadata.yml).
        #[arg(short = 'm', long = "metadata-path")]
        metadata: PathBuf,
        /// A README to embed as `io.kubewarden.policy.usage`.
        #[arg(short = 'u', long = "usage-path")]
        usage: Option<PathBuf>,
        /// Where to write the annotated module.
        #[arg(short = 'o', long = "output-path")]
        output: PathBuf,
    },
    /// Push an annotated module to an OCI registry and print its immutable reference.
    Push(push::PushArgs),
    /// Verify a published module's signatures with a verification config, as `kwctl verify`.
    Verify(verify::VerifyArgs),
    /// Scan manifests with the deployed policies: exit 0 all pass, 1 a rejection, 2 bad input or a check not made.
    Scan(scan::ScanArgs),
    /// Write a deployment's modules and their compiled code into a folder (installed as <prefix>/share/pci-policies), so a first scan neither pulls nor compiles.
    Precompile(scan::PrecompileArgs),
    /// Build the assessor's evidence pack (from cluster exports, or manifests, reports and scans), signed if asked; `evidence verify` checks a signed one.
    Evidence(evidence::EvidenceCommand),
    /// Convert PodSecurityPolicy, SCC, Gatekeeper PSP or upstream *-psp settings to pod-security settings.
    Import(import::ImportArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => run::run(&args),
        Command::Annotate {
            module,
            metadata,
            usage,
            output,
        } => annotate(&module, &metadata, usage.as_deref(), &output),
        Command::Push(args) => push::push(&args),
        Command::Verify(args) => verify::verify(&args),
        Command::Evidence(command) => evidence::run(&command),
        Command::Import(args) => import::import(&args),
        Command::Precompile(args) => scan::precompile(&args),
        Command::Scan(args) => {
            // 0 all pass, 1 a rejection, 2 bad input, a check not made, or usage (also when the
            // scan cannot start).
            return match scan::scan(&args) {
                Ok(code) => ExitCode::from(code),
                Err(error) => {
                    eprintln!("Error: {error:#}");
                    ExitCode::from(2)
                }
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn annotate(
    module: &std::path::Path,
    metadata: &std::path::Path,
    usage: Option<&std::path::Path>,
    output: &std::path::Path,
) -> Result<()> {
    annotate_file(&Engine::new()?, module, metadata, usage, output)
}
