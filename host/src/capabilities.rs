//! Host capability callbacks: logging, and everything else answered from a replay session or
//! live (OCI lookups against a registry, with the `live` feature); either can be recorded as a
//! session file.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::replay::{CallbackRequest, Recorder, Replay};

/// Answers host capability calls for real (a registry, a cluster): the payload the guest gets,
/// or the host error it sees.
pub trait LiveAnswers: Send + Sync + std::fmt::Debug {
    /// The payload handed to the guest, or the host error it sees.
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String>;
}

/// What the host answers to a policy's host calls.
#[derive(Debug, Default)]
pub struct HostCapabilities {
    replay: Option<Arc<Replay>>,
    live: Option<Arc<dyn LiveAnswers>>,
    recorder: Option<Arc<Recorder>>,
    /// `(apiVersion, kind)` the policy may read (`--allow-context-aware` + metadata).
    allowed_resources: BTreeSet<(String, String)>,
    logs: Mutex<Vec<String>>,
}

impl HostCapabilities {
    /// No capability but logging: every other call fails.
    pub fn none() -> Self {
        Self::default()
    }

    /// Answers from a replay session, allowing the given Kubernetes resources.
    pub fn replay(replay: Arc<Replay>, allowed_resources: BTreeSet<(String, String)>) -> Self {
        Self {
            replay: Some(replay),
            allowed_resources,
            ..Self::default()
        }
    }

    /// Answers OCI lookups live (a replay session, when also given, answers first).
    pub fn with_live(mut self, live: Arc<dyn LiveAnswers>) -> Self {
        self.live = Some(live);
        self
    }

    /// Records every answered exchange (kwctl's record mode).
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// The Kubernetes resources the policy may read.
    pub fn allowing(mut self, allowed_resources: BTreeSet<(String, String)>) -> Self {
        self.allowed_resources = allowed_resources;
        self
    }

    /// Log lines the policy emitted through `kubewarden/tracing/log`.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Answers one waPC host call.
    pub fn call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        if binding != "kubewarden" {
            return Err(format!("unknown binding: {binding}"));
        }
        if (namespace, operation) == ("tracing", "log") {
            if let Ok(mut logs) = self.logs.lock() {
                logs.push(String::from_utf8_lossy(payload).into_owned());
            }
            return Ok(Vec::new());
        }
        let request = CallbackRequest::from_wapc(namespace, operation, payload)?;
        if let Some((api_version, kind)) = request.kubernetes_resource()
            && !self
                .allowed_resources
                .contains(&(api_version.to_owned(), kind.to_owned()))
        {
            return Err(format!(
                "Policy has not been granted access to Kubernetes {api_version}/{kind} resources. The violation has been reported."
            ));
        }
        let answer = match (&self.replay, &self.live) {
            (Some(replay), _) => replay.answer(&request),
            (None, Some(live)) => live.answer(&request),
            (None, None) => Err(format!(
                "no answer for host capability {namespace}/{operation}: give a replay session (--replay-host-capabilities-interactions)"
            )),
        };
        if let Some(recorder) = &self.recorder {
            recorder.record(&request, &answer);
        }
        answer
    }
}
