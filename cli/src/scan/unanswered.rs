//! Host calls a scan cannot answer: every call `--offline`, the cluster, DNS and certificate
//! calls live (the live host answers the registry and signatures only), a registry that gave no
//! answer (unreachable, timed out, credentials refused, 5xx), a call a replay session has no
//! answer for. Each is refused and remembered, so the evaluation that asked ends as an
//! error naming what it needed, whatever the policy made of the refusal. A policy in a mode that
//! only warns when it cannot check (image-digest `checkTagMatchesDigest: warn`) would otherwise
//! pass a workload that was never checked, and a policy that rejects what it cannot read would
//! report a check not made as a rejection: a check not made is an error, in any mode.

use std::sync::{Arc, Mutex};

use pci_host::capabilities::{LiveAnswers, NO_ANSWER};
use pci_host::replay::CallbackRequest;
use pci_shared::image_reference::ImageReference;
use serde_json::Value;

/// The host error every call gets in an offline scan.
pub const OFFLINE: &str = "offline scan: this check needs the registry or the cluster";

/// Answers the host calls `answerer` serves through it, refuses the others and remembers them.
/// One per worker: a worker evaluates one policy at a time, so what [`Unanswered::take`] returns
/// after an evaluation is what that evaluation could not ask.
#[derive(Debug)]
pub struct Unanswered {
    answerer: Option<Arc<dyn LiveAnswers>>,
    /// Why the refused calls were not answered, for the report.
    why: &'static str,
    /// The host error a refused call gets.
    host_error: &'static str,
    refused: Mutex<Vec<CallbackRequest>>,
}

impl LiveAnswers for Unanswered {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        if let Some(answerer) = self.answerer.as_ref().filter(|a| a.serves(request)) {
            let answer = answerer.answer(request);
            if let Err(error) = &answer
                && error.starts_with(NO_ANSWER)
            {
                self.remember(request);
            }
            return answer;
        }
        self.remember(request);
        Err(format!("{} ({})", self.host_error, request.kind_name()))
    }
}

impl Unanswered {
    /// `--offline`: answers only what `answerer` serves without a network (the cluster's
    /// objects the scan was given), refusing every other call.
    pub fn offline(answerer: Option<Arc<dyn LiveAnswers>>) -> Self {
        Self {
            host_error: OFFLINE,
            ..Self::through(answerer, "an offline scan asks no registry and no cluster")
        }
    }

    /// Answers what `answerer` serves (none: nothing), refusing the rest because `why`.
    pub fn through(answerer: Option<Arc<dyn LiveAnswers>>, why: &'static str) -> Self {
        Self {
            answerer,
            why,
            host_error: why,
            refused: Mutex::new(Vec::new()),
        }
    }

    fn remember(&self, request: &CallbackRequest) {
        if let Ok(mut refused) = self.refused.lock()
            && !refused.contains(request)
        {
            refused.push(request.clone());
        }
    }

    /// The calls refused since the last take, and why they were.
    pub fn take(&self) -> (Vec<CallbackRequest>, &'static str) {
        let refused = self
            .refused
            .lock()
            .map(|mut refused| std::mem::take(&mut *refused))
            .unwrap_or_default();
        (refused, self.why)
    }
}

/// Why an evaluation that asked for `refused` is an error: what each call needed (the image and
/// the containers that run it, or the cluster resource), and why it was not asked.
pub fn not_checked(refused: &[CallbackRequest], why: &str, object: &Value) -> String {
    let cluster_only = refused.iter().all(|c| c.kubernetes_resource().is_some());
    if cluster_only {
        // The fix first: what to give the scan.
        let objects: Vec<String> = refused.iter().filter_map(cluster_object).collect();
        return format!(
            "not checked: the scan was not given {} ({why}): add it with --context FILE (`kubectl get namespaces,runtimeclasses -o yaml`), or namespace labels with --namespace-labels NS=KEY=VALUE; a check not made is an error whatever the policy's mode",
            objects.join(", ")
        );
    }
    let needs: Vec<String> = refused.iter().map(|call| needed(call, object)).collect();
    format!(
        "not checked: {}; {why}, and a check not made is an error whatever the policy's mode",
        needs.join("; ")
    )
}

/// The cluster object a refused lookup asked for: `v1 Namespace shop`.
fn cluster_object(call: &CallbackRequest) -> Option<String> {
    use CallbackRequest as C;
    Some(match call {
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
            format!("{api_version} {kind} {namespace}{name}")
        }
        C::KubernetesListResourceNamespace {
            api_version,
            kind,
            namespace,
            ..
        } => format!("the {api_version} {kind} list of namespace {namespace}"),
        C::KubernetesListResourceAll {
            api_version, kind, ..
        } => format!("the {api_version} {kind} list"),
        _ => return None,
    })
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
        C::KubernetesGetResource { .. }
        | C::KubernetesListResourceNamespace { .. }
        | C::KubernetesListResourceAll { .. } => format!(
            "the cluster for {} ({operation})",
            cluster_object(call).unwrap_or_default()
        ),
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
        let offline = Unanswered::offline(None);
        let call = CallbackRequest::OciManifestDigest {
            image: "nginx:1.25".into(),
        };
        assert!(offline.answer(&call).unwrap_err().contains(OFFLINE));
        assert!(offline.answer(&call).is_err());
        let (refused, why) = offline.take();
        assert_eq!(refused, [call]);
        assert!(offline.take().0.is_empty(), "taken");
        let object = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "nginx:1.25"}],
            "containers": [{"name": "web", "image": "docker.io/library/nginx:1.25@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, {"name": "db", "image": "pg"}],
        }}}});
        let message = not_checked(&refused, why, &object);
        assert!(
            message.contains("the registry for image nginx:1.25 (containers init, web)"),
            "{message}"
        );
        assert!(
            message.contains("an offline scan asks no registry and no cluster"),
            "{message}"
        );
    }

    /// Answers registry digests only, as the live host answers the registry and not the cluster.
    #[derive(Debug)]
    struct DigestsOnly;

    impl LiveAnswers for DigestsOnly {
        fn answer(&self, _: &CallbackRequest) -> Result<Vec<u8>, String> {
            Ok(b"{}".to_vec())
        }

        fn serves(&self, request: &CallbackRequest) -> bool {
            matches!(request, CallbackRequest::OciManifestDigest { .. })
        }
    }

    /// A registry that cannot be reached: no answer.
    #[derive(Debug)]
    struct Unreachable;

    impl LiveAnswers for Unreachable {
        fn answer(&self, _: &CallbackRequest) -> Result<Vec<u8>, String> {
            Err(format!("{NO_ANSWER}connection refused"))
        }
    }

    /// Issue 29 review: a live scan reported a cluster lookup it could not make as the policy's
    /// rejection (exit 1); it is a call not answered, as offline.
    #[test]
    fn calls_the_answerer_does_not_serve_are_refused_and_remembered() {
        let why = "the live host answers the registry and signatures only";
        // An unreachable registry, too, is a check not made (issue 29 review).
        let partial = Unanswered::through(Some(Arc::new(DigestsOnly)), why);
        let digest = CallbackRequest::OciManifestDigest {
            image: "nginx:1.25".into(),
        };
        assert_eq!(partial.answer(&digest), Ok(b"{}".to_vec()));
        let namespace = CallbackRequest::KubernetesGetResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            name: "shop".into(),
            namespace: None,
            disable_cache: false,
            field_masks: None,
        };
        assert!(partial.answer(&namespace).unwrap_err().contains(why));
        assert_eq!(partial.take(), (vec![namespace], why));
        let unreachable = Unanswered::through(Some(Arc::new(Unreachable)), why);
        assert!(
            unreachable
                .answer(&digest)
                .unwrap_err()
                .starts_with(NO_ANSWER)
        );
        assert_eq!(unreachable.take().0, std::slice::from_ref(&digest));
        let nothing = Unanswered::through(None, why);
        assert!(nothing.answer(&digest).is_err());
        assert_eq!(nothing.take().0, [digest]);
    }
}
