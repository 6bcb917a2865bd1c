//! `pci-policies scan`'s outputs checked against their specifications (SARIF 2.1.0's JSON
//! schema, the OpenReports and PolicyReport CRDs' OpenAPI schemas, JUnit XML read by an XML
//! parser), its exit codes, policy groups, modules pulled from a registry, and
//! `pci-policies evidence` read back with an HTML parser. The binary runs on `dist/` (after
//! `make build`) and on `examples/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `evidence --cluster`, `evidence verify` and `evidence diff` (one test binary with these:
/// each binary links the whole command).
#[path = "outputs/evidence_fleet.rs"]
mod evidence_fleet;

/// `evidence --statement` signed keyless (a test Sigstore standing in for cosign, Fulcio and
/// Rekor) and `evidence verify --sigstore-trust-config`.
#[path = "outputs/evidence_keyless.rs"]
mod evidence_keyless;

/// `evidence --in-cluster` on recorded API answers, `evidence --push` and `evidence pull`.
#[path = "outputs/evidence_api.rs"]
mod evidence_api;

/// The pack rendered by headless Chromium: fits a screen and an A4 page, prints to PDF.
#[path = "outputs/evidence_print.rs"]
mod evidence_print;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The value of attribute `name` of an HTML element.
fn attribute(node: &tl::Node, name: &str) -> Option<String> {
    node.as_tag()?
        .attributes()
        .get(name)
        .flatten()
        .map(|v| v.as_utf8_str().into_owned())
}

/// Every `id` of a parsed page, in document order.
fn html_ids(dom: &tl::VDom) -> Vec<String> {
    dom.nodes()
        .iter()
        .filter_map(|n| attribute(n, "id"))
        .collect()
}

/// A fresh scratch folder under target/.
fn scratch(name: &str) -> PathBuf {
    let dir = root()
        .join("target/test-scratch")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `pci-policies` in the repository root: exit code, stdout, stderr.
fn pci_policies(args: &[&str]) -> (i32, String, String) {
    pci_policies_with(&[], args)
}

/// Runs `pci-policies` in the repository root with `envs` set as well (a variable given no
/// value is removed): exit code, stdout, stderr.
fn pci_policies_with<A: AsRef<std::ffi::OsStr>>(
    envs: &[(&str, Option<&std::ffi::OsStr>)],
    args: &[A],
) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pci-policies"));
    command
        .current_dir(root())
        .env(
            "PCI_POLICIES_CACHE",
            root().join("target/test-scratch/cache"),
        )
        .env("SOURCE_DATE_EPOCH", "1796256000")
        .env("NO_COLOR", "1");
    for (name, value) in envs {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let output = command.args(args).output().expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every error of `instance` against `schema`, as text.
fn schema_errors(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("a valid schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The OpenAPI schema of a CRD's version, as JSON Schema.
fn crd_schema(file: &str, version: &str) -> Value {
    let crd: Value =
        yaml_serde::from_str(&read(&root().join("cli/tests/schemas").join(file))).unwrap();
    let versions = crd["spec"]["versions"].as_array().unwrap();
    let found = versions
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{file} has no version {version}"));
    found["schema"]["openAPIV3Schema"].clone()
}

/// The scan of examples/ offline, written in every format at once.
struct Scanned {
    dir: PathBuf,
    code: i32,
}

fn scan_examples(name: &str) -> Scanned {
    let dir = scratch(name);
    let out = |format: &str, file: &str| format!("{format}={}", dir.join(file).display());
    let (code, stdout, stderr) = pci_policies(&[
        "scan",
        "examples/shop",
        "--offline",
        "-o",
        &out("json", "scan.json"),
        "-o",
        &out("sarif", "scan.sarif"),
        "-o",
        &out("junit", "junit.xml"),
        "-o",
        &out("report", "reports.yaml"),
        "-o",
        &out("policyreport", "policyreports.yaml"),
        "-o",
        &out("html", "scan.html"),
        "-o",
        "table",
    ]);
    assert!(
        stdout.contains("DaemonSet monitoring/legacy-agent"),
        "{stdout}{stderr}"
    );
    Scanned { dir, code }
}

#[test]
fn sarif_is_valid_and_points_at_the_offending_lines() {
    let scanned = scan_examples("sarif");
    assert_eq!(
        scanned.code, 2,
        "offline, checks that need the registry are not made: exit 2"
    );
    let sarif: Value = serde_json::from_str(&read(&scanned.dir.join("scan.sarif"))).unwrap();
    let schema: Value = serde_json::from_str(&read(
        &root().join("cli/tests/schemas/sarif-schema-2.1.0.json"),
    ))
    .unwrap();
    let errors = schema_errors(&schema, &sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    // Every result's rule exists at its index; ids are `<policy>/<control>`.
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
        assert!(result["partialFingerprints"]["pciPolicies/v1"].is_string());
    }
    let privileged = results
        .iter()
        .find(|r| r["ruleId"] == "pod-security/privileged")
        .expect("the privileged agent");
    let location = &privileged["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "examples/shop/legacy-agent.yaml"
    );
    assert_eq!(
        location["region"]["startLine"], 20,
        "the line of `privileged: true`"
    );
    let host_network = results
        .iter()
        .find(|r| r["ruleId"] == "pod-security/hostNamespaces")
        .unwrap();
    assert_eq!(
        host_network["locations"][0]["physicalLocation"]["region"]["startLine"],
        15
    );
    let rule = rules
        .iter()
        .find(|r| r["id"] == "pod-security/privileged")
        .unwrap();
    let tags: Vec<&str> = rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tags.contains(&"security"), "{tags:?}");
    assert!(tags.contains(&"pci-dss-4.0.1/2.2.1"), "{tags:?}");
    assert!(tags.contains(&"pci-containers/3.1"), "{tags:?}");
    assert_eq!(rule["properties"]["security-severity"], "8.0");
    // Offline, a registry check is an error result, never absent.
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "runtime-isolation/context" && r["level"] == "error")
    );

    // A second run gives the same rule ids and fingerprints.
    let again = scan_examples("sarif-again");
    let second: Value = serde_json::from_str(&read(&again.dir.join("scan.sarif"))).unwrap();
    let ids = |log: &Value| -> Vec<(String, String)> {
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap().to_owned(),
                    r["partialFingerprints"]["pciPolicies/v1"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(ids(&sarif), ids(&second));
}

#[test]
fn reports_match_the_openreports_and_policyreport_crds() {
    let scanned = scan_examples("reports");
    for (file, crd, version, api, kind) in [
        (
            "reports.yaml",
            "openreports.io_reports.yaml",
            "v1alpha1",
            "openreports.io/v1alpha1",
            "Report",
        ),
        (
            "policyreports.yaml",
            "wgpolicyk8s.io_policyreports.yaml",
            "v1alpha2",
            "wgpolicyk8s.io/v1alpha2",
            "PolicyReport",
        ),
    ] {
        let schema = crd_schema(crd, version);
        let text = read(&scanned.dir.join(file));
        let reports: Vec<Value> = yaml_serde::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        // One report per workload: Pod, DaemonSet, Deployment, CronJob.
        assert_eq!(reports.len(), 4, "{file}");
        for report in &reports {
            assert_eq!(report["apiVersion"], api);
            assert_eq!(report["kind"], kind);
            let errors = schema_errors(&schema, report);
            assert!(errors.is_empty(), "{file}: {errors:#?}");
            for result in report["results"].as_array().unwrap() {
                // What the audit scanner writes (a group's name says it is one).
                assert_eq!(result["source"], "kubewarden");
                let policy = result["policy"].as_str().unwrap();
                assert!(
                    policy.starts_with("clusterwide-pci-")
                        || policy == "clusterwide-group-pci-3.2-image-integrity",
                    "{policy}"
                );
                assert_eq!(result["properties"]["validating"], "true");
                assert_eq!(result["timestamp"]["seconds"], 1_796_256_000u64);
            }
        }
        let agent = reports
            .iter()
            .find(|r| r["scope"]["name"] == "legacy-agent")
            .unwrap();
        assert_eq!(agent["metadata"]["namespace"], "monitoring");
        let pod_security = agent["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["policy"] == "clusterwide-pci-pod-security")
            .unwrap();
        assert_eq!(pod_security["result"], "fail");
        assert_eq!(pod_security["severity"], "high");
        assert_eq!(pod_security["properties"]["guidance"], "3.1");
        assert!(
            pod_security["properties"]["pci-dss"]
                .as_str()
                .unwrap()
                .contains("2.2.1")
        );
        assert!(
            pod_security["properties"]["violations"]
                .as_str()
                .unwrap()
                .contains("legacy-agent.yaml:20 [privileged]")
        );
        // Four policies and the PCI 3.2 group (neither pinned, signed nor from an immutable
        // registry); image-signatures' check offline is an error.
        assert_eq!(agent["summary"]["fail"], 5);
        assert_eq!(agent["summary"]["error"], 1);
        assert_eq!(agent["source"].is_string(), api.starts_with("openreports"));
    }
}

#[test]
fn junit_parses_with_one_testcase_per_workload_and_policy() {
    let scanned = scan_examples("junit");
    let text = read(&scanned.dir.join("junit.xml"));
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let suites = document.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let cases: Vec<roxmltree::Node> = suites
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    // 4 workloads × 6: the 5 validating policies and the PCI 3.2 group of the bundle.
    assert_eq!(cases.len(), 24);
    assert_eq!(suites.attribute("tests"), Some("24"));
    let count = |tag: &str| {
        cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name(tag)))
            .count()
    };
    assert_eq!(
        suites.attribute("failures"),
        Some(count("failure").to_string().as_str())
    );
    assert_eq!(
        suites.attribute("errors"),
        Some(count("error").to_string().as_str())
    );
    let names: std::collections::BTreeSet<(String, String)> = cases
        .iter()
        .map(|c| {
            (
                c.attribute("classname").unwrap().to_owned(),
                c.attribute("name").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(names.len(), 24, "unique names");
    let agent = cases
        .iter()
        .find(|c| {
            c.attribute("classname") == Some("pci-policies.pci-pod-security")
                && c.attribute("name") == Some("DaemonSet/monitoring/legacy-agent")
        })
        .unwrap();
    let failure = agent
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    // The missing drop of ALL is named once, under capabilities_restricted, though the
    // recommended requiredDropCapabilities asks for it too.
    assert_eq!(failure.attribute("message"), Some("8 violations"));
    let body = failure.text().unwrap();
    assert!(
        body.contains("legacy-agent.yaml:20: [privileged]"),
        "{body}"
    );
    let suite = suites
        .children()
        .find(|n| n.attribute("name") == Some("pci-pod-security"))
        .unwrap();
    let property = suite
        .descendants()
        .find(|n| n.attribute("name") == Some("pci-dss"))
        .unwrap();
    assert!(property.attribute("value").unwrap().contains("2.2.1"));

    // `-o html`: the scan section of the evidence page, with its chart and failing workloads.
    let html = read(&scanned.dir.join("scan.html"));
    let dom = tl::parse(&html, tl::ParserOptions::default()).expect("parses as HTML");
    assert!(dom.get_element_by_id("scan").is_some());
    assert_eq!(dom.query_selector("svg").unwrap().count(), 1);
    // The PCI 3.2 group's rejections among them (the bundle deploys it beside the policies).
    assert_eq!(dom.query_selector("tr.failing").unwrap().count(), 20);
}

/// Exit codes: 0 all pass, 1 a rejection or a check that could not be made, 2 bad input or
/// usage; `--fail-on warn` fails on warnings (a monitor-mode rejection) too.
#[test]
fn exit_codes() {
    let dir = scratch("exit");
    let compliant = root().join("examples/shop/storefront.yaml");
    let deployment = dir.join("deployment.yaml");
    let text = read(&compliant);
    let document = text
        .split("\n---\n")
        .find(|d| d.contains("kind: Deployment"))
        .unwrap();
    std::fs::write(&deployment, document).unwrap();
    let deployment = deployment.to_str().unwrap();
    let (code, stdout, stderr) = pci_policies(&[
        "scan",
        deployment,
        "--policies",
        "manifests/pod-security.yaml",
        "--offline",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 pass, 0 warn, 0 fail"), "{stdout}");

    let (code, _, _) = pci_policies(&[
        "scan",
        "examples/shop/legacy-agent.yaml",
        "--policies",
        "manifests/pod-security.yaml",
        "--offline",
    ]);
    assert_eq!(code, 1);

    // The monitor rollout reports the same rejection as a warning.
    let (code, stdout, _) = pci_policies(&[
        "scan",
        "examples/shop/legacy-agent.yaml",
        "--policies",
        "manifests/monitor/pod-security.yaml",
        "--offline",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("WARN"), "{stdout}");
    let (code, _, _) = pci_policies(&[
        "scan",
        "examples/shop/legacy-agent.yaml",
        "--policies",
        "manifests/monitor/pod-security.yaml",
        "--offline",
        "--fail-on",
        "warn",
    ]);
    assert_eq!(code, 1);

    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, "kind: Pod\nmetadata: {name: [oops\n").unwrap();
    let (code, stdout, _) = pci_policies(&["scan", broken.to_str().unwrap(), "--offline"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("INVALID"), "{stdout}");

    for usage in [
        vec!["scan", deployment, "-o", "pdf"],
        vec!["scan", deployment, "-o", "sarif="],
        vec!["scan", deployment, "--fail-on", "never"],
        vec!["scan", deployment, "--policies", "no/such/file.yaml"],
    ] {
        let (code, _, stderr) = pci_policies(&usage);
        assert_eq!(code, 2, "{usage:?}: {stderr}");
        assert!(stderr.starts_with("Error:"), "{usage:?}: {stderr}");
    }
}

/// A policy group from `--policies` is evaluated as policy-server does: its expression over
/// the members. Offline, a pinned image passes through `pinned_by_digest()`; an image no
/// member clears fails; an image only a signature could clear needs the registry: an error
/// naming the image, never a pass.
#[test]
fn policy_groups_are_evaluated_with_their_expression() {
    let dir = scratch("group");
    let signed_tag = dir.join("signed-tag.yaml");
    std::fs::write(
        &signed_tag,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: tagged, namespace: shop}\nspec:\n  containers:\n  - {name: web, image: registry.example.com/shop/web:1.0}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = pci_policies(&[
        "scan",
        "examples/shop/storefront.yaml",
        signed_tag.to_str().unwrap(),
        "--policies",
        "manifests/pci-3.2-image-integrity.yaml",
        "--offline",
        "-o",
        "json",
    ]);
    assert_eq!(code, 2, "a check not made: {stderr}");
    let results: Value = serde_json::from_str(&stdout).unwrap();
    let outcome = |name: &str| {
        results["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap()
    };
    let storefront = outcome("storefront");
    assert_eq!(storefront["verdict"], "pass");
    assert_eq!(
        storefront["unique_name"],
        "clusterwide-group-pci-3.2-image-integrity"
    );
    let report = outcome("nightly-report");
    assert_eq!(report["verdict"], "fail");
    // The members' violations, named by member.
    let controls: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["control"].as_str().unwrap())
        .collect();
    assert!(
        controls.contains(&"pinned_by_digest.digest"),
        "{controls:?}"
    );
    assert!(
        controls.contains(&"signature_verified.unmatched"),
        "{controls:?}"
    );
    let tagged = outcome("tagged");
    assert_eq!(tagged["verdict"], "error");
    assert!(
        tagged["message"]
            .as_str()
            .unwrap()
            .contains("the registry for image registry.example.com/shop/web:1.0 (container web)"),
        "{tagged:#}"
    );
}

/// A module that is not in `--modules` is pulled from its `registry://` reference once, then
/// served from the cache, registry or not; compiled code is cached too.
#[test]
fn registry_modules_are_pulled_once_and_cached() {
    let registry = pci_host::local_registry::LocalRegistry::start().expect("docker-registry");
    let module = std::fs::read(root().join("dist/pod-security.wasm")).unwrap();
    let oci = pci_host::oci::Registry::new(
        pci_host::oci::Transport::Http,
        pci_host::oci::Credentials::Anonymous,
    )
    .unwrap();
    let reference = format!("{}/pci/pod-security:v0.1.0", registry.address());
    oci.push_policy(&module, &reference).unwrap();
    let dir = scratch("pull");
    let manifest = read(&root().join("manifests/pod-security.yaml")).replace(
        "registry://ghcr.io/pci-policies/pod-security:v0.1.0",
        &format!("registry://{reference}"),
    );
    let policies = dir.join("policies.yaml");
    std::fs::write(&policies, manifest).unwrap();
    let cache = dir.join("cache");
    let args = |offline: bool| {
        let mut args = vec![
            "scan".to_owned(),
            "examples/shop/legacy-agent.yaml".to_owned(),
            "--policies".to_owned(),
            policies.display().to_string(),
            "--modules".to_owned(),
            dir.join("no-modules").display().to_string(),
            "--cache-dir".to_owned(),
            cache.display().to_string(),
            "--insecure".to_owned(),
        ];
        if offline {
            args.push("--offline".to_owned());
        }
        args
    };
    let run = |offline: bool| {
        let args = args(offline);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        pci_policies(&args)
    };
    // Offline, nothing is pulled: the module is missing and the error says where it looked.
    let (code, _, stderr) = run(true);
    assert_eq!(code, 2);
    assert!(stderr.contains("not in the cache"), "{stderr}");
    let (code, stdout, stderr) = run(false);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("FAIL    pci-pod-security"), "{stdout}");
    let cached: Vec<String> = std::fs::read_dir(cache.join("modules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    // The manifest pins the module by digest (deploy/modules.yaml): the pull is by that digest,
    // which the registry serves because the pushed bytes are the pinned ones.
    // Kept by that digest.
    assert!(
        cached[0].starts_with("sha256_") && cached[0].ends_with(".wasm"),
        "{cached:?}"
    );
    assert!(
        std::fs::read_dir(cache.join("compiled")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".cwasm"))
    );
    drop(registry);
    let (code, stdout, _) = run(true);
    assert_eq!(code, 1, "from the cache, without the registry: {stdout}");
}

/// The evidence pack of the example cluster: every control section, every exception with its
/// flags, the merged report history, the scan chart, nothing loaded from elsewhere.
#[test]
fn evidence_pack_reads_back_with_an_html_parser() {
    let dir = scratch("evidence");
    let scan = dir.join("scan.json");
    let (code, _, stderr) = pci_policies(&[
        "scan",
        "examples/shop",
        "--policies",
        "examples/cluster/policies.yaml",
        "--modules",
        "dist",
        "--offline",
        "-o",
        &format!("json={}", scan.display()),
    ]);
    assert_eq!(
        code, 2,
        "offline, checks that need the registry are not made: {stderr}"
    );
    let out = dir.join("pack");
    let (code, stdout, stderr) = pci_policies(&[
        "evidence",
        "--manifests",
        "examples/cluster/policies.yaml",
        "--reports",
        "examples/cluster/reports",
        "--scan",
        scan.to_str().unwrap(),
        "--date",
        "2026-12-03",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 exceptions (3 flagged)"), "{stdout}");
    let html = read(&out.join("index.html"));
    let dom = tl::parse(&html, tl::ParserOptions::default()).expect("parses as HTML");
    let parser = dom.parser();
    let ids = html_ids(&dom);
    for section in ["3.1", "3.2", "3.3", "9.1", "9.2"] {
        assert!(
            ids.contains(&format!("control-{section}")),
            "{section}: {ids:?}"
        );
    }
    for section in ["exceptions", "history", "scan", "reproduce"] {
        assert!(ids.contains(&section.to_owned()), "{section}");
    }
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "ids are unique");
    let rows: Vec<(String, String, String)> = dom
        .query_selector("tr.exception")
        .unwrap()
        .filter_map(|h| h.get(parser))
        .map(|n| {
            (
                attribute(n, "data-policy").unwrap(),
                attribute(n, "data-index").unwrap(),
                attribute(n, "class").unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.contains(&(
        "pci-pod-security".into(),
        "1".into(),
        "exception expiring".into()
    )));
    assert!(rows.contains(&(
        "pci-pod-security".into(),
        "2".into(),
        "exception expired".into()
    )));
    assert!(rows.contains(&(
        "pci-trusted-registries".into(),
        "0".into(),
        "exception no-expiry".into()
    )));
    // Nothing external: no script, stylesheet link, image or frame; links stay in the page.
    for node in dom.nodes() {
        let Some(tag) = node.as_tag() else { continue };
        let name = tag.name().as_utf8_str();
        assert!(
            !matches!(
                name.as_ref(),
                "script" | "link" | "img" | "iframe" | "object"
            ),
            "{name}"
        );
        assert!(attribute(node, "src").is_none(), "{name} has src");
        if let Some(href) = attribute(node, "href") {
            assert!(href.starts_with('#'), "{href}");
        }
    }
    assert!(!html.contains("@import") && !html.contains("url("));
    assert_eq!(dom.query_selector("svg").unwrap().count(), 1);
    // Two exports × five policies.
    assert_eq!(dom.query_selector("tr.report-day").unwrap().count(), 10);

    let pack: Value = serde_json::from_str(&read(&out.join("evidence.json"))).unwrap();
    let policy = |name: &str| {
        pack["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(policy("pci-runtime-isolation")["mode"], "monitor");
    let deviations: Vec<String> = policy("pci-pod-security")["settings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "deviation")
        .map(|s| s["setting"].as_str().unwrap().to_owned())
        .collect();
    // Exceptions are judged one by one in the register, not as a deviating setting.
    assert_eq!(deviations, ["allowedHostPaths"]);
    assert_eq!(pack["scan"]["workloads"], 4);
    assert_eq!(pack["reports"]["days"].as_object().unwrap().len(), 2);
    let reproduce = pack["reproduce"].as_array().unwrap();
    assert!(
        reproduce
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("kwctl verify"))
    );
}

/// A violation an exception waives stays in the SARIF log, suppressed with the exception's
/// reason, and in the JSON as a waiver; an expired exception waives nothing.
#[test]
fn waived_violations_are_suppressed_results() {
    let dir = scratch("waived");
    let manifest = read(&root().join("manifests/pod-security.yaml")).replace(
        "    exceptions: []\n",
        "    exceptions:\n    - {controls: [privileged], containers: [agent], namespaces: [monitoring], reason: vendor agent under review (CAB-7), approvedBy: CISO}\n    - {controls: [hostNamespaces], containers: [agent], namespaces: [monitoring], reason: old waiver, expires: '2020-01-31'}\n",
    );
    assert!(manifest.contains("CAB-7"));
    let policies = dir.join("policies.yaml");
    std::fs::write(&policies, manifest).unwrap();
    let sarif_file = dir.join("scan.sarif");
    let json_file = dir.join("scan.json");
    let (code, _, stderr) = pci_policies(&[
        "scan",
        "examples/shop/legacy-agent.yaml",
        "--policies",
        policies.to_str().unwrap(),
        "--offline",
        "-o",
        &format!("sarif={}", sarif_file.display()),
        "-o",
        &format!("json={}", json_file.display()),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let sarif: Value = serde_json::from_str(&read(&sarif_file)).unwrap();
    let schema: Value = serde_json::from_str(&read(
        &root().join("cli/tests/schemas/sarif-schema-2.1.0.json"),
    ))
    .unwrap();
    let errors = schema_errors(&schema, &sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let privileged: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "pod-security/privileged")
        .collect();
    assert_eq!(privileged.len(), 1);
    assert_eq!(
        privileged[0]["suppressions"][0]["justification"],
        "vendor agent under review (CAB-7)"
    );
    assert_eq!(privileged[0]["level"], "note");
    // The expired exception: hostNetwork is still a violation, not suppressed.
    let host = results
        .iter()
        .find(|r| r["ruleId"] == "pod-security/hostNamespaces")
        .unwrap();
    assert!(host.get("suppressions").is_none());
    assert_eq!(host["level"], "error");
    let scan: Value = serde_json::from_str(&read(&json_file)).unwrap();
    let waivers = scan["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "pci-pod-security")
        .unwrap()["waivers"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(waivers.len(), 2, "{waivers:?}");
    assert!(
        waivers
            .iter()
            .any(|w| w["expired"] == true && w["control"] == "hostNamespaces")
    );
}

/// Issue 30: the evidence pack reads the whole bundle (`manifests/pci-policies.yaml`: its
/// PolicyServer, RBAC, PodDisruptionBudget and ConfigMap beside the policies) and lists every
/// policy and the group; a kind it cannot read as either is an error naming file and document,
/// never left out of the pack in silence.
#[test]
fn evidence_reads_the_whole_bundle_and_refuses_other_kinds() {
    let dir = scratch("evidence-bundle");
    let (code, stdout, stderr) = pci_policies(&[
        "evidence",
        "--manifests",
        "manifests/pci-policies.yaml",
        "--date",
        "2026-12-03",
        "--out",
        dir.join("pack").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let pack: Value = serde_json::from_str(&read(&dir.join("pack/evidence.json"))).unwrap();
    let mut names: Vec<&str> = pack["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "pci-3.2-image-integrity",
            "pci-image-digest",
            "pci-image-signatures",
            "pci-image-signatures-mutate",
            "pci-pod-security",
            "pci-pod-security-system",
            "pci-runtime-isolation",
            "pci-runtime-isolation-mutate",
            "pci-trusted-registries",
        ]
    );

    let with_namespace = dir.join("with-namespace.yaml");
    let bundle = read(&root().join("manifests/pci-policies.yaml"));
    // The Namespace is the document after the bundle's last one (one top-level `kind:` each).
    let namespace_document = bundle.lines().filter(|l| l.starts_with("kind: ")).count() + 1;
    std::fs::write(
        &with_namespace,
        format!("{bundle}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n"),
    )
    .unwrap();
    let (code, _, stderr) = pci_policies(&[
        "evidence",
        "--manifests",
        with_namespace.to_str().unwrap(),
        "--out",
        dir.join("refused").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains(&format!(
            "with-namespace.yaml: document {namespace_document}: a \"Namespace\" is neither a policy"
        )),
        "{stderr}"
    );
}

/// `pci-policies evidence` over the recommended pod-security manifest with `exceptions` (YAML
/// list items, each indented four spaces), dated 2026-12-03: the exit code, what it printed, and
/// the pack's folder.
fn evidence_with_exceptions(name: &str, exceptions: &str) -> (i32, String, String, PathBuf) {
    let dir = scratch(name);
    let manifest = read(&root().join("manifests/pod-security.yaml")).replace(
        "    exceptions: []\n",
        &format!("    exceptions:\n{exceptions}"),
    );
    assert!(
        manifest.contains(exceptions),
        "the manifest sets exceptions: []"
    );
    let policies = dir.join("policies.yaml");
    std::fs::write(&policies, manifest).unwrap();
    let out = dir.join("pack");
    let (code, stdout, stderr) = pci_policies(&[
        "evidence",
        "--manifests",
        policies.to_str().unwrap(),
        "--date",
        "2026-12-03",
        "--out",
        out.to_str().unwrap(),
    ]);
    (code, stdout, stderr, out)
}

/// An exception for every namespace (`namespaces: ["*"]`) is marked in the register, in the HTML
/// and in the JSON: any namespace's author can claim it.
#[test]
fn the_register_marks_a_cluster_wide_exception() {
    let (code, stdout, stderr, out) = evidence_with_exceptions(
        "cluster-wide",
        "    - {controls: [privileged], containers: [agent], namespaces: [monitoring], reason: scoped, approvedBy: CISO, expires: '2027-12-31'}\n    - {controls: [privileged], containers: [agent], namespaces: ['*'], reason: everywhere, approvedBy: CISO, expires: '2027-12-31'}\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("2 exceptions (1 flagged)"), "{stdout}");
    let pack: Value = serde_json::from_str(&read(&out.join("evidence.json"))).unwrap();
    let flags: Vec<&Value> = pack["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["namespaceFlag"])
        .collect();
    assert_eq!(
        flags,
        [
            &Value::Null,
            &Value::from("cluster-wide: any namespace's author can claim it")
        ]
    );
    let html = read(&out.join("index.html"));
    let dom = tl::parse(&html, tl::ParserOptions::default()).expect("parses as HTML");
    let parser = dom.parser();
    let rows: Vec<String> = dom
        .query_selector("tr.exception")
        .unwrap()
        .filter_map(|h| h.get(parser))
        .map(|n| n.inner_text(parser).into_owned())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(!rows[0].contains("cluster-wide"), "{}", rows[0]);
    assert!(
        rows[1].contains("cluster-wide: any namespace&#39;s author can claim it")
            || rows[1].contains("cluster-wide: any namespace's author can claim it"),
        "{}",
        rows[1]
    );
}

/// Issue 29 review: settings with an exception the policy refuses (no namespaces) were shown as
/// an enforcing policy. policy-server does not start such a policy: the pack says so in the
/// summary, the section and the JSON, and does not count it as enforcing its section.
#[test]
fn a_policy_whose_settings_are_refused_is_not_counted_as_enforcing() {
    let (code, stdout, stderr, out) = evidence_with_exceptions(
        "refused-settings",
        "    - {controls: [privileged], containers: [agent], namespaces: [monitoring], reason: scoped, approvedBy: CISO, expires: '2027-12-31'}\n    - {controls: [privileged], containers: [kube-proxy], reason: from before namespaces were required, approvedBy: CISO, expires: '2027-12-31'}\n    - {controls: [privileged], namespaces: [kube-system], reason: narrowed by nothing, approvedBy: CISO}\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "NOT STARTED, their settings refused (see the exceptions register): pci-pod-security"
        ),
        "{stdout}"
    );
    let pack: Value = serde_json::from_str(&read(&out.join("evidence.json"))).unwrap();
    let policy = pack["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pci-pod-security")
        .unwrap();
    let refused = policy["refusedSettings"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused[0]
            .as_str()
            .unwrap()
            .starts_with("exceptions[1] (controls: privileged) must name the namespaces"),
        "{refused:?}"
    );
    assert!(
        refused[1]
            .as_str()
            .unwrap()
            .starts_with("exceptions[2] must narrow itself"),
        "{refused:?}"
    );
    let section = pack["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "3.1")
        .unwrap();
    assert_eq!(section["policies"], serde_json::json!([]), "{section:#}");
    assert_eq!(
        section["notStarted"],
        serde_json::json!(["pci-pod-security"])
    );
    let html = read(&out.join("index.html"));
    assert!(html.contains("pci-pod-security is not started: the policy refuses its settings"));
    assert!(html.contains("not started: settings refused"));
}

/// examples/pod-security: the PodSecurityPolicy settings reject what the workloads' comments
/// say, each under its own control, and the compliant Deployment passes.
#[test]
fn the_pod_security_policy_example_rejects_what_it_says() {
    let dir = scratch("psp-example");
    let sarif_file = dir.join("scan.sarif");
    let (code, stdout, stderr) = pci_policies(&[
        "scan",
        "examples/pod-security/workloads.yaml",
        "--policies",
        "examples/pod-security/policies.yaml",
        "--modules",
        "dist",
        "--offline",
        "-o",
        &format!("sarif={}", sarif_file.display()),
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let sarif: Value = serde_json::from_str(&read(&sarif_file)).unwrap();
    let mut rules: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error")
        .map(|r| r["ruleId"].as_str().unwrap().to_owned())
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "pod-security/hostPathVolumes",
            "pod-security/psp.allowedCapabilities",
            "pod-security/psp.forbiddenSysctls",
            "pod-security/psp.readOnlyRootFilesystem",
            "pod-security/psp.runAsGroup",
            "pod-security/psp.runAsUser",
            "pod-security/restrictedVolumes",
            "pod-security/runAsUser",
        ]
    );
    let text = sarif.to_string();
    assert!(
        !text.contains("ledger"),
        "the compliant Deployment has no result"
    );
}
