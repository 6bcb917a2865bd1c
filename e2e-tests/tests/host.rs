//! The host itself: metadata gating, annotation, epoch deadlines, host-capability replay through
//! a real waPC guest, and what policy-server adds around each call.

use e2e::{engine, module_bytes, root};
use pci_host::annotate::annotate;
use pci_host::capabilities::HostCapabilities;
use pci_host::metadata::{Metadata, SECTION};
use pci_host::replay::Replay;
use pci_host::sections;
use serde_json::Value;

/// A waPC guest whose every operation asks the host for the digest of `ghcr.io/org/app:1.0`
/// and returns the host's answer (or its error).
const DIGEST_GUEST: &str = r#"
(module
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $response_len (result i32)))
  (import "wapc" "__host_response" (func $response (param i32)))
  (import "wapc" "__host_error_len" (func $error_len (result i32)))
  (import "wapc" "__host_error" (func $error (param i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "kubewarden")
  (data (i32.const 16) "oci")
  (data (i32.const 32) "v1/manifest_digest")
  (data (i32.const 64) "\"ghcr.io/org/app:1.0\"")
  (func (export "wapc_init"))
  (func (export "__guest_call") (param i32 i32) (result i32)
    (if (result i32)
        (i32.eq (call $host_call (i32.const 0) (i32.const 10) (i32.const 16) (i32.const 3)
                                 (i32.const 32) (i32.const 18) (i32.const 64) (i32.const 21))
                (i32.const 1))
      (then (call $response (i32.const 1024))
            (call $guest_response (i32.const 1024) (call $response_len))
            (i32.const 1))
      (else (call $error (i32.const 1024))
            (call $guest_error (i32.const 1024) (call $error_len))
            (i32.const 0)))))
"#;

/// A guest that never returns.
const RUNAWAY_GUEST: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "wapc_init"))
  (func (export "__guest_call") (param i32 i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
"#;

const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn session(image: &str, response: &str) -> std::sync::Arc<Replay> {
    std::sync::Arc::new(Replay::from_yaml(&format!(
        "- type: Exchange\n  request: |\n    !OciManifestDigest\n    image: {image}\n  response:\n{response}\n"
    ))
    .expect("valid session"))
}

fn digest_guest(capabilities: HostCapabilities) -> pci_host::host::Instance {
    let module = wat::parse_str(DIGEST_GUEST).expect("valid WAT");
    engine()
        .compile(&module)
        .expect("compiles")
        .instantiate(capabilities, 20)
        .expect("instance")
}

#[test]
fn host_calls_are_answered_from_a_replay_session_in_order() {
    let success = format!("    type: Success\n    payload: '{{\"digest\":\"{DIGEST}\"}}'");
    let guest = digest_guest(HostCapabilities::replay(
        session("ghcr.io/org/app:1.0", &success),
        Default::default(),
    ));
    let answer: Value =
        serde_json::from_slice(&guest.call("validate", b"{}").expect("replayed")).expect("json");
    assert_eq!(answer["digest"], DIGEST);
    let exhausted = guest
        .call("validate", b"{}")
        .expect_err("nothing left to replay");
    assert!(
        exhausted
            .to_string()
            .contains("the list of recorded responses is empty"),
        "{exhausted}"
    );
}

#[test]
fn recorded_errors_and_mismatches_reach_the_guest_as_host_errors() {
    let failure = "    type: Error\n    message: 'registry unreachable: connection refused'";
    let guest = digest_guest(HostCapabilities::replay(
        session("ghcr.io/org/app:1.0", failure),
        Default::default(),
    ));
    let error = guest.call("validate", b"{}").expect_err("host error");
    assert!(
        error
            .to_string()
            .contains("registry unreachable: connection refused"),
        "{error}"
    );

    let success = format!("    type: Success\n    payload: '{{\"digest\":\"{DIGEST}\"}}'");
    let guest = digest_guest(HostCapabilities::replay(
        session("ghcr.io/org/app:2.0", &success),
        Default::default(),
    ));
    let error = guest.call("validate", b"{}").expect_err("mismatch");
    assert!(error.to_string().contains("unexpected request"), "{error}");

    let guest = digest_guest(HostCapabilities::none());
    let error = guest.call("validate", b"{}").expect_err("no session");
    assert!(
        error
            .to_string()
            .contains("no answer for host capability oci/v1/manifest_digest"),
        "{error}"
    );
}

#[test]
fn a_runaway_policy_is_stopped_by_the_epoch_deadline() {
    let module = wat::parse_str(RUNAWAY_GUEST).expect("valid WAT");
    let guest = engine()
        .compile(&module)
        .expect("compiles")
        .instantiate(HostCapabilities::none(), 3)
        .expect("instance");
    let started = std::time::Instant::now();
    let error = guest.call("validate", b"{}").expect_err("interrupted");
    assert!(
        error
            .to_string()
            .contains("exceeded the allowed execution time"),
        "{error}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn an_unannotated_module_is_refused_like_policy_server_does() {
    let annotated = module_bytes("pod-security");
    let bare = sections::remove_custom(&annotated, SECTION).expect("strip");
    let error = engine().load(&bare).err().expect("refused");
    assert!(
        error
            .to_string()
            .contains("no io.kubewarden.metadata section"),
        "{error}"
    );
    assert!(engine().load(&annotated).is_ok());
}

/// `module` with its metadata's `minimumKubewardenVersion` set to `minimum`, written straight
/// into the section (as another tool could), bypassing our annotate's validation.
fn requiring_kubewarden(module: &[u8], minimum: &str) -> Vec<u8> {
    let mut metadata = Metadata::from_module(module).unwrap().unwrap();
    metadata.minimum_kubewarden_version = Some(minimum.to_owned());
    let bare = sections::remove_custom(module, SECTION).unwrap();
    sections::append_custom(&bare, SECTION, &serde_json::to_vec(&metadata).unwrap()).unwrap()
}

/// As policy-server and kwctl: a module asking for a newer Kubewarden (major.minor) than the
/// host is refused, naming the field; one whose version is not semver is unreadable metadata.
#[test]
fn a_module_needing_a_newer_kubewarden_is_refused_like_policy_server_does() {
    use pci_host::metadata::HOST_KUBEWARDEN_VERSION;
    let module = module_bytes("pod-security");
    let host = &HOST_KUBEWARDEN_VERSION;
    for (minimum, loads) in [
        ("1.29.0".to_owned(), true),
        (format!("{}.{}.99", host.major, host.minor), true),
        (format!("{}.{}.0", host.major, host.minor + 1), false),
        (format!("{}.0.0", host.major + 1), false),
        ("1.29".to_owned(), false),
    ] {
        let result = engine().load(&requiring_kubewarden(&module, &minimum));
        assert_eq!(result.is_ok(), loads, "minimumKubewardenVersion {minimum}");
        if let Err(error) = result {
            assert!(
                format!("{error:#}").contains("minimumKubewardenVersion"),
                "{minimum}: {error:#}"
            );
        }
    }
}

#[test]
fn annotation_replaces_the_metadata_and_validates_it() {
    let bare = sections::remove_custom(&module_bytes("pod-security"), SECTION).expect("strip");
    let metadata_yaml = std::fs::read_to_string(root().join("policies/pod-security/metadata.yml"))
        .expect("metadata");
    let once = annotate(engine(), &bare, &metadata_yaml, Some("usage text")).expect("annotates");
    let twice =
        annotate(engine(), &once, &metadata_yaml, Some("usage text")).expect("re-annotates");
    assert_eq!(
        once, twice,
        "annotating again replaces the section instead of stacking a stale one"
    );
    let metadata = Metadata::from_module(&twice)
        .expect("readable")
        .expect("present");
    assert_eq!(metadata.protocol_version.as_deref(), Some("v1"));
    assert_eq!(
        metadata.annotations["io.kubewarden.policy.usage"],
        "usage text"
    );

    let without_rules = metadata_yaml.replace("rules:", "ignored_rules:").replacen(
        "mutating: true",
        "rules: []\nmutating: true",
        1,
    );
    let error = annotate(engine(), &bare, &without_rules, None).expect_err("invalid metadata");
    assert!(
        format!("{error:#}").contains("rules must not be empty"),
        "{error:#}"
    );
    let preset = format!("protocolVersion: v1\n{metadata_yaml}");
    assert!(annotate(engine(), &bare, &preset, None).is_err());
}

/// The policy-server path (`make bench` measures it) answers what `kwctl run` answers: the same
/// AdmissionResponse, wrapped in an AdmissionReview, for every example that needs no host call.
#[test]
fn the_policy_server_path_answers_what_kwctl_run_answers() {
    use pci_host::server_path::{ServerPath, review_body};
    let mut compared = 0;
    for name in e2e::policies() {
        let examples =
            pci_host::examples::load(&e2e::bundle().examples_dir(&name)).expect("examples");
        let policy = e2e::policy(&name);
        for example in examples.iter().filter(|e| e.session.is_none()) {
            let expected = example.run(&policy).expect("run");
            let instance = e2e::instance(&name);
            let body = ServerPath::new(&instance, example.settings.clone())
                .review(&review_body(&example.request))
                .expect("review");
            let review: Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(review["kind"], "AdmissionReview");
            assert_eq!(
                review["response"],
                serde_json::to_value(&expected).expect("json"),
                "{name}/{}",
                example.name
            );
            compared += 1;
        }
    }
    assert!(compared >= 10, "{compared} examples compared");
}
