//! `evidence --in-cluster NAME` against a Kubernetes API that answers from a file
//! (`outputs/api/prod.json`, the cluster of examples/fleet/prod as the API server lists it), and
//! `evidence --push` / `evidence pull` on a real registry (Debian's docker-registry).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::evidence_fleet::cosign_key_pair;
use super::pci_policies_with;

/// One request the API saw: method, path and query, Authorization header.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    authorization: String,
}

/// A Kubernetes API on 127.0.0.1 answering from `answers` (path → status and pages), `refuse`
/// paths answered 403; every request is recorded.
struct RecordedApi {
    address: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RecordedApi {
    fn start(answers: Value, refuse: &'static [&'static str]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_owned();
                let target = parts.next().unwrap_or_default().to_owned();
                let mut authorization = String::new();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap_or_default();
                    match name.to_ascii_lowercase().as_str() {
                        "authorization" => authorization = value.trim().to_owned(),
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                record.lock().unwrap().push(Seen {
                    method: method.clone(),
                    target: target.clone(),
                    authorization,
                });
                let (status, body) = answer(&answers, refuse, &target);
                let reply = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    if status == 200 { "OK" } else { "Error" },
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Self { address, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// The answer to `target`: the page its `continue` token names, 403 for `refuse`, 404 for a
/// path nothing answers.
fn answer(answers: &Value, refuse: &[&str], target: &str) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if refuse.contains(&path) {
        let status = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": format!("{path} is forbidden: User \"system:serviceaccount:kubewarden:pci-policies-evidence\" cannot list resource"),
            "reason": "Forbidden", "code": 403});
        return (403, status.to_string());
    }
    let Some(answer) = answers.get(path) else {
        let status = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404});
        return (404, status.to_string());
    };
    let token = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("continue="))
        .unwrap_or_default();
    let pages = answer["pages"].as_array().unwrap();
    // The token of a page names the page after it.
    let index = if token.is_empty() {
        0
    } else {
        pages
            .iter()
            .position(|p| p["metadata"]["continue"] == token)
            .map_or(pages.len(), |previous| previous + 1)
    };
    let Some(page) = pages.get(index) else {
        return (
            410,
            "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}".into(),
        );
    };
    let status = answer["status"].as_u64().unwrap() as u16;
    (status, page.to_string())
}

/// A kubeconfig pointing at `server` with a bearer token.
fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: recorded\n  cluster:\n    server: {server}\nusers:\n- name: evidence\n  user:\n    token: recorded-token\ncontexts:\n- name: recorded\n  context:\n    cluster: recorded\n    user: evidence\ncurrent-context: recorded\n"
        ),
    )
    .unwrap();
    path
}

fn recorded_answers() -> Value {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/outputs/api/prod.json"),
    )
    .unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["answers"].clone()
}

/// Runs `pci-policies` with `kubeconfig` as KUBECONFIG (and no home to fall back on).
fn run_with(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    pci_policies_with(
        &[
            ("KUBECONFIG", Some(kubeconfig.as_os_str())),
            ("HOME", kubeconfig.parent().map(Path::as_os_str)),
            ("KUBERNETES_SERVICE_HOST", None),
        ],
        args,
    )
}

/// `evidence --in-cluster prod` dated 2026-12-01 into `out`, through `kubeconfig`.
fn in_cluster(kubeconfig: &Path, out: &Path) -> (i32, String, String) {
    let out = out.to_str().unwrap();
    let args = [
        "evidence",
        "--in-cluster",
        "prod",
        "--date",
        "2026-12-01",
        "--out",
        out,
    ];
    run_with(kubeconfig, &args)
}

/// Section → verdict, and policy → verdict, of the one cluster of a pack.
fn judged(pack: &Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let cluster = &pack["clusters"][0];
    let sections = cluster["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["verdict"].to_string(),
            )
        })
        .collect();
    let policies = cluster["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                format!(
                    "{} {}",
                    p["operation"]["verdict"], p["operation"]["reasons"]
                ),
            )
        })
        .collect();
    (sections, policies)
}

fn read_pack(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("evidence.json")).unwrap()).unwrap()
}

/// The API's objects get the same verdicts as the export of the same cluster; the reader only
/// lists (GET), with the kubeconfig's token, every kind the RBAC grants, page by page, and a
/// report API the cluster does not serve is noted, not an error.
#[test]
fn a_cluster_read_through_its_api_is_judged_as_its_export() {
    let dir = super::scratch("api-read");
    let api = RecordedApi::start(recorded_answers(), &[]);
    let config = kubeconfig(&dir, &api.address);
    let out = dir.join("api");
    let (code, stdout, stderr) = in_cluster(&config, &out);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let from_api = read_pack(&out);

    let exported = dir.join("export");
    let (code, _, stderr) = run_with(
        &config,
        &[
            "evidence",
            "--cluster",
            "prod=examples/fleet/prod",
            "--date",
            "2026-12-01",
            "--out",
            exported.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let from_export = read_pack(&exported);
    assert_eq!(judged(&from_api), judged(&from_export));
    assert_eq!(judged(&from_api).0.len(), 5);
    let read_from = from_api["clusters"][0]["manifests"][0].as_str().unwrap();
    assert!(
        read_from.starts_with(&format!(
            "the Kubernetes API at {}, read at 20",
            api.address
        )),
        "{read_from}"
    );
    // Dated 2026-12-01 but read today: the pack says so at the top.
    assert!(
        from_api["clusters"][0]["flagged"][0]
            .as_str()
            .unwrap()
            .starts_with("the pack is dated 2026-12-01 but the cluster was read on "),
        "{}",
        from_api["clusters"][0]["flagged"]
    );
    let reproduce = from_api["clusters"][0]["reproduce"].to_string();
    assert!(
        reproduce.contains("Not served by the API (their CRDs, or these versions, are not installed): PolicyReport (wgpolicyk8s.io/v1alpha2), ClusterPolicyReport (wgpolicyk8s.io/v1alpha2)"),
        "{reproduce}"
    );

    let seen = api.seen();
    assert!(seen.iter().all(|s| s.method == "GET"), "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.authorization == "Bearer recorded-token"),
        "{seen:?}"
    );
    let mut paths: Vec<&str> = seen
        .iter()
        .map(|s| {
            s.target
                .split_once('?')
                .map_or(s.target.as_str(), |(p, _)| p)
        })
        .collect();
    paths.dedup();
    let mut expected: Vec<&str> = recorded_answers()
        .as_object()
        .unwrap()
        .keys()
        .map(|k| Box::leak(k.clone().into_boxed_str()) as &str)
        .collect();
    expected.sort();
    paths.sort();
    assert_eq!(paths, expected);
    let pages: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.target.contains("clusteradmissionpolicies?"))
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(
        pages[2]
            .target
            .contains("continue=clusteradmissionpolicies-page-3")
    );
}

/// A list the service account may not make is an error naming the list and the API's answer:
/// a pack is never built from part of the cluster.
#[test]
fn a_forbidden_list_is_an_error_not_a_gap() {
    let dir = super::scratch("api-forbidden");
    let api = RecordedApi::start(
        recorded_answers(),
        &["/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"],
    );
    let config = kubeconfig(&dir, &api.address);
    let out = dir.join("pack");
    let (code, stdout, stderr) = in_cluster(&config, &out);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("--in-cluster prod: cannot list validatingwebhookconfigurations"),
        "{stderr}"
    );
    assert!(stderr.contains("forbidden"), "{stderr}");
    assert!(!out.join("evidence.json").exists());

    let nowhere = kubeconfig(&dir, "http://127.0.0.1:9");
    let (code, _, stderr) = in_cluster(&nowhere, &out);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--in-cluster prod: cannot list clusteradmissionpolicies"),
        "{stderr}"
    );
}

/// A list whose pages repeat an object, or whose continue token comes back, is an error: the
/// first copy of a policy is not taken for the cluster's, and the reader never loops.
#[test]
fn a_list_that_repeats_or_never_ends_is_an_error() {
    let dir = super::scratch("api-pages");
    let path = "/apis/policies.kubewarden.io/v1/clusteradmissionpolicies";
    let mut repeated = recorded_answers();
    let first = repeated[path]["pages"][0]["items"][0].clone();
    repeated[path]["pages"][2]["items"]
        .as_array_mut()
        .unwrap()
        .push(first);
    let mut looping = recorded_answers();
    looping[path]["pages"][1]["metadata"]["continue"] =
        looping[path]["pages"][0]["metadata"]["continue"].clone();
    for (answers, expected) in [
        (repeated, "twice ("),
        (looping, "twice: the list never ends"),
    ] {
        let api = RecordedApi::start(answers, &[]);
        let config = kubeconfig(&dir, &api.address);
        let (code, _, stderr) = in_cluster(&config, &dir.join("pack"));
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
}

/// `--push` uploads the signed pack tagged with its date; `pull` writes it back byte for byte
/// and verifies it; a pack whose files were swapped in the registry, or signed by another key,
/// is refused and not kept.
#[test]
fn a_signed_pack_is_pushed_pulled_and_verified_on_a_real_registry() {
    let dir = super::scratch("api-push");
    let mut registry = pci_host::local_registry::LocalRegistry::start().expect("docker-registry");
    let repository = format!("{}/pci/evidence/prod", registry.address());
    let (private, public) = cosign_key_pair(&dir, "cosign");
    let (_, other) = cosign_key_pair(&dir, "other");
    let out = dir.join("pack");
    let envs = [
        (
            "COSIGN_PASSWORD",
            Some(std::ffi::OsStr::new("pack-password")),
        ),
        ("DOCKER_CONFIG", Some(dir.as_os_str())),
    ];
    let text = |path: &Path| path.to_str().unwrap().to_owned();
    // The prod example's pack dated 2026-12-01, signed and pushed, written to `into`.
    let push = |into: &Path| {
        let (private, into) = (text(&private), text(into));
        let args = [
            "evidence",
            "--cluster",
            "prod=examples/fleet/prod",
            "--date",
            "2026-12-01",
            "--sign-key",
            &private,
            "--push",
            &repository,
            "--insecure",
            "--out",
            &into,
        ];
        pci_policies_with(&envs, &args)
    };
    let (code, stdout, stderr) = push(&out);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let tagged = format!("{repository}:2026-12-01");
    assert!(
        stdout.contains(&format!("{tagged} -> {repository}@sha256:")),
        "{stdout}"
    );

    let pull = |reference: &str, key: &Path, into: &Path| {
        let args = [
            "evidence",
            "pull",
            reference,
            "--insecure",
            "--out",
            &text(into),
            "--key",
            &text(key),
        ];
        pci_policies_with(&envs, &args)
    };
    let pulled = dir.join("pulled");
    let (code, stdout, stderr) = pull(&tagged, &public, &pulled);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("verified, signed pack of prod dated 2026-12-01"),
        "{stdout}"
    );
    for file in ["index.html", "evidence.json", "evidence.intoto.json"] {
        assert_eq!(
            std::fs::read(out.join(file)).unwrap(),
            std::fs::read(pulled.join(file)).unwrap(),
            "{file}"
        );
    }

    // Pushed again under the same day: refused, the first stays.
    let (code, _, stderr) = push(&dir.join("again"));
    assert_eq!(code, 1);
    assert!(stderr.contains("already holds a pack"), "{stderr}");

    let refused = dir.join("refused");
    let (code, _, stderr) = pci_policies_with(
        &envs,
        &[
            "evidence",
            "pull",
            &repository,
            "--insecure",
            "--out",
            &text(&refused),
            "--key",
            &text(&public),
        ],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("give the pack's tag"), "{stderr}");
    let (code, _, stderr) = pci_policies_with(
        &envs,
        &[
            "evidence",
            "pull",
            &tagged,
            "--insecure",
            "--cluster",
            "staging",
            "--out",
            &text(&refused),
            "--key",
            &text(&public),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("a signed pack of prod, not of cluster staging"),
        "{stderr}"
    );
    assert!(!refused.exists(), "a refused pull leaves no folder it made");
    let (code, _, stderr) = pull(&tagged, &other, &refused);
    assert_eq!(code, 1);
    assert!(stderr.contains("the pack does not verify"), "{stderr}");
    assert!(
        !refused.join("index.html").exists(),
        "a refused pack is not kept"
    );

    // Someone with push rights replaces evidence.json and keeps the signature, or pushes an
    // older pack again under a newer date.
    let artifact = |edit: bool, annotations: BTreeMap<String, String>| {
        let mut files = Vec::new();
        for (name, media_type) in [
            ("index.html", "text/html"),
            ("evidence.json", "application/json"),
            (
                "evidence.intoto.json",
                "application/vnd.dsse.envelope.v1+json",
            ),
        ] {
            let mut data = std::fs::read(out.join(name)).unwrap();
            if edit && name == "evidence.json" {
                // Hides the expired exception.
                let text = String::from_utf8(data).unwrap();
                assert!(text.contains("\"expiredExceptions\": 1"));
                data = text
                    .replacen("\"expiredExceptions\": 1", "\"expiredExceptions\": 0", 1)
                    .into_bytes();
            }
            files.push(pci_host::oci::ArtifactFile {
                name: name.to_owned(),
                media_type: media_type.to_owned(),
                data,
            });
        }
        pci_host::oci::Artifact::files(
            "application/vnd.pci-policies.evidence-pack.v1",
            files,
            annotations,
        )
    };
    let client = pci_host::oci::Registry::new(
        pci_host::oci::Transport::Http,
        pci_host::oci::Credentials::Anonymous,
    )
    .unwrap();
    client
        .push_artifact(
            &format!("{repository}:2026-12-02"),
            artifact(true, BTreeMap::new()),
        )
        .unwrap();
    let (code, _, stderr) = pull(&format!("{repository}:2026-12-02"), &public, &refused);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("evidence.json: edited since it was signed"),
        "{stderr}"
    );
    assert!(!refused.join("evidence.json").exists());

    client
        .push_artifact(
            &format!("{repository}:2026-12-05"),
            artifact(false, BTreeMap::new()),
        )
        .unwrap();
    let (code, _, stderr) = pull(&format!("{repository}:2026-12-05"), &public, &refused);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("tagged 2026-12-05, but the signed pack is dated 2026-12-01"),
        "{stderr}"
    );
    assert!(!refused.join("evidence.json").exists());
    let dated = BTreeMap::from([(
        "io.pci-policies.evidence.date".to_owned(),
        "2026-12-02".to_owned(),
    )]);
    client
        .push_artifact(&format!("{repository}:copy"), artifact(false, dated))
        .unwrap();
    let (code, _, stderr) = pull(&format!("{repository}:copy"), &public, &refused);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the manifest says 2026-12-02, but the signed pack is dated 2026-12-01"),
        "{stderr}"
    );
    assert!(!refused.exists(), "nothing is left behind");
    registry.stop();
}
