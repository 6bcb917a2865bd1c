//! `kwctl run`, in Rust: settings first, then one request, answered as an AdmissionResponse.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Result, bail};
use serde_json::Value;

use crate::admission::{AdmissionResponse, Deployment};
use crate::capabilities::{HostCapabilities, LiveAnswers};
use crate::host::{DEFAULT_DEADLINE_TICKS, Policy};
use crate::replay::{Recorder, Replay};

/// Options of one run.
#[derive(Debug)]
pub struct RunOptions {
    pub settings: Value,
    /// Shared, so the caller can see afterwards which exchanges were used.
    pub replay: Option<Arc<Replay>>,
    /// Answer OCI lookups live from registries.
    pub live: Option<Arc<dyn LiveAnswers>>,
    /// Record every host capability exchange.
    pub record: Option<Arc<Recorder>>,
    /// Grant the metadata's `contextAwareResources` (kwctl's `--allow-context-aware`).
    pub allow_context_aware: bool,
    pub deployment: Deployment,
    pub deadline_ticks: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            settings: Value::Object(Default::default()),
            replay: None,
            live: None,
            record: None,
            allow_context_aware: false,
            deployment: Deployment::default(),
            deadline_ticks: DEFAULT_DEADLINE_TICKS,
        }
    }
}

/// Validates the settings, then evaluates `request` (a bare AdmissionRequest).
///
/// Invalid settings are an error, as in kwctl ("Provided settings are not valid"); a policy
/// that fails to evaluate gives a 500 rejection, as policy-server answers.
pub fn run(policy: &Policy, request: &Value, options: RunOptions) -> Result<AdmissionResponse> {
    let allowed: BTreeSet<(String, String)> = match (options.allow_context_aware, policy.metadata())
    {
        (true, Some(metadata)) => metadata
            .context_aware_resources
            .iter()
            .map(|r| (r.api_version.clone(), r.kind.clone()))
            .collect(),
        _ => BTreeSet::new(),
    };
    let mut capabilities = match options.replay {
        Some(replay) => HostCapabilities::replay(replay, allowed),
        None => HostCapabilities::none().allowing(allowed),
    };
    if let Some(live) = options.live {
        capabilities = capabilities.with_live(live);
    }
    if let Some(recorder) = options.record {
        capabilities = capabilities.with_recorder(recorder);
    }
    let instance = policy.instantiate(capabilities, options.deadline_ticks)?;
    let validation = instance.validate_settings(&options.settings)?;
    if !validation.valid {
        bail!(
            "Provided settings are not valid: {}",
            validation.message.unwrap_or_default()
        );
    }
    let uid = request
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match instance.validate(request, &options.settings) {
        Ok(response) => AdmissionResponse::from_validation(request, &response, options.deployment),
        Err(error) => Ok(AdmissionResponse::internal_error(uid, &error.to_string())),
    }
}
