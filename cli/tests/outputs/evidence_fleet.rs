//! `pci-policies evidence --cluster NAME=DIR`: exports of clusters in each state (all active, a
//! policy pending, a webhook missing, the audit stale, monitor mode, two clusters) get the
//! right verdict per PCI section, in `evidence.json` and on the page read by an HTML parser.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

const SECTIONS: [&str; 5] = ["3.1", "3.2", "3.3", "9.1", "9.2"];

use super::{attribute, pci_policies, root};

/// A fresh scratch folder of these tests (the `outputs` binary's, prefixed `fleet-`).
fn scratch(name: &str) -> PathBuf {
    super::scratch(&format!("fleet-{name}"))
}

/// The `prod` example's export, each file as JSON, edited by `edit` (file name → List).
fn export(dir: &Path, edit: impl Fn(&mut BTreeMap<String, Value>)) -> PathBuf {
    let source = root().join("examples/fleet/prod");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&source).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let value: Value = yaml_serde::from_str(&text).unwrap();
        files.insert(name.replace(".yaml", ""), value);
    }
    edit(&mut files);
    std::fs::create_dir_all(dir).unwrap();
    for (name, value) in files {
        std::fs::write(dir.join(format!("{name}.json")), value.to_string()).unwrap();
    }
    dir.to_path_buf()
}

/// The item of `file` named `name`.
fn item<'a>(files: &'a mut BTreeMap<String, Value>, file: &str, name: &str) -> &'a mut Value {
    files.get_mut(file).unwrap()["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{file}: no {name}"))
}

/// Runs the pack over `clusters` dated 2026-12-01; the fleet's evidence.json and page.
fn fleet(dir: &Path, clusters: &[(&str, &Path)]) -> (Value, String, String) {
    let out = dir.join("pack");
    let mut args = vec!["evidence".to_owned()];
    for (name, path) in clusters {
        args.push("--cluster".into());
        args.push(format!("{name}={}", path.display()));
    }
    args.extend(["--date", "2026-12-01", "--out"].map(String::from));
    args.push(out.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = pci_policies(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let pack =
        serde_json::from_str(&std::fs::read_to_string(out.join("evidence.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    (pack, html, stdout)
}

/// Section → verdict of the fleet's summary row for `cluster`.
fn verdicts(pack: &Value, cluster: &str) -> BTreeMap<String, String> {
    let row = pack["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cluster"] == cluster)
        .unwrap();
    serde_json::from_value(row["sections"].clone()).unwrap()
}

fn expect(changed: &[(&str, &str)]) -> BTreeMap<String, String> {
    SECTIONS
        .iter()
        .map(|s| {
            let verdict = changed
                .iter()
                .find(|(id, _)| id == s)
                .map_or("operational", |(_, v)| v);
            (s.to_string(), verdict.to_owned())
        })
        .collect()
}

/// The reasons `cluster`'s pack gives for `section`.
fn reasons(pack: &Value, cluster: &str, section: &str) -> String {
    let cluster = pack["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == cluster)
        .unwrap();
    let section = cluster["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == section)
        .unwrap();
    section["reasons"].to_string()
}

#[test]
fn a_cluster_in_each_state_gets_its_verdicts() {
    let dir = scratch("states");
    let active = export(&dir.join("active"), |_| {});
    let pending = export(&dir.join("pending"), |files| {
        item(files, "policies", "pci-pod-security")["status"]["policyStatus"] = json!("pending");
    });
    let no_webhook = export(&dir.join("no-webhook"), |files| {
        let hooks = files.get_mut("webhooks").unwrap()["items"]
            .as_array_mut()
            .unwrap();
        hooks.retain(|h| h["metadata"]["name"] != "clusterwide-pci-trusted-registries");
    });
    let stale = export(&dir.join("stale"), |files| {
        for report in files.get_mut("reports").unwrap()["items"]
            .as_array_mut()
            .unwrap()
        {
            for result in report["results"].as_array_mut().unwrap() {
                result["timestamp"]["seconds"] = json!(1_796_094_000 - 31 * 86_400);
            }
        }
    });
    let monitor = export(&dir.join("monitor"), |files| {
        let policy = item(files, "policies", "pci-runtime-isolation");
        policy["spec"]["mode"] = json!("monitor");
        policy["status"]["mode"] = json!("monitor");
    });
    let no_server = export(&dir.join("no-server"), |files| {
        item(files, "deployments", "policy-server-default")["status"]["readyReplicas"] = json!(0);
    });
    // Fresh reports (anyone allowed to create reports could write them), the scanner suspended.
    let suspended = export(&dir.join("suspended"), |files| {
        item(files, "deployments", "audit-scanner")["spec"]["suspend"] = json!(true);
    });
    // A tenant's healthy `audit-scanner` and `policy-server-x` in their own namespace, exported
    // with -A: Kubewarden's namespace is the one its webhooks call, where the scanner is
    // suspended.
    let decoy = export(&dir.join("decoy"), |files| {
        item(files, "deployments", "audit-scanner")["spec"]["suspend"] = json!(true);
        let items = files.get_mut("deployments").unwrap()["items"]
            .as_array_mut()
            .unwrap();
        let mut scanner = items
            .iter()
            .find(|i| i["kind"] == "CronJob")
            .unwrap()
            .clone();
        scanner["metadata"]["namespace"] = json!("shop");
        scanner["spec"]["suspend"] = json!(false);
        let mut server = items[0].clone();
        server["metadata"]["name"] = json!("policy-server-x");
        server["metadata"]["namespace"] = json!("shop");
        items.extend([scanner, server]);
    });
    let no_cron_job = export(&dir.join("no-cron-job"), |files| {
        let items = files.get_mut("deployments").unwrap()["items"]
            .as_array_mut()
            .unwrap();
        items.retain(|i| i["kind"] != "CronJob");
    });
    let clusters = [
        ("active", active.as_path()),
        ("pending", &pending),
        ("no-webhook", &no_webhook),
        ("stale", &stale),
        ("monitor", &monitor),
        ("no-server", &no_server),
        ("suspended", &suspended),
        ("decoy", &decoy),
        ("no-cron-job", &no_cron_job),
    ];
    let (pack, _, stdout) = fleet(&dir, &clusters);
    let not_active = "configured but not active";
    assert_eq!(verdicts(&pack, "active"), expect(&[]), "{stdout}");
    assert_eq!(verdicts(&pack, "pending"), expect(&[("3.1", not_active)]));
    assert!(
        reasons(&pack, "pending", "3.1")
            .contains("pci-pod-security: status.policyStatus is pending")
    );
    assert_eq!(
        verdicts(&pack, "no-webhook"),
        expect(&[("3.3", not_active)])
    );
    assert!(
        reasons(&pack, "no-webhook", "3.3")
            .contains("no ValidatingWebhookConfiguration clusterwide-pci-trusted-registries")
    );
    let all: Vec<(&str, &str)> = SECTIONS.iter().map(|s| (*s, not_active)).collect();
    assert_eq!(verdicts(&pack, "stale"), expect(&all));
    assert!(
        reasons(&pack, "stale", "3.2")
            .contains("the newest audit result is from 2026-10-31T03:00:00Z")
    );
    assert_eq!(
        verdicts(&pack, "monitor"),
        expect(&[("9.1", "monitor only"), ("9.2", "monitor only")])
    );
    assert_eq!(verdicts(&pack, "suspended"), expect(&all));
    assert!(
        reasons(&pack, "suspended", "3.3")
            .contains("the audit scanner's CronJob kubewarden/audit-scanner is suspended")
    );
    assert_eq!(verdicts(&pack, "decoy"), expect(&all));
    assert!(
        reasons(&pack, "decoy", "3.1")
            .contains("the audit scanner's CronJob kubewarden/audit-scanner is suspended")
    );
    assert_eq!(verdicts(&pack, "no-cron-job"), expect(&[]));
    let flagged = pack["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == "no-cron-job")
        .map(|c| c["flagged"].to_string())
        .unwrap_or_default();
    assert!(flagged.contains("no CronJob in the export"), "{flagged}");
    assert_eq!(verdicts(&pack, "no-server"), expect(&all));
    assert!(
        reasons(&pack, "no-server", "3.1")
            .contains("no ready replica of policy-server-default (0 of 2)")
    );
}

#[test]
fn a_section_without_a_policy_is_missing() {
    let dir = scratch("missing");
    let partial = export(&dir.join("partial"), |files| {
        let policies = files.get_mut("policies").unwrap()["items"]
            .as_array_mut()
            .unwrap();
        policies.retain(|p| {
            !p["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("pci-runtime-isolation")
        });
    });
    let (pack, _, _) = fleet(&dir, &[("partial", &partial)]);
    assert_eq!(
        verdicts(&pack, "partial"),
        expect(&[("9.1", "missing"), ("9.2", "missing")])
    );
}

/// The example fleet, as `make evidence` builds it: the summary table and both clusters'
/// packs on one page, ids unique, every flag at the top.
#[test]
fn the_example_fleet_reads_back_with_an_html_parser() {
    let dir = scratch("example");
    let prod = root().join("examples/fleet/prod");
    let staging = root().join("examples/fleet/staging");
    let (pack, html, _) = fleet(&dir, &[("prod", &prod), ("staging", &staging)]);
    assert_eq!(verdicts(&pack, "prod"), expect(&[]));
    let staging_verdicts = verdicts(&pack, "staging");
    assert!(
        staging_verdicts
            .values()
            .all(|v| v == "configured but not active"),
        "{staging_verdicts:?}"
    );
    let flagged = pack["clusters"][1]["flagged"].to_string();
    for expected in [
        "status.policyStatus is pending",
        "no ValidatingWebhookConfiguration clusterwide-pci-trusted-registries",
        "the newest audit result is from 2026-11-01T03:00:00Z",
        "pci-runtime-isolation: the mode in effect is monitor",
        "the audit scanner's CronJob kubewarden/audit-scanner is suspended",
        // Said once for the policies and sections that share it.
        "pci-image-digest, pci-image-signatures: the audit scanner's CronJob kubewarden/audit-scanner is suspended",
        "9.2 configured but not active: 2 reasons as above",
    ] {
        assert!(flagged.contains(expected), "{expected}: {flagged}");
    }
    assert!(
        html.contains("CronJob kubewarden/audit-scanner: schedule 0 * * * *, last completed run 2026-12-01T03:00:41Z"),
        "the prod pack shows the scanner's last run"
    );

    let dom = tl::parse(&html, tl::ParserOptions::default()).expect("parses as HTML");
    let parser = dom.parser();
    let ids = super::html_ids(&dom);
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "ids are unique over the clusters");
    for cluster in ["prod", "staging"] {
        assert!(ids.contains(&format!("cluster-{cluster}")));
        assert!(ids.contains(&format!("cluster-{cluster}/control-3.1")));
        assert!(ids.contains(&format!("cluster-{cluster}/flagged")));
    }
    for node in dom.nodes() {
        if let Some(href) = attribute(node, "href") {
            let target = href.trim_start_matches('#');
            assert!(ids.iter().any(|id| id == target), "{href} leads nowhere");
        }
    }
    let cells: Vec<(String, String)> = dom
        .query_selector("td.summary-verdict")
        .unwrap()
        .filter_map(|h| h.get(parser))
        .map(|n| {
            (
                attribute(n, "data-section").unwrap(),
                n.inner_text(parser).into_owned(),
            )
        })
        .collect();
    assert_eq!(cells.len(), 10, "{cells:?}");
    assert_eq!(cells[0], ("3.1".to_owned(), "operational".to_owned()));
    assert_eq!(
        cells[5],
        ("3.1".to_owned(), "configured but not active".to_owned())
    );
    let flags = dom.query_selector("li.flag").unwrap().count();
    assert!(flags >= 4, "{flags}");
}

#[test]
fn a_cluster_export_that_cannot_be_read_is_an_error() {
    let dir = scratch("errors");
    // A malformed argument is a usage error (2); an export that cannot be read, an error (1).
    for (argument, status, expected) in [
        ("prod", 2, "give NAME=DIR"),
        ("prod=target/no-such-export", 1, "no such folder"),
    ] {
        let (code, _, stderr) = pci_policies(&[
            "evidence",
            "--cluster",
            argument,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(code, status, "{argument}: {stderr}");
        assert!(stderr.contains(expected), "{argument}: {stderr}");
    }
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, _, stderr) = pci_policies(&[
        "evidence",
        "--cluster",
        &format!("empty={}", empty.display()),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no policy in the export"), "{stderr}");
    let (code, _, stderr) = pci_policies(&[
        "evidence",
        "--cluster",
        "prod=examples/fleet/prod",
        "--manifests",
        "manifests",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
}

/// A key pair as `cosign generate-key-pair` writes it: the encrypted private key and the
/// public key, in `dir`.
pub fn cosign_key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let pair = sigstore::crypto::SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .unwrap()
        .to_sigstore_keypair()
        .unwrap();
    let private = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    std::fs::write(
        &private,
        pair.private_key_to_encrypted_pem(b"pack-password")
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    std::fs::write(&public, pair.public_key_to_pem().unwrap()).unwrap();
    (private, public)
}

/// `--sign-key` writes a DSSE envelope of an in-toto statement over index.html and
/// evidence.json; `evidence verify` accepts the pack as written and refuses it edited, signed
/// by another key, or unsigned.
#[test]
fn a_signed_pack_verifies_and_an_edited_one_is_refused() {
    let dir = scratch("signed");
    let (private, public) = cosign_key_pair(&dir, "cosign");
    let (_, other) = cosign_key_pair(&dir, "other");
    let out = dir.join("pack");
    let output = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
        .current_dir(root())
        .env("COSIGN_PASSWORD", "pack-password")
        .args([
            "evidence",
            "--cluster",
            "prod=examples/fleet/prod",
            "--date",
            "2026-12-01",
            "--sign-key",
        ])
        .arg(&private)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let envelope: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evidence.intoto.json")).unwrap())
            .unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let verify = |key: &Path| {
        pci_policies(&[
            "evidence",
            "verify",
            out.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ])
    };
    let (code, stdout, stderr) = verify(&public);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("verified, signed pack of prod dated 2026-12-01"),
        "{stdout}"
    );

    let (code, _, stderr) = verify(&other);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no signature of the attestation verifies"),
        "{stderr}"
    );

    for file in ["index.html", "evidence.json"] {
        let path = out.join(file);
        let original = std::fs::read(&path).unwrap();
        let mut edited = original.clone();
        let at = edited.len() / 2;
        edited[at] = if edited[at] == b'a' { b'b' } else { b'a' };
        std::fs::write(&path, &edited).unwrap();
        let (code, _, stderr) = verify(&public);
        assert_eq!(code, 1, "{file}");
        assert!(
            stderr.contains(&format!("{file}: edited since it was signed")),
            "{stderr}"
        );
        std::fs::write(&path, &original).unwrap();
    }
    assert_eq!(verify(&public).0, 0, "restored");

    std::fs::remove_file(out.join("evidence.intoto.json")).unwrap();
    let (code, _, stderr) = verify(&public);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no signature (build the pack with --sign-key)"),
        "{stderr}"
    );
}

/// `evidence diff OLD NEW`: a month later, pod-security is pending, its host path list grew, an
/// exception was added and one expired; a cluster joined the fleet.
#[test]
fn diff_lists_what_changed_between_two_packs() {
    let dir = scratch("diff");
    // The older export, audited a week before the newer one.
    let before = export(&dir.join("before"), |files| {
        for report in files.get_mut("reports").unwrap()["items"]
            .as_array_mut()
            .unwrap()
        {
            for result in report["results"].as_array_mut().unwrap() {
                result["timestamp"]["seconds"] = json!(1_796_094_000 - 7 * 86_400);
            }
        }
        item(files, "deployments", "audit-scanner")["status"]["lastSuccessfulTime"] =
            json!("2026-11-24T03:00:41Z");
    });
    let after = export(&dir.join("after"), |files| {
        let policy = item(files, "policies", "pci-pod-security");
        policy["status"]["policyStatus"] = json!("pending");
        let settings = &mut policy["spec"]["settings"];
        settings["allowedHostPaths"]
            .as_array_mut()
            .unwrap()
            .push(json!({"pathPrefix": "/etc", "readOnly": true}));
        settings["exceptions"].as_array_mut().unwrap().push(json!({
            "controls": ["privileged"],
            "containers": ["debug"],
            "namespaces": ["shop"],
            "reason": "incident INC-2026-044",
            "approvedBy": "CISO",
            "expires": "2026-12-31"
        }));
    });
    let pack = |name: &str, date: &str, clusters: &[(&str, &Path)]| {
        let out = dir.join(name);
        let mut args = vec!["evidence".to_owned()];
        for (cluster, path) in clusters {
            args.push("--cluster".into());
            args.push(format!("{cluster}={}", path.display()));
        }
        args.extend(["--date", date, "--out"].map(String::from));
        args.push(out.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, stderr) = pci_policies(&args);
        assert_eq!(code, 0, "{stderr}");
        out
    };
    let old = pack("old", "2026-11-25", &[("prod", &before)]);
    let staging = root().join("examples/fleet/prod");
    let new = pack(
        "new",
        "2026-12-01",
        &[("prod", &after), ("staging", &staging)],
    );
    let (code, stdout, stderr) = pci_policies(&[
        "evidence",
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let has = |start: &str, end: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(start) && l.ends_with(end))
    };
    for (start, end) in [
        (
            "prod: section 3.1: ",
            "operational → configured but not active",
        ),
        (
            "prod: verdict pci-pod-security: ",
            "operational → configured but not active",
        ),
        (
            "prod: reasons pci-pod-security: ",
            "→ status.policyStatus is pending: policy-server has not loaded it (a module it cannot pull or verify, or settings it refuses, keep it pending)",
        ),
        (
            "prod: setting pci-pod-security allowedHostPaths: ",
            "[{\"pathPrefix\":\"/var/log\",\"readOnly\":true}] → [{\"pathPrefix\":\"/var/log\",\"readOnly\":true},{\"pathPrefix\":\"/etc\",\"readOnly\":true}]",
        ),
        (
            "prod: exception pci-pod-security: controls privileged; namespaces shop; images any; containers debug;",
            ": (none) → expiring",
        ),
        (
            "prod: exception pci-pod-security: controls capabilities_restricted;",
            ": expiring → expired",
        ),
        ("staging: cluster staging: ", "(none) → present"),
    ] {
        assert!(has(start, end), "{start}…{end}\n{stdout}");
    }
    assert!(
        !stdout.contains("section 3.2"),
        "3.2 did not change: {stdout}"
    );
    let (_, json_out, _) = pci_policies(&[
        "evidence",
        "diff",
        "--json",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    let changes: Vec<Value> = serde_json::from_str(&json_out).unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["what"] == "verdict" && c["new"] == "configured but not active")
    );
    let (_, same, _) = pci_policies(&[
        "evidence",
        "diff",
        old.to_str().unwrap(),
        old.join("evidence.json").to_str().unwrap(),
    ]);
    assert_eq!(same.trim(), "no change");
}
