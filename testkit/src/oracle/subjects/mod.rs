//! What makes a workload hostile to each policy, the settings that forbid it, and the
//! violations the policy must then report: one [`Subject`] per policy of the bundle, each in
//! its own file ([`pod_security`], [`images`] for the three image policies,
//! [`runtime_isolation`]).

mod images;
mod pod_security;
mod runtime_isolation;

use serde_json::Value;

use super::draft::{Draft, Expected, Spot};
use super::draw::Draw;

/// A policy the oracle knows how to attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    PodSecurity,
    TrustedRegistries,
    ImageDigest,
    ImageSignatures,
    RuntimeIsolation,
}

/// The hostile part of a case.
#[derive(Clone, Debug, Default)]
pub struct Hostility {
    /// The policy settings (without exceptions).
    pub settings: Value,
    /// What the policy must report, unless an exception covers it.
    pub expected: Vec<Expected>,
    /// runtime-isolation on CREATE with `defaultRuntimeClass`: instead of a violation, the
    /// class the policy must set at `runtimeClassName`.
    pub defaulted: Option<String>,
    /// A short name of the threat, for the coverage count.
    pub threats: Vec<&'static str>,
}

impl Subject {
    /// The subject of the policy named `name`, if the oracle knows it.
    pub fn of(name: &str) -> Option<Self> {
        Some(match name {
            "pod-security" => Self::PodSecurity,
            "trusted-registries" => Self::TrustedRegistries,
            "image-digest" => Self::ImageDigest,
            "image-signatures" => Self::ImageSignatures,
            "runtime-isolation" => Self::RuntimeIsolation,
            _ => return None,
        })
    }

    /// True when `kubectl debug` into a Pod makes the policy judge the whole Pod, as Pod
    /// Security Admission does (a change in the number of ephemeral containers is significant).
    pub fn judges_debugged_pods(self) -> bool {
        self == Self::PodSecurity
    }

    /// Makes `draft` hostile (it holds a clean hostile container and noise) and chooses the
    /// settings; `create` is false on an UPDATE.
    pub fn make_hostile(self, draw: &mut Draw<'_>, draft: &mut Draft, create: bool) -> Hostility {
        match self {
            Self::PodSecurity => pod_security::hostility(draw, draft),
            Self::TrustedRegistries => images::trusted_registries(draw, draft),
            Self::ImageDigest => images::image_digest(draw, draft),
            Self::ImageSignatures => images::image_signatures(draw, draft),
            Self::RuntimeIsolation => runtime_isolation::hostility(draw, draft, create),
        }
    }
}

/// `suffix` of the hostile container.
fn in_hostile(draft: &Draft, suffix: &str) -> Spot {
    Spot::Container {
        name: draft.hostile.clone(),
        suffix: suffix.to_owned(),
    }
}

impl Hostility {
    /// Expects a violation of `control` at `spot`.
    fn expect(&mut self, control: &'static str, spot: Spot) {
        self.expected.push(Expected { control, spot });
    }
}
