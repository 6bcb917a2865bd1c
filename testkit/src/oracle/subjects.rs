//! What makes a workload hostile to each policy, the settings that forbid it, and the
//! violations the policy must then report: one [`Subject`] per policy of the bundle.

use serde_json::{Value, json};

use super::draft::{Draft, Expected, Image, Spot};
use super::draw::Draw;
use super::noise::{APPS, TAGS, TEAMS};
use super::world::{HIGH_RISK_NAMESPACE_LABEL, NAMESPACES, REGISTRY, SIGNED, SIGNER, UNSIGNED};

/// A policy the oracle knows how to attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    PodSecurity,
    TrustedRegistries,
    ImageDigest,
    ImageSignatures,
    RuntimeIsolation,
}

/// The hostile part of a case.
#[derive(Clone, Debug, Default)]
pub struct Hostility {
    /// The policy settings (without exceptions).
    pub settings: Value,
    /// What the policy must report, unless an exception covers it.
    pub expected: Vec<Expected>,
    /// runtime-isolation on CREATE with `defaultRuntimeClass`: instead of a violation, the
    /// class the policy must set at `runtimeClassName`.
    pub defaulted: Option<String>,
    /// A short name of the threat, for the coverage count.
    pub threats: Vec<&'static str>,
}

impl Subject {
    /// The subject of the policy named `name`, if the oracle knows it.
    pub fn of(name: &str) -> Option<Self> {
        Some(match name {
            "pod-security" => Self::PodSecurity,
            "trusted-registries" => Self::TrustedRegistries,
            "image-digest" => Self::ImageDigest,
            "image-signatures" => Self::ImageSignatures,
            "runtime-isolation" => Self::RuntimeIsolation,
            _ => return None,
        })
    }

    /// True when `kubectl debug` into a Pod makes the policy judge the whole Pod, as Pod
    /// Security Admission does (a change in the number of ephemeral containers is significant).
    pub fn judges_debugged_pods(self) -> bool {
        self == Self::PodSecurity
    }

    /// Makes `draft` hostile (it holds a clean hostile container and noise) and chooses the
    /// settings; `create` is false on an UPDATE.
    pub fn make_hostile(self, draw: &mut Draw<'_>, draft: &mut Draft, create: bool) -> Hostility {
        match self {
            Self::PodSecurity => pod_security(draw, draft),
            Self::TrustedRegistries => trusted_registries(draw, draft),
            Self::ImageDigest => image_digest(draw, draft),
            Self::ImageSignatures => image_signatures(draw, draft),
            Self::RuntimeIsolation => runtime_isolation(draw, draft, create),
        }
    }
}

fn in_hostile(draft: &Draft, suffix: &str) -> Spot {
    Spot::Container {
        name: draft.hostile.clone(),
        suffix: suffix.to_owned(),
    }
}

/// Privileged, host namespaces, a hostPath volume, an added capability: at least one.
fn pod_security(draw: &mut Draw<'_>, draft: &mut Draft) -> Hostility {
    let restricted = draw.chance(1, 2);
    let version = draw.pick(&[
        "latest", "latest", "v1.37", "v1.30", "v1.25", "v1.22", "v1.21", "v1.0",
    ]);
    let minor: u32 = version
        .strip_prefix("v1.")
        .map_or(u32::MAX, |minor| minor.parse().unwrap_or(0));
    let mut mutate = json!({});
    for default in [
        "dropAllCapabilities",
        "disallowPrivilegeEscalation",
        "seccompRuntimeDefault",
        "runAsNonRoot",
    ] {
        if draw.chance(1, 4) {
            mutate[default] = json!(true);
        }
    }
    let mut hostility = Hostility {
        settings: json!({"level": if restricted { "restricted" } else { "baseline" },
            "version": version, "mutate": mutate}),
        ..Hostility::default()
    };
    let mut chosen: Vec<usize> = (0..4).filter(|_| draw.chance(1, 2)).collect();
    if chosen.is_empty() {
        chosen.push(draw.range(0, 3));
    }
    for threat in chosen {
        match threat {
            0 => {
                draft.hostile_mut()["securityContext"]["privileged"] = json!(true);
                hostility.expected.push(Expected {
                    control: "privileged",
                    spot: in_hostile(draft, "securityContext.privileged"),
                });
                hostility.threats.push("privileged");
            }
            1 => {
                let field = draw.pick(&["hostPID", "hostPID", "hostNetwork", "hostIPC"]);
                draft.spec.insert(field.into(), json!(true));
                hostility.expected.push(Expected {
                    control: "hostNamespaces",
                    spot: Spot::Pod(field.to_owned()),
                });
                hostility.threats.push(field);
            }
            2 => {
                let path = draw.pick(&["/", "/", "//", "/etc", "/var/run/docker.sock", "/proc/"]);
                let name = "host-root".to_owned();
                let mut source = json!({"path": path});
                if draw.chance(1, 2) {
                    source["type"] = json!(draw.pick(&["Directory", "DirectoryOrCreate", ""]));
                }
                let index = draw.range(0, draft.volumes.len());
                draft
                    .volumes
                    .insert(index, json!({"name": name, "hostPath": source}));
                let mounts = &mut draft.hostile_mut()["volumeMounts"];
                if !mounts.is_array() {
                    *mounts = json!([]);
                }
                if let Some(mounts) = mounts.as_array_mut() {
                    mounts.push(json!({"name": name, "mountPath": "/host"}));
                }
                let spot = Spot::Volume {
                    name,
                    suffix: "hostPath".into(),
                };
                hostility.expected.push(Expected {
                    control: "hostPathVolumes",
                    spot: spot.clone(),
                });
                if restricted {
                    hostility.expected.push(Expected {
                        control: "restrictedVolumes",
                        spot,
                    });
                }
                hostility.threats.push("hostPath");
            }
            _ => {
                let capability = draw.pick(&[
                    "SYS_ADMIN",
                    "SYS_ADMIN",
                    "CAP_SYS_ADMIN",
                    "sys_admin",
                    "NET_ADMIN",
                    "SYS_PTRACE",
                    "ALL",
                ]);
                let allowed: &[&str] = if restricted {
                    &["NET_BIND_SERVICE"]
                } else {
                    &["NET_BIND_SERVICE", "CHOWN", "KILL"]
                };
                let mut added: Vec<&str> =
                    (0..draw.range(0, 2)).map(|_| draw.pick(allowed)).collect();
                let index = draw.range(0, added.len());
                added.insert(index, capability);
                draft.hostile_mut()["securityContext"]["capabilities"]["add"] = json!(added);
                let control = if restricted && minor >= 22 {
                    "capabilities_restricted"
                } else {
                    "capabilities_baseline"
                };
                hostility.expected.push(Expected {
                    control,
                    spot: in_hostile(draft, &format!("securityContext.capabilities.add[{index}]")),
                });
                hostility.threats.push("capability");
            }
        }
    }
    hostility
}

/// An image with a drawn tag (or none) and, if `pinned`, the digest of the trusted registry.
fn image(draw: &mut Draw<'_>, name: String, digest: Option<&str>) -> Image {
    Image {
        name,
        tag: draw.chance(2, 3).then(|| draw.pick(&TAGS).to_owned()),
        digest: digest.map(str::to_owned),
    }
}

/// The hostile container runs `image`, and the policy must report `control` on it.
fn hostile_image(
    draft: &mut Draft,
    image: Image,
    control: &'static str,
    threat: &'static str,
    settings: Value,
) -> Hostility {
    draft.set_hostile_image(image);
    Hostility {
        settings,
        expected: vec![Expected {
            control,
            spot: in_hostile(draft, "image"),
        }],
        defaulted: None,
        threats: vec![threat],
    }
}

/// An image outside the trusted registries (or in a denied part of one).
fn trusted_registries(draw: &mut Draw<'_>, draft: &mut Draft) -> Hostility {
    let mut registries = vec![REGISTRY.to_owned()];
    if draw.chance(1, 3) {
        registries.push("ghcr.io/corp".into());
    }
    let deny_legacy = draw.chance(1, 3);
    let settings = json!({
        "registries": {"allow": registries, "deny": if deny_legacy { json!([format!("{REGISTRY}/legacy")]) } else { json!([]) }},
        "images": {"allow": if draw.chance(1, 2) { json!(["docker.io/library/busybox:1.36"]) } else { json!([]) }},
        "tags": {"deny": if draw.chance(2, 3) { json!(["latest"]) } else { json!([]) }},
    });
    let (team, app) = (draw.pick(&TEAMS), draw.pick(&APPS));
    let mut names = vec![
        format!("evil.io/{app}"),
        app.to_owned(),
        format!("{REGISTRY}.evil.io/{team}/{app}"),
        format!("evil.io/{REGISTRY}/{app}"),
        format!("registry.corp.comx/{team}/{app}"),
        format!("ghcr.io/evil/{app}"),
        "docker.io/library/busybox".to_owned(),
    ];
    if deny_legacy {
        names.push(format!("{REGISTRY}/legacy/{app}"));
    }
    let name = draw.pick(&names);
    let digest = draw.chance(1, 3).then_some(SIGNED);
    let mut image = image(draw, name, digest);
    if image.name.ends_with("busybox") && image.tag.as_deref() == Some("1.36") {
        image.tag = None;
    }
    hostile_image(draft, image, "registries", "untrusted registry", settings)
}

/// An image not pinned by digest.
fn image_digest(draw: &mut Draw<'_>, draft: &mut Draft) -> Hostility {
    let mut settings = json!({"mode": "require",
        "checkTagMatchesDigest": draw.pick(&["off", "warn", "reject"])});
    if draw.chance(1, 2) {
        settings["allowedAlgorithms"] = json!(["sha256"]);
    }
    let (team, app) = (draw.pick(&TEAMS), draw.pick(&APPS));
    let name = draw.pick(&[
        format!("{REGISTRY}/{team}/{app}"),
        format!("{REGISTRY}/{team}/{app}"),
        app.to_owned(),
        format!("evil.io/{app}"),
    ]);
    let image = image(draw, name, None);
    hostile_image(draft, image, "digest", "unpinned image", settings)
}

/// An image whose digest no trusted key signed, whose host lies, or that no rule covers.
fn image_signatures(draw: &mut Draw<'_>, draft: &mut Draft) -> Hostility {
    let settings = json!({
        "rules": [{"images": [format!("{REGISTRY}/**")], "githubActions": {"owner": SIGNER}}],
        "unmatchedImages": "reject",
        "pinDigest": draw.chance(1, 2),
    });
    let (team, app) = (draw.pick(&TEAMS), draw.pick(&APPS));
    let (image, control, threat) = match draw.range(0, 3) {
        0 => (
            image(draw, format!("{REGISTRY}/unsigned/{app}"), None),
            "signature",
            "no signature",
        ),
        1 => (
            image(draw, format!("{REGISTRY}/{team}/{app}"), Some(UNSIGNED)),
            "signature",
            "unsigned digest",
        ),
        2 => (
            image(draw, format!("{REGISTRY}/liar/{app}"), None),
            "signature",
            "lying host",
        ),
        _ => {
            let name = draw.pick(&[
                format!("evil.io/{app}"),
                app.to_owned(),
                format!("{REGISTRY}.evil.io/{team}/{app}"),
            ]);
            (image(draw, name, None), "unmatched", "no rule")
        }
    };
    hostile_image(draft, image, control, threat, settings)
}

/// A high-risk workload (by namespace, pod labels, or all) that names no sandboxed class.
fn runtime_isolation(draw: &mut Draw<'_>, draft: &mut Draft, create: bool) -> Hostility {
    let (label, value) = HIGH_RISK_NAMESPACE_LABEL;
    let high_risk_namespaces: Vec<&str> = NAMESPACES
        .iter()
        .filter(|(_, labels)| labels.contains(&(label, value)))
        .map(|(name, _)| *name)
        .collect();
    let by_namespace = json!({"namespaceSelector": {"matchLabels": {label: value}}});
    let by_labels = json!({"podSelector": {"matchLabels": {"tier": "cde"}}});
    let high_risk = match draw.range(0, 3) {
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
    };
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
    let mut classes = vec![None, Some("runc"), Some("runc-fast"), Some("GVISOR")];
    if verify {
        classes.push(Some("sandboxed"));
    }
    // The Fargate scheduler named, but the pod bound to an EC2 node by `nodeName`: no scheduler
    // runs, so the placement does not hold. (`runc` where a default class could be set, so the
    // oracle asks for the rejection only.)
    let bound = fargate && draw.chance(1, 2);
    let class = if bound {
        draft
            .spec
            .insert("schedulerName".into(), json!("fargate-scheduler"));
        draft
            .spec
            .insert("nodeName".into(), json!("ip-10-0-1-17.ec2.internal"));
        if default.is_some() && create {
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
    let mut hostility = Hostility {
        settings,
        ..Hostility::default()
    };
    let control = match (class, default) {
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
    hostility.expected.push(Expected {
        control,
        spot: Spot::Pod("runtimeClassName".into()),
    });
    hostility
}
