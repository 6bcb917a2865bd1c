//! runtime-isolation: a high-risk workload (by namespace, pod labels, or all) without a
//! sandboxed runtime class, with a look-alike class, or claiming a serverless placement it
//! bypasses with `nodeName`.

use serde_json::{Value, json};

use super::Hostility;
use crate::oracle::draft::{Draft, Spot};
use crate::oracle::draw::Draw;
use crate::oracle::world::{HIGH_RISK_NAMESPACE_LABEL, NAMESPACES};

/// A high-risk workload (by namespace, pod labels, or all) that names no sandboxed class.
pub fn hostility(draw: &mut Draw<'_>, draft: &mut Draft, create: bool) -> Hostility {
    let high_risk = high_risk(draw, draft);
    let drawn = settings(draw, high_risk);
    let (class, bound) = runtime_class(draw, draft, &drawn, create);
    let mut hostility = Hostility {
        settings: drawn.settings,
        ..Hostility::default()
    };
    let control = match (class, drawn.default) {
        (None, Some(default)) if create => {
            hostility.defaulted = Some(default.to_owned());
            hostility.threats.push("defaulted");
            return hostility;
        }
        (None, _) => "runtimeClass",
        (Some("sandboxed"), _) => "runtimeHandler",
        (Some(_), _) => "runtimeClass",
    };
    if bound {
        hostility.threats.push("fargate-scheduler and nodeName");
    }
    hostility.threats.push(class.unwrap_or("no class"));
    hostility.expect(control, Spot::Pod("runtimeClassName".into()));
    hostility
}

/// The drawn `highRisk` setting (all, by namespace, by pod labels, or both), the workload put
/// where it selects it.
fn high_risk(draw: &mut Draw<'_>, draft: &mut Draft) -> Value {
    let (label, value) = HIGH_RISK_NAMESPACE_LABEL;
    let high_risk_namespaces: Vec<&str> = NAMESPACES
        .iter()
        .filter(|(_, labels)| labels.contains(&(label, value)))
        .map(|(name, _)| *name)
        .collect();
    let by_namespace = json!({"namespaceSelector": {"matchLabels": {label: value}}});
    let by_labels = json!({"podSelector": {"matchLabels": {"tier": "cde"}}});
    match draw.range(0, 3) {
        0 => json!("all"),
        1 => {
            draft.namespace = draw.pick(&high_risk_namespaces).to_owned();
            by_namespace
        }
        2 => {
            draft.labels.insert("tier".into(), json!("cde"));
            by_labels
        }
        _ => {
            if draw.chance(1, 2) {
                draft.namespace = draw.pick(&high_risk_namespaces).to_owned();
            } else {
                draft.labels.insert("tier".into(), json!("cde"));
            }
            json!({"namespaceSelector": by_namespace["namespaceSelector"], "podSelector": by_labels["podSelector"]})
        }
    }
}

/// The drawn settings, and the draws the workload's class depends on.
struct Drawn {
    settings: Value,
    /// Handlers are verified (a `sandboxed` class is allowed, its handler checked).
    verify: bool,
    /// The default class, if any.
    default: Option<&'static str>,
    /// An EKS Fargate placement is isolated.
    fargate: bool,
}

/// The settings around `high_risk`: allowed classes, handler verification, a default class
/// and the Fargate placement, each drawn.
fn settings(draw: &mut Draw<'_>, high_risk: Value) -> Drawn {
    let verify = draw.chance(1, 2);
    let mut allowed = vec!["gvisor", "kata"];
    let mut settings = json!({"highRisk": high_risk});
    if verify {
        allowed.push("sandboxed");
        settings["verifyHandlers"] = json!({"allowed": ["runsc", "kata-*"]});
    }
    settings["allowedRuntimeClasses"] = json!(allowed);
    let default = draw.chance(1, 2).then_some("gvisor");
    if let Some(default) = default {
        settings["defaultRuntimeClass"] = json!(default);
    }
    let fargate = draw.chance(1, 3);
    if fargate {
        settings["isolatedPlacements"] = json!([{"preset": "eksFargate"}]);
    }
    Drawn {
        settings,
        verify,
        default,
        fargate,
    }
}

/// The workload's runtime class (none, or one that is not sandboxed), and whether it is bound
/// to a node past the Fargate scheduler.
fn runtime_class(
    draw: &mut Draw<'_>,
    draft: &mut Draft,
    drawn: &Drawn,
    create: bool,
) -> (Option<&'static str>, bool) {
    let mut classes = vec![None, Some("runc"), Some("runc-fast"), Some("GVISOR")];
    if drawn.verify {
        classes.push(Some("sandboxed"));
    }
    // The Fargate scheduler named, but the pod bound to an EC2 node by `nodeName`: no scheduler
    // runs, so the placement does not hold. (`runc` where a default class could be set, so the
    // oracle asks for the rejection only.)
    let bound = drawn.fargate && draw.chance(1, 2);
    let class = if bound {
        draft
            .spec
            .insert("schedulerName".into(), json!("fargate-scheduler"));
        draft
            .spec
            .insert("nodeName".into(), json!("ip-10-0-1-17.ec2.internal"));
        if drawn.default.is_some() && create {
            Some("runc")
        } else {
            draw.pick(&[None, Some("runc")])
        }
    } else {
        draw.pick(&classes)
    };
    if let Some(class) = class {
        draft.spec.insert("runtimeClassName".into(), json!(class));
    }
    (class, bound)
}
