//! Host capability callbacks: logging, and everything else answered from a replay session or
//! live (OCI lookups against a registry, with the `live` feature); either can be recorded as a
//! session file.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::replay::{CallbackRequest, Recorder, Replay, Response};

/// How a host error begins when the question got no answer (the registry unreachable, timed
/// out, refusing the credentials, failing with 5xx): the check was not made. An answer that is
/// an error (an unknown image) does not begin so.
pub const NO_ANSWER: &str = "no answer: ";

/// Answers host capability calls for real (a registry, a cluster): the payload the guest gets,
/// or the host error it sees.
pub trait LiveAnswers: Send + Sync + std::fmt::Debug {
    /// The payload handed to the guest, or the host error it sees.
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String>;

    /// Whether this answerer can answer `request` at all (an error it answers, such as an
    /// unknown image, is still an answer). A call it cannot answer is a check not made.
    fn serves(&self, _request: &CallbackRequest) -> bool {
        true
    }
}

/// Live answers remembered for the whole of a run: a scan asks about each image (digest,
/// signature) once, however many workloads and policies use it. Errors are remembered too, so
/// an unreachable registry costs one timeout per question, not one per workload.
#[derive(Debug)]
pub struct CachedAnswers {
    inner: Arc<dyn LiveAnswers>,
    answers: Mutex<std::collections::HashMap<String, Result<Vec<u8>, String>>>,
}

impl CachedAnswers {
    /// Remembers what `inner` answers.
    pub fn new(inner: Arc<dyn LiveAnswers>) -> Self {
        Self {
            inner,
            answers: Mutex::default(),
        }
    }
}

impl LiveAnswers for CachedAnswers {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        let key = serde_json::to_string(request).map_err(|e| e.to_string())?;
        if let Some(answer) = self.answers.lock().ok().and_then(|a| a.get(&key).cloned()) {
            return answer;
        }
        // Asked outside the lock: two workers may both ask the first time, never wait on
        // each other's registry round trip.
        let answer = self.inner.answer(request);
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(key, answer.clone());
        }
        answer
    }

    fn serves(&self, request: &CallbackRequest) -> bool {
        self.inner.serves(request)
    }
}

/// A session read as a lookup table rather than a queue: any recorded request is answered
/// with its (first) recorded response, in any order, any number of times. What a scan of many
/// workloads over several threads needs; `kwctl run`'s in-order replay stays [`Replay`].
#[derive(Debug)]
pub struct SessionAnswers {
    exchanges: Vec<(CallbackRequest, Response)>,
}

impl SessionAnswers {
    /// Reads a session file's text.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        Ok(Self {
            exchanges: Replay::from_yaml(text)?.into_exchanges(),
        })
    }
}

impl LiveAnswers for SessionAnswers {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        let (_, response) = self
            .exchanges
            .iter()
            .find(|(recorded, _)| recorded == request)
            .ok_or_else(|| format!("Replay error: the session has no answer to {request:?}"))?;
        match response {
            Response::Success { payload } => Ok(payload.clone().into_bytes()),
            Response::Error { message } => Err(message.clone()),
        }
    }

    fn serves(&self, request: &CallbackRequest) -> bool {
        self.exchanges
            .iter()
            .any(|(recorded, _)| recorded == request)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(image: &str) -> CallbackRequest {
        CallbackRequest::OciManifestDigest {
            image: image.to_owned(),
        }
    }

    const SESSION: &str = "
- type: Exchange
  request: |
    !OciManifestDigest
    image: a:1
  response: {type: Success, payload: '{\"digest\":\"sha256:aa\"}'}
- type: Exchange
  request: |
    !OciManifestDigest
    image: b:1
  response: {type: Error, message: not found}
";

    #[test]
    fn a_session_answers_any_recorded_question_in_any_order() {
        let answers = SessionAnswers::from_yaml(SESSION).expect("a session");
        assert_eq!(
            answers.answer(&digest_of("b:1")),
            Err("not found".to_owned())
        );
        for _ in 0..2 {
            assert_eq!(
                answers.answer(&digest_of("a:1")),
                Ok(br#"{"digest":"sha256:aa"}"#.to_vec())
            );
        }
        let unknown = answers.answer(&digest_of("c:1")).unwrap_err();
        assert!(unknown.contains("no answer"), "{unknown}");
    }

    #[derive(Debug, Default)]
    struct Counting(Mutex<usize>);

    impl LiveAnswers for Counting {
        fn answer(&self, _: &CallbackRequest) -> Result<Vec<u8>, String> {
            let mut count = self.0.lock().map_err(|e| e.to_string())?;
            *count += 1;
            Err(format!("timeout {count}"))
        }
    }

    #[test]
    fn cached_answers_ask_each_question_once_errors_included() {
        let inner = Arc::new(Counting::default());
        let cached = CachedAnswers::new(inner.clone());
        assert_eq!(cached.answer(&digest_of("a:1")), Err("timeout 1".into()));
        assert_eq!(cached.answer(&digest_of("a:1")), Err("timeout 1".into()));
        assert_eq!(cached.answer(&digest_of("b:1")), Err("timeout 2".into()));
        assert_eq!(*inner.0.lock().unwrap(), 2);
    }
}
