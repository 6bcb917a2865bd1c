//! The module lock, `deploy/modules.yaml` ([`crate::bundle::Bundle::module_lock`]): the one place where the module references the bundle
//! deploys are stated, one per policy (`registry://<ociUrl>:v<version>@sha256:<hex>`). `make pin`
//! writes it from `dist/` (the digest is the manifest `make publish` pushes, computed without a
//! registry), the generator of `deploy/` and `manifests/` reads it, and the release checks
//! that what it pushed is what it states (`make publish EXPECT_LOCK=deploy/modules.yaml`).
//!
//! ```yaml
//! # how it was made
//! modules:
//!   image-digest: registry://ghcr.io/pci-policies/image-digest:v0.1.0@sha256:<64 hex>
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::bundle::policy_of_module;

/// The scheme kwctl and policy-server read a registry module from.
const SCHEME: &str = "registry://";

/// A module reference of the lock: `registry://<repository>:<tag>[@sha256:<hex>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleRef {
    /// `host[:port]/path/<policy>`.
    pub repository: String,
    /// `v<version>`, or the tag it was pushed under.
    pub tag: String,
    /// `sha256:<64 lowercase hex>`, the manifest digest; `None` before `make pin`.
    pub digest: Option<String>,
}

impl ModuleRef {
    /// Reads `registry://<repository>:<tag>[@sha256:<hex>]`; anything else is an error saying
    /// what is wrong.
    pub fn parse(text: &str) -> Result<Self> {
        let Some(rest) = text.strip_prefix(SCHEME) else {
            bail!("{text:?} does not start with {SCHEME}");
        };
        let (named, digest) = match rest.split_once('@') {
            Some((named, digest)) => {
                if !is_sha256_digest(digest) {
                    bail!("{text:?}: the digest {digest:?} is not sha256:<64 lowercase hex>");
                }
                (named, Some(digest.to_owned()))
            }
            None => (rest, None),
        };
        let (repository, tag) = named
            .rsplit_once(':')
            .filter(|(repository, tag)| !tag.contains('/') && !repository.is_empty())
            .with_context(|| format!("{text:?} has no tag (registry://<repository>:<tag>)"))?;
        let valid_tag = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && !tag.starts_with(['.', '-']);
        if !valid_tag {
            bail!("{text:?}: the tag {tag:?} is not an OCI tag");
        }
        if !repository.contains('/')
            || repository.split('/').any(str::is_empty)
            || repository.chars().any(char::is_whitespace)
        {
            bail!("{text:?}: the repository {repository:?} is not <registry>/<path>");
        }
        Ok(Self {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            digest,
        })
    }

    /// `registry://<repository>:<tag>`, without the digest.
    pub fn by_tag(&self) -> String {
        format!("{SCHEME}{}:{}", self.repository, self.tag)
    }

    /// The same repository and tag, pinned to `digest`.
    pub fn pinned(&self, digest: &str) -> Self {
        Self {
            digest: Some(digest.to_owned()),
            ..self.clone()
        }
    }
}

impl fmt::Display for ModuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.by_tag())?;
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `sha256:` and 64 lowercase hex digits.
fn is_sha256_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The lock: one module reference per policy, in policy-name order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleLock {
    modules: BTreeMap<String, ModuleRef>,
}

/// The file's shape: nothing but `modules`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    modules: BTreeMap<String, String>,
}

impl ModuleLock {
    /// A lock of these references.
    pub fn new(modules: BTreeMap<String, ModuleRef>) -> Self {
        Self { modules }
    }

    /// Reads the lock's text: every reference valid, and each naming its own policy (the last
    /// path segment of its repository).
    pub fn parse(text: &str) -> Result<Self> {
        let file: LockFile = yaml_serde::from_str(text)
            .context("not a module lock (a `modules:` map of policy: registry://… reference)")?;
        let mut modules = BTreeMap::new();
        for (policy, reference) in file.modules {
            let module =
                ModuleRef::parse(&reference).with_context(|| format!("modules.{policy}"))?;
            let named = policy_of_module(&module.repository);
            if named != Some(policy.as_str()) {
                bail!(
                    "modules.{policy}: {reference} names the module {}, not {policy}",
                    named.unwrap_or("(none)")
                );
            }
            modules.insert(policy, module);
        }
        Ok(Self { modules })
    }

    /// Reads the lock file at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the module lock {}", path.display()))?;
        Self::parse(&text).with_context(|| path.display().to_string())
    }

    /// The lock's text: `header` (each line made a comment), then the modules.
    pub fn render(&self, header: &str) -> String {
        let mut text = String::new();
        for line in header.lines() {
            text.push_str(if line.is_empty() { "#" } else { "# " });
            text.push_str(line);
            text.push('\n');
        }
        text.push_str("modules:\n");
        for (policy, module) in &self.modules {
            text.push_str(&format!("  {policy}: {module}\n"));
        }
        text
    }

    /// The reference of `policy`, or an error saying the lock lacks it.
    pub fn module(&self, policy: &str) -> Result<&ModuleRef> {
        self.modules.get(policy).with_context(|| {
            format!("the module lock has no module for {policy}: run `make pin` and commit")
        })
    }

    /// Every policy and its reference, in name order.
    pub fn modules(&self) -> impl Iterator<Item = (&str, &ModuleRef)> {
        self.modules
            .iter()
            .map(|(policy, module)| (policy.as_str(), module))
    }

    /// Where `self` (what was built or pushed) departs from `expected`, one line per policy,
    /// in name order: a reference that differs, a policy missing from either side. Empty when
    /// they agree.
    pub fn differences(&self, expected: &ModuleLock) -> Vec<String> {
        let mut policies: Vec<&String> =
            self.modules.keys().chain(expected.modules.keys()).collect();
        policies.sort();
        policies.dedup();
        policies
            .into_iter()
            .filter_map(
                |policy| match (self.modules.get(policy), expected.modules.get(policy)) {
                    (Some(actual), Some(wanted)) if actual == wanted => None,
                    (Some(actual), Some(wanted)) => {
                        Some(format!("{policy}: {actual}, the lock says {wanted}"))
                    }
                    (Some(actual), None) => {
                        Some(format!("{policy}: {actual}, which the lock does not list"))
                    }
                    (None, Some(wanted)) => Some(format!("{policy}: none, the lock says {wanted}")),
                    (None, None) => None,
                },
            )
            .collect()
    }

    /// The one registry prefix every module is published under (`ghcr.io/pci-policies` for
    /// `…/ghcr.io/pci-policies/<policy>`), or an error naming the modules that disagree.
    pub fn registry_prefix(&self) -> Result<String> {
        let mut prefixes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (policy, module) in &self.modules {
            let prefix = module
                .repository
                .rsplit_once('/')
                .map_or("", |(prefix, _)| prefix);
            prefixes.entry(prefix).or_default().push(policy);
        }
        match prefixes.len() {
            0 => bail!("the module lock lists no module"),
            1 => Ok(prefixes.into_keys().next().unwrap_or_default().to_owned()),
            _ => bail!(
                "the modules are published under several prefixes: {}",
                prefixes
                    .iter()
                    .map(|(prefix, policies)| format!("{prefix} ({})", policies.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn lock_of(entries: &[(&str, &str)]) -> ModuleLock {
        ModuleLock::new(
            entries
                .iter()
                .map(|(policy, reference)| {
                    ((*policy).to_owned(), ModuleRef::parse(reference).unwrap())
                })
                .collect(),
        )
    }

    #[test]
    fn references_read_back_as_written() {
        for text in [
            format!("registry://ghcr.io/pci-policies/image-digest:v0.1.0@{DIGEST}"),
            "registry://ghcr.io/pci-policies/image-digest:v0.1.0".to_owned(),
            format!("registry://127.0.0.1:5000/team/pci/pod-security:v0.1.0-test@{DIGEST}"),
        ] {
            assert_eq!(ModuleRef::parse(&text).unwrap().to_string(), text);
        }
        let local = ModuleRef::parse("registry://127.0.0.1:5000/pci/pod-security:v1").unwrap();
        assert_eq!(local.repository, "127.0.0.1:5000/pci/pod-security");
        assert_eq!(local.tag, "v1");
        assert_eq!(local.digest, None);
        assert_eq!(
            local.pinned(DIGEST).to_string(),
            format!("registry://127.0.0.1:5000/pci/pod-security:v1@{DIGEST}")
        );
    }

    #[test]
    fn malformed_references_are_refused_with_the_reason() {
        for (text, reason) in [
            (
                "ghcr.io/pci/image-digest:v1",
                "does not start with registry://",
            ),
            ("registry://ghcr.io/pci/image-digest", "has no tag"),
            ("registry://127.0.0.1:5000/pci/image-digest", "has no tag"),
            ("registry://ghcr.io/pci/image-digest:", "is not an OCI tag"),
            (
                "registry://ghcr.io/pci/image-digest:v 1",
                "is not an OCI tag",
            ),
            ("registry://image-digest:v1", "is not <registry>/<path>"),
            (
                "registry://ghcr.io//image-digest:v1",
                "is not <registry>/<path>",
            ),
            (
                "registry://ghcr.io/pci/image-digest:v1@sha256:abc",
                "is not sha256:",
            ),
            (
                "registry://ghcr.io/pci/image-digest:v1@sha512:0123",
                "is not sha256:",
            ),
        ] {
            let error = ModuleRef::parse(text).unwrap_err().to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
        let upper = format!(
            "registry://ghcr.io/pci/x:v1@{}",
            DIGEST.to_ascii_uppercase().replace("SHA256", "sha256")
        );
        assert!(ModuleRef::parse(&upper).is_err());
    }

    #[test]
    fn the_lock_renders_and_reads_back() {
        let lock = lock_of(&[
            (
                "pod-security",
                &format!("registry://ghcr.io/pci-policies/pod-security:v0.1.0@{DIGEST}"),
            ),
            (
                "image-digest",
                "registry://ghcr.io/pci-policies/image-digest:v0.1.0",
            ),
        ]);
        let text = lock.render("Written by a test.\n\nSecond paragraph.");
        assert!(
            text.starts_with(
                "# Written by a test.\n#\n# Second paragraph.\nmodules:\n  image-digest: "
            ),
            "{text}"
        );
        assert_eq!(ModuleLock::parse(&text).unwrap(), lock);
        assert_eq!(
            lock.module("pod-security").unwrap().digest.as_deref(),
            Some(DIGEST)
        );
        let missing = lock.module("trusted-registries").unwrap_err().to_string();
        assert!(missing.contains("run `make pin`"), "{missing}");
    }

    #[test]
    fn a_lock_entry_must_name_its_own_policy_and_nothing_else_is_read() {
        let wrong =
            "modules:\n  pod-security: registry://ghcr.io/pci-policies/image-digest:v0.1.0\n";
        let error = format!("{:#}", ModuleLock::parse(wrong).unwrap_err());
        assert!(error.contains("modules.pod-security"), "{error}");
        let bad = "modules:\n  pod-security: ghcr.io/pci-policies/pod-security:v0.1.0\n";
        let error = format!("{:#}", ModuleLock::parse(bad).unwrap_err());
        assert!(
            error.contains("modules.pod-security") && error.contains("registry://"),
            "{error}"
        );
        let extra = "modules: {}\nregistry: ghcr.io\n";
        assert!(ModuleLock::parse(extra).is_err());
    }

    #[test]
    fn differences_name_each_policy_in_order() {
        let pinned = |policy: &str, digit: char| {
            format!(
                "registry://ghcr.io/p/{policy}:v1@sha256:{}",
                digit.to_string().repeat(64)
            )
        };
        let expected = lock_of(&[
            ("a-policy", &pinned("a-policy", '1')),
            ("b-policy", &pinned("b-policy", '2')),
            ("c-policy", &pinned("c-policy", '3')),
        ]);
        assert!(expected.differences(&expected).is_empty());
        let built = lock_of(&[
            ("a-policy", &pinned("a-policy", '9')),
            ("c-policy", &pinned("c-policy", '3')),
            ("d-policy", &pinned("d-policy", '4')),
        ]);
        let differences = built.differences(&expected);
        assert_eq!(differences.len(), 3, "{differences:?}");
        assert!(
            differences[0].starts_with("a-policy: registry://ghcr.io/p/a-policy:v1@sha256:999")
        );
        assert!(
            differences[0].contains("the lock says registry://ghcr.io/p/a-policy:v1@sha256:111")
        );
        assert!(differences[1].starts_with("b-policy: none, the lock says"));
        assert!(differences[2].contains("which the lock does not list"));
    }

    #[test]
    fn the_modules_share_one_registry_prefix() {
        let one = lock_of(&[
            ("a", "registry://ghcr.io/pci-policies/a:v1"),
            ("b", "registry://ghcr.io/pci-policies/b:v2"),
        ]);
        assert_eq!(one.registry_prefix().unwrap(), "ghcr.io/pci-policies");
        let two = lock_of(&[
            ("a", "registry://ghcr.io/pci-policies/a:v1"),
            ("b", "registry://ghcr.io/acme/pci-policies/b:v1"),
        ]);
        let error = two.registry_prefix().unwrap_err().to_string();
        assert!(
            error.contains("ghcr.io/acme/pci-policies (b)")
                && error.contains("ghcr.io/pci-policies (a)"),
            "{error}"
        );
        assert!(ModuleLock::default().registry_prefix().is_err());
    }
}
