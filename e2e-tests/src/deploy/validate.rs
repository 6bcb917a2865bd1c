//! One object checked on its own, as the API server (and, for Kubewarden kinds, the
//! controller's webhook) would check it: a Kubewarden kind against the schema of its version in
//! every vendored Kubewarden release, a core kind with its Kubernetes type, any other kind
//! refused; `metadata` as ObjectMeta; no `status` (the API server ignores it on create).

use std::collections::BTreeMap;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::policies::KUBEWARDEN_GROUP;
use crate::deploy::controller_rules::controller_violations;
use crate::deploy::core_kinds::{core_kind, known_core_kinds};
use crate::deploy::crds::{CrdCatalog, Lookup};
use crate::deploy::findings::{Finding, Violation};
use crate::deploy::metadata::{Scope, metadata_violations};
use crate::deploy::object::Object;

/// Everything wrong with `object` on its own.
pub fn object_findings(object: &Object, crds: &[CrdCatalog]) -> Vec<Finding> {
    let label = object.label();
    let mut violations = Vec::new();
    for field in ["apiVersion", "kind"] {
        if object.str_at(&format!("/{field}")).is_empty() {
            violations.push(Violation::new(
                FieldPath::root().field(field),
                "required, missing",
            ));
        }
    }
    if object.value.get("status").is_some() {
        violations.push(Violation::new(
            FieldPath::root().field("status"),
            "the API server ignores status on create: a manifest does not state it",
        ));
    }
    let group = object
        .api_version()
        .split_once('/')
        .map_or("", |(group, _)| group);
    if group == KUBEWARDEN_GROUP || crds.iter().any(|catalog| catalog.has_group(group)) {
        violations.extend(kubewarden_violations(object, crds));
        violations.extend(controller_violations(object));
    } else if let Some(core) = core_kind(object.api_version(), object.kind()) {
        violations.extend(core.violations(&object.value));
        if let Some(metadata) = object.value.get("metadata") {
            violations.extend(metadata_violations(
                metadata,
                &FieldPath::root().field("metadata"),
                core.scope,
            ));
        }
    } else if is_prometheus_operator_kind(object.api_version(), object.kind()) {
        // The optional monitoring components: their content is checked by xtask's tests
        // (promtool, the metric names policy-server exports); here, their metadata.
        if let Some(metadata) = object.value.get("metadata") {
            violations.extend(metadata_violations(
                metadata,
                &FieldPath::root().field("metadata"),
                Scope::Namespaced,
            ));
        }
    } else if !object.kind().is_empty() {
        violations.push(Violation::new(
            FieldPath::root(),
            format!(
                "{} {} is a kind this check does not know: the bundle ships Kubewarden kinds and {}",
                object.api_version(),
                object.kind(),
                known_core_kinds().join(", ")
            ),
        ));
    }
    let mut findings: Vec<Finding> = violations
        .into_iter()
        .map(|violation| violation.of(&label))
        .collect();
    findings.sort();
    findings.dedup();
    findings
}

/// The object against the CRD of each Kubewarden version: a violation found in some versions
/// only says which.
fn kubewarden_violations(object: &Object, crds: &[CrdCatalog]) -> Vec<Violation> {
    let mut found: BTreeMap<(FieldPath, String), Vec<&str>> = BTreeMap::new();
    for catalog in crds {
        for violation in against(object, catalog) {
            found
                .entry((violation.path, violation.message))
                .or_default()
                .push(&catalog.version);
        }
    }
    found
        .into_iter()
        .map(|((path, message), versions)| {
            if versions.len() == crds.len() {
                Violation::new(path, message)
            } else {
                Violation::new(
                    path,
                    format!("{message} (Kubewarden {})", versions.join(", ")),
                )
            }
        })
        .collect()
}

/// The object against one Kubewarden version's CRD.
fn against(object: &Object, catalog: &CrdCatalog) -> Vec<Violation> {
    match catalog.lookup(object.api_version(), object.kind()) {
        Lookup::Unknown => vec![Violation::new(
            FieldPath::root(),
            format!(
                "{} {} is not a Kubewarden kind",
                object.api_version(),
                object.kind()
            ),
        )],
        Lookup::NotServed(served) => vec![Violation::new(
            FieldPath::root().field("apiVersion"),
            format!(
                "{} is not served (served: {})",
                object.api_version(),
                served.join(", ")
            ),
        )],
        Lookup::Served(crd, version) => {
            let mut violations = Vec::new();
            if version.deprecated {
                violations.push(Violation::new(
                    FieldPath::root().field("apiVersion"),
                    format!(
                        "{} is deprecated: use the storage version",
                        object.api_version()
                    ),
                ));
            }
            // metadata is ObjectMeta whatever the schema says; status is reported above.
            let mut body = object.value.clone();
            if let Some(fields) = body.as_object_mut() {
                fields.remove("metadata");
                fields.remove("status");
            }
            violations.extend(
                version
                    .schema
                    .open_api_v3_schema
                    .violations(&body, &FieldPath::root()),
            );
            match object.value.get("metadata") {
                Some(metadata) => violations.extend(metadata_violations(
                    metadata,
                    &FieldPath::root().field("metadata"),
                    crd.scope,
                )),
                None => violations.push(Violation::new(
                    FieldPath::parse_static("metadata.name"),
                    "required, missing",
                )),
            }
            violations
        }
    }
}

/// The Prometheus Operator kinds `deploy/components/monitoring` and `service-monitor` ship.
fn is_prometheus_operator_kind(api_version: &str, kind: &str) -> bool {
    api_version == "monitoring.coreos.com/v1" && matches!(kind, "PrometheusRule" | "ServiceMonitor")
}
