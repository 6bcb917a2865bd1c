//! Host capability callbacks: logging, and everything else answered from a replay session.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::replay::{CallbackRequest, Replay};

/// What the host answers to a policy's host calls.
#[derive(Debug, Default)]
pub struct HostCapabilities {
    replay: Option<Arc<Replay>>,
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
            logs: Mutex::default(),
        }
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
        match &self.replay {
            Some(replay) => replay.answer(&request),
            None => Err(format!(
                "no answer for host capability {namespace}/{operation}: give a replay session (--replay-host-capabilities-interactions)"
            )),
        }
    }
}
