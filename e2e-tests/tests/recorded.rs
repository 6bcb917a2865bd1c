//! Replay fixtures recorded from real exchanges (`make record`): each case replays offline to
//! the AdmissionResponse the live run gave, and the recorder itself is exercised here.

use std::path::Path;

use e2e::{policy, root};
use pci_host::recording::{record_all, recorded_dir};

/// Replays every recorded case under `base`; returns how many there were per policy.
fn replay_recorded(base: &Path) -> Vec<(&'static str, usize)> {
    let mut counts = Vec::new();
    for name in ["image-digest", "image-signatures"] {
        let cases = pci_host::examples::load(&recorded_dir(base, name)).expect("cases");
        for case in &cases {
            let session = case.session.as_deref().expect("a recorded session");
            assert!(session.contains("type: Exchange"), "{name}/{}", case.name);
            let expected = case.expected.as_ref().expect("a recorded response");
            let replayed = case.run(&policy(name)).expect("replay");
            assert_eq!(
                &serde_json::to_value(&replayed).unwrap(),
                expected,
                "{name}/{}: the replay gives what the live run gave",
                case.name
            );
        }
        counts.push((name, cases.len()));
    }
    counts
}

#[test]
fn checked_in_recordings_replay_to_the_live_verdicts() {
    let counts = replay_recorded(&root());
    assert_eq!(
        counts,
        vec![("image-digest", 3), ("image-signatures", 6)],
        "run `make record` to produce the recorded cases"
    );
}

#[test]
fn the_recorder_writes_cases_that_replay() {
    let out = std::env::temp_dir().join(format!("pci-recorded-{}", std::process::id()));
    let written = record_all(&out, &|name| Ok(policy(name))).expect("record");
    assert_eq!(written.len(), 9 * 4);
    assert_eq!(
        replay_recorded(&out),
        vec![("image-digest", 3), ("image-signatures", 6)]
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// The hand-written sessions (keyless verifiers need Sigstore's online trust root, Kubernetes
/// lookups an API server, and the examples use readable image names) must look exactly like
/// recorded ones: for each request type, a success payload has the fields the live host sends.
#[test]
fn hand_written_sessions_have_the_shape_of_recorded_ones() {
    use pci_host::replay::{CallbackRequest, Exchange, Response};
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};

    let sessions = |dir: &Path| -> Vec<(String, Vec<(CallbackRequest, Response)>)> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).expect("dir") {
            let path = entry.expect("entry").path();
            let name = path.to_string_lossy().into_owned();
            if !(name.ends_with(".yml") && name.contains("session")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            let exchanges: Vec<Exchange> = yaml_serde::from_str(&text).expect("session");
            let parsed = exchanges
                .into_iter()
                .map(|Exchange::Exchange { request, response }| {
                    (yaml_serde::from_str(&request).expect("request"), response)
                })
                .collect();
            found.push((name, parsed));
        }
        found
    };
    let fields = |payload: &str| -> BTreeSet<String> {
        match serde_json::from_str::<Value>(payload).expect("JSON payload") {
            Value::Object(map) => map.keys().cloned().collect(),
            _ => BTreeSet::new(),
        }
    };

    // What the live host sends, per request type, from the recordings.
    let mut live: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for policy in ["image-digest", "image-signatures"] {
        for (_, exchanges) in sessions(&recorded_dir(&root(), policy)) {
            for (request, response) in exchanges {
                if let Response::Success { payload } = response {
                    live.insert(request.kind_name(), fields(&payload));
                }
            }
        }
    }
    assert_eq!(
        live.keys().cloned().collect::<Vec<_>>(),
        vec!["OciManifestDigest", "SigstorePubKeyVerify"]
    );
    let verify_fields = live["SigstorePubKeyVerify"].clone();

    let mut dirs = vec![];
    for policy in ["image-digest", "image-signatures", "runtime-isolation"] {
        dirs.push(root().join("policies").join(policy).join("test_data"));
        dirs.push(e2e::bundle().examples_dir(policy));
    }
    let mut checked = 0;
    for dir in dirs {
        for (file, exchanges) in sessions(&dir) {
            for (request, response) in exchanges {
                let kind = request.kind_name();
                match response {
                    Response::Success { payload } => {
                        let expected = match kind.as_str() {
                            k if k.starts_with("Sigstore") => verify_fields.clone(),
                            "OciManifestDigest" => live[&kind].clone(),
                            "KubernetesGetResource" => {
                                let object: Value = serde_json::from_str(&payload).unwrap();
                                let (api_version, resource_kind) =
                                    request.kubernetes_resource().unwrap();
                                assert_eq!(object["apiVersion"], api_version, "{file}");
                                assert_eq!(object["kind"], resource_kind, "{file}");
                                checked += 1;
                                continue;
                            }
                            other => panic!("{file}: no recorded shape for {other}"),
                        };
                        assert_eq!(fields(&payload), expected, "{file}: {kind} payload");
                    }
                    Response::Error { message } => {
                        assert!(!message.trim().is_empty(), "{file}: empty error")
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} exchanges checked");
}
