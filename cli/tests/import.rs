//! `pci-policies import` on real-shaped PodSecurityPolicies, SecurityContextConstraints,
//! Gatekeeper PSP-library constraints and upstream Kubewarden `*-psp` policies: the printed
//! settings are what the compiled pod-security module accepts, with the notes they need.

use std::path::PathBuf;
use std::process::Command;

use pci_host::capabilities::HostCapabilities;
use pci_host::host::{DEFAULT_DEADLINE_TICKS, Engine, Instance};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn import(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
        .current_dir(root())
        .arg("import")
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn documents(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("the output is YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// An instance of the compiled pod-security module (`dist/`), without host capabilities.
fn pod_security() -> Instance {
    let bytes = std::fs::read(root().join("dist/pod-security.wasm")).expect("run `make build`");
    Engine::new()
        .unwrap()
        .load(&bytes)
        .unwrap()
        .instantiate(HostCapabilities::none(), DEFAULT_DEADLINE_TICKS)
        .unwrap()
}

/// Checks `settings` with the compiled pod-security module, as policy-server does.
fn assert_valid(settings: &Value) {
    let instance = pod_security();
    let answer = instance.validate_settings(settings).unwrap();
    assert!(answer.valid, "{settings}: {:?}", answer.message);
}

#[test]
fn pod_security_policies_convert_field_for_field() {
    let (code, stdout, stderr) = import(&["cli/tests/import/podsecuritypolicies.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    let docs = documents(&stdout);
    assert_eq!(docs.len(), 3);
    for settings in &docs {
        assert_valid(settings);
    }
    let (restricted, privileged, payments) = (&docs[0], &docs[1], &docs[2]);
    assert_eq!(restricted["runAsUser"], json!({"rule": "MustRunAsNonRoot"}));
    assert_eq!(
        restricted["allowedAppArmorProfiles"],
        json!(["runtime/default"])
    );
    assert_eq!(
        privileged["allowedHostPorts"],
        json!([{"min": 1, "max": 65535}])
    );
    assert_eq!(privileged["allowedCapabilities"], json!(["*"]));
    assert_eq!(payments["seLinux"]["seLinuxOptions"]["level"], "s0:c12,c34");
    assert_eq!(payments["mutate"]["podSecurityPolicyDefaults"], true);
    assert!(stdout.contains("# not expressed: metadata.annotations[apparmor.security.beta.kubernetes.io/defaultProfileName]"));
    assert!(stdout.contains("# spec.hostPorts: a range from 0 starts at 1"));
    assert!(stdout.contains("# not expressed: RBAC `use` of the PodSecurityPolicy"));
}

#[test]
fn security_context_constraints_convert_with_the_namespace_ranges_noted() {
    let (code, stdout, stderr) = import(&[
        "--level",
        "baseline",
        "cli/tests/import/securitycontextconstraints.yaml",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let docs = documents(&stdout);
    assert_eq!(docs.len(), 2);
    for settings in &docs {
        assert_valid(settings);
        assert_eq!(settings["level"], "baseline");
    }
    assert_eq!(
        docs[0]["allowedSeccompProfiles"],
        json!(["runtime/default"])
    );
    assert_eq!(docs[0]["runAsUser"], json!({"rule": "MustRunAsNonRoot"}));
    assert!(stdout.contains(
        "# runAsUser: the range comes from the namespace's openshift.io/sa.scc.uid-range annotation"
    ));
    assert!(stdout.contains("# not expressed: users:"));
    assert_eq!(
        docs[1]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| *v == "hostPath")
            .count(),
        1
    );
    assert_eq!(docs[1]["seLinux"]["rule"], "MustRunAs");
    assert_eq!(docs[1]["allowPrivilegeEscalation"], true);
}

#[test]
fn gatekeeper_constraints_become_one_policy() {
    let (code, stdout, stderr) =
        import(&["--policy", "cli/tests/import/gatekeeper-constraints.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    let docs = documents(&stdout);
    assert_eq!(docs.len(), 1);
    let policy = &docs[0];
    assert_eq!(policy["kind"], "ClusterAdmissionPolicy");
    assert_eq!(policy["metadata"]["name"], "pod-security-gatekeeper-psp");
    assert!(
        policy["spec"]["module"]
            .as_str()
            .unwrap()
            .starts_with("registry://")
    );
    let settings = &policy["spec"]["settings"];
    assert_valid(settings);
    assert_eq!(
        settings["exceptions"][0]["images"],
        json!(["registry.k8s.io/kube-proxy:*"])
    );
    assert_eq!(
        settings["exceptions"][1],
        json!({
            "controls": ["psp.allowedCapabilities", "psp.requiredDropCapabilities"],
            "images": ["registry.corp.com/netdebug/**"],
            "namespaces": ["netdebug"],
            "reason": "exemptImages of Gatekeeper constraint K8sPSPCapabilities capabilities-demo"
        })
    );
    assert_eq!(settings["allowedFlexVolumes"].as_array().unwrap().len(), 2);
    assert_eq!(
        settings["allowedSeccompProfiles"],
        json!(["runtime/default", "docker/default"]),
        "allowedLocalhostFiles name files only for the Localhost type, which is not listed"
    );
    assert_eq!(settings["readOnlyRootFilesystem"], true);
    assert!(stdout.contains("K8sPSPSeccomp psp-seccomp: spec.enforcementAction: dryrun"));
    assert!(
        stdout.contains("K8sPSPForbiddenSysctls psp-forbidden-sysctls: parameters.allowedSysctls")
    );
}

#[test]
fn every_exception_the_importer_writes_names_its_namespaces() {
    let (code, stdout, stderr) = import(&["cli/tests/import/gatekeeper-constraints.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    let settings = &documents(&stdout)[0];
    let exceptions = settings["exceptions"].as_array().expect("exceptions");
    assert_eq!(exceptions.len(), 2);
    assert_eq!(
        exceptions[0]["namespaces"],
        json!(["*"]),
        "the constraint matched every namespace (but kube-system)"
    );
    assert_eq!(exceptions[1]["namespaces"], json!(["netdebug"]));
    assert!(
        stdout.contains("so its exemption is cluster-wide (namespaces: [\"*\"])"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the constraint skipped kube-system; the settings apply there too"),
        "{stdout}"
    );
}

#[test]
fn the_safe_sysctls_the_importer_forbids_by_name_are_the_modules() {
    let constraint = "{apiVersion: constraints.gatekeeper.sh/v1beta1, kind: K8sPSPForbiddenSysctls, metadata: {name: s}, spec: {parameters: {allowedSysctls: [vm.swappiness]}}}";
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("allowed-sysctls.yaml");
    std::fs::write(&file, constraint).expect("written");
    let (code, stdout, stderr) = import(&["--level", "baseline", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let mut forbidden: Vec<String> = documents(&stdout)[0]["forbiddenSysctls"]
        .as_array()
        .expect("forbiddenSysctls")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let instance = pod_security();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}],
            "securityContext": {"sysctls": [{"name": "vm.unsafe", "value": "1"}]}}});
    let request =
        pci_testkit::admission_request(pci_shared::workload::WorkloadKind::Pod, "CREATE", pod);
    let answer = instance
        .validate(&request, &json!({"level": "baseline"}))
        .unwrap();
    let message = answer["message"].as_str().expect("a rejection");
    let first_line = message.lines().next().unwrap_or_default();
    let (_, allowed) = first_line.split_once("; allowed: ").expect("the safe set");
    let mut safe: Vec<String> = allowed.split(", ").map(str::to_owned).collect();
    safe.sort();
    forbidden.sort();
    assert_eq!(forbidden, safe, "{message}");
}

#[test]
fn upstream_kubewarden_policies_become_one_policy_and_others_are_skipped() {
    let (code, stdout, stderr) =
        import(&["--policy", "cli/tests/import/kubewarden-psp-policies.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("skipped ClusterAdmissionPolicy trusted-repos"),
        "{stderr}"
    );
    let docs = documents(&stdout);
    assert_eq!(docs.len(), 1);
    let policy = &docs[0];
    assert_eq!(
        policy["spec"]["mutating"], true,
        "capabilities-psp and user-group-psp mutated"
    );
    let settings = &policy["spec"]["settings"];
    assert_valid(settings);
    assert_eq!(
        settings["allowedHostPorts"],
        json!([{"min": 443, "max": 443}])
    );
    assert_eq!(
        settings["runAsGroup"],
        json!({"rule": "MustRunAs", "ranges": [{"min": 1000, "max": 2000}]})
    );
    assert_eq!(
        settings["allowedSeccompProfiles"],
        json!(["localhost/profiles/audit.json", "runtime/default"])
    );
    assert_eq!(
        settings["fsGroup"],
        json!({"rule": "MayRunAs", "ranges": [{"min": 1000, "max": 2000}]})
    );
    assert!(stdout.contains("allowed-fsgroups-psp (psp-fsgroup): spec.mode: monitor"));
}

#[test]
fn nothing_to_import_is_an_error() {
    let (code, _, stderr) = import(&["examples/shop/storefront.yaml"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("nothing to import"), "{stderr}");
    let (code, _, stderr) = import(&["no/such/file.yaml"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot read no/such/file.yaml"), "{stderr}");
}
