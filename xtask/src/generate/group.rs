//! `manifests/<group>.yaml`: a `ClusterAdmissionPolicyGroup` from `groups/<group>.yml`, checked
//! as Kubewarden's controller checks it (member names, expression operators, timeouts) and for
//! what the controller does not check: no member can fail open, and no member patches.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kubewarden_policy_sdk::crd::policies::ClusterAdmissionPolicyGroup;
use kubewarden_policy_sdk::crd::policies::cluster_admission_policy_group::ClusterAdmissionPolicyGroupSpec;
use pci_host::group::Expression;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::manifests::Rollout;
use super::placement::Placement;
use super::policy::{CONTROLS_ANNOTATION, PolicySources, TIMEOUT_RANGE};
use super::webhook::Switch;
use crate::workspace;

/// `groups/<name>.yml`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSource {
    pub name: String,
    /// The PCI control the group decides.
    pub control: String,
    pub expression: String,
    pub message: String,
    pub timeout_seconds: u32,
    /// Why this timeout.
    pub why: String,
    pub members: BTreeMap<String, MemberSource>,
}

/// One member: a policy of the bundle with settings that never patch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberSource {
    pub policy: String,
    pub settings: Map<String, Value>,
    pub why: String,
    #[serde(default)]
    pub organisation_specific: bool,
}

/// The group sources in `groups/`, by file name.
pub fn all() -> Result<Vec<GroupSource>> {
    let dir = workspace::root().join("groups");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)?;
            let group: GroupSource =
                yaml_serde::from_str(&text).with_context(|| format!("{}", path.display()))?;
            if path.file_stem().and_then(|s| s.to_str()) != Some(group.name.as_str()) {
                bail!("{}: the file is named after the group", path.display());
            }
            Ok(group)
        })
        .collect()
}

impl GroupSource {
    /// Checks the group as the controller does, and that no error or patch can admit.
    pub fn check(&self, policies: &[PolicySources]) -> Result<()> {
        if self.message.trim().is_empty() {
            bail!("{}: message is required", self.name);
        }
        if self.why.trim().is_empty() {
            bail!("{}: why is empty: say why this timeout", self.name);
        }
        self.check_expression()?;
        if !TIMEOUT_RANGE.contains(&self.timeout_seconds) {
            bail!(
                "{}: timeoutSeconds {} is outside 2–30",
                self.name,
                self.timeout_seconds
            );
        }
        self.check_members(policies)
    }

    /// The expression parses, calls every member and only members, and no erroring member
    /// can make it true.
    fn check_expression(&self) -> Result<()> {
        let expression = Expression::parse(&self.expression)
            .map_err(|reason| anyhow::anyhow!("{}: expression: {reason}", self.name))?;
        let called = expression.members();
        for name in self.members.keys() {
            check_member_name(name)?;
            if !called.contains(name) {
                bail!(
                    "{}: member {name} is never called in the expression",
                    self.name
                );
            }
        }
        if let Some(unknown) = called.iter().find(|name| !self.members.contains_key(*name)) {
            bail!(
                "{}: the expression calls {unknown}(), which is not a member",
                self.name
            );
        }
        let open = expression.members_that_can_fail_open();
        if !open.is_empty() {
            bail!(
                "{}: {} can fail open: an erroring member reads as false, so it must not be negated or compared",
                self.name,
                open.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
        Ok(())
    }

    /// Every member gives a reason, cannot patch, has the group's rules, and their evaluation
    /// timeouts fit in the group's.
    fn check_members(&self, policies: &[PolicySources]) -> Result<()> {
        let mut sum = 0;
        let mut group_rules = None;
        for (name, member) in &self.members {
            let policy = find(policies, &member.policy)?;
            if member.why.trim().is_empty() {
                bail!("{}: member {name} gives no reason", self.name);
            }
            if Switch::for_policy(&member.policy)?
                .can_patch(&member.settings)
                .with_context(|| format!("{}: member {name}", self.name))?
            {
                bail!(
                    "{}: member {name}'s settings can patch, and a patch counts as false in a group",
                    self.name
                );
            }
            // The group has one set of rules: every member must be written for the same.
            let rules: &Vec<_> = group_rules.get_or_insert(&policy.metadata.rules);
            if *rules != policy.metadata.rules {
                bail!(
                    "{}: member {name} has other rules than the other members",
                    self.name
                );
            }
            if let Some(eval) = policy.pci.timeouts.evaluation_seconds {
                if eval > self.timeout_seconds {
                    bail!(
                        "{}: member {name}'s {eval} s exceeds the group's timeoutSeconds",
                        self.name
                    );
                }
                sum += eval;
            }
        }
        if sum > self.timeout_seconds || sum > 30 {
            bail!(
                "{}: the members' evaluation timeouts add up to {sum} s, above the group's timeoutSeconds {} (or 30)",
                self.name,
                self.timeout_seconds
            );
        }
        Ok(())
    }

    /// The `ClusterAdmissionPolicyGroup`, each member named `module` gives, on the bundle's
    /// PolicyServer and sparing the system namespaces.
    pub fn cluster_admission_policy_group(
        &self,
        policies: &[PolicySources],
        rollout: Rollout,
        module: &dyn Fn(&PolicySources) -> Result<String>,
        placement: &Placement,
    ) -> Result<ClusterAdmissionPolicyGroup> {
        self.check(policies)?;
        let mut members = Map::new();
        let mut rules = Value::Null;
        for (name, member) in &self.members {
            let policy = find(policies, &member.policy)?;
            rules = serde_json::to_value(&policy.metadata.rules)?;
            let mut spec = Map::new();
            spec.insert("module".into(), module(policy)?.into());
            spec.insert("settings".into(), Value::Object(member.settings.clone()));
            if let Some(eval) = policy.pci.timeouts.evaluation_seconds {
                spec.insert("timeoutEvalSeconds".into(), eval.into());
            }
            if !policy.metadata.context_aware_resources.is_empty() {
                spec.insert(
                    "contextAwareResources".into(),
                    serde_json::to_value(&policy.metadata.context_aware_resources)?,
                );
            }
            members.insert(name.clone(), Value::Object(spec));
        }
        let mut spec = json!({
            "policyServer": placement.policy_server,
            "namespaceSelector": placement.sparing_system_namespaces(),
            "mode": "protect",
            "failurePolicy": "Fail",
            "backgroundAudit": true,
            "rules": rules,
            "policies": members,
            "expression": self.expression,
            "message": self.message.trim(),
            "timeoutSeconds": self.timeout_seconds,
        });
        if let Value::Object(fields) = &mut spec {
            rollout.apply(fields);
        }
        let spec: ClusterAdmissionPolicyGroupSpec =
            serde_json::from_value(spec).with_context(|| {
                format!(
                    "{} is not a valid ClusterAdmissionPolicyGroup spec",
                    self.name
                )
            })?;
        let annotations = BTreeMap::from([
            (
                "io.kubewarden.policy.category".to_owned(),
                "PCI DSS".to_owned(),
            ),
            (
                "io.kubewarden.policy.severity".to_owned(),
                "high".to_owned(),
            ),
            (CONTROLS_ANNOTATION.to_owned(), self.control.clone()),
        ]);
        Ok(ClusterAdmissionPolicyGroup {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
            ..Default::default()
        })
    }

    /// The manifest file: a header saying what to replace, and the group.
    pub fn manifest(
        &self,
        policies: &[PolicySources],
        rollout: Rollout,
        module: &dyn Fn(&PolicySources) -> Result<String>,
        placement: &Placement,
    ) -> Result<String> {
        let group = self.cluster_admission_policy_group(policies, rollout, module, placement)?;
        let mut header = format!(
            "# {name}: a ClusterAdmissionPolicyGroup generated by `make generate` from groups/{name}.yml.\n# The bundle (deploy/base, manifests/pci-policies.yaml) deploys it beside the separate policies;\n# docs/rollout.md says how to deploy it instead of image-digest and image-signatures.\n",
            name = self.name
        );
        header.push_str(&format!("# timeoutSeconds: {}\n", self.why.trim()));
        let specific: Vec<&str> = self
            .members
            .iter()
            .filter(|(_, m)| m.organisation_specific)
            .map(|(name, _)| name.as_str())
            .collect();
        if !specific.is_empty() {
            header.push_str(&format!(
                "# Organisation-specific examples, the settings of {}: state yours once in a copy of\n# deploy/examples/organisation/values.yaml (or replace them in this file before applying it).\n",
                specific.join(", ")
            ));
        }
        Ok(format!(
            "{header}---\n{}",
            super::manifests::to_yaml(&group)?
        ))
    }
}

fn find<'a>(policies: &'a [PolicySources], name: &str) -> Result<&'a PolicySources> {
    policies
        .iter()
        .find(|p| p.name == name)
        .with_context(|| format!("no policy {name} in policies/"))
}

/// `^[_a-zA-Z][_a-zA-Z0-9]*$`, not a reserved word (the controller's rule).
fn check_member_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    if !valid {
        bail!("member name {name:?} must match ^[_a-zA-Z][_a-zA-Z0-9]*$");
    }
    if pci_host::group::CEL_RESERVED_WORDS.contains(&name) {
        bail!("member name {name:?} is a reserved word");
    }
    Ok(())
}

/// Parses group manifest text with the SDK's CRD types; a field they do not know is an error.
pub fn parse_strict(text: &str) -> Result<ClusterAdmissionPolicyGroup> {
    let document: Value = yaml_serde::from_str(text).context("not YAML")?;
    let group: ClusterAdmissionPolicyGroup =
        serde_json::from_value(document.clone()).context("not a ClusterAdmissionPolicyGroup")?;
    let unknown = super::manifests::unknown_fields(&document, &serde_json::to_value(&group)?);
    if !unknown.is_empty() {
        bail!(
            "fields the ClusterAdmissionPolicyGroup CRD does not know: {}",
            unknown.join(", ")
        );
    }
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::manifests;
    use crate::generate::policy;

    fn source() -> GroupSource {
        all().unwrap().into_iter().next().unwrap()
    }

    fn placement() -> Placement {
        Placement {
            policy_server: "pci-policies".into(),
            system_namespaces: vec!["kube-system".into(), "kubewarden".into()],
        }
    }

    #[test]
    fn the_image_integrity_group_is_checked_and_reads_back() {
        let policies = policy::all().unwrap();
        let group = source();
        assert_eq!(group.name, "pci-3.2-image-integrity");
        group.check(&policies).unwrap();
        for rollout in [Rollout::Protect, Rollout::Monitor] {
            let text = group
                .manifest(&policies, rollout, &manifests::default_module, &placement())
                .unwrap();
            let parsed = parse_strict(text.split_once("---\n").unwrap().1).unwrap();
            let spec = parsed.spec.unwrap();
            assert_eq!(spec.policy_server, "pci-policies");
            assert_eq!(
                spec.namespace_selector,
                Some(placement().sparing_system_namespaces())
            );
            assert_eq!(spec.policies.len(), 3);
            assert_eq!(spec.expression, group.expression);
            let members: Vec<&String> = group.members.keys().collect();
            for name in members {
                assert!(spec.policies.contains_key(name), "{name}");
            }
        }
    }

    #[test]
    fn what_the_controller_refuses_is_refused() {
        let policies = policy::all().unwrap();
        let refused = |edit: &dyn Fn(&mut GroupSource), reason: &str| {
            let mut group = source();
            edit(&mut group);
            let error = format!("{:#}", group.check(&policies).unwrap_err());
            assert!(error.contains(reason), "{reason}: {error}");
        };
        refused(&|g| g.message = " ".into(), "message is required");
        refused(
            &|g| g.expression = "pinned_by_digest() + 1".into(),
            "expression",
        );
        refused(
            &|g| {
                g.expression =
                    "pinned_by_digest() || !signature_verified() || immutable_tags_registry()"
                        .into()
            },
            "signature_verified can fail open",
        );
        refused(
            &|g| g.expression = "pinned_by_digest() || signature_verified()".into(),
            "immutable_tags_registry is never called",
        );
        refused(
            &|g| {
                g.expression = "pinned_by_digest() || signature_verified() || immutable_tags_registry() || other()".into()
            },
            "other(), which is not a member",
        );
        refused(&|g| g.timeout_seconds = 10, "add up to 16 s");
        refused(&|g| g.timeout_seconds = 31, "outside 2–30");
        refused(
            &|g| {
                let member = g.members.remove("pinned_by_digest").unwrap();
                g.members.insert("in".into(), member);
                g.expression = "in() || signature_verified() || immutable_tags_registry()".into();
            },
            "reserved word",
        );
        refused(
            &|g| {
                let member = g.members.get_mut("signature_verified").unwrap();
                member.settings.remove("pinDigest");
            },
            "can patch",
        );
        refused(
            &|g| {
                let member = g.members.get_mut("pinned_by_digest").unwrap();
                member.settings.insert("mode".into(), "resolve".into());
            },
            "can patch",
        );
        assert!(check_member_name("9lives").is_err());
        assert!(check_member_name("has-dash").is_err());
        assert!(check_member_name("_ok9").is_ok());
    }

    #[test]
    fn members_written_for_other_rules_are_refused() {
        let mut policies = policy::all().unwrap();
        let trusted = policies
            .iter_mut()
            .find(|p| p.name == "trusted-registries")
            .unwrap();
        trusted.metadata.rules.pop();
        let error = format!("{:#}", source().check(&policies).unwrap_err());
        assert!(
            error.contains("other rules than the other members"),
            "{error}"
        );
    }

    /// Whatever the members answer, turning any one member from true to false (an error, a
    /// timeout, a patch) never turns a rejection into an admission.
    #[test]
    fn no_member_failure_can_admit() {
        let group = source();
        let expression = Expression::parse(&group.expression).unwrap();
        let names: Vec<&String> = group.members.keys().collect();
        for bits in 0u32..(1 << names.len()) {
            let value = |bits: u32| {
                expression.evaluate(&mut |name| {
                    let index = names.iter().position(|n| n.as_str() == name).unwrap();
                    bits & (1 << index) != 0
                })
            };
            for (index, name) in names.iter().enumerate() {
                if bits & (1 << index) != 0 {
                    let failed = bits & !(1 << index);
                    assert!(value(bits) || !value(failed), "{name} failing admits");
                }
            }
        }
        // All members failing rejects.
        assert!(!expression.evaluate(&mut |_| false));
    }
}
