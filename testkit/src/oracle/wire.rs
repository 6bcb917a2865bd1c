//! The admission request of a case as the host sends it: the workload in its kind, the UPDATE's
//! old object, fields the policies do not know sprinkled at every level, and the JSON text
//! written with its keys in a drawn order.

use serde_json::{Map, Value, json};

use crate::{admission_request, workload_object};

use super::draft::{Draft, Image};
use super::draw::Draw;

/// How an UPDATE's old object differs, so that the request is judged in full (or, for
/// `kubectl debug`, the added container is).
#[derive(Clone, Debug)]
pub enum Change {
    /// The old object lacks the hostile container.
    HostileAdded,
    /// The hostile container ran another image.
    HostileImage(Image),
    /// A container's environment changed (controllers: a new template).
    Env,
    /// The pod template's labels changed (controllers).
    TemplateLabel,
    /// `kubectl debug`: the hostile ephemeral container is added through the
    /// `ephemeralcontainers` subresource.
    Debug,
    /// `kubectl debug` into the hostile Pod: the named clean ephemeral container is added
    /// through the subresource. Pod Security Admission then judges the whole Pod.
    DebugInto(String),
}

/// Keys whose values are maps of user data or volume sources, where an unknown key is not
/// "a field the policy does not know" but data it reads.
const DATA_MAPS: [&str; 8] = [
    "labels",
    "annotations",
    "nodeSelector",
    "matchLabels",
    "limits",
    "requests",
    "volumes",
    "data",
];

/// The admission request for `draft`: a CREATE, or an UPDATE from the old object `change`
/// describes.
pub fn request(draw: &mut Draw<'_>, draft: &Draft, change: Option<&Change>) -> Value {
    let name = draw.label(20);
    let operation = if change.is_some() { "UPDATE" } else { "CREATE" };
    let mut request = admission_request(draft.kind, operation, object(draw, draft, &name));
    request["namespace"] = json!(draft.namespace);
    request["userInfo"] = json!({
        "username": draw.pick(&["alice", "system:serviceaccount:kube-system:replicaset-controller", "system:admin"]),
        "groups": draw.pick(&[json!(["system:authenticated"]), json!(["system:masters", "system:authenticated"])]),
    });
    request["dryRun"] = json!(draw.chance(1, 5));
    if let Some(change) = change {
        let mut old = draft.clone();
        match change {
            Change::HostileAdded | Change::Debug => old = draft.without(&draft.hostile),
            Change::DebugInto(debugger) => old = draft.without(debugger),
            Change::HostileImage(image) => old.set_hostile_image(image.clone()),
            Change::Env => {
                if let Some((container, _)) = old.lists.iter_mut().flatten().next() {
                    container["env"] = json!([{"name": "ROLLOUT", "value": "previous"}]);
                }
            }
            Change::TemplateLabel => {
                old.labels.insert("rollout".into(), json!("previous"));
            }
        }
        request["oldObject"] = object(draw, &old, &name);
        if matches!(change, Change::Debug | Change::DebugInto(_)) {
            request["subResource"] = json!("ephemeralcontainers");
        }
    }
    sprinkle(draw, &mut request, "", 0);
    request
}

/// The workload object: the pod in its kind, with an author-written `metadata.namespace` that
/// need not be the request's.
fn object(draw: &mut Draw<'_>, draft: &Draft, name: &str) -> Value {
    let mut object = workload_object(draft.kind, name, draft.pod_metadata(), draft.pod_spec());
    let metadata = &mut object["metadata"];
    match draw.range(0, 3) {
        0 => {
            if let Some(metadata) = metadata.as_object_mut() {
                metadata.remove("namespace");
            }
        }
        1 => metadata["namespace"] = json!(draw.pick(&["kube-system", "default", "payments"])),
        _ => metadata["namespace"] = json!(draft.namespace),
    }
    object
}

/// Adds fields no policy knows (`x-…`) to objects at every level, except inside data maps.
fn sprinkle(draw: &mut Draw<'_>, value: &mut Value, key: &str, depth: usize) {
    if DATA_MAPS.contains(&key) || depth > 12 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (child_key, child) in map.iter_mut() {
                sprinkle(draw, child, child_key, depth + 1);
            }
            if draw.chance(1, 6) {
                let unknown = format!("x-{}", draw.label(8));
                let value = match draw.range(0, 4) {
                    0 => json!(null),
                    1 => json!(draw.range(0, 1 << 20)),
                    2 => json!(draw.label(12)),
                    3 => json!({"privileged": true, "hostPID": true, "image": "evil.io/x"}),
                    _ => json!([true, "SYS_ADMIN", {"path": "/"}]),
                };
                map.insert(unknown, value);
            }
        }
        Value::Array(items) => {
            for item in items {
                sprinkle(draw, item, key, depth + 1);
            }
        }
        _ => {}
    }
}

/// `value` as JSON text, each object's keys in a drawn order.
pub fn shuffled_text(draw: &mut Draw<'_>, value: &Value) -> String {
    let mut text = String::new();
    write(draw, value, &mut text);
    text
}

fn write(draw: &mut Draw<'_>, value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            draw.shuffle(&mut entries);
            out.push('{');
            for (index, (key, child)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write(draw, child, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write(draw, item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The `validate` payload: the request and the settings, keys in a drawn order.
pub fn payload(draw: &mut Draw<'_>, request: &Value, settings: &Value) -> String {
    let mut payload = Map::new();
    payload.insert("request".into(), request.clone());
    payload.insert("settings".into(), settings.clone());
    shuffled_text(draw, &Value::Object(payload))
}
