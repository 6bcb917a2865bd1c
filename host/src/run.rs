//! `kwctl run`, in Rust: settings first, then one request, answered as an AdmissionResponse.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::admission::{AdmissionResponse, Deployment};
use crate::capabilities::{HostCapabilities, LiveAnswers};
use crate::host::{DEFAULT_DEADLINE_TICKS, Instance, Policy};
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
    Session::start(policy, options)?.evaluate(request)
}

/// A policy instance with validated settings, evaluating request after request as
/// policy-server's instances do (one per worker thread: an instance is not shared).
pub struct Session {
    instance: Instance,
    /// The settings, serialised once.
    settings_text: String,
    deployment: Deployment,
}

impl Session {
    /// Instantiates `policy` with the capabilities of `options` and validates its settings.
    pub fn start(policy: &Policy, options: RunOptions) -> Result<Self> {
        let allowed: BTreeSet<(String, String)> =
            match (options.allow_context_aware, policy.metadata()) {
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
        Ok(Self {
            instance,
            settings_text: serde_json::to_string(&options.settings)?,
            deployment: options.deployment,
        })
    }

    /// Evaluates one bare AdmissionRequest; a policy that fails to evaluate gives a 500
    /// rejection, as policy-server answers.
    pub fn evaluate(&self, request: &Value) -> Result<AdmissionResponse> {
        self.evaluate_text(request, &serde_json::to_string(request)?)
    }

    /// [`Session::evaluate`] with the request already serialised as `text` (a caller running
    /// several policies on one request serialises it once).
    pub fn evaluate_text(&self, request: &Value, text: &str) -> Result<AdmissionResponse> {
        let uid = request
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let payload = format!("{{\"request\":{text},\"settings\":{}}}", self.settings_text);
        let answer = self
            .instance
            .call("validate", payload.as_bytes())
            .and_then(|bytes| {
                serde_json::from_slice::<Value>(&bytes).context("validate did not answer JSON")
            });
        match answer {
            Ok(response) => AdmissionResponse::from_validation(request, &response, self.deployment),
            Err(error) => Ok(AdmissionResponse::internal_error(uid, &error.to_string())),
        }
    }
}
