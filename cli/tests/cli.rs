//! The `pci-policies` command as a user runs it: the built binary on the compiled modules in
//! `dist/` (so these tests run after `make build`, with the end-to-end tests).

use std::path::PathBuf;
use std::process::Command;

use pci_host::image_registry::ImageRegistry;
use pci_testkit::deployment_with_images;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn pci_policies(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn run_prints_the_admission_response_like_kwctl() {
    let (ok, stdout, _) = pci_policies(&[
        "run",
        "dist/pod-security.wasm",
        "--request-path",
        "policies/pod-security/examples/02-privileged-daemonset.json",
        "--settings-json",
        r#"{"level":"baseline"}"#,
    ]);
    assert!(ok);
    let response: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(response["uid"], "3b1f0c7e-daemonset");
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    assert!(
        response["status"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("pod-security rejected DaemonSet payments/node-agent"))
    );

    let review = std::env::temp_dir().join(format!("review-{}.yaml", std::process::id()));
    let request: Value = serde_json::from_str(
        &std::fs::read_to_string(
            root().join("policies/pod-security/examples/03-bare-pod-with-safe-defaults.json"),
        )
        .expect("read"),
    )
    .expect("json");
    let yaml = yaml_serde::to_string(&serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}))
        .expect("yaml");
    std::fs::write(&review, yaml).expect("write");
    let (ok, stdout, _) = pci_policies(&[
        "run",
        "dist/pod-security.wasm",
        "-r",
        review.to_str().expect("utf8 path"),
        "-s",
        "policies/pod-security/examples/03-bare-pod-with-safe-defaults.settings.json",
    ]);
    std::fs::remove_file(&review).ok();
    assert!(ok);
    let response: Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");

    let (ok, _, stderr) = pci_policies(&[
        "run",
        "dist/pod-security.wasm",
        "-r",
        "policies/pod-security/examples/01-compliant-deployment.json",
        "--settings-json",
        r#"{"level":"none"}"#,
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("Provided settings are not valid: level: \"none\" is not a level; expected baseline or restricted"),
        "{stderr}"
    );
}

/// A registry holding `app:v1`.
struct Images {
    at: ImageRegistry,
    v1: String,
}

impl Images {
    fn start() -> Self {
        let at = ImageRegistry::start().expect("docker-registry (run `make setup`)");
        let v1 = at.push("app:v1", "one").expect("push");
        Self { at, v1 }
    }

    fn image(&self, name: &str) -> String {
        self.at.image(name)
    }
}

const POLICY: &str = "image-digest";

/// `pci-policies run` answers OCI lookups live (plain HTTP only for `--insecure-registry`) and
/// `--record-host-capabilities-interactions` writes a session that `--replay-…` accepts.
#[test]
fn run_records_a_live_session_and_replays_it() {
    let images = Images::start();
    let dir = std::env::temp_dir().join(format!("pci-policies-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let request_path = dir.join("request.json");
    let session_path = dir.join("session.yml");
    let image = images.image("app:v1");
    std::fs::write(&request_path, deployment_with_images(&[&image]).to_string()).unwrap();
    let module = root().join("dist").join(format!("{POLICY}.wasm"));
    let run = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
            .arg("run")
            .arg(&module)
            .arg("--request-path")
            .arg(&request_path)
            .args(["--settings-json", r#"{"mode":"resolve"}"#])
            .args(extra)
            .output()
            .expect("pci-policies");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str::<Value>(stdout.trim()).expect("one JSON line")
    };
    let session = session_path.to_str().unwrap();
    let live = run(&[
        "--insecure-registry",
        images.at.registry.address(),
        "--record-host-capabilities-interactions",
        session,
    ]);
    assert_eq!(live["allowed"], true, "{live}");
    assert_eq!(live["patchType"], "JSONPatch", "{live}");
    let recorded = std::fs::read_to_string(&session_path).unwrap();
    assert!(recorded.contains(&images.v1), "{recorded}");

    // Without --insecure-registry the lookup goes over HTTPS, which this registry does not
    // speak: the policy fails closed and names the image.
    let https = run(&[]);
    assert_eq!(https["allowed"], false, "{https}");
    assert!(
        https["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&image)
    );

    drop(images);
    let replayed = run(&["--replay-host-capabilities-interactions", session]);
    assert_eq!(replayed, live);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `pci-policies annotate` embeds metadata.yml and the README as `kwctl annotate` does.
#[test]
fn annotate_embeds_the_metadata_and_the_usage() {
    let out = std::env::temp_dir().join(format!("annotated-{}.wasm", std::process::id()));
    let policy_dir = root().join("policies/trusted-registries");
    let (ok, _, stderr) = pci_policies(&[
        "annotate",
        "dist/trusted-registries.wasm",
        "-m",
        policy_dir.join("metadata.yml").to_str().unwrap(),
        "-u",
        policy_dir.join("README.md").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let module = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).ok();
    let metadata = pci_host::metadata::Metadata::from_module(&module)
        .unwrap()
        .expect("annotated");
    assert_eq!(metadata.protocol_version.as_deref(), Some("v1"));
    assert_eq!(
        metadata.annotations["io.kubewarden.policy.usage"],
        std::fs::read_to_string(policy_dir.join("README.md")).unwrap()
    );
    let (ok, _, stderr) = pci_policies(&[
        "annotate",
        "dist/trusted-registries.wasm",
        "-m",
        "no/such/metadata.yml",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("cannot read no/such/metadata.yml"),
        "{stderr}"
    );
}

/// `pci-policies push` pushes as `kwctl push` and prints the immutable reference, which pulls
/// back the same bytes.
#[test]
fn push_prints_the_immutable_reference() {
    use pci_host::oci::{Credentials, Registry, Transport};
    let registry = pci_host::local_registry::LocalRegistry::start().expect("docker-registry");
    let reference = format!("{}/pci/trusted-registries:v0.0.1-test", registry.address());
    let (ok, stdout, stderr) = pci_policies(&[
        "push",
        "dist/trusted-registries.wasm",
        &format!("registry://{reference}"),
        "--insecure",
    ]);
    assert!(ok, "{stderr}");
    let (pushed, immutable) = stdout
        .trim()
        .split_once(" -> ")
        .expect("`<ref> -> <immutable>`");
    assert_eq!(pushed, reference);
    assert!(
        immutable.starts_with(&format!(
            "{}/pci/trusted-registries@sha256:",
            registry.address()
        )),
        "{immutable}"
    );
    let pulled = Registry::new(Transport::Http, Credentials::Anonymous)
        .unwrap()
        .pull_policy(immutable)
        .unwrap();
    assert_eq!(
        pulled.module,
        std::fs::read(root().join("dist/trusted-registries.wasm")).unwrap()
    );
    let (ok, _, stderr) = pci_policies(&["push", "dist/trusted-registries.wasm", &reference]);
    assert!(
        !ok && stderr.contains("push of"),
        "over HTTPS to a plain-HTTP registry: {stderr}"
    );
}

/// `pci-policies verify` accepts a module signed with the key its verification config names,
/// and refuses the module pushed over the same tag afterwards, as `kwctl verify` would.
#[test]
fn verify_accepts_the_signed_module_and_refuses_a_tampered_one() {
    use pci_host::cosign::Cosign;
    use pci_host::oci::{Credentials, Registry, Transport};
    use pci_host::release::SigningKey;
    let local = pci_host::local_registry::LocalRegistry::start().expect("docker-registry");
    let registry = Registry::new(Transport::Http, Credentials::Anonymous).unwrap();
    let reference = format!("{}/pci/image-digest:v0.1.0", local.address());
    let module = std::fs::read(root().join("dist/image-digest.wasm")).unwrap();
    let pushed = registry.push_policy(&module, &reference).unwrap();
    let pair = sigstore::crypto::SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .unwrap()
        .to_sigstore_keypair()
        .unwrap();
    let key =
        SigningKey::from_cosign_pem(pair.private_key_to_pem().unwrap().as_bytes(), b"").unwrap();
    key.sign(
        &Cosign::new(&Transport::Http).unwrap(),
        &pushed.immutable_ref,
    )
    .unwrap();
    let config = std::env::temp_dir().join(format!("verification-{}.yml", std::process::id()));
    std::fs::write(
        &config,
        pci_host::verification::pub_key_config("release", &key.public_key_pem().unwrap()),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let verify = || {
        pci_policies(&[
            "verify",
            &format!("registry://{reference}"),
            "--verification-config-path",
            config,
            "--insecure",
        ])
    };
    let (ok, stdout, stderr) = verify();
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("verified {}", pushed.manifest_digest)),
        "{stdout}"
    );
    // Another module pushed over the signed tag: its digest carries no signature.
    let tampered = pci_host::sections::append_custom(&module, "tampered", b"").unwrap();
    registry.push_policy(&tampered, &reference).unwrap();
    let (ok, _, stderr) = verify();
    assert!(!ok);
    assert!(stderr.contains("cannot be verified"), "{stderr}");
    std::fs::remove_file(config).unwrap();
}

/// `pci-policies` with `stdin` piped in.
fn pci_policies_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
        .current_dir(root())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The scan of a folder of AdmissionRequests with the recommended deployment, offline: every
/// workload judged by every validating policy; checks that need the registry or the cluster
/// report an error, never a pass; files that are not objects are skipped; exit 2 (checks not
/// made).
#[test]
fn scan_judges_every_workload_and_never_passes_what_it_cannot_check() {
    let (code, stdout, stderr) = pci_policies_with_stdin(
        &[
            "scan",
            "policies/pod-security/examples",
            "--offline",
            "-o",
            "json",
        ],
        "",
    );
    assert_eq!(code, 2, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    let verdict = |file: &str, policy: &str| {
        results
            .iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(file) && r["policy"] == policy)
            .map(|r| r["verdict"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        verdict("01-compliant-deployment.json", "pci-pod-security").as_deref(),
        Some("pass")
    );
    assert_eq!(
        verdict("02-privileged-daemonset.json", "pci-pod-security").as_deref(),
        Some("fail")
    );
    // runtime-isolation reads the namespace from the cluster: offline, an error.
    assert_eq!(
        verdict("02-privileged-daemonset.json", "pci-runtime-isolation").as_deref(),
        Some("error")
    );
    // Only validating policies report (the mutating instances' checks are their twins').
    assert!(
        results
            .iter()
            .all(|r| !r["policy"].as_str().unwrap().ends_with("-mutate"))
    );
    let skipped = results.iter().filter(|r| r["verdict"] == "skip").count();
    assert_eq!(skipped, 3, "the settings files");
    let passes = results.iter().filter(|r| r["verdict"] == "pass").count();
    assert_eq!(report["summary"]["pass"], passes);
}

/// `helm template … | pci-policies scan -`: multi-document YAML on stdin, scanned with the
/// policies of a manifest file; a compliant workload passes (exit 0), a bad document is named
/// by line and makes the exit 2, an unknown format is a usage error (2).
#[test]
fn scan_reads_standard_input_with_the_deployed_policies() {
    let bundle = std::fs::read_to_string(root().join("manifests/pci-policies.yaml")).unwrap();
    let chosen: Vec<&str> = bundle
        .split("\n---\n")
        .filter(|doc| {
            doc.contains("name: pci-pod-security\n")
                || doc.contains("name: pci-trusted-registries\n")
        })
        .collect();
    assert_eq!(chosen.len(), 2);
    let policies = std::env::temp_dir().join(format!("scan-policies-{}.yaml", std::process::id()));
    std::fs::write(&policies, chosen.join("\n---\n")).unwrap();
    let policies = policies.to_str().unwrap().to_owned();
    let compliant = "\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: web
        image: registry.example.com/shop/web:1.4.2
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
";
    let (code, stdout, stderr) = pci_policies_with_stdin(
        &["scan", "-", "--policies", &policies, "--offline"],
        compliant,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("-:5  Deployment shop/web"), "{stdout}");
    assert!(
        stdout.contains("2 pass, 0 warn, 0 fail, 0 error, 1 skipped, 0 invalid"),
        "{stdout}"
    );

    let broken = format!("{compliant}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: [x\n");
    let (code, stdout, _) = pci_policies_with_stdin(
        &["scan", "-", "--policies", &policies, "--offline"],
        &broken,
    );
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("INVALID"), "{stdout}");
    assert!(
        stdout.contains("-:23"),
        "the broken line is named: {stdout}"
    );

    let (code, _, stderr) = pci_policies_with_stdin(&["scan", "-", "-o", "xml"], "");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("expected one of table, json, junit"),
        "{stderr}"
    );
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 30: the bundle ships its PolicyServer, service account, RBAC, PodDisruptionBudget and
/// verification ConfigMap beside the policies (`manifests/pci-policies.yaml`, a render of
/// `deploy/`). A scan with those policies passes over them; a kind that is neither a policy nor
/// one of them is still refused, naming it.
#[test]
fn scan_reads_the_whole_bundle_and_refuses_other_kinds() {
    let bundle = std::fs::read_to_string(root().join("manifests/pci-policies.yaml")).unwrap();
    let documents: Vec<&str> = bundle.split("\n---\n").skip(1).collect();
    let deployment: Vec<&str> = documents
        .iter()
        .copied()
        .filter(|doc| !doc.contains("kind: ClusterAdmissionPolicy"))
        .collect();
    for kind in [
        "PolicyServer",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "PodDisruptionBudget",
        "ConfigMap",
    ] {
        assert!(
            deployment
                .iter()
                .any(|doc| doc.contains(&format!("\nkind: {kind}\n"))),
            "the bundle deploys a {kind}"
        );
    }
    let pod_security = documents
        .iter()
        .find(|doc| doc.contains("name: pci-pod-security\n"))
        .expect("pci-pod-security");
    let policies = std::env::temp_dir().join(format!("scan-bundle-{}.yaml", std::process::id()));
    let mut text = format!("{}\n---\n{pod_security}", deployment.join("\n---\n"));
    std::fs::write(&policies, &text).unwrap();
    let workload = "\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: web
    image: registry.example.com/shop/web:1.4.2
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
";
    let (code, report, printed) = scan_offline(policies.to_str().unwrap(), workload);
    assert_eq!(code, 0, "{printed}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{printed}");
    assert_eq!(results[0]["policy"], "pci-pod-security", "{printed}");

    text.push_str(
        "\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: kubewarden}\n",
    );
    std::fs::write(&policies, &text).unwrap();
    let (code, _, stderr) = pci_policies_with_stdin(
        &[
            "scan",
            "-",
            "--policies",
            policies.to_str().unwrap(),
            "--offline",
        ],
        workload,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("token is a \"Secret\"; a scan reads ClusterAdmissionPolicy"),
        "{stderr}"
    );
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 30: the bundle's policies spare the system namespaces (`kubernetes.io/metadata.name
/// NotIn`) and its system-namespaces policy judges exactly them (`In`), at baseline with its
/// reviewed exceptions. A scan decides that label from the manifest's namespace, as the API
/// server sets it: kube-proxy in kube-system is judged by the system policy only (admitted with
/// its reviewed exception's waivers, a warning), the same pod in an application namespace and an
/// application pod by the restricted one only.
#[test]
fn scan_judges_each_namespace_with_the_policies_its_selector_chooses() {
    let policies = bundle_policies(
        "scan-namespace-selector",
        &["pci-pod-security", "pci-pod-security-system"],
        str::to_owned,
    );
    let workloads = "\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: web
    image: registry.example.com/shop/web:1.4.2
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Pod
metadata: {name: kube-proxy-x7k2p, namespace: kube-system}
spec:
  hostNetwork: true
  containers:
  - name: kube-proxy
    image: registry.k8s.io/kube-proxy:v1.32.4
    securityContext: {privileged: true}
";
    let outside = workloads
        .rsplit("---\n")
        .next()
        .unwrap()
        .replace("namespace: kube-system", "namespace: shop");
    let workloads = format!("{workloads}---\n{outside}");
    let (code, report, printed) = scan_offline(&policies, &workloads);
    assert_eq!(code, 1, "{printed}");
    let mut judged: Vec<(String, String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap_or_default().to_owned();
            let workload = format!("{}/{}/{}", text("kind"), text("namespace"), text("name"));
            (workload, text("policy"), text("verdict"))
        })
        .collect();
    judged.sort();
    let names: Vec<(&str, &str, &str)> = judged
        .iter()
        .map(|(w, p, v)| (w.as_str(), p.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "Pod/kube-system/kube-proxy-x7k2p",
                "pci-pod-security-system",
                "warn"
            ),
            ("Pod/shop/kube-proxy-x7k2p", "pci-pod-security", "fail"),
            ("Pod/shop/web", "pci-pod-security", "pass"),
        ],
        "{printed}"
    );
    let system = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["namespace"] == "kube-system")
        .unwrap();
    let waived: Vec<(&str, &str)> = system["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["control"].as_str().unwrap(), w["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        waived,
        [
            (
                "privileged",
                "spec.containers[0].securityContext.privileged"
            ),
            ("hostNamespaces", "spec.hostNetwork"),
        ],
        "{printed}"
    );
    assert!(
        system["findings"].as_array().unwrap().is_empty(),
        "{printed}"
    );
    std::fs::remove_file(&policies).unwrap();
}

/// `pci-policies scan - --policies POLICIES --offline -o json` over `stdin`: the exit code, the
/// JSON report, and what the command printed (for assertion messages).
fn scan_offline(policies: &str, stdin: &str) -> (i32, Value, String) {
    let (code, stdout, stderr) = pci_policies_with_stdin(
        &[
            "scan",
            "-",
            "--policies",
            policies,
            "--offline",
            "-o",
            "json",
        ],
        stdin,
    );
    let report =
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}{stderr}"));
    (code, report, format!("{stdout}{stderr}"))
}

/// The policies of the recommended bundle named `names`, edited by `edit`, in a file.
fn bundle_policies(file: &str, names: &[&str], edit: impl Fn(&str) -> String) -> String {
    let bundle = std::fs::read_to_string(root().join("manifests/pci-policies.yaml")).unwrap();
    let chosen: Vec<String> = bundle
        .split("\n---\n")
        .filter(|doc| {
            names
                .iter()
                .any(|name| doc.contains(&format!("name: {name}\n")))
        })
        .map(edit)
        .collect();
    assert_eq!(chosen.len(), names.len());
    let path = std::env::temp_dir().join(format!("{file}-{}.yaml", std::process::id()));
    std::fs::write(&path, chosen.join("\n---\n")).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Issue 29: offline, image-digest with `checkTagMatchesDigest: warn` turned "cannot check"
/// into a warning and exit 0. Every host call an offline scan refuses makes that policy's
/// verdict an error (exit 2) naming the policy, the image, its container and the registry,
/// whatever the policy's settings and mode; runtime-isolation, which asks the cluster, too.
#[test]
fn offline_a_check_that_needs_the_host_is_an_error_in_any_mode() {
    let workload = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: web
        image: registry.example.com/shop/web:1.4.2@sha256:1111111111111111111111111111111111111111111111111111111111111111
";
    let warn = bundle_policies(
        "offline-warn",
        &["pci-image-digest", "pci-runtime-isolation"],
        |doc| {
            doc.replace(
                "checkTagMatchesDigest: reject",
                "checkTagMatchesDigest: warn",
            )
        },
    );
    let monitor = bundle_policies("offline-monitor", &["pci-image-digest"], |doc| {
        doc.replace("mode: protect", "mode: monitor")
    });
    for policies in [&warn, &monitor] {
        let (code, report, printed) = scan_offline(policies, workload);
        assert_eq!(code, 2, "{printed}");
        let results = report["results"].as_array().unwrap();
        let digest = results
            .iter()
            .find(|r| r["policy"] == "pci-image-digest")
            .unwrap();
        assert_eq!(digest["verdict"], "error", "{digest:#}");
        let message = digest["message"].as_str().unwrap();
        for needed in [
            "pci-image-digest",
            "the registry for image registry.example.com/shop/web:1.4.2 (container web)",
            "offline",
        ] {
            assert!(message.contains(needed), "{needed}: {message}");
        }
    }
    let (_, report, _) = scan_offline(&warn, workload);
    let isolation = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "pci-runtime-isolation")
        .unwrap();
    assert_eq!(isolation["verdict"], "error");
    assert!(
        isolation["message"]
            .as_str()
            .unwrap()
            .contains("the scan was not given v1 Namespace shop"),
        "{isolation:#}"
    );
    std::fs::remove_file(&warn).unwrap();
    std::fs::remove_file(&monitor).unwrap();
}

/// Issue 29 review: with a replay session (or live), a host call the answerer cannot answer
/// (here the namespace, which the session did not record) was reported as the policy's
/// rejection, exit 1; it is a check not made, as offline: an error, exit 2, saying why.
#[test]
fn a_call_the_session_cannot_answer_is_an_error_not_a_rejection() {
    let workload = "\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - {name: web, image: nginx}
";
    let policies = bundle_policies("unanswered", &["pci-runtime-isolation"], str::to_owned);
    let session = root().join("policies/image-digest/test_data/session-resolve.yml");
    let (code, stdout, stderr) = pci_policies_with_stdin(
        &[
            "scan",
            "-",
            "--policies",
            &policies,
            "--replay",
            session.to_str().unwrap(),
            "-o",
            "json",
        ],
        workload,
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let isolation = &report["results"][0];
    assert_eq!(isolation["verdict"], "error", "{isolation:#}");
    let message = isolation["message"].as_str().unwrap();
    for needed in [
        "the scan was not given v1 Namespace shop",
        "the replay session has no answer for it",
        "--context",
    ] {
        assert!(message.contains(needed), "{needed}: {message}");
    }
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 29 review: workloads written in an older apiVersion were sent in that version, which
/// no deployed rule selects, and vanished from the scan (exit 0, no result). They are sent as
/// the API server sends them to a webhook registered for the current version (converted), so
/// they are judged; a workload no policy selects is still counted, as skipped.
#[test]
fn older_api_versions_are_judged_and_unselected_workloads_counted() {
    let policies = bundle_policies("older-versions", &["pci-pod-security"], |doc| {
        doc.replace("kind: ClusterAdmissionPolicy\n", "kind: AdmissionPolicy\n")
            .replace(
                "  name: pci-pod-security\n",
                "  name: pci-pod-security\n  namespace: elsewhere\n",
            )
    });
    let workloads = "\
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: '@daily'
  jobTemplate:
    spec:
      template:
        spec:
          hostPID: true
          containers: [{name: a, image: nginx, securityContext: {privileged: true}}]
---
apiVersion: apps/v1beta2
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  template:
    spec:
      hostNetwork: true
      containers: [{name: a, image: nginx, securityContext: {privileged: true}}]
";
    let (code, stdout, stderr) =
        pci_policies_with_stdin(&["scan", "-", "--offline", "-o", "json"], workloads);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let pod_security: Vec<&Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["policy"] == "pci-pod-security")
        .collect();
    assert_eq!(pod_security.len(), 2, "{stdout}{stderr}");
    assert!(
        pod_security.iter().all(|r| r["verdict"] == "fail"),
        "{stdout}"
    );
    assert_ne!(code, 0);
    let (code, report, printed) = scan_offline(&policies, workloads);
    assert_eq!(code, 0, "{printed}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{printed}");
    assert!(
        results.iter().all(|r| r["verdict"] == "skip"
            && r["message"]
                .as_str()
                .unwrap()
                .contains("no deployed policy selects it")),
        "{printed}"
    );
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 29 review: a live scan whose registry gave no answer (here: nothing listens on the
/// port) passed the workload with image-digest's `checkTagMatchesDigest: warn`; a check not
/// made is an error, exit 2, whatever the policy's mode.
#[test]
fn a_registry_that_gives_no_answer_is_an_error_not_a_warning() {
    let workload = "\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: web
    image: 127.0.0.1:9/shop/web:1.0@sha256:1111111111111111111111111111111111111111111111111111111111111111
";
    let policies = bundle_policies("no-answer", &["pci-image-digest"], |doc| {
        doc.replace(
            "checkTagMatchesDigest: reject",
            "checkTagMatchesDigest: warn",
        )
    });
    let (code, stdout, stderr) = pci_policies_with_stdin(
        &[
            "scan",
            "-",
            "--policies",
            &policies,
            "--insecure",
            "-o",
            "json",
        ],
        workload,
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let digest = &report["results"][0];
    assert_eq!(digest["verdict"], "error", "{digest:#}");
    assert!(
        digest["message"]
            .as_str()
            .unwrap()
            .contains("the registry for image 127.0.0.1:9/shop/web:1.0"),
        "{digest:#}"
    );
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 29: documents whose `---` line carries content were thrown away with the line. Read by
/// a YAML parser, each is judged, its findings on their lines; an empty document is counted.
#[test]
fn scan_judges_documents_whatever_their_separator_line_holds() {
    let policies = bundle_policies("separators", &["pci-pod-security"], str::to_owned);
    let text = "\
--- {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"flow\", \"namespace\": \"shop\"}, \"spec\": {\"containers\": [{\"name\": \"a\", \"image\": \"nginx\", \"securityContext\": {\"privileged\": true}}]}}
--- !!map
apiVersion: v1
kind: Pod
metadata: {name: tagged, namespace: shop}
spec:
  containers:
  - {name: a, image: nginx, securityContext: {privileged: true}}
--- # a comment on the separator
apiVersion: v1
kind: Pod
metadata: {name: commented, namespace: shop}
spec:
  containers:
  - name: a
    image: nginx
    securityContext:
      privileged: true
---
...
";
    let (code, report, printed) = scan_offline(&policies, text);
    assert_eq!(code, 1, "{printed}");
    let results = report["results"].as_array().unwrap();
    let privileged_line = |name: &str| {
        let result = results.iter().find(|r| r["name"] == name).unwrap();
        assert_eq!(result["verdict"], "fail", "{result:#}");
        result["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["control"] == "privileged")
            .unwrap()["line"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(privileged_line("flow"), 1);
    assert_eq!(privileged_line("tagged"), 8);
    assert_eq!(privileged_line("commented"), 18);
    assert_eq!(report["summary"]["skip"], 1, "the empty document");
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 31: runtime-isolation asks the cluster for the workload's Namespace and RuntimeClass. A
/// scan answers from the chart's own objects, a `--context` export (a kind it holds is listed
/// in full: a RuntimeClass it lacks does not exist) and `--namespace-labels`, so the policy
/// gives its real verdict; a namespace the scan was not given stays an error, never a pass.
#[test]
fn scan_answers_cluster_lookups_from_the_chart_and_the_context() {
    let policies = bundle_policies("scan-context", &["pci-runtime-isolation"], str::to_owned);
    let deployment = |name: &str, namespace: &str, class: &str| {
        let class = if class.is_empty() {
            String::new()
        } else {
            format!("      runtimeClassName: {class}\n")
        };
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  template:\n    spec:\n{class}      containers: [{{name: web, image: nginx}}]\n"
        )
    };
    let chart = [
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n  labels: {pci-dss/scope: cde}\n".to_owned(),
        "---\napiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\n".to_owned(),
        deployment("sandboxed", "payments", "gvisor"),
        deployment("plain", "payments", ""),
        deployment("kata", "payments", "kata"),
        deployment("web", "shop", ""),
    ]
    .concat();
    let context =
        std::env::temp_dir().join(format!("scan-context-cluster-{}.yaml", std::process::id()));
    std::fs::write(
        &context,
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: node.k8s.io/v1, kind: RuntimeClass, metadata: {name: kata}, handler: kata-qemu}\n",
    )
    .unwrap();
    let verdicts = |extra: &[&str]| -> (i32, Vec<(String, String)>, String) {
        let mut args = vec![
            "scan",
            "-",
            "--policies",
            &policies,
            "--offline",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = pci_policies_with_stdin(&args, &chart);
        let report: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        let verdicts = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["policy"] == "pci-runtime-isolation")
            .map(|r| {
                let name = format!(
                    "{}/{}",
                    r["namespace"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                );
                (name, r["verdict"].as_str().unwrap().to_owned())
            })
            .collect();
        (code, verdicts, format!("{stdout}{stderr}"))
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    // The chart alone: the kata class and the shop namespace are not known.
    let (code, alone, printed) = verdicts(&[]);
    assert_eq!(code, 2, "{printed}");
    assert_eq!(
        alone,
        pairs(&[
            ("payments/sandboxed", "pass"),
            ("payments/plain", "fail"),
            ("payments/kata", "error"),
            ("shop/web", "error"),
        ]),
        "{printed}"
    );
    assert!(printed.contains("--context"), "{printed}");
    let context_flag = context.to_str().unwrap();
    let (code, known, printed) = verdicts(&[
        "--context",
        context_flag,
        "--namespace-labels",
        "shop=team=web",
    ]);
    assert_eq!(code, 1, "{printed}");
    assert_eq!(
        known,
        pairs(&[
            ("payments/sandboxed", "pass"),
            ("payments/plain", "fail"),
            ("payments/kata", "pass"),
            ("shop/web", "pass"),
        ]),
        "{printed}"
    );
    // The export lists every RuntimeClass: gvisor is the chart's, another is not found.
    std::fs::write(
        &context,
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: node.k8s.io/v1, kind: RuntimeClass, metadata: {name: other}, handler: runc}\n",
    )
    .unwrap();
    let (_, listed, printed) = verdicts(&[
        "--context",
        context_flag,
        "--namespace-labels",
        "shop=team=web",
    ]);
    assert_eq!(
        listed[2],
        ("payments/kata".to_owned(), "fail".to_owned()),
        "{printed}"
    );
    assert!(
        printed.contains("RuntimeClass \\\"kata\\\" does not exist"),
        "{printed}"
    );
    std::fs::remove_file(&context).unwrap();
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 31: a policy's namespaceSelector is decided with the namespace's labels when the scan
/// knows them, its objectSelector with the workload's labels, its matchConditions by CEL; what
/// cannot be decided (an unknown namespace's labels, the requesting user) is taken as met and
/// said on the result, never silently ignored.
#[test]
fn scan_scopes_policies_as_the_api_server_does() {
    let policies = bundle_policies("scan-scope", &["pci-pod-security"], |doc| {
        let (head, rest) = doc.split_once("  namespaceSelector:\n").unwrap();
        let rest = &rest[rest.find("\n  policyServer:").unwrap() + 1..];
        format!(
            "{head}  namespaceSelector: {{matchLabels: {{pci-dss/scope: cde}}}}\n  objectSelector: {{matchExpressions: [{{key: scan, operator: NotIn, values: [skip]}}]}}\n  matchConditions:\n  - {{name: not-opted-out, expression: \"!has(object.metadata.annotations) || !('opt-out' in object.metadata.annotations)\"}}\n  - {{name: humans-only, expression: \"!request.userInfo.username.startsWith('system:')\"}}\n{rest}"
        )
    });
    let pod = |name: &str, namespace: &str, metadata: &str| {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}{metadata}}}\nspec:\n  containers: [{{name: c, image: nginx, securityContext: {{privileged: true}}}}]\n"
        )
    };
    let chart = [
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n  labels: {pci-dss/scope: cde}\n".to_owned(),
        pod("in-cde", "payments", ""),
        pod("labelled-out", "payments", ", labels: {scan: skip}"),
        pod("opted-out", "payments", ", annotations: {opt-out: 'yes'}"),
        pod("public", "shop", ""),
        pod("unknown", "elsewhere", ""),
    ]
    .concat();
    let (code, stdout, stderr) = pci_policies_with_stdin(
        &[
            "scan",
            "-",
            "--policies",
            &policies,
            "--offline",
            "-o",
            "json",
            "--namespace-labels",
            "shop=pci-dss/scope=none",
        ],
        &chart,
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    let of = |name: &str| {
        results
            .iter()
            .find(|r| {
                r["name"] == name
                    || r["message"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(&format!("/{name}:"))
            })
            .unwrap_or_else(|| panic!("{name}: {stdout}"))
    };
    for name in ["in-cde", "unknown"] {
        assert_eq!(of(name)["verdict"], "fail", "{name}: {stdout}");
    }
    for name in ["labelled-out", "opted-out", "public"] {
        assert_eq!(of(name)["verdict"], "skip", "{name}: {stdout}");
    }
    let assumed = |name: &str| -> Vec<String> {
        serde_json::from_value(of(name)["assumed"].clone()).unwrap_or_default()
    };
    // Known namespace: only the user is assumed; unknown: its labels too.
    let cde = assumed("in-cde");
    assert_eq!(cde.len(), 1, "{cde:?}");
    assert!(
        cde[0].contains("humans-only") && cde[0].contains("userInfo"),
        "{cde:?}"
    );
    let unknown = assumed("unknown");
    assert_eq!(unknown.len(), 2, "{unknown:?}");
    assert!(
        unknown[0].contains("namespace elsewhere") && unknown[0].contains("pci-dss/scope in (cde)"),
        "{unknown:?}"
    );
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 31: `scan --base` judges a workload the cluster already runs as the UPDATE the API
/// server would send (its base version as oldObject) and a new one as a CREATE: an untouched
/// legacy Deployment is not re-judged as new (pod-security warns, not enforced on an unchanged
/// template), the same violations in a new Deployment are rejected, and a changed template is
/// judged in full. The base is a folder or a git revision of the scanned files.
#[test]
fn scan_judges_changes_against_a_base_as_updates() {
    let dir = std::env::temp_dir().join(format!("scan-base-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("k8s")).unwrap();
    let policies = bundle_policies("scan-base", &["pci-pod-security"], str::to_owned);
    let deployment = |name: &str, labels: &str, image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop{labels}}}\nspec:\n  template:\n    spec:\n      containers: [{{name: web, image: {image}, securityContext: {{privileged: true}}}}]\n"
        )
    };
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .current_dir(&dir)
            .args(["-c", "user.email=ci@example.com", "-c", "user.name=ci"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    let base = [
        deployment("legacy", "", "nginx:1"),
        deployment("changed", "", "nginx:1"),
    ]
    .join("---\n");
    std::fs::write(dir.join("k8s/app.yaml"), &base).unwrap();
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    std::fs::create_dir_all(dir.join("base")).unwrap();
    std::fs::write(dir.join("base/app.yaml"), &base).unwrap();
    let head = [
        deployment("legacy", ", labels: {touched: 'yes'}", "nginx:1"),
        deployment("changed", "", "nginx:2"),
        deployment("new", "", "nginx:1"),
    ]
    .join("---\n");
    std::fs::write(dir.join("k8s/app.yaml"), head).unwrap();
    for base in ["HEAD", dir.join("base").to_str().unwrap()] {
        let output = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
            .current_dir(&dir)
            .args([
                "scan",
                "k8s",
                "--policies",
                &policies,
                "--offline",
                "-o",
                "json",
                "--base",
                base,
            ])
            .args(["--modules", root().join("dist").to_str().unwrap()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&output.stderr)));
        assert_eq!(output.status.code(), Some(1), "{base}: {stdout}");
        let judged: Vec<(&str, &str, &str)> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap(),
                    r["operation"].as_str().unwrap(),
                    r["verdict"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            judged,
            [
                ("legacy", "UPDATE", "warn"),
                ("changed", "UPDATE", "fail"),
                ("new", "CREATE", "fail"),
            ],
            "{base}: {stdout}"
        );
    }
    // A revision that does not exist, and standard input against a revision, are refused.
    for (paths, expected) in [
        (
            vec!["k8s", "--base", "no-such-revision"],
            "neither a file or folder nor a git revision",
        ),
        (vec!["-", "--base", "HEAD"], "standard input has none"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
            .current_dir(&dir)
            .arg("scan")
            .args(&paths)
            .args(["--policies", &policies, "--offline"])
            .args(["--modules", root().join("dist").to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&policies).unwrap();
}

/// Issue 31: modules a scan can trust. A module in `--modules` runs for a pinned reference only
/// if it is that module (same manifest digest); otherwise the module comes from the cache, keyed
/// by digest, or the registry, checked against its pin. With `--verification-config`, every
/// module is verified from the registry before it runs, and a cached one is reused offline only
/// if it was verified with the same config. `--help` lists the values of `-o` and `--fail-on`.
#[test]
fn scan_runs_only_the_pinned_and_verified_modules() {
    use pci_host::cosign::Cosign;
    use pci_host::oci::{Credentials, Registry, Transport};
    use pci_host::release::SigningKey;
    let local = pci_host::local_registry::LocalRegistry::start().expect("docker-registry");
    let registry = Registry::new(Transport::Http, Credentials::Anonymous).unwrap();
    let module = std::fs::read(root().join("dist/trusted-registries.wasm")).unwrap();
    let repository = format!("{}/pci/trusted-registries", local.address());
    let pushed = registry
        .push_policy(&module, &format!("{repository}:v0.1.0"))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("scan-modules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    // A local build that is not the pinned module: another policy under the same name.
    std::fs::copy(
        root().join("dist/image-digest.wasm"),
        dir.join("modules/trusted-registries.wasm"),
    )
    .unwrap();
    let policies_for = |pin: &str| {
        let path = bundle_policies("scan-modules", &["pci-trusted-registries"], |doc| {
            let line = doc.lines().find(|l| l.contains("  module: ")).unwrap();
            doc.replace(
                line,
                &format!("  module: registry://{repository}:v0.1.0@{pin}"),
            )
        });
        std::fs::read_to_string(path).unwrap()
    };
    let policies = dir.join("policies.yaml");
    std::fs::write(&policies, policies_for(&pushed.manifest_digest)).unwrap();
    let workload = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  containers: [{name: web, image: nginx}]\n";
    let (modules, cache) = (dir.join("modules"), dir.join("cache"));
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "-",
            "--policies",
            policies.to_str().unwrap(),
            "--modules",
            modules.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = pci_policies_with_stdin(&args, workload);
        (code, format!("{stdout}{stderr}"))
    };
    // Offline with an empty cache: the wrong local build is named and not run.
    let (code, printed) = scan(&["--offline"]);
    assert_eq!(code, 2, "{printed}");
    assert!(
        printed.contains("is another build") && printed.contains(&pushed.manifest_digest),
        "{printed}"
    );
    // Pulled by its pin, kept by digest, then judged offline from the cache.
    let (code, printed) = scan(&["--insecure"]);
    assert_eq!(code, 1, "nginx is not a trusted registry: {printed}");
    let cached = dir
        .join("cache/modules")
        .join(format!("{}.wasm", pushed.manifest_digest.replace(':', "_")));
    assert_eq!(std::fs::read(&cached).unwrap(), module);
    assert_eq!(scan(&["--offline"]).0, 1);
    // A pin the registry does not serve under that tag's digest is refused.
    let other = format!("sha256:{}", "0".repeat(64));
    std::fs::write(&policies, policies_for(&other)).unwrap();
    let (code, printed) = scan(&["--insecure"]);
    assert_eq!(code, 2, "{printed}");
    std::fs::write(&policies, policies_for(&pushed.manifest_digest)).unwrap();

    // Verified: signed with the key of the config.
    let pair = sigstore::crypto::SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .unwrap()
        .to_sigstore_keypair()
        .unwrap();
    let key =
        SigningKey::from_cosign_pem(pair.private_key_to_pem().unwrap().as_bytes(), b"").unwrap();
    let config = dir.join("verification.yml");
    std::fs::write(
        &config,
        pci_host::verification::pub_key_config("release", &key.public_key_pem().unwrap()),
    )
    .unwrap();
    let verified = ["--verification-config", config.to_str().unwrap()];
    // Not signed yet: refused before it runs, and the unverified cache does not stand in.
    let (code, printed) = scan(&[&verified[..], &["--insecure"]].concat());
    assert_eq!(code, 2, "{printed}");
    assert!(printed.contains("cannot be verified"), "{printed}");
    let (code, printed) = scan(&[&verified[..], &["--offline"]].concat());
    assert_eq!(code, 2, "{printed}");
    assert!(
        printed.contains("verified with this --verification-config"),
        "{printed}"
    );
    key.sign(
        &Cosign::new(&Transport::Http).unwrap(),
        &pushed.immutable_ref,
    )
    .unwrap();
    let (code, printed) = scan(&[&verified[..], &["--insecure"]].concat());
    assert_eq!(code, 1, "{printed}");
    assert_eq!(scan(&[&verified[..], &["--offline"]].concat()).0, 1);

    let (_, help, _) = pci_policies(&["scan", "--help"]);
    for value in [
        "table",
        "json",
        "junit",
        "sarif",
        "report",
        "policyreport",
        "html",
        "fail:",
        "warn:",
    ] {
        assert!(help.contains(&format!("- {value}")), "{value}: {help}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 31: `--policies` takes folders and `kubectl kustomize` output on standard input.
#[test]
fn scan_reads_policies_from_folders_and_standard_input() {
    let dir = std::env::temp_dir().join(format!("scan-policy-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies/nested")).unwrap();
    let one = bundle_policies("scan-policy-dir-a", &["pci-pod-security"], str::to_owned);
    let two = bundle_policies(
        "scan-policy-dir-b",
        &["pci-trusted-registries"],
        str::to_owned,
    );
    std::fs::rename(&one, dir.join("policies/pod-security.yaml")).unwrap();
    std::fs::rename(&two, dir.join("policies/nested/trusted.yml")).unwrap();
    std::fs::write(dir.join("policies/README.md"), "not read").unwrap();
    let workload = dir.join("pod.yaml");
    std::fs::write(
        &workload,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  containers: [{name: web, image: nginx}]\n",
    )
    .unwrap();
    let policies_of = |stdout: &str| -> Vec<String> {
        let report: Value = serde_json::from_str(stdout).unwrap();
        let mut names: Vec<String> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["policy"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let (code, stdout, stderr) = pci_policies_with_stdin(
        &[
            "scan",
            workload.to_str().unwrap(),
            "--policies",
            dir.join("policies").to_str().unwrap(),
            "--offline",
            "-o",
            "json",
        ],
        "",
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        policies_of(&stdout),
        ["pci-pod-security", "pci-trusted-registries"]
    );
    let piped = std::fs::read_to_string(dir.join("policies/pod-security.yaml")).unwrap();
    let (code, stdout, stderr) = pci_policies_with_stdin(
        &[
            "scan",
            workload.to_str().unwrap(),
            "--policies",
            "-",
            "--offline",
            "-o",
            "json",
        ],
        &piped,
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(policies_of(&stdout), ["pci-pod-security"]);
    let (code, _, stderr) =
        pci_policies_with_stdin(&["scan", "-", "--policies", "-", "--offline"], &piped);
    assert_eq!(code, 2);
    assert!(stderr.contains("both read standard input"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 31: `precompile` writes a deployment's modules (by digest) and their compiled code into
/// a folder laid out as the cache; installed beside the command (`PCI_POLICIES_SHARE` here), a
/// first scan with an empty cache and no local modules neither pulls nor compiles.
#[test]
fn a_precompiled_share_starts_a_scan_without_pulling_or_compiling() {
    let dir = std::env::temp_dir().join(format!("scan-share-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let policies = bundle_policies("scan-share", &["pci-trusted-registries"], str::to_owned);
    let share = dir.join("share");
    let (ok, stdout, stderr) = pci_policies(&[
        "precompile",
        "--out",
        share.to_str().unwrap(),
        "--policies",
        &policies,
        "--offline",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("precompiled 1 modules"), "{stdout}");
    let count = |folder: &str| std::fs::read_dir(share.join(folder)).unwrap().count();
    assert_eq!((count("modules"), count("compiled")), (1, 1), "{stdout}");
    let cache = dir.join("cache");
    let output = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
        .current_dir(root())
        .env("PCI_POLICIES_SHARE", &share)
        .args([
            "scan",
            "-",
            "--offline",
            "-o",
            "json",
            "--policies",
            &policies,
        ])
        .args(["--modules", dir.join("no-modules").to_str().unwrap()])
        .args(["--cache-dir", cache.to_str().unwrap()])
        .stdin(std::fs::File::open(root().join("examples/shop/storefront.yaml")).unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("pci-trusted-registries"), "{stdout}");
    // Nothing was pulled into the cache, nothing compiled there.
    let written: Vec<_> = walk(&cache);
    assert!(written.is_empty(), "{written:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&policies).unwrap();
}

/// The files under `dir` (none if it does not exist).
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// A broken file of a one-document YAML input, written to a temporary path: the returned path,
/// and the line its error is on.
fn broken_input(name: &str, text: &str, line: usize) -> (PathBuf, String) {
    let path = std::env::temp_dir().join(format!("pci-policies-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let place = format!("{}:{line}:", path.display());
    (path, place)
}

/// A verification config written twice over one key.
const BROKEN_CONFIG: &str =
    "apiVersion: v1\nallOf:\n  - kind: pubKey\n    owner: me\n    owner: you\n";
/// A replay session whose last flow mapping is never closed.
const BROKEN_SESSION: &str = "- type: Exchange\n  request: |\n    !OciManifestDigest\n    image: x\n  response: {type: Success, payload: \"a\"\n";

/// `verify --verification-config-path` reads the config with the command's YAML reader: a
/// broken file names its file and line, before any registry is asked.
#[test]
fn verify_names_the_line_of_a_broken_verification_config() {
    let (config, place) = broken_input("verify-config.yml", BROKEN_CONFIG, 5);
    let (ok, _, stderr) = pci_policies(&[
        "verify",
        "registry://127.0.0.1:1/pci/x:v1",
        "--verification-config-path",
        config.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&config);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{place} the key \"owner\" is written twice")),
        "{stderr}"
    );
}

/// `scan --verification-config` and `scan --replay` read their files with the scan's YAML
/// reader: a broken file names its flag, file and line.
#[test]
fn scan_names_the_line_of_a_broken_verification_config_or_session() {
    let manifest = "policies/pod-security/examples/02-privileged-daemonset.json";
    let (config, place) = broken_input("scan-config.yml", BROKEN_CONFIG, 5);
    let (ok, _, stderr) = pci_policies(&[
        "scan",
        "--verification-config",
        config.to_str().unwrap(),
        manifest,
    ]);
    let _ = std::fs::remove_file(&config);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("--verification-config {place} the key \"owner\"")),
        "{stderr}"
    );
    let (session, place) = broken_input("scan-session.yml", BROKEN_SESSION, 5);
    let (ok, _, stderr) = pci_policies(&["scan", "--replay", session.to_str().unwrap(), manifest]);
    let _ = std::fs::remove_file(&session);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("--replay {place} not YAML")),
        "{stderr}"
    );
}

/// `run --replay-host-capabilities-interactions` reads the session with the command's YAML
/// reader: a broken session names its file and line.
#[test]
fn run_names_the_line_of_a_broken_replay_session() {
    let (session, place) = broken_input("run-session.yml", BROKEN_SESSION, 5);
    let (ok, _, stderr) = pci_policies(&[
        "run",
        "dist/image-digest.wasm",
        "--request-path",
        "policies/pod-security/examples/02-privileged-daemonset.json",
        "--replay-host-capabilities-interactions",
        session.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&session);
    assert!(!ok);
    assert!(stderr.contains(&format!("{place} not YAML")), "{stderr}");
}
