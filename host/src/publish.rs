//! Publishing the whole bundle: every policy's `dist/<name>.wasm` pushed as `kwctl push` does,
//! to `<prefix>/<id>:<tag>` (`make publish`).

use anyhow::{Context, Result};

use crate::bundle::Bundle;
use crate::metadata::Metadata;
use crate::oci::{Pushed, Registry, policy_reference, read_module};

/// One policy pushed: its name, the reference pushed to, and what the registry answered.
#[derive(Clone, Debug)]
pub struct Published {
    pub policy: String,
    pub reference: String,
    pub pushed: Pushed,
}

/// Pushes every annotated module of `bundle` with `registry` under `prefix` (tag: `tag`, or
/// `v<version>` from each module's metadata); stops at the first failure.
pub fn publish_bundle(
    bundle: &Bundle,
    registry: &Registry,
    prefix: &str,
    tag: Option<&str>,
) -> Result<Vec<Published>> {
    let mut published = Vec::new();
    for policy in bundle.policies()? {
        let module = read_module(&bundle.module(&policy))?;
        let metadata = Metadata::from_module(&module)?
            .with_context(|| format!("dist/{policy}.wasm is not annotated: run `make build`"))?;
        let reference = policy_reference(prefix, &metadata, tag)?;
        let pushed = registry.push_policy(&module, &reference)?;
        published.push(Published {
            policy,
            reference,
            pushed,
        });
    }
    Ok(published)
}
