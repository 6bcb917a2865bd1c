//! Rejections a developer can act on, through the compiled policies: the first line says what
//! is wrong, on which container and what would pass; a one-image rejection stays within 300
//! characters; the host's errors are named in our words, never its wrappers or a stack trace,
//! which go (trimmed) to the audit annotation; every violation is in the annotation; and every
//! message ends with the page of each control it names, a page that exists.

use std::sync::Arc;

use e2e::{bundle, kwctl_run, policy, root};
use pci_host::admission::AdmissionResponse;
use pci_host::replay::Replay;
use pci_host::run::{RunOptions, run};
use pci_shared::violation::CONTROL_DOCS;
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, workload_object};
use serde_json::{Value, json};

/// Every control id a policy can report (its code's list) has its page.
#[test]
fn every_control_any_policy_reports_has_a_page() {
    use pci_shared::policy::Policy;
    let lists: [(&str, &[&str]); 5] = [
        ("pod-security", <pod_security::Exported as Policy>::CONTROLS),
        (
            "trusted-registries",
            <trusted_registries::Exported as Policy>::CONTROLS,
        ),
        ("image-digest", <image_digest::Exported as Policy>::CONTROLS),
        (
            "image-signatures",
            <image_signatures::Exported as Policy>::CONTROLS,
        ),
        (
            "runtime-isolation",
            <runtime_isolation::Exported as Policy>::CONTROLS,
        ),
    ];
    for (policy, controls) in lists {
        for control in controls {
            let page = root().join("docs/controls").join(format!("{control}.md"));
            let text = std::fs::read_to_string(&page).unwrap_or_else(|e| {
                panic!("{policy}: {control} has no page {}: {e}", page.display())
            });
            assert!(text.contains(&format!("## {policy}")), "{}", page.display());
            for part in [
                "**PCI reference.**",
                "**How to fix.**",
                "**How to request an exception.**",
            ] {
                assert!(text.contains(part), "{}: no {part}", page.display());
            }
        }
    }
}

/// The settings a control's page names are settings the compiled policy reads.
#[test]
fn the_settings_a_page_names_exist() {
    for policy in e2e::policies() {
        let known = e2e::settings_fields(&policy);
        let pci: Value = yaml_serde::from_str(
            &std::fs::read_to_string(bundle().policy_dir(&policy).join("pci.yml"))
                .expect("pci.yml"),
        )
        .expect("yaml");
        for control in pci["controls"].as_array().expect("controls") {
            for setting in control["settings"].as_array().into_iter().flatten() {
                let setting = setting.as_str().expect("a name");
                assert!(
                    known.iter().any(|k| k == setting),
                    "{policy}: control {} names setting {setting}, which the policy does not read",
                    control["id"]
                );
            }
        }
    }
}

/// The checks every rejection passes; returns the message.
fn check_rejection(policy: &str, response: &AdmissionResponse) -> String {
    assert!(!response.allowed, "{policy}: accepted");
    let message = response
        .status
        .as_ref()
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    let last = message.lines().last().unwrap_or_default();
    for link in last.split(", ") {
        let page = link
            .strip_prefix(CONTROL_DOCS)
            .unwrap_or_else(|| panic!("{policy}: {link} is not a control page"));
        assert!(
            root().join("docs/controls").join(page).is_file(),
            "{policy}: {link} does not exist"
        );
    }
    for banned in [
        "Host error",
        "Callback evaluation",
        "backtrace",
        "::",
        "error invoking host",
    ] {
        let text = message.replace("https://", "");
        assert!(!text.contains(banned), "{policy}: {banned:?} in {message}");
    }
    let audit = response.audit_annotations.clone().unwrap_or_default();
    let violations: Vec<Value> =
        serde_json::from_str(audit.get("violations").expect("violations")).expect("json");
    for violation in &violations {
        let line = format!(
            "[{}] {}",
            violation["control"].as_str().unwrap_or_default(),
            violation["path"].as_str().unwrap_or_default()
        );
        assert!(message.contains(&line), "{policy}: {line} not in {message}");
        let detail = violation["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains("backtrace") && !detail.contains("anyhow::"),
            "{detail}"
        );
    }
    message
}

fn signatures_request() -> Value {
    let object = workload_object(
        WorkloadKind::Deployment,
        "web",
        json!({"labels": {"app": "web"}}),
        json!({"containers": [{"name": "web", "image": "registry.corp.com/payments/web:1.0"}]}),
    );
    admission_request(WorkloadKind::Deployment, "CREATE", object)
}

/// One image, verified by a host that answers `error` (policy-server's own words, with the
/// stack trace it appends when `RUST_BACKTRACE` is set).
fn verify_failing_with(error: &str) -> AdmissionResponse {
    let digest = "sha256:6666666666666666666666666666666666666666666666666666666666666666";
    let key = std::fs::read_to_string(
        bundle()
            .policy_dir("image-signatures")
            .join("test_data/key-a.pub"),
    )
    .expect("key");
    let session = json!([
        {"type": "Exchange", "request": "!OciManifestDigest\nimage: registry.corp.com/payments/web:1.0\n",
         "response": {"type": "Success", "payload": format!("{{\"digest\":\"{digest}\"}}")}},
        {"type": "Exchange", "request": format!("!SigstorePubKeyVerify\nimage: registry.corp.com/payments/web@{digest}\npub_keys: {}\nannotations: null\n", json!([key])),
         "response": {"type": "Error", "message": error}},
    ]);
    let replay = Arc::new(
        Replay::from_yaml(&yaml_serde::to_string(&session).expect("yaml")).expect("session"),
    );
    let options = RunOptions {
        settings: json!({"rules": [{"images": ["registry.corp.com/**"], "publicKeys": {"keys": [key]}}]}),
        replay: Some(replay),
        ..RunOptions::default()
    };
    run(&policy("image-signatures"), &signatures_request(), options).expect("run")
}

const BACKTRACE: &str = "\n\nStack backtrace:\n   0: anyhow::error::<impl anyhow::Error>::msg\n   1: policy_evaluator::callback_handler::CallbackHandler::loop_eval::{{closure}}\n   2: tokio::runtime::task::core::Core<T,S>::poll";

#[test]
fn a_host_error_is_named_in_our_words_within_the_budget() {
    let cases = [
        (
            "Callback evaluation failure: Image verification failed: missing signatures\nThe following constraints were not satisfied:\n- kind: pubKey\n  owner: null\n",
            "not signed by the expected signer; sign it or request an exception",
            "missing signatures",
        ),
        (
            "Callback evaluation failure: no signatures found for image: registry.corp.com/payments/web:1.0 ",
            "not signed; sign it in your pipeline or request an exception",
            "no signatures found",
        ),
        (
            "Callback evaluation failure: error sending request for url (https://registry.corp.com/v2/): error trying to connect: tcp connect error: Connection refused (os error 111)",
            "the registry is unreachable; tell the platform team",
            "Connection refused",
        ),
        (
            "Callback evaluation failure: error sending request: operation timed out",
            "the registry timed out; retry, or tell the platform team",
            "timed out",
        ),
    ];
    for (host, ours, kept) in cases {
        let response = verify_failing_with(&format!("{host}{BACKTRACE}"));
        let message = check_rejection("image-signatures", &response);
        assert!(
            message.len() <= 300,
            "{} characters: {message}",
            message.len()
        );
        let first = message.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("image-signatures: [signature] spec.template.spec.containers[0].image (container \"web\"): ")
                && first.contains(ours),
            "{first}"
        );
        let audit = &response.audit_annotations.as_ref().expect("audit")["violations"];
        assert!(
            audit.contains(kept) && audit.contains("rules[0] publicKeys"),
            "{audit}"
        );
        assert!(
            !audit.contains("Stack backtrace") && !audit.contains("Callback evaluation"),
            "{audit}"
        );
    }
}

/// The rejecting examples of every policy read as the standard says: a first line to act on,
/// every violation, the pages.
#[test]
fn every_rejecting_example_leads_with_what_to_do_and_ends_with_the_pages() {
    let examples = [
        (
            "pod-security",
            "02-privileged-daemonset.json",
            "settings.json",
        ),
        (
            "pod-security",
            "06-cronjob-missing-drop-all.json",
            "settings.json",
        ),
        (
            "trusted-registries",
            "02-untrusted-and-latest.json",
            "settings.json",
        ),
        (
            "trusted-registries",
            "03-look-alike-registry.json",
            "settings.json",
        ),
        ("image-digest", "02-tags-only.json", "settings.json"),
    ];
    for (policy, example, settings) in examples {
        let dir = bundle().policy_dir(policy).join("examples");
        let read = |file: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).expect("example"))
                .expect("json")
        };
        let mut request = read(example);
        if request.get("request").is_some() {
            request = request["request"].clone();
        }
        let response = kwctl_run(policy, &request, read(settings));
        let message = check_rejection(policy, &response);
        let first = message.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(policy) && first.contains("container \""),
            "{first}"
        );
    }
}
