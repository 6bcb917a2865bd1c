//! Replay fixtures recorded from real exchanges (`make record`): each case replays offline to
//! the AdmissionResponse the live run gave, and the recorder itself is exercised here.

mod common;

use std::path::Path;

use common::{policy, root};
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
        vec![("image-digest", 3), ("image-signatures", 3)],
        "run `make record` to produce the recorded cases"
    );
}

#[test]
fn the_recorder_writes_cases_that_replay() {
    let out = std::env::temp_dir().join(format!("pci-recorded-{}", std::process::id()));
    let written = record_all(&out, &|name| Ok(policy(name))).expect("record");
    assert_eq!(written.len(), 6 * 4);
    assert_eq!(
        replay_recorded(&out),
        vec![("image-digest", 3), ("image-signatures", 3)]
    );
    let _ = std::fs::remove_dir_all(&out);
}
