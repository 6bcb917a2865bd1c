//! `deploy/modules.yaml`, the module lock: the one place the module every generated policy,
//! twin and group member deploys is stated (`registry://<ociUrl>:v<version>`, and the digest
//! `make pin` adds). The registry and the version come from each policy's metadata.yml: the
//! lock must agree with them, and must name every policy and nothing else.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::generate::manifests::default_module;
use crate::generate::policy::PolicySources;

/// The file, relative to the repository root.
pub const PATH: &str = "deploy/modules.yaml";

/// The file's shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    modules: BTreeMap<String, String>,
}

/// The checked module references, by policy name.
#[derive(Debug)]
pub struct ModuleLock {
    modules: BTreeMap<String, String>,
}

impl ModuleLock {
    /// Reads `deploy/modules.yaml` under `root` and checks it against `policies`.
    pub fn load(root: &Path, policies: &[PolicySources]) -> Result<Self> {
        let path = root.join(PATH);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text, policies)
    }

    /// Reads lock text and checks it: every policy has an entry agreeing with its metadata,
    /// and no entry names another policy. Every problem is named at once.
    pub fn parse(text: &str, policies: &[PolicySources]) -> Result<Self> {
        let file: LockFile = yaml_serde::from_str(text).context(PATH)?;
        let mut problems = Vec::new();
        for policy in policies {
            match file.modules.get(&policy.name) {
                None => problems.push(format!(
                    "modules.{}: missing; add `{}: {}` (or run `make pin`)",
                    policy.name,
                    policy.name,
                    default_module(policy)?
                )),
                Some(reference) => {
                    if let Err(reason) = check_reference(reference, policy) {
                        problems.push(format!("modules.{}: {reason}", policy.name));
                    }
                }
            }
        }
        for name in file.modules.keys() {
            if !policies.iter().any(|p| &p.name == name) {
                problems.push(format!("modules.{name}: no policy {name} in policies/"));
            }
        }
        if !problems.is_empty() {
            bail!("{PATH}:\n  {}", problems.join("\n  "));
        }
        Ok(Self {
            modules: file.modules,
        })
    }

    /// The module reference of `policy`.
    pub fn module(&self, policy: &PolicySources) -> Result<String> {
        self.modules
            .get(&policy.name)
            .cloned()
            .with_context(|| format!("{PATH} has no module for {}", policy.name))
    }
}

/// `registry://<ociUrl>:v<version>` exactly as metadata.yml says, optionally followed by
/// `@sha256:<64 lower-case hex digits>`.
pub fn check_reference(reference: &str, policy: &PolicySources) -> Result<(), String> {
    let expected = default_module(policy).map_err(|error| error.to_string())?;
    let Some(rest) = reference.strip_prefix(&expected) else {
        return Err(format!(
            "{reference:?} does not start with {expected:?}, the ociUrl and version of policies/{}/metadata.yml",
            policy.name
        ));
    };
    if rest.is_empty() {
        return Ok(());
    }
    let digest = rest.strip_prefix("@sha256:").unwrap_or_default();
    let hex = digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex {
        Ok(())
    } else {
        Err(format!(
            "{reference:?}: after {expected:?} only @sha256:<64 lower-case hex digits> may follow"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::policy;

    #[test]
    fn the_checked_in_lock_names_every_policy() {
        let policies = policy::all().unwrap();
        let lock = ModuleLock::load(&crate::workspace::root(), &policies).unwrap();
        for policy in &policies {
            let module = lock.module(policy).unwrap();
            assert!(
                module.starts_with(&default_module(policy).unwrap()),
                "{module}"
            );
        }
    }

    #[test]
    fn references_must_agree_with_the_metadata() {
        let policies = policy::all().unwrap();
        let digest = |policy: &PolicySources| {
            format!(
                "{}@sha256:{}",
                default_module(policy).unwrap(),
                "0a".repeat(32)
            )
        };
        let lock = |edit: &dyn Fn(&PolicySources) -> Option<String>| {
            let mut text = String::from("modules:\n");
            for policy in &policies {
                if let Some(reference) = edit(policy) {
                    text.push_str(&format!("  {}: {reference}\n", policy.name));
                }
            }
            ModuleLock::parse(&text, &policies)
        };
        let pinned = lock(&|p| Some(digest(p))).unwrap();
        let image_digest = policies.iter().find(|p| p.name == "image-digest").unwrap();
        assert!(
            pinned
                .module(image_digest)
                .unwrap()
                .ends_with(&"0a".repeat(32))
        );
        assert!(lock(&|p| Some(default_module(p).unwrap())).is_ok());
        for (edit, expected) in [
            (
                &(|p: &PolicySources| (p.name != "pod-security").then(|| digest(p)))
                    as &dyn Fn(&PolicySources) -> Option<String>,
                "modules.pod-security: missing; add `pod-security: registry://ghcr.io/pci-policies/pod-security:v0.1.0`",
            ),
            (
                &|p: &PolicySources| Some(digest(p).replace(":v0.1.0", ":v0.2.0")),
                "does not start with \"registry://ghcr.io/pci-policies/image-digest:v0.1.0\"",
            ),
            (
                &|p: &PolicySources| {
                    Some(digest(p).replace("ghcr.io/pci-policies", "ghcr.io/acme/pci-policies"))
                },
                "the ociUrl and version of policies/image-digest/metadata.yml",
            ),
            (
                &|p: &PolicySources| Some(digest(p).replace("0a0a", "0A0A")),
                "only @sha256:<64 lower-case hex digits> may follow",
            ),
            (
                &|p: &PolicySources| Some(format!("{}@sha256:abc", default_module(p).unwrap())),
                "only @sha256:",
            ),
            (
                &|p: &PolicySources| Some(format!("{}-rc1", default_module(p).unwrap())),
                "only @sha256:",
            ),
        ] {
            let error = lock(edit).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
        let extra = "modules:\n  retired-policy: registry://x:v1\n";
        let error = ModuleLock::parse(extra, &policies).unwrap_err().to_string();
        assert!(
            error.contains("modules.retired-policy: no policy retired-policy"),
            "{error}"
        );
        assert!(error.contains("modules.image-digest: missing"), "{error}");
        let error = ModuleLock::parse("modules: {}\nextra: 1\n", &policies).unwrap_err();
        assert!(
            format!("{error:#}").contains("unknown field `extra`"),
            "{error:#}"
        );
    }
}
