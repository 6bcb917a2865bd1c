//! `--offline`: every host call is refused, and remembered, so the evaluation that asked ends
//! as an error naming what it needed, whatever the policy made of the refusal. A policy in a
//! mode that only warns when it cannot check (image-digest `checkTagMatchesDigest: warn`) would
//! otherwise pass a workload that was never checked: a check not made is an error, in any mode.

use std::sync::Mutex;

use pci_host::capabilities::LiveAnswers;
use pci_host::replay::CallbackRequest;
use pci_shared::image_reference::ImageReference;
use serde_json::Value;

/// The host error every call gets in an offline scan.
pub const OFFLINE: &str = "offline scan: this check needs the registry or the cluster";

/// Answers every host call with [`OFFLINE`] and remembers the calls it refused. One per worker:
/// a worker evaluates one policy at a time, so what [`Offline::take`] returns after an
/// evaluation is what that evaluation asked.
#[derive(Debug, Default)]
pub struct Offline {
    refused: Mutex<Vec<CallbackRequest>>,
}

impl LiveAnswers for Offline {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        if let Ok(mut refused) = self.refused.lock()
            && !refused.contains(request)
        {
            refused.push(request.clone());
        }
        Err(format!("{OFFLINE} ({})", request.kind_name()))
    }
}

impl Offline {
    /// The calls refused since the last take.
    pub fn take(&self) -> Vec<CallbackRequest> {
        self.refused
            .lock()
            .map(|mut refused| std::mem::take(&mut *refused))
            .unwrap_or_default()
    }
}

/// Why an evaluation that asked for `refused` is an error: what each call needed (the image and
/// the containers that run it, or the cluster resource), and that an offline scan does not ask.
pub fn not_checked(refused: &[CallbackRequest], object: &Value) -> String {
    let needs: Vec<String> = refused.iter().map(|call| needed(call, object)).collect();
    format!(
        "not checked: {}; an offline scan does not ask, and a check not made is an error whatever the policy's mode",
        needs.join("; ")
    )
}

/// What one refused call needed.
fn needed(call: &CallbackRequest, object: &Value) -> String {
    use CallbackRequest as C;
    let operation = call.kind_name();
    match call {
        C::OciManifestDigest { image }
        | C::OciManifest { image }
        | C::OciManifestAndConfig { image }
        | C::SigstorePubKeyVerify { image, .. }
        | C::SigstoreKeylessVerify { image, .. }
        | C::SigstoreKeylessPrefixVerify { image, .. }
        | C::SigstoreGithubActionsVerify { image, .. }
        | C::SigstoreCertificateVerify { image, .. } => {
            let containers = containers_running(object, image);
            let running = match containers.as_slice() {
                [] => String::new(),
                [one] => format!(" (container {one})"),
                many => format!(" (containers {})", many.join(", ")),
            };
            format!("the registry for image {image}{running} ({operation})")
        }
        C::KubernetesGetResource {
            api_version,
            kind,
            name,
            namespace,
            ..
        } => {
            let namespace = namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default();
            format!("the cluster for {api_version} {kind} {namespace}{name} ({operation})")
        }
        C::KubernetesListResourceNamespace {
            api_version,
            kind,
            namespace,
            ..
        } => format!(
            "the cluster for the {api_version} {kind} of namespace {namespace} ({operation})"
        ),
        C::KubernetesListResourceAll {
            api_version, kind, ..
        } => format!("the cluster for every {api_version} {kind} ({operation})"),
        C::DnsLookupHost { host } => format!("the network to look up {host} ({operation})"),
        C::KubernetesCanI { .. } | C::CryptoIsCertificateTrusted { .. } => {
            format!("the cluster ({operation})")
        }
    }
}

/// True when a container of image `written` runs the image a policy asked about: the same
/// text, or the same registry and repository with the asked tag and digest (a policy asks about
/// `web:1.4` to check the digest written as `web:1.4@sha256:…`, and about normalised names).
fn runs(written: &str, asked: &str) -> bool {
    if written == asked {
        return true;
    }
    let (Ok(written), Ok(asked)) = (ImageReference::parse(written), ImageReference::parse(asked))
    else {
        return false;
    };
    written.registry() == asked.registry()
        && written.repository() == asked.repository()
        && asked
            .digest()
            .is_none_or(|digest| written.digest() == Some(digest))
        && (asked.tag().is_none() || written.effective_tag() == asked.effective_tag())
}

/// The names of the containers (of every list) in `object` that run `image`, in order.
fn containers_running(object: &Value, image: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut pending = vec![object];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter().rev() {
                    let list = matches!(
                        key.as_str(),
                        "containers" | "initContainers" | "ephemeralContainers"
                    );
                    match value.as_array() {
                        Some(items) if list => names.extend(
                            items
                                .iter()
                                .filter(|c| c["image"].as_str().is_some_and(|i| runs(i, image)))
                                .filter_map(|c| c["name"].as_str().map(str::to_owned)),
                        ),
                        _ => pending.push(value),
                    }
                }
            }
            Value::Array(items) => pending.extend(items.iter().rev()),
            _ => {}
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refused_calls_are_remembered_once_and_named_with_their_containers() {
        let offline = Offline::default();
        let call = CallbackRequest::OciManifestDigest {
            image: "nginx:1.25".into(),
        };
        assert!(offline.answer(&call).unwrap_err().contains(OFFLINE));
        assert!(offline.answer(&call).is_err());
        let refused = offline.take();
        assert_eq!(refused, [call]);
        assert!(offline.take().is_empty(), "taken");
        let object = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "nginx:1.25"}],
            "containers": [{"name": "web", "image": "docker.io/library/nginx:1.25@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, {"name": "db", "image": "pg"}],
        }}}});
        let message = not_checked(&refused, &object);
        assert!(
            message.contains("the registry for image nginx:1.25 (containers init, web)"),
            "{message}"
        );
    }
}
