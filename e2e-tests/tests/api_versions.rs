//! Every policy through its compiled wasm, on the older groups and versions Kubernetes served the
//! workload kinds in (`extensions/v1beta1` Deployment, `apps/v1beta2` DaemonSet, `batch/v1beta1`
//! CronJob…): the verdict of the current form, never an admission unread; a version that never
//! served the kind, or an object that is not what the request says, is refused as unreadable.

use e2e::policies;
use pci_host::examples::Example;
use pci_shared::workload::WorkloadKind;
use pci_testkit::workload_object;
use serde_json::{Value, json};

/// `example` sent as `api_version` (`group/version`, or `version` for the core group): the
/// request's kinds and resources and the objects' `apiVersion`, as the API server sends a
/// request for that version.
fn resent_as(example: &Example, api_version: &str) -> Example {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let mut resent = example.clone();
    let request = &mut resent.request;
    for key in ["kind", "requestKind", "resource", "requestResource"] {
        if request[key].is_object() {
            request[key]["group"] = json!(group);
            request[key]["version"] = json!(version);
        }
    }
    for key in ["object", "oldObject"] {
        if request[key].is_object() {
            request[key]["apiVersion"] = json!(api_version);
        }
    }
    resent
}

/// The examples of `policy` whose request admits a workload kind, with that kind.
fn workload_examples(policy: &str) -> Vec<(Example, WorkloadKind)> {
    pci_host::examples::load(&e2e::bundle().examples_dir(policy))
        .expect("examples")
        .into_iter()
        .filter_map(|example| {
            let name = example.request["kind"]["kind"]
                .as_str()
                .map(str::to_owned)?;
            let kind = WorkloadKind::ALL
                .into_iter()
                .find(|kind| kind.name() == name)?;
            Some((example, kind))
        })
        .collect()
}

/// The Pod of a CREATE example that asks the host nothing, carried by `kind` in its current
/// form (its pod template: the Pod's metadata and spec), so that every policy's Pod examples
/// also run in the older forms of the controllers.
fn pod_as(example: &Example, kind: WorkloadKind) -> Option<Example> {
    let request = &example.request;
    let plain_create = request["operation"] == "CREATE"
        && request["subResource"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        && example.session.is_none();
    if request["kind"]["kind"] != "Pod" || !plain_create {
        return None;
    }
    let pod = &request["object"];
    let name = pod["metadata"]["name"].as_str().unwrap_or("pod");
    let mut object = workload_object(kind, name, pod["metadata"].clone(), pod["spec"].clone());
    object["metadata"]["namespace"] = request["namespace"].clone();
    let mut carried = example.clone();
    carried.name = format!("{} as a {}", example.name, kind.name());
    let current = kind.api_versions()[0];
    let (group, version) = current.rsplit_once('/').unwrap_or(("", current));
    for key in ["kind", "requestKind"] {
        carried.request[key] = json!({"group": group, "version": version, "kind": kind.name()});
    }
    for key in ["resource", "requestResource"] {
        carried.request[key] =
            json!({"group": group, "version": version, "resource": kind.resource()});
    }
    carried.request["object"] = object;
    Some(carried)
}

/// Every workload example of `policy` in its current form, with the Pod examples also carried
/// by each controller kind that has older forms.
fn current_forms(policy: &str) -> Vec<(Example, WorkloadKind)> {
    let mut forms = Vec::new();
    for (example, kind) in workload_examples(policy) {
        for controller in WorkloadKind::ALL {
            if controller.api_versions().len() > 1
                && let Some(carried) = pod_as(&example, controller)
            {
                forms.push((carried, controller));
            }
        }
        forms.push((example, kind));
    }
    forms
}

#[test]
fn every_example_in_every_older_form_of_its_kind_gets_the_verdict_of_its_current_form() {
    let mut compared = Vec::new();
    for policy in policies() {
        let compiled = e2e::policy(&policy);
        for (example, kind) in current_forms(&policy) {
            let current = example.run(&compiled).expect("current form");
            for api_version in &kind.api_versions()[1..] {
                let older = resent_as(&example, api_version)
                    .run(&compiled)
                    .expect("older form");
                let name = format!("{policy}/{} as {api_version}", example.name);
                assert_eq!(
                    older.allowed,
                    current.allowed,
                    "{name}: {}",
                    older.message()
                );
                assert_eq!(older.message(), current.message(), "{name}");
                assert_eq!(older.patch, current.patch, "{name}");
                assert_eq!(older.warnings, current.warnings, "{name}");
                compared.push((policy.clone(), current.allowed));
            }
        }
    }
    // Every policy has a rejected workload in an older form: an admission unread would show.
    for policy in policies() {
        assert!(
            compared.iter().any(|(p, allowed)| *p == policy && !allowed),
            "{policy}: no rejected example was sent in an older form"
        );
    }
}

#[test]
fn every_policy_refuses_a_workload_in_a_version_that_never_served_its_kind() {
    for policy in policies() {
        let compiled = e2e::policy(&policy);
        for (example, kind) in workload_examples(&policy) {
            let group = kind.group();
            let never = match group {
                "" => "v2".to_owned(),
                group => format!("{group}/v2"),
            };
            let response = resent_as(&example, &never)
                .run(&compiled)
                .expect("unreadable form");
            let name = format!("{policy}/{} as {never}", example.name);
            assert!(!response.allowed, "{name}");
            let message = response.message();
            assert!(
                message.contains(&format!(
                    "invalid request: request.kind: {} in apiVersion \"{never}\" (group \"{group}\", version \"v2\") cannot be read",
                    kind.name()
                )),
                "{name}: {message}"
            );
            assert_eq!(
                response.status.as_ref().and_then(|status| status.code),
                Some(400),
                "{name}"
            );
        }
    }
}

#[test]
fn every_policy_refuses_an_object_that_is_not_what_the_request_says() {
    for policy in policies() {
        let compiled = e2e::policy(&policy);
        for (example, kind) in workload_examples(&policy) {
            let mut mismatched = example.clone();
            let stated = match kind {
                WorkloadKind::Pod => "PodTemplate",
                _ => "Pod",
            };
            mismatched.request["object"]["kind"] = Value::from(stated);
            let response = mismatched.run(&compiled).expect("mismatched object");
            let name = format!("{policy}/{}", example.name);
            assert!(!response.allowed, "{name}");
            assert!(
                response.message().contains(&format!(
                    "invalid object: kind: \"{stated}\" is not the kind request.kind names"
                )),
                "{name}: {}",
                response.message()
            );
        }
    }
}
