//! Tests of the generated files: drift, CRD shapes, webhook types, rollouts, timeouts, the
//! Rancher conventions of the questions.

use super::*;
use placement::Placement;
use policy::PolicySources;

#[test]
fn checked_in_generated_files_are_current() {
    let stale = stale(&workspace::root()).unwrap();
    assert!(
        stale.is_empty(),
        "run `make generate` and commit:\n{}",
        stale.join("\n")
    );
}

#[test]
fn rfc3339_dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_795_392_000 + 3_723), "2026-11-23T01:02:03Z");
}

#[test]
fn every_required_package_field_is_enforced() {
    for key in [
        "io.kubewarden.policy.version",
        "io.kubewarden.policy.title",
        "io.artifacthub.displayName",
        "io.kubewarden.policy.description",
        "io.kubewarden.policy.ociUrl",
    ] {
        let mut policy = PolicySources::load("image-digest").unwrap();
        policy.metadata.annotations.remove(key);
        let error = artifacthub::package(&policy, "2026-11-22T00:00:00Z").unwrap_err();
        assert!(format!("{error:#}").contains(key), "{key}: {error:#}");
    }
}

/// The Rancher UI conventions (kubewarden-operations.md §7): every question in
/// `group: Settings` (a `map[` without a group breaks the form), a type the renderer knows,
/// a label and a description, `[]` defaults for lists (or Add does nothing), flat `show_if`,
/// and nesting one level deep.
fn rancher_faults(question: &yaml_serde::Value, depth: usize, faults: &mut Vec<String>) {
    let variable = question["variable"].as_str().unwrap_or("?").to_owned();
    if question["group"].as_str() != Some("Settings") {
        faults.push(format!("{variable}: group is not Settings"));
    }
    let kind = question["type"].as_str().unwrap_or_default();
    let known = [
        "string",
        "multiline",
        "boolean",
        "int",
        "enum",
        "array[",
        "map[",
        "sequence[",
    ];
    if !known.contains(&kind) {
        faults.push(format!("{variable}: type {kind:?}"));
    }
    if question["label"].as_str().is_none_or(str::is_empty) {
        faults.push(format!("{variable}: no label"));
    }
    if depth == 0 && question["description"].as_str().is_none_or(str::is_empty) {
        faults.push(format!("{variable}: no description"));
    }
    if (kind == "sequence[" || kind == "array[") && !question["default"].is_sequence() {
        faults.push(format!("{variable}: a list needs a [] default"));
    }
    if let Some(show_if) = question["show_if"].as_str() {
        let flat = show_if.split("||").flat_map(|p| p.split("&&")).all(|test| {
            let test = test.trim();
            !test.contains(['(', ')']) && (test.contains("!=") || test.contains('='))
        });
        if !flat {
            faults.push(format!("{variable}: show_if {show_if:?} is not flat"));
        }
    }
    for nested in ["sequence_questions", "subquestions"] {
        for child in question[nested].as_sequence().into_iter().flatten() {
            // kubewarden-ui renders a list of objects inside a list item as a YAML editor whose
            // first item its own questions' defaults make: one level more, and only that.
            let yaml_editor = depth == 1 && kind == "sequence[" && nested == "sequence_questions";
            if depth >= 1 && !yaml_editor {
                faults.push(format!("{variable}: nested deeper than one level"));
            }
            rancher_faults(child, depth + 1, faults);
        }
    }
}

#[test]
fn questions_follow_the_rancher_ui_conventions() {
    for name in workspace::bundle().policies().unwrap() {
        let sources = PolicySources::load(&name).unwrap();
        let questions: yaml_serde::Value = yaml_serde::from_str(&sources.questions).unwrap();
        let mut faults = Vec::new();
        for question in questions["questions"].as_sequence().unwrap() {
            rancher_faults(question, 0, &mut faults);
        }
        assert!(faults.is_empty(), "{name}: {faults:#?}");
    }
    let bad: yaml_serde::Value = yaml_serde::from_str(
        "{variable: x, type: \"sequence[\", group: Rules, show_if: \"(a=b)\"}",
    )
    .unwrap();
    let mut faults = Vec::new();
    rancher_faults(&bad, 0, &mut faults);
    assert_eq!(faults.len(), 5, "{faults:#?}");
}

#[test]
fn an_empty_questions_file_is_refused() {
    let mut policy = PolicySources::load("image-digest").unwrap();
    policy.questions = "\n".into();
    let error = artifacthub::package(&policy, "2026-11-22T00:00:00Z").unwrap_err();
    assert!(error.to_string().contains("questions-ui.yml"), "{error}");
}

/// The bundle's placement, from deploy/bundle.yml.
fn placement() -> Placement {
    BundleSource::load(&workspace::root()).unwrap().placement()
}

/// The module lock's reference of every policy.
fn locked_module(sources: &PolicySources) -> String {
    let policies = policy::all().unwrap();
    ModuleLock::load(&workspace::root(), &policies)
        .unwrap()
        .module(sources)
        .unwrap()
}

/// Every YAML document of `text`.
fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(text)
        .map(|document| serde_json::Value::deserialize(document).unwrap())
        .collect()
}

#[test]
fn manifests_parse_with_the_sdk_crd_types() {
    let root = workspace::root();
    for rollout in [Rollout::Protect, Rollout::Monitor] {
        let dir = rollout.dir();
        let bundle =
            std::fs::read_to_string(root.join(format!("{dir}/pci-policies.yaml"))).unwrap();
        let documents = yaml_documents(&bundle);
        let kinds: Vec<&str> = documents
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds[..6],
            [
                "PolicyServer",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "PodDisruptionBudget",
                "ConfigMap"
            ],
            "{dir}: the PolicyServer and what it needs come first"
        );
        assert_eq!(
            documents
                .last()
                .map(|d| (&d["kind"], &d["metadata"]["name"])),
            Some((
                &serde_json::json!("ClusterAdmissionPolicy"),
                &serde_json::json!(deploy::system::NAME)
            )),
            "{dir}: the system namespaces' policy comes last"
        );
        assert!(kinds.contains(&"ClusterAdmissionPolicyGroup"), "{dir}");
        let policies: Vec<&serde_json::Value> = documents
            .iter()
            .filter(|d| d["kind"] == "ClusterAdmissionPolicy")
            .collect();
        let mut bundled = policies.iter();
        for name in workspace::bundle().policies().unwrap() {
            let sources = PolicySources::load(&name).unwrap();
            let module = locked_module(&sources);
            let expected =
                manifests::cluster_admission_policies(&sources, rollout, &module, &placement())
                    .unwrap();
            let single = std::fs::read_to_string(root.join(format!("{dir}/{name}.yaml"))).unwrap();
            assert_eq!(
                manifests::parse_strict(&single).unwrap(),
                expected,
                "{name}"
            );
            for instance in &expected {
                let document = bundled.next().expect("a policy of the bundle");
                let text = yaml_serde::to_string(document).unwrap();
                assert_eq!(
                    manifests::parse_strict(&text).unwrap().first(),
                    Some(instance),
                    "{dir} bundle: {name}"
                );
            }
        }
        let all = policy::all().unwrap();
        let lock = ModuleLock::load(&root, &all).unwrap();
        let system = deploy::system::policy(
            &BundleSource::load(&root).unwrap(),
            &all,
            rollout,
            &|sources| lock.module(sources),
        )
        .unwrap();
        let document = bundled.next().expect("the system namespaces' policy");
        let text = yaml_serde::to_string(document).unwrap();
        assert_eq!(
            manifests::parse_strict(&text).unwrap().first(),
            Some(&system),
            "{dir} bundle: {}",
            deploy::system::NAME
        );
        assert!(bundled.next().is_none(), "{dir} bundle has extra policies");
    }
}

/// Every policy and group of manifests/ runs on the bundle's PolicyServer and spares every
/// system namespace of deploy/bundle.yml (before issue 30: the `default` PolicyServer, every
/// namespace judged); the system namespaces' own policy, in the whole-bundle files, selects
/// exactly them.
#[test]
fn every_generated_policy_and_group_spares_the_system_namespaces() {
    let placement = placement();
    let spared = serde_json::to_value(placement.sparing_system_namespaces()).unwrap();
    let selected = serde_json::to_value(placement.selecting_system_namespaces()).unwrap();
    assert!(placement.system_namespaces.len() > 40);
    let root = workspace::root();
    let mut checked = 0;
    for dir in ["manifests", "manifests/monitor", "deploy/base/policies"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for document in yaml_documents(&text) {
                let kind = document["kind"].as_str().unwrap_or_default();
                if !kind.starts_with("ClusterAdmissionPolicy") {
                    continue;
                }
                let at = format!("{}: {}", path.display(), document["metadata"]["name"]);
                assert_eq!(document["spec"]["policyServer"], "pci-policies", "{at}");
                let expected = if document["metadata"]["name"] == deploy::system::NAME {
                    &selected
                } else {
                    &spared
                };
                assert_eq!(&document["spec"]["namespaceSelector"], expected, "{at}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 3 * 8, "{checked} policies and groups checked");
}

/// A file of manifests/ holding one policy or the group names the bundle's PolicyServer without
/// shipping it, and says so: applied alone, its policies would never be served.
#[test]
fn every_file_of_one_policy_says_it_needs_the_bundles_policy_server() {
    let root = workspace::root();
    let mut checked = 0;
    for dir in ["manifests", "manifests/monitor"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".yaml") || name == "pci-policies.yaml" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let header: String = text
                .lines()
                .take_while(|line| line.starts_with('#'))
                .map(|line| line.trim_start_matches("# ").trim_start_matches('#'))
                .collect::<Vec<_>>()
                .join(" ");
            for needed in [
                "Runs on the PolicyServer `pci-policies`, which this file names but does not ship",
                "needs the PolicyServer, RBAC and ConfigMap of manifests/pci-policies.yaml, or deploy/base",
                "stays `scheduled`",
            ] {
                assert!(header.contains(needed), "{}: {needed}", path.display());
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        2 * 6,
        "five policies and the group, in both rollouts"
    );
}

/// The JSON of every instance generated for `name` with `settings` in `rollout`.
fn instances(name: &str, settings: serde_json::Value, rollout: Rollout) -> Vec<serde_json::Value> {
    let mut sources = PolicySources::load(name).unwrap();
    sources.pci.settings = settings.as_object().unwrap().clone();
    let module = manifests::default_module(&sources).unwrap();
    manifests::cluster_admission_policies(&sources, rollout, &module, &placement())
        .unwrap()
        .iter()
        .map(|instance| serde_json::to_value(instance).unwrap())
        .collect()
}

#[test]
fn the_webhook_type_follows_what_the_settings_can_patch() {
    for name in workspace::bundle().policies().unwrap() {
        let sources = PolicySources::load(&name).unwrap();
        let switch = webhook::Switch::for_policy(&name).unwrap();
        let recommended = serde_json::Value::Object(sources.pci.settings.clone());
        let deployed = instances(&name, recommended, Rollout::Protect);
        // Exactly one validating, audited instance named pci-<name>, and it is last.
        let validating = deployed.last().unwrap();
        assert_eq!(validating["metadata"]["name"], format!("pci-{name}"));
        assert_eq!(validating["spec"]["mutating"], false, "{name}");
        assert_eq!(validating["spec"]["backgroundAudit"], true, "{name}");
        for instance in &deployed {
            let settings = instance["spec"]["settings"].as_object().unwrap();
            let patches = switch.can_patch(settings).unwrap();
            assert_eq!(instance["spec"]["mutating"], patches, "{name}: {instance}");
            if patches {
                assert_eq!(instance["spec"]["backgroundAudit"], false, "{name}");
                assert_eq!(
                    instance["metadata"]["name"],
                    format!("pci-{name}{}", manifests::MUTATING_SUFFIX)
                );
            }
        }
        assert!(deployed.len() <= 2, "{name}");
    }
}

#[test]
fn settings_that_patch_deploy_a_mutating_instance_and_a_validating_twin() {
    let pod_security =
        serde_json::json!({"level": "restricted", "mutate": {"dropAllCapabilities": true}});
    let digest = serde_json::json!({"mode": "resolve"});
    let signatures = serde_json::json!({"rules": [{"images": ["registry.example.com/**"], "githubActions": {"owner": "example-org"}}]});
    for (name, settings, off) in [
        (
            "pod-security",
            pod_security,
            ("mutate", serde_json::Value::Null),
        ),
        (
            "image-digest",
            digest,
            ("mode", serde_json::json!("require")),
        ),
        // pinDigest is on unless set off.
        (
            "image-signatures",
            signatures,
            ("pinDigest", serde_json::json!(false)),
        ),
    ] {
        let deployed = instances(name, settings.clone(), Rollout::Protect);
        assert_eq!(deployed.len(), 2, "{name}");
        assert_eq!(deployed[0]["spec"]["mutating"], true);
        assert_eq!(
            deployed[0]["spec"]["settings"], settings,
            "{name}: the recommended settings"
        );
        assert_eq!(deployed[1]["spec"]["mutating"], false);
        let twin = &deployed[1]["spec"]["settings"];
        assert_eq!(twin[off.0], off.1, "{name}: {twin}");
        // Only the patch switch changed.
        for (key, value) in settings.as_object().unwrap() {
            if key != off.0 {
                assert_eq!(&twin[key], value, "{name}.{key}");
            }
        }
    }
}

#[test]
fn the_monitor_rollout_never_rejects_and_keeps_everything_else() {
    for name in workspace::bundle().policies().unwrap() {
        let sources = PolicySources::load(&name).unwrap();
        let settings = serde_json::Value::Object(sources.pci.settings.clone());
        let protect = instances(&name, settings.clone(), Rollout::Protect);
        let monitor = instances(&name, settings, Rollout::Monitor);
        assert_eq!(protect.len(), monitor.len());
        for (mut protect, monitor) in protect.into_iter().zip(monitor) {
            assert_eq!(protect["spec"]["mode"], "protect", "{name}");
            assert_eq!(protect["spec"]["failurePolicy"], "Fail", "{name}");
            assert_eq!(monitor["spec"]["mode"], "monitor", "{name}");
            assert_eq!(monitor["spec"]["failurePolicy"], "Ignore", "{name}");
            protect["spec"]["mode"] = "monitor".into();
            protect["spec"]["failurePolicy"] = "Ignore".into();
            assert_eq!(protect, monitor, "{name}");
        }
    }
}

#[test]
fn host_calling_policies_carry_explicit_timeouts() {
    for name in workspace::bundle().policies().unwrap() {
        let sources = PolicySources::load(&name).unwrap();
        let settings = serde_json::Value::Object(sources.pci.settings.clone());
        for instance in instances(&name, settings, Rollout::Protect) {
            let spec = &instance["spec"];
            let webhook = spec["timeoutSeconds"].as_u64().unwrap();
            assert!((2..=30).contains(&webhook), "{name}");
            match spec["timeoutEvalSeconds"].as_u64() {
                Some(eval) => {
                    assert!((2..10).contains(&eval), "{name}: {eval}");
                    assert!(webhook >= eval + 3, "{name}: {webhook} < {eval} + 3");
                }
                None => assert!(
                    !sources.calls_host(),
                    "{name} calls the host without timeoutEvalSeconds"
                ),
            }
        }
    }
}

#[test]
fn timeouts_are_checked_against_the_crd_and_the_audit_client() {
    let timeouts = |eval: Option<u32>, webhook: u32| policy::Timeouts {
        webhook_seconds: webhook,
        evaluation_seconds: eval,
        why: "because".into(),
    };
    let error = |t: policy::Timeouts, host: bool| t.check(host).unwrap_err().to_string();
    assert!(error(timeouts(None, 10), true).contains("evaluationSeconds is required"));
    assert!(timeouts(None, 10).check(false).is_ok());
    assert!(error(timeouts(Some(10), 15), true).contains("audit scanner"));
    assert!(error(timeouts(Some(8), 10), true).contains("at least evaluationSeconds + 3 (11)"));
    assert!(error(timeouts(Some(1), 10), true).contains("2–30"));
    assert!(error(timeouts(Some(8), 31), true).contains("2–30"));
    assert!(timeouts(Some(8), 11).check(true).is_ok());
    let mut silent = timeouts(Some(8), 12);
    silent.why = " ".into();
    assert!(error(silent, true).contains("timeouts.why"));
}

/// Every policy deployed with `timeoutEvalSeconds` declares a Kubewarden that honours it
/// (`minimumKubewardenVersion` ≥ 1.29), so an older policy-server refuses it loudly.
#[test]
fn policies_with_an_evaluation_timeout_require_a_kubewarden_that_honours_it() {
    let mut with_eval = 0;
    for name in workspace::bundle().policies().unwrap() {
        let sources = PolicySources::load(&name).unwrap();
        let settings = serde_json::Value::Object(sources.pci.settings.clone());
        let minimum = sources.metadata.minimum_kubewarden_version().unwrap();
        for instance in instances(&name, settings, Rollout::Protect) {
            if instance["spec"]["timeoutEvalSeconds"].as_u64().is_some() {
                with_eval += 1;
                let minimum = minimum.as_ref().unwrap_or_else(|| {
                    panic!("{name}: timeoutEvalSeconds without minimumKubewardenVersion")
                });
                assert!(
                    (minimum.major, minimum.minor) >= policy::TIMEOUT_EVAL_SECONDS_SINCE,
                    "{name}: minimumKubewardenVersion {minimum} predates timeoutEvalSeconds"
                );
            }
        }
    }
    assert!(with_eval >= 3, "{with_eval}");

    let timeouts = |eval: Option<u32>| policy::Timeouts {
        webhook_seconds: 12,
        evaluation_seconds: eval,
        why: "because".into(),
    };
    let metadata = |minimum: Option<&str>| {
        let mut metadata = PolicySources::load("image-digest").unwrap().metadata;
        metadata.minimum_kubewarden_version = minimum.map(str::to_owned);
        metadata
    };
    for (eval, minimum, accepted) in [
        (Some(8), Some("1.29.0"), true),
        (Some(8), Some("1.31.2"), true),
        (Some(8), None, false),
        (Some(8), Some("1.28.5"), false),
        (Some(8), Some("1.29"), false),
        (None, None, true),
        (None, Some("1.20.0"), true),
    ] {
        let result = timeouts(eval).check_kubewarden_version(&metadata(minimum));
        assert_eq!(result.is_ok(), accepted, "{eval:?} {minimum:?}: {result:?}");
        if let Err(error) = result {
            assert!(
                format!("{error:#}").contains("minimumKubewardenVersion"),
                "{error:#}"
            );
        }
    }
}

#[test]
fn manifest_fields_the_crd_does_not_know_are_rejected() {
    let sources = PolicySources::load("runtime-isolation").unwrap();
    let module = manifests::default_module(&sources).unwrap();
    let good = manifests::manifest(&sources, Rollout::Protect, &module, &placement()).unwrap();
    assert!(manifests::parse_strict(&good).is_ok());
    for (from, to, field) in [
        ("  mutating:", "  mutatin:", "mutatin"),
        ("  - apiGroups:", "  - apiGroupz:", "apiGroupz"),
        ("  name: pci-", "  nam: pci-", "nam"),
        (
            "    kind: Namespace",
            "    kind: Namespace\n    group: core",
            "group",
        ),
        (
            "kind: ClusterAdmissionPolicy\n",
            "kind: ClusterAdmissionPolicy\nstatuz: {}\n",
            "statuz",
        ),
    ] {
        assert!(good.contains(from), "{from}");
        let bad = good.replacen(from, to, 1);
        let error = format!("{:#}", manifests::parse_strict(&bad).unwrap_err());
        assert!(
            error.contains(&format!(".{field}"))
                || error.contains(&format!("`{field}`"))
                || error.ends_with(field),
            "{field}: {error}"
        );
    }
}

#[test]
fn deployment_fields_owned_by_the_metadata_are_refused() {
    let mut sources = PolicySources::load("image-digest").unwrap();
    sources
        .pci
        .deployment
        .insert("mutating".into(), serde_json::Value::Bool(false));
    let module = manifests::default_module(&sources).unwrap();
    let deploy = |sources: &PolicySources| {
        manifests::cluster_admission_policies(sources, Rollout::Protect, &module, &placement())
    };
    let error = deploy(&sources).unwrap_err();
    assert!(error.to_string().contains("mutating"), "{error}");
    let mut sources = PolicySources::load("image-digest").unwrap();
    sources
        .pci
        .deployment
        .insert("timeoutEvalSeconds".into(), serde_json::json!(20));
    let error = deploy(&sources).unwrap_err();
    assert!(error.to_string().contains("timeoutEvalSeconds"), "{error}");
    // Where a policy runs and what it spares is the bundle's (deploy/bundle.yml), never one
    // policy's: a pci.yml moving itself to the `default` PolicyServer is refused.
    for (field, value) in [
        ("policyServer", serde_json::json!("default")),
        ("namespaceSelector", serde_json::json!({})),
    ] {
        let mut sources = PolicySources::load("image-digest").unwrap();
        sources.pci.deployment.insert(field.into(), value);
        let error = deploy(&sources).unwrap_err();
        assert!(
            error.to_string().contains(&format!("must not set {field}")),
            "{error}"
        );
    }
    let mut sources = PolicySources::load("image-digest").unwrap();
    sources
        .pci
        .deployment
        .insert("mode".into(), serde_json::Value::String("watch".into()));
    assert!(deploy(&sources).is_err());
}
