//! The cluster and registry the oracle's requests are judged in, answered at the waPC boundary
//! ([`answer`], installed with `pci_shared::native_stubs::script_host_calls`), so each policy
//! runs natively exactly the code it runs in wasm, host calls included.
//!
//! - Registry `registry.corp.com`: every tag points to [`SIGNED`], except the repositories
//!   under `…/unsigned/` and `…/liar/`, whose tags point to [`UNSIGNED`]. Other registries know
//!   no image.
//! - Signatures: [`SIGNED`] is signed by the GitHub Actions owner [`SIGNER`]; nothing else is.
//!   For `…/unsigned/` the host says "no signatures found"; for another digest it answers
//!   "not trusted"; for `…/liar/` it claims [`SIGNED`] was verified, whatever was asked.
//! - Namespaces ([`NAMESPACES`]) with their labels; RuntimeClasses ([`RUNTIME_CLASSES`]) with
//!   their handlers (`sandboxed` looks like a sandbox and runs `runc`).

use pci_shared::native_stubs::HostCall;
use serde_json::{Value, json};

/// The trusted registry.
pub const REGISTRY: &str = "registry.corp.com";
/// The digest every tag of the trusted registry points to, and the only signed one.
pub const SIGNED: &str = "sha256:5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";
/// The digest of the unsigned images.
pub const UNSIGNED: &str =
    "sha256:badc0ffebadc0ffebadc0ffebadc0ffebadc0ffebadc0ffebadc0ffebadc0ffe";
/// The GitHub Actions owner whose workflows signed [`SIGNED`].
pub const SIGNER: &str = "corp";

/// The namespaces of the cluster and their labels.
pub const NAMESPACES: [(&str, &[(&str, &str)]); 5] = [
    ("payments", &[("pci", "cde")]),
    ("cardholder", &[("pci", "cde"), ("team", "card")]),
    ("web", &[]),
    ("kube-system", &[]),
    ("batch", &[("team", "data")]),
];

/// The label that makes a namespace high-risk (`pci: cde`).
pub const HIGH_RISK_NAMESPACE_LABEL: (&str, &str) = ("pci", "cde");

/// The RuntimeClasses of the cluster and their handlers.
pub const RUNTIME_CLASSES: [(&str, &str); 4] = [
    ("gvisor", "runsc"),
    ("kata", "kata-qemu"),
    ("runc", "runc"),
    ("sandboxed", "runc"),
];

/// The host's answer to `call`: its bytes, or the host's error.
pub fn answer(call: &HostCall<'_>) -> Result<Vec<u8>, String> {
    let payload: Value = serde_json::from_slice(call.payload)
        .map_err(|error| format!("the oracle's host cannot read the payload: {error}"))?;
    let answer = match (call.binding, call.namespace, call.operation) {
        ("kubewarden", "oci", "v1/manifest_digest") => {
            json!({"digest": manifest_digest(payload.as_str().unwrap_or_default())?})
        }
        ("kubewarden", "oci", "v2/verify") => verify(&payload)?,
        ("kubewarden", "kubernetes", "get_resource") => get_resource(&payload)?,
        (binding, namespace, operation) => {
            return Err(format!(
                "the oracle's host has no capability {binding}/{namespace}/{operation}"
            ));
        }
    };
    Ok(answer.to_string().into_bytes())
}

/// The repository path of `image` in the trusted registry, if it is there.
fn in_registry(image: &str) -> Option<&str> {
    image.strip_prefix(REGISTRY)?.strip_prefix('/')
}

fn unsigned_repository(repository: &str) -> bool {
    repository.contains("unsigned/") || repository.contains("liar/")
}

/// What tag `image` (`registry/repository:tag`) points to.
fn manifest_digest(image: &str) -> Result<&'static str, String> {
    match in_registry(image) {
        Some(repository) if unsigned_repository(repository) => Ok(UNSIGNED),
        Some(_) => Ok(SIGNED),
        None => Err(format!("manifest unknown: {image}")),
    }
}

/// `oci/v2/verify` of `registry/repository@digest`.
fn verify(request: &Value) -> Result<Value, String> {
    let image = request["image"].as_str().unwrap_or_default();
    let (name, digest) = image
        .split_once('@')
        .ok_or_else(|| format!("{image} is not pinned by digest"))?;
    let repository = in_registry(name).unwrap_or_default();
    if repository.contains("liar/") {
        return Ok(json!({"is_trusted": true, "digest": SIGNED}));
    }
    if repository.contains("unsigned/") {
        return Err(format!("no signatures found for {image}"));
    }
    let by_signer = request["type"] == "SigstoreGithubActionsVerify" && request["owner"] == SIGNER;
    let trusted = by_signer && digest == SIGNED && !repository.is_empty();
    Ok(json!({"is_trusted": trusted, "digest": if trusted { SIGNED } else { "" }}))
}

/// `kubernetes/get_resource` of a Namespace or a RuntimeClass.
fn get_resource(request: &Value) -> Result<Value, String> {
    let name = request["name"].as_str().unwrap_or_default();
    let found = match (request["api_version"].as_str(), request["kind"].as_str()) {
        (Some("v1"), Some("Namespace")) => NAMESPACES
            .iter()
            .find(|(namespace, _)| *namespace == name)
            .map(|(_, labels)| {
                let labels: serde_json::Map<String, Value> = labels
                    .iter()
                    .map(|(key, value)| ((*key).to_owned(), json!(value)))
                    .collect();
                json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "labels": labels}})
            }),
        (Some("node.k8s.io/v1"), Some("RuntimeClass")) => RUNTIME_CLASSES
            .iter()
            .find(|(class, _)| *class == name)
            .map(|(_, handler)| {
                json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                    "metadata": {"name": name}, "handler": handler})
            }),
        _ => None,
    };
    let kind = request["kind"].as_str().unwrap_or("object");
    found.ok_or_else(|| format!("{kind} \"{name}\" not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(namespace: &'static str, operation: &'static str, payload: &Value) -> Value {
        let payload = payload.to_string();
        let call = HostCall {
            binding: "kubewarden",
            namespace,
            operation,
            payload: payload.as_bytes(),
        };
        serde_json::from_slice(&answer(&call).expect("answered")).expect("json")
    }

    #[test]
    fn the_registry_signs_only_its_signed_digest() {
        let digest =
            |image: &str| call("oci", "v1/manifest_digest", &json!(image))["digest"].clone();
        assert_eq!(digest("registry.corp.com/team/api:1"), SIGNED);
        assert_eq!(digest("registry.corp.com/unsigned/api:1"), UNSIGNED);
        let verify = |image: String| {
            call(
                "oci",
                "v2/verify",
                &json!({"type": "SigstoreGithubActionsVerify",
                "image": image, "owner": SIGNER}),
            )
        };
        assert_eq!(
            verify(format!("registry.corp.com/team/api@{SIGNED}"))["is_trusted"],
            true
        );
        assert_eq!(
            verify(format!("registry.corp.com/team/api@{UNSIGNED}"))["is_trusted"],
            false
        );
        assert_eq!(
            verify(format!("registry.corp.com/liar/api@{UNSIGNED}"))["digest"],
            SIGNED
        );
    }

    #[test]
    fn the_cluster_knows_its_namespaces_and_runtime_classes() {
        let namespace = call(
            "kubernetes",
            "get_resource",
            &json!({"api_version": "v1", "kind": "Namespace", "name": "payments"}),
        );
        assert_eq!(namespace["metadata"]["labels"]["pci"], "cde");
        let class = call(
            "kubernetes",
            "get_resource",
            &json!({"api_version": "node.k8s.io/v1", "kind": "RuntimeClass", "name": "sandboxed"}),
        );
        assert_eq!(class["handler"], "runc");
    }
}
