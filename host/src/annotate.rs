//! `kwctl annotate`, in Rust: embed `metadata.yml` into a module as `io.kubewarden.metadata`.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::capabilities::HostCapabilities;
use crate::host::{DEFAULT_DEADLINE_TICKS, Engine};
use crate::metadata::{Metadata, SECTION};
use crate::sections;

/// The annotation naming the tool that annotated the module (in place of `io.kubewarden.kwctl`).
pub const TOOL_ANNOTATION: &str = "io.pci-policies.annotate";
const USAGE_ANNOTATION: &str = "io.kubewarden.policy.usage";
const KWCTL_ANNOTATION: &str = "io.kubewarden.kwctl";

/// Annotates `module` with `metadata_yaml` and the policy README as usage.
///
/// The protocol version is asked from the module itself; any earlier metadata section is
/// replaced; the metadata is validated as policy-server would.
pub fn annotate(
    engine: &Engine,
    module: &[u8],
    metadata_yaml: &str,
    usage: Option<&str>,
) -> Result<Vec<u8>> {
    let mut metadata = Metadata::from_yaml(metadata_yaml)?;
    if metadata.protocol_version.is_some() {
        bail!("metadata.yml must not set protocolVersion: it is read from the module");
    }
    let stripped = sections::remove_custom(module, SECTION)?;
    let instance = engine
        .compile(&stripped)?
        .instantiate(HostCapabilities::none(), DEFAULT_DEADLINE_TICKS)?;
    let protocol = instance
        .protocol_version()
        .context("the module does not answer protocol_version")?;
    metadata.protocol_version = Some(protocol);
    metadata.annotations.remove(KWCTL_ANNOTATION);
    metadata
        .annotations
        .insert(TOOL_ANNOTATION.into(), env!("CARGO_PKG_VERSION").into());
    if let Some(usage) = usage {
        metadata
            .annotations
            .insert(USAGE_ANNOTATION.into(), usage.to_owned());
    }
    metadata.validate()?;
    let payload = serde_json::to_vec(&metadata)?;
    sections::append_custom(&stripped, SECTION, &payload)
}

/// [`annotate`] from files: the module, `metadata.yml`, an optional README for usage, and where
/// to write the annotated module.
pub fn annotate_file(
    engine: &Engine,
    module: &Path,
    metadata: &Path,
    usage: Option<&Path>,
    output: &Path,
) -> Result<()> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let bytes =
        std::fs::read(module).with_context(|| format!("cannot read {}", module.display()))?;
    let usage_text = usage.map(read).transpose()?;
    let annotated = annotate(engine, &bytes, &read(metadata)?, usage_text.as_deref())
        .with_context(|| {
            format!(
                "cannot annotate {} with {}",
                module.display(),
                metadata.display()
            )
        })?;
    std::fs::write(output, annotated).with_context(|| format!("cannot write {}", output.display()))
}
