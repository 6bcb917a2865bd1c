//! The example requests of a policy (`policies/<policy>/examples/`), as `make run` and the e2e
//! tests use them.
//!
//! `<example>.json` is an AdmissionRequest (usable with `kwctl run -r` too); its settings are
//! `<example>.settings.json` if present, else the folder's `settings.json`, else `{}`;
//! `<example>.session.yml`, if present, is the kwctl replay session answering the policy's host
//! capability calls.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::admission::{AdmissionResponse, read_request, read_settings};
use crate::host::Policy;
use crate::replay::Replay;
use crate::run::{RunOptions, run};

/// One example.
#[derive(Clone, Debug)]
pub struct Example {
    pub name: String,
    pub request: Value,
    pub settings: Value,
    /// The replay session's text (a session is consumed by a run, so each run reads it anew).
    pub session: Option<String>,
    /// The AdmissionResponse a recorded case must give (`<name>.response.json`).
    pub expected: Option<Value>,
}

impl Example {
    /// Evaluates the example like `kwctl run --allow-context-aware [--replay-host-capabilities-interactions]`.
    pub fn run(&self, policy: &Policy) -> Result<AdmissionResponse> {
        let replay = self
            .session
            .as_deref()
            .map(Replay::from_yaml)
            .transpose()?
            .map(Arc::new);
        let options = RunOptions {
            settings: self.settings.clone(),
            replay,
            allow_context_aware: true,
            ..RunOptions::default()
        };
        run(policy, &self.request, options).with_context(|| format!("example {}", self.name))
    }
}

/// The examples in `dir`, sorted by name (none when the folder does not exist).
pub fn load(dir: &Path) -> Result<Vec<Example>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|entry| {
            entry
                .ok()
                .map(|e| e.file_name().to_string_lossy().into_owned())
        })
        .filter(|name| {
            name.ends_with(".json")
                && !name.ends_with(".settings.json")
                && !name.ends_with(".response.json")
                && name != "settings.json"
        })
        .map(|name| name.trim_end_matches(".json").to_owned())
        .collect();
    names.sort();
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    names
        .into_iter()
        .map(|name| {
            let request = read_request(&read(&dir.join(format!("{name}.json")))?)?;
            let own = dir.join(format!("{name}.settings.json"));
            let shared = dir.join("settings.json");
            let settings = match (own.is_file(), shared.is_file()) {
                (true, _) => read_settings(&read(&own)?)?,
                (false, true) => read_settings(&read(&shared)?)?,
                (false, false) => read_settings("")?,
            };
            let session_path = dir.join(format!("{name}.session.yml"));
            let session = if session_path.is_file() {
                Some(read(&session_path)?)
            } else {
                None
            };
            let expected_path = dir.join(format!("{name}.response.json"));
            let expected = if expected_path.is_file() {
                Some(
                    serde_json::from_str(&read(&expected_path)?)
                        .with_context(|| format!("{} is not JSON", expected_path.display()))?,
                )
            } else {
                None
            };
            Ok(Example {
                name,
                request,
                settings,
                session,
                expected,
            })
        })
        .collect()
}
