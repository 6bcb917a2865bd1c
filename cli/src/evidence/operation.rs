//! What a cluster's export shows of a policy at work, and the verdicts: the data the pack
//! carries (judged in [`super::operational`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A policy's or a section's state, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    #[serde(rename = "operational")]
    Operational,
    #[serde(rename = "monitor only")]
    MonitorOnly,
    #[serde(rename = "configured but not active")]
    NotActive,
    #[serde(rename = "missing")]
    Missing,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Operational => "operational",
            Verdict::MonitorOnly => "monitor only",
            Verdict::NotActive => "configured but not active",
            Verdict::Missing => "missing",
        }
    }
}

/// What the export shows of one policy at work.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub verdict: Verdict,
    /// Why it is not operational (empty when it is).
    pub reasons: Vec<String>,
    /// What weakens it without stopping it (a webhook that fails open, replicas not all ready).
    pub notes: Vec<String>,
    pub policy_status: Option<String>,
    /// `.status.mode`, else the spec's mode.
    pub mode_in_effect: String,
    /// `Type=Status (Reason): message` of each status condition.
    pub conditions: Vec<String>,
    pub webhook: Option<WebhookEvidence>,
    pub policy_server: PolicyServerEvidence,
    /// RFC 3339 time of the newest audit result for the policy.
    pub newest_audit: Option<String>,
    /// The audit scanner's CronJob: schedule and last completed run (when exported).
    #[serde(default)]
    pub audit_scanner: Option<String>,
}

/// The webhook the controller registered for a policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvidence {
    pub kind: String,
    /// The namespace of the service it calls (policy-server's).
    #[serde(default)]
    pub service_namespace: Option<String>,
    pub configuration: String,
    pub failure_policy: String,
    pub namespace_selector: Value,
    pub timeout_seconds: u64,
}

/// The PolicyServer a policy runs in.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyServerEvidence {
    pub name: String,
    pub found: bool,
    pub ready_replicas: Option<u64>,
    pub replicas: Option<u64>,
    pub conditions: Vec<String>,
}
