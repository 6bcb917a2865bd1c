//! Settings of the image-signatures policy (camelCase; unknown keys are rejected).

use std::cell::OnceCell;

use pci_shared::exception::Exception;
use pci_shared::policy::PolicySettings;
use serde::Deserialize;

use crate::plan::{self, RulePlan};
use crate::rule::Rule;

/// The policy settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Which images must be signed, and how.
    pub rules: Vec<Rule>,
    /// What to do with an image no rule covers.
    pub unmatched_images: Unmatched,
    /// Rewrite each verified image to `…@<verified digest>`.
    pub pin_digest: bool,
    pub exceptions: Vec<Exception>,
    /// The rules compiled, on first use.
    #[serde(skip)]
    plans: OnceCell<Vec<Result<RulePlan, String>>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            unmatched_images: Unmatched::Reject,
            pin_digest: true,
            exceptions: Vec::new(),
            plans: OnceCell::new(),
        }
    }
}

/// What to do with an image no rule covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unmatched {
    /// Fail closed.
    #[default]
    Reject,
    Accept,
}

impl TryFrom<String> for Unmatched {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "reject" => Ok(Self::Reject),
            "accept" => Ok(Self::Accept),
            _ => Err(format!("\"{value}\" is not reject or accept")),
        }
    }
}

pci_shared::validated_string!(Unmatched);

impl Settings {
    /// What `rules[index]` asks of the host, compiled (and checked) on first use: settings are
    /// read once and reused across requests, so rules are compiled once per settings.
    pub fn plan(&self, index: usize) -> Result<&RulePlan, &str> {
        let plans = self
            .plans
            .get_or_init(|| self.rules.iter().map(plan::compile).collect());
        match plans.get(index) {
            Some(Ok(plan)) => Ok(plan),
            Some(Err(reason)) => Err(reason),
            None => Err("is not a rule"),
        }
    }
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        if self.rules.is_empty() {
            return Err(
                "rules must list at least one rule: without rules every image would be unmatched"
                    .into(),
            );
        }
        for index in 0..self.rules.len() {
            self.plan(index)
                .map_err(|reason| format!("rules[{index}]: {reason}"))?;
        }
        Ok(())
    }

    fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// `pinDigest` (on unless set off) writes the verified digest into the workload.
    fn can_patch(&self) -> bool {
        self.pin_digest
    }

    /// The same rules verified, nothing pinned.
    fn turn_off_patching(settings: &mut serde_json::Map<String, serde_json::Value>) {
        settings.insert("pinDigest".into(), false.into());
    }
}
