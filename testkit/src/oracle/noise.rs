//! Benign noise: clean containers, images, volumes, labels, annotations and pod-level fields
//! that no policy of the bundle may object to under the oracle's settings. A violation naming a
//! clean container is a false positive the oracle reports.

use serde_json::{Map, Value, json};

use super::draft::Image;
use super::draw::Draw;
use super::world::{REGISTRY, SIGNED};

/// Container names, some of them what exceptions in real clusters name.
const NAMES: [&str; 10] = [
    "app",
    "kube-proxy",
    "istio-proxy",
    "debugger",
    "sidecar",
    "init-db",
    "metrics",
    "web",
    "worker",
    "agent",
];

/// Teams and applications of the trusted registry's repositories.
pub const TEAMS: [&str; 4] = ["team", "payments", "web", "tools"];
pub const APPS: [&str; 5] = ["api", "web", "worker", "cache", "proxy"];
/// Tags clean images may carry (never `latest`, which the registry policy refuses).
pub const TAGS: [&str; 5] = ["1.0", "1.25.3", "v2", "2024-06-01", "stable"];

/// A container name not yet in `taken`.
pub fn container_name(draw: &mut Draw<'_>, taken: &[String]) -> String {
    let name = if draw.chance(2, 3) {
        draw.pick(&NAMES).to_owned()
    } else {
        draw.label(12)
    };
    let mut unique = name.clone();
    let mut suffix = 1;
    while taken.contains(&unique) {
        unique = format!("{name}-{suffix}");
        suffix += 1;
    }
    unique
}

/// An image every policy accepts: the trusted registry, signed, pinned by digest (with or
/// without a tag that points to that digest).
pub fn clean_image(draw: &mut Draw<'_>) -> Image {
    Image {
        name: format!("{REGISTRY}/{}/{}", draw.pick(&TEAMS), draw.pick(&APPS)),
        tag: draw.chance(1, 2).then(|| draw.pick(&TAGS).to_owned()),
        digest: Some(SIGNED.to_owned()),
    }
}

/// A container that passes the restricted level: every field the standard reads set to what
/// it allows, the rest random.
pub fn clean_container(draw: &mut Draw<'_>, name: &str, image: &Image, volumes: &[Value]) -> Value {
    let mut security = Map::new();
    security.insert("allowPrivilegeEscalation".into(), json!(false));
    security.insert("runAsNonRoot".into(), json!(true));
    let mut capabilities = json!({"drop": ["ALL"]});
    if draw.chance(1, 4) {
        capabilities["add"] = json!(["NET_BIND_SERVICE"]);
    }
    security.insert("capabilities".into(), capabilities);
    security.insert("seccompProfile".into(), json!({"type": "RuntimeDefault"}));
    if draw.chance(1, 2) {
        security.insert("runAsUser".into(), json!(draw.range(1000, 65_000)));
    }
    if draw.chance(1, 3) {
        security.insert("readOnlyRootFilesystem".into(), json!(draw.chance(1, 2)));
    }
    if draw.chance(1, 4) {
        security.insert("privileged".into(), json!(false));
    }
    let mut container = Map::new();
    container.insert("name".into(), json!(name));
    container.insert("image".into(), json!(image.text()));
    container.insert("securityContext".into(), Value::Object(security));
    if draw.chance(1, 2) {
        container.insert("env".into(), env(draw));
    }
    if draw.chance(1, 2) {
        let port = draw.range(1025, 9000);
        container.insert(
            "ports".into(),
            json!([{"containerPort": port, "protocol": draw.pick(&["TCP", "UDP"]), "name": "port"}]),
        );
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if draw.chance(1, 3) {
            container.insert(probe.into(), self::probe(draw));
        }
    }
    if draw.chance(1, 3) {
        container.insert(
            "resources".into(),
            json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m"}}),
        );
    }
    if draw.chance(1, 3) {
        container.insert("command".into(), json!(["/bin/app", "--serve"]));
        container.insert("args".into(), json!(["--port", "8080"]));
    }
    if draw.chance(1, 4) {
        container.insert(
            "imagePullPolicy".into(),
            json!(draw.pick(&["Always", "IfNotPresent"])),
        );
    }
    let mut mounts = Vec::new();
    for volume in volumes {
        if draw.chance(1, 2) {
            let name = volume["name"].as_str().unwrap_or("volume");
            mounts.push(json!({"name": name, "mountPath": format!("/mnt/{name}"), "readOnly": draw.chance(1, 2)}));
        }
    }
    if !mounts.is_empty() {
        container.insert("volumeMounts".into(), Value::Array(mounts));
    }
    Value::Object(container)
}

fn env(draw: &mut Draw<'_>) -> Value {
    let count = draw.range(1, 3);
    let vars: Vec<Value> = (0..count)
        .map(|index| match draw.range(0, 2) {
            0 => json!({"name": format!("VAR_{index}"), "value": draw.label(8)}),
            1 => json!({"name": format!("SECRET_{index}"), "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}),
            _ => json!({"name": format!("POD_{index}"), "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
        })
        .collect();
    Value::Array(vars)
}

/// A probe that targets the pod itself (never another host).
fn probe(draw: &mut Draw<'_>) -> Value {
    match draw.range(0, 2) {
        0 => json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}),
        1 => json!({"tcpSocket": {"port": 8080}}),
        _ => json!({"exec": {"command": ["cat", "/tmp/ready"]}}),
    }
}

/// Volumes of the types the restricted level allows.
pub fn volumes(draw: &mut Draw<'_>) -> Vec<Value> {
    let count = draw.range(0, 3);
    (0..count)
        .map(|index| {
            let name = format!("vol-{index}");
            match draw.range(0, 5) {
                0 => json!({"name": name, "emptyDir": {}}),
                1 => json!({"name": name, "configMap": {"name": "settings"}}),
                2 => json!({"name": name, "secret": {"secretName": "creds"}}),
                3 => json!({"name": name, "persistentVolumeClaim": {"claimName": "data"}}),
                4 => json!({"name": name, "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}),
                _ => json!({"name": name, "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}),
            }
        })
        .collect()
}

/// Labels or annotations that mean nothing to any policy.
pub fn string_map(draw: &mut Draw<'_>, prefix: &str) -> Map<String, Value> {
    let count = draw.range(0, 4);
    (0..count)
        .map(|index| {
            let key = match draw.range(0, 2) {
                0 => "app".to_owned(),
                1 => format!("{prefix}/k{index}"),
                _ => draw.label(10),
            };
            (key, json!(draw.label(10)))
        })
        .collect()
}

/// Pod-level fields a restricted pod may carry: explicit `false` for the host namespaces, a
/// compliant pod securityContext, scheduling and service-account fields.
pub fn pod_fields(draw: &mut Draw<'_>) -> Map<String, Value> {
    let mut spec = Map::new();
    if draw.chance(1, 2) {
        let mut security =
            json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
        if draw.chance(1, 2) {
            security["runAsUser"] = json!(draw.range(1000, 65_000));
            security["runAsGroup"] = json!(draw.range(1000, 65_000));
            security["fsGroup"] = json!(draw.range(1000, 65_000));
        }
        if draw.chance(1, 3) {
            security["sysctls"] =
                json!([{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}]);
        }
        spec.insert("securityContext".into(), security);
    }
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if draw.chance(1, 4) {
            spec.insert(field.into(), json!(false));
        }
    }
    let optional: [(&str, Value); 9] = [
        ("serviceAccountName", json!(draw.label(10))),
        ("nodeSelector", json!({"disktype": "ssd"})),
        (
            "tolerations",
            json!([{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]),
        ),
        (
            "restartPolicy",
            json!(draw.pick(&["Always", "OnFailure", "Never"])),
        ),
        ("terminationGracePeriodSeconds", json!(draw.range(0, 60))),
        ("dnsPolicy", json!("ClusterFirst")),
        (
            "schedulerName",
            json!(draw.pick(&["default-scheduler", "batch-scheduler"])),
        ),
        ("nodeName", json!(format!("node-{}", draw.range(1, 9)))),
        ("automountServiceAccountToken", json!(draw.chance(1, 2))),
    ];
    for (field, value) in optional {
        if draw.chance(1, 3) {
            spec.insert(field.into(), value);
        }
    }
    spec
}
