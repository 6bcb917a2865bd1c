//! Host capabilities answered live, as policy-server answers them: image-digest against a real
//! registry (Debian's docker-registry on 127.0.0.1) holding images pushed by the test, and
//! record mode turning such a run into a kwctl session that replays it.

use std::sync::Arc;

use e2e::policy;
use pci_host::capabilities::HostCapabilities;
use pci_host::image_registry::ImageRegistry;
use pci_host::live::LiveHost;
use pci_host::replay::{Recorder, Replay};
use pci_host::run::{RunOptions, run};
use pci_testkit::deployment_with_images;
use serde_json::{Value, json};

const POLICY: &str = "image-digest";

/// A registry with `app:v1` and `app:v2`, two different images.
struct Images {
    at: ImageRegistry,
    v1: String,
    v2: String,
}

impl Images {
    fn start() -> Self {
        let at = ImageRegistry::start().expect("docker-registry (run `make setup`)");
        let v1 = at.push("app:v1", "one").expect("push");
        let v2 = at.push("app:v2", "two").expect("push");
        assert_ne!(v1, v2);
        Self { at, v1, v2 }
    }

    fn image(&self, name: &str) -> String {
        self.at.image(name)
    }

    fn live(&self) -> Arc<LiveHost> {
        self.at.live().expect("live host")
    }
}

fn run_live(
    request: &Value,
    settings: Value,
    live: Arc<LiveHost>,
    recorder: Option<Arc<Recorder>>,
) -> pci_host::admission::AdmissionResponse {
    let options = RunOptions {
        settings,
        live: Some(live),
        record: recorder,
        ..RunOptions::default()
    };
    run(&policy(POLICY), request, options).expect("run")
}

#[test]
fn resolve_mode_pins_to_the_digest_the_registry_serves_and_the_recording_replays() {
    let images = Images::start();
    let v1 = images.image("app:v1");
    let v2 = images.image("app:v2");
    let request = deployment_with_images(&[&v1, &v2]);
    let recorder = Arc::new(Recorder::default());
    let response = run_live(
        &request,
        json!({"mode": "resolve"}),
        images.live(),
        Some(Arc::clone(&recorder)),
    );
    assert!(response.allowed, "{}", response.message());
    let expected_patch = json!([
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": format!("{v1}@{}", images.v1)},
        {"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": format!("{v2}@{}", images.v2)}
    ]);
    assert_eq!(response.patch_operations().unwrap(), Some(expected_patch));
    assert_eq!(images.at.images.manifest_digest(&v1).unwrap(), images.v1);

    // Record mode wrote what the run exchanged; replaying it, with the registry gone, gives
    // the same answer.
    let session = recorder.to_yaml().unwrap();
    assert_eq!(recorder.exchanges().len(), 2, "{session}");
    assert!(session.contains("!OciManifestDigest"), "{session}");
    assert!(
        session.contains(&images.v1) && session.contains(&images.v2),
        "{session}"
    );
    drop(images);
    let replay = Arc::new(Replay::from_yaml(&session).expect("recorded session reads back"));
    let replayed = run(
        &policy(POLICY),
        &request,
        RunOptions {
            settings: json!({"mode": "resolve"}),
            replay: Some(Arc::clone(&replay)),
            ..RunOptions::default()
        },
    )
    .expect("run");
    assert_eq!(replayed, response);
    assert_eq!(replay.remaining(), 0);
}

#[test]
fn a_tag_moved_after_pinning_is_rejected() {
    let images = Images::start();
    let pinned = format!("{}@{}", images.image("app:v1"), images.v1);
    let settings = json!({"mode": "require", "checkTagMatchesDigest": "reject"});
    let before = run_live(
        &deployment_with_images(&[&pinned]),
        settings.clone(),
        images.live(),
        None,
    );
    assert!(before.allowed, "{}", before.message());
    assert_eq!(before.patch_operations().unwrap(), None);

    // Someone pushes another image to the same tag.
    let moved = images.at.push("app:v1", "three").expect("push");
    assert_ne!(moved, images.v1);
    let after = run_live(
        &deployment_with_images(&[&pinned]),
        settings,
        images.live(),
        None,
    );
    assert!(!after.allowed);
    let text = after.message();
    assert!(
        text.contains("spec.template.spec.containers[0].image")
            && text.contains("tag v1 has moved to another digest"),
        "{text}"
    );
    let details = e2e::message_and_details(&after);
    assert!(
        details.contains(&moved) && details.contains(&images.v1),
        "{details}"
    );
}

#[test]
fn a_registry_that_is_down_gives_a_clear_rejection() {
    let mut images = Images::start();
    let image = images.image("app:v1");
    let live = images.live();
    images.at.registry.stop();
    let response = run_live(
        &deployment_with_images(&[&image]),
        json!({"mode": "resolve"}),
        live,
        None,
    );
    assert!(!response.allowed);
    let text = response.message();
    assert!(text.contains(&image), "{text}");
    assert!(text.contains("the registry is unreachable"), "{text}");
    let details = e2e::message_and_details(&response);
    assert!(
        details.contains("cannot read the manifest digest"),
        "{details}"
    );
}

#[test]
fn manifest_and_config_lookups_are_answered_from_the_registry() {
    let images = Images::start();
    let capabilities = HostCapabilities::none().with_live(images.live());
    let image = serde_json::to_vec(&images.image("app:v2")).unwrap();
    let manifest: Value = serde_json::from_slice(
        &capabilities
            .call("kubewarden", "oci", "v1/oci_manifest", &image)
            .expect("oci_manifest"),
    )
    .unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["layers"].as_array().map(Vec::len), Some(1));
    let both: Value = serde_json::from_slice(
        &capabilities
            .call("kubewarden", "oci", "v1/oci_manifest_config", &image)
            .expect("oci_manifest_config"),
    )
    .unwrap();
    assert_eq!(both["digest"], images.v2);
    assert_eq!(both["manifest"], manifest);
    assert_eq!(both["config"]["config"]["Labels"]["marker"], "two");
    let unknown = capabilities
        .call(
            "kubewarden",
            "oci",
            "v1/oci_manifest",
            b"\"127.0.0.1:1/none:v1\"",
        )
        .unwrap_err();
    assert!(unknown.contains("127.0.0.1:1/none:v1"), "{unknown}");
}
