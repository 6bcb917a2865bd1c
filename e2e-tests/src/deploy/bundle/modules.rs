//! Module references: every `module` of a policy or group member is
//! `registry://<prefix>/<policy>:v<version>@sha256:<64 hex>`, where `<prefix>/<policy>` is the
//! policy's metadata `io.kubewarden.policy.ociUrl` and `<version>` its
//! `io.kubewarden.policy.version`, and every policy's ociUrl has the same prefix: one registry
//! prefix for the whole bundle. (That the digest is the one of `dist/` is checked elsewhere.)

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_json::Value;

use pci_host::bundle::Bundle;
use pci_host::metadata::Metadata;
use pci_shared::path::FieldPath;

use crate::deploy::bundle::policies;
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

const OCI_URL: &str = "io.kubewarden.policy.ociUrl";
const VERSION: &str = "io.kubewarden.policy.version";

/// Where each policy of the checkout is published, from its `metadata.yml`.
#[derive(Clone, Debug, Default)]
pub struct ModuleFacts {
    /// Policy name → (`ociUrl`, version).
    releases: BTreeMap<String, (String, String)>,
}

impl ModuleFacts {
    /// The facts of every policy of `bundle`.
    pub fn of_checkout(bundle: &Bundle) -> Result<Self> {
        let mut facts = Self::default();
        for policy in bundle.policies()? {
            let path = bundle.policy_dir(&policy).join("metadata.yml");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let metadata =
                Metadata::from_yaml(&text).with_context(|| path.display().to_string())?;
            let annotation = |key: &str| {
                metadata
                    .annotations
                    .get(key)
                    .cloned()
                    .with_context(|| format!("{}: no annotations[{key}]", path.display()))
            };
            facts.insert(&policy, &annotation(OCI_URL)?, &annotation(VERSION)?);
        }
        Ok(facts)
    }

    /// Records that `policy` is published at `oci_url` (`ghcr.io/org/<policy>`) as `version`.
    pub fn insert(&mut self, policy: &str, oci_url: &str, version: &str) {
        self.releases
            .insert(policy.to_owned(), (oci_url.to_owned(), version.to_owned()));
    }

    /// What is wrong with the metadata itself: an ociUrl that does not end with the policy's
    /// name, or prefixes that differ between policies.
    pub fn metadata_findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut first: Option<(&str, &str)> = None;
        for (policy, (oci_url, _)) in &self.releases {
            let at = FieldPath::parse_static("annotations").field(OCI_URL);
            let object = format!("policies/{policy}/metadata.yml");
            let Some(prefix) = prefix_of(oci_url, policy) else {
                findings.push(Finding::new(
                    object,
                    at,
                    format!("{oci_url:?} does not end with /{policy}"),
                ));
                continue;
            };
            match first {
                None => first = Some((policy, prefix)),
                Some((other, expected)) if expected != prefix => findings.push(Finding::new(
                    object,
                    at,
                    format!("prefix {prefix:?} differs from {expected:?} of {other}: the bundle has one registry prefix"),
                )),
                Some(_) => {}
            }
        }
        findings
    }

    /// Why `module` is not the pinned reference of a policy of the checkout, if it is not.
    pub fn module_problem(&self, module: &str) -> Option<String> {
        let Some(reference) = module.strip_prefix("registry://") else {
            return Some(format!("{module:?} is not a registry:// reference"));
        };
        let Some((name_and_tag, digest)) = reference.split_once('@') else {
            return Some(format!(
                "{module:?} is not pinned by digest (…@sha256:<64 hex>): a tag can be pushed over"
            ));
        };
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Some(format!(
                "{module:?}: the digest {digest:?} is not sha256:<64 lower-case hex>"
            ));
        }
        let Some((repository, tag)) = name_and_tag
            .rsplit_once(':')
            .filter(|(_, tag)| !tag.contains('/'))
        else {
            return Some(format!("{module:?} has no tag (:v<version>)"));
        };
        let policy = repository.rsplit('/').next().unwrap_or(repository);
        let Some((oci_url, version)) = self.releases.get(policy) else {
            return Some(format!(
                "{module:?} names {policy:?}, which is not a policy of this checkout"
            ));
        };
        if repository != oci_url {
            return Some(format!(
                "{module:?} is not published at policies/{policy}/metadata.yml's ociUrl {oci_url:?}"
            ));
        }
        (tag != format!("v{version}")).then(|| {
            format!(
                "{module:?}: tag {tag:?}, but policies/{policy}/metadata.yml is version {version}"
            )
        })
    }
}

/// `ghcr.io/org/<policy>` → `ghcr.io/org`.
fn prefix_of<'a>(oci_url: &'a str, policy: &str) -> Option<&'a str> {
    oci_url
        .strip_suffix(policy)
        .and_then(|rest| rest.strip_suffix('/'))
        .filter(|prefix| !prefix.is_empty())
}

/// Every module of the policies and group members of `objects` that is not a pinned reference
/// of its policy.
pub fn module_findings(objects: &[Object], facts: &ModuleFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in objects.iter().filter(|object| policies::is_policy(object)) {
        for (path, module) in modules_of(object) {
            let problem = match module.as_str() {
                Some(module) => facts.module_problem(module),
                None => Some("a policy needs a module, a string".to_owned()),
            };
            findings.extend(problem.map(|problem| Finding::new(object.label(), path, problem)));
        }
    }
    findings
}

/// The modules of a policy (`spec.module`) or of a group's members
/// (`spec.policies.<member>.module`), with their paths.
fn modules_of(object: &Object) -> Vec<(FieldPath, &Value)> {
    let spec = FieldPath::parse_static("spec");
    if policies::is_group(object) {
        object
            .value
            .pointer("/spec/policies")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(member, value)| {
                (
                    spec.field("policies").field(member.clone()).field("module"),
                    value.get("module").unwrap_or(&Value::Null),
                )
            })
            .collect()
    } else {
        vec![(
            spec.field("module"),
            object.value.pointer("/spec/module").unwrap_or(&Value::Null),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn facts() -> ModuleFacts {
        let mut facts = ModuleFacts::default();
        facts.insert(
            "pod-security",
            "ghcr.io/acme/pci-policies/pod-security",
            "0.1.0",
        );
        facts.insert(
            "image-digest",
            "ghcr.io/acme/pci-policies/image-digest",
            "0.1.0",
        );
        facts
    }

    #[test]
    fn a_pinned_reference_of_the_policys_oci_url_passes() {
        let module = format!("registry://ghcr.io/acme/pci-policies/pod-security:v0.1.0@{DIGEST}");
        assert_eq!(facts().module_problem(&module), None);
        assert_eq!(facts().metadata_findings(), Vec::new());
    }

    #[test]
    fn each_way_off_the_pinned_reference_is_named() {
        let problems: Vec<_> = [
            "ghcr.io/acme/pci-policies/pod-security:v0.1.0".to_owned(),
            "registry://ghcr.io/acme/pci-policies/pod-security:v0.1.0".to_owned(),
            format!(
                "registry://ghcr.io/acme/pci-policies/pod-security:v0.1.0@{}",
                &DIGEST[..40]
            ),
            format!("registry://ghcr.io/other/pod-security:v0.1.0@{DIGEST}"),
            format!("registry://ghcr.io/acme/pci-policies/pod-security:v0.2.0@{DIGEST}"),
            format!("registry://ghcr.io/acme/pci-policies/unknown:v0.1.0@{DIGEST}"),
        ]
        .iter()
        .map(|module| facts().module_problem(module).expect("a problem"))
        .collect();
        assert!(
            problems[0].ends_with("is not a registry:// reference"),
            "{}",
            problems[0]
        );
        assert!(
            problems[1]
                .ends_with("is not pinned by digest (…@sha256:<64 hex>): a tag can be pushed over")
        );
        assert!(problems[2].contains("is not sha256:<64 lower-case hex>"));
        assert!(problems[3].ends_with("is not published at policies/pod-security/metadata.yml's ociUrl \"ghcr.io/acme/pci-policies/pod-security\""));
        assert!(
            problems[4].ends_with(
                "tag \"v0.2.0\", but policies/pod-security/metadata.yml is version 0.1.0"
            )
        );
        assert!(problems[5].ends_with("names \"unknown\", which is not a policy of this checkout"));
    }

    #[test]
    fn metadata_with_two_prefixes_is_named() {
        let mut facts = facts();
        facts.insert(
            "trusted-registries",
            "ghcr.io/pci-policies/trusted-registries",
            "0.1.0",
        );
        let findings: Vec<_> = facts
            .metadata_findings()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            findings,
            [
                "policies/trusted-registries/metadata.yml: annotations[io.kubewarden.policy.ociUrl]: prefix \"ghcr.io/pci-policies\" differs from \"ghcr.io/acme/pci-policies\" of image-digest: the bundle has one registry prefix"
            ]
        );
    }

    #[test]
    fn this_checkouts_policies_are_read() {
        let facts = ModuleFacts::of_checkout(&crate::bundle()).unwrap();
        assert_eq!(facts.releases.len(), crate::policies().len());
    }
}
