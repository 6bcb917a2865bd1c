//! Robustness of the compiled policies in one host: a soak of 100,000 evaluations across all five
//! policies with stable memory, and a suite of hostile inputs, each of which must get a clear
//! rejection (never a trap, never an accept). Its own test binary, so the memory reading is ours.

use std::time::Instant;

use e2e::bench_settings;
use e2e::{instance, root};
use pci_host::host::Instance;
use serde_json::{Value, json};

const SOAK_REQUESTS: usize = 100_000;
/// Ten times the containers of any real pod; judged well within the 2 s deadline even on a
/// loaded 2-core machine (5,000 took about 1 s of the 2 s deadline unloaded, and exceeded it
/// while another build ran).
const HUGE_POD_CONTAINERS: usize = 1_000;

fn corpus() -> Vec<Value> {
    [
        "deployment-request",
        "small-pod",
        "large-deployment",
        "cronjob",
    ]
    .iter()
    .map(|name| {
        let path = root()
            .join("bench")
            .join("corpus")
            .join(format!("{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("corpus")).expect("json")
    })
    .collect()
}

/// Resident memory of this process, in bytes (Linux `/proc/self/statm`).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("resident pages");
    pages * 4096
}

fn verdict(instance: &Instance, payload: &[u8]) -> Value {
    let answer = instance
        .call("validate", payload)
        .expect("the policy answers");
    serde_json::from_slice(&answer).expect("a JSON ValidationResponse")
}

/// Hostile `validate` payloads: (name, bytes).
fn hostile_payloads(settings: &Value) -> Vec<(String, Vec<u8>)> {
    let request = corpus().remove(0);
    let good = json!({"request": request, "settings": settings}).to_string();
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("not UTF-8".into(), vec![0xff, 0xfe, 0x00, 0x7b]),
        ("null".into(), b"null".to_vec()),
        ("an array".into(), b"[]".to_vec()),
        (
            "request is an array".into(),
            br#"{"request":[],"settings":{}}"#.to_vec(),
        ),
        (
            "request is a string".into(),
            br#"{"request":"pod","settings":{}}"#.to_vec(),
        ),
    ];
    for cut in [1, good.len() / 3, good.len() / 2, good.len() - 1] {
        cases.push((
            format!("truncated at {cut}"),
            good.as_bytes()[..cut].to_vec(),
        ));
    }
    let mut wrong_types = request.clone();
    wrong_types["object"]["spec"]["template"]["spec"]["containers"] = json!({"name": "x"});
    cases.push((
        "containers is an object".into(),
        json!({"request": wrong_types, "settings": settings})
            .to_string()
            .into_bytes(),
    ));
    let mut wrong_image = request.clone();
    wrong_image["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = json!(42);
    cases.push((
        "image is a number".into(),
        json!({"request": wrong_image, "settings": settings})
            .to_string()
            .into_bytes(),
    ));
    let mut no_kind = request.clone();
    no_kind.as_object_mut().unwrap().remove("kind");
    cases.push((
        "no kind".into(),
        json!({"request": no_kind, "settings": settings})
            .to_string()
            .into_bytes(),
    ));
    // Deep nesting in a field the policies do not know: the JSON reader's depth limit, not a stack overflow.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_request = good.replacen(
        r#""metadata":{"#,
        &format!(r#""metadata":{{"x-deep":{deep},"#),
        1,
    );
    assert_ne!(deep_request, good);
    cases.push(("100,000 nested arrays".into(), deep_request.into_bytes()));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    cases.push((
        "10,000 nested objects as the request".into(),
        format!(r#"{{"request":{deep_object},"settings":{{}}}}"#).into_bytes(),
    ));
    cases
}

#[test]
fn hostile_inputs_get_a_clear_rejection_from_every_policy() {
    for policy in e2e::policies() {
        let policy = policy.as_str();
        let instance = instance(policy);
        let settings = bench_settings(policy);
        for (name, payload) in hostile_payloads(&settings) {
            let answer = verdict(&instance, &payload);
            assert_eq!(answer["accepted"], false, "{policy}, {name}: {answer}");
            let message = answer["message"].as_str().unwrap_or_default();
            assert!(
                message.starts_with(&format!("{policy}: "))
                    || message.starts_with(&format!("{policy} ")),
                "{policy}, {name}: the message names the policy: {message}"
            );
            assert!(
                message.len() > policy.len() + 10,
                "{policy}, {name}: {message}"
            );
            assert_eq!(answer["code"], 400, "{policy}, {name}: {answer}");
        }
        // The instance is still healthy after all of that.
        let request = corpus().remove(1);
        let payload = json!({"request": request, "settings": settings}).to_string();
        assert!(verdict(&instance, payload.as_bytes())["accepted"].is_boolean());
    }
}

#[test]
fn a_huge_pod_is_judged_completely_within_the_deadline() {
    let containers: Vec<Value> = (0..HUGE_POD_CONTAINERS)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:latest", "securityContext": {"privileged": true}}))
        .collect();
    let request = json!({
        "uid": "huge",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE",
        "namespace": "default",
        "name": "huge",
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"}, "spec": {"containers": containers}}
    });
    for policy in ["pod-security", "trusted-registries", "image-digest"] {
        let settings = bench_settings(policy);
        let payload = json!({"request": request, "settings": settings}).to_string();
        let answer = verdict(&instance(policy), payload.as_bytes());
        assert_eq!(answer["accepted"], false, "{policy}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("spec.containers[{}]", HUGE_POD_CONTAINERS - 1)),
            "{policy}: every container is named"
        );
    }
}

#[test]
fn hostile_settings_are_refused_with_a_message() {
    for policy in e2e::policies() {
        let policy = policy.as_str();
        let instance = instance(policy);
        for payload in [
            &b""[..],
            b"[]",
            b"null",
            b"{\"exceptions\": ",
            b"{\"exceptions\": 42}",
            b"{\"exceptions\": [{\"reason\": []}]}",
            b"\xff\xfe",
        ] {
            let answer: Value = serde_json::from_slice(
                &instance
                    .call("validate_settings", payload)
                    .expect("answers"),
            )
            .expect("json");
            assert_eq!(
                answer["valid"],
                false,
                "{policy}: {:?}",
                String::from_utf8_lossy(payload)
            );
            assert!(
                answer["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{policy}: {answer}"
            );
        }
    }
}

#[test]
fn one_host_evaluates_100000_requests_across_all_policies_with_stable_memory() {
    let corpus = corpus();
    let policies = e2e::policies();
    let instances: Vec<(&str, Instance, Vec<Vec<u8>>)> = policies
        .iter()
        .map(|policy| {
            let settings = bench_settings(policy);
            let mut payloads: Vec<Vec<u8>> = corpus
                .iter()
                .map(|request| {
                    json!({"request": request, "settings": settings})
                        .to_string()
                        .into_bytes()
                })
                .collect();
            payloads.extend(
                hostile_payloads(&settings)
                    .into_iter()
                    .map(|(_, p)| p)
                    .take(6),
            );
            (policy.as_str(), instance(policy), payloads)
        })
        .collect();
    let total_payloads: usize = instances.iter().map(|(_, _, p)| p.len()).sum();
    let expected: Vec<Vec<Value>> = instances
        .iter()
        .map(|(_, instance, payloads)| payloads.iter().map(|p| verdict(instance, p)).collect())
        .collect();

    let mut evaluated = 0;
    let mut baseline = 0;
    let started = Instant::now();
    'soak: loop {
        for (index, (policy, instance, payloads)) in instances.iter().enumerate() {
            for (which, payload) in payloads.iter().enumerate() {
                let answer = instance.call("validate", payload).expect("answers");
                // Same input, same answer, every time (byte for byte after the first parse).
                if evaluated % 997 == 0 {
                    let answer: Value = serde_json::from_slice(&answer).expect("json");
                    assert_eq!(
                        answer, expected[index][which],
                        "{policy} drifted after {evaluated} requests"
                    );
                }
                evaluated += 1;
                if evaluated == SOAK_REQUESTS / 10 {
                    baseline = resident_bytes();
                }
                if evaluated == SOAK_REQUESTS {
                    break 'soak;
                }
            }
        }
    }
    let grown = resident_bytes().saturating_sub(baseline);
    let elapsed = started.elapsed();
    eprintln!(
        "soak: {evaluated} requests ({total_payloads} distinct) in {:.1} s, resident memory grew {} KiB after the first 10%",
        elapsed.as_secs_f64(),
        grown / 1024
    );
    assert!(
        grown < 8 * 1024 * 1024,
        "resident memory grew {grown} bytes over 90,000 requests"
    );
}
