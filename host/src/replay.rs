//! kwctl's record/replay session files (`--replay-host-capabilities-interactions`).
//!
//! A session is a YAML list of exchanges; each request is a YAML *string* holding the tagged
//! `CallbackRequestType` (`!OciManifestDigest`, `!KubernetesGetResource`, …). Replay consumes
//! them in order and refuses a request that differs from the recorded one.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The host capability requests, as kwctl records them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum CallbackRequest {
    OciManifestDigest {
        image: String,
    },
    OciManifest {
        image: String,
    },
    OciManifestAndConfig {
        image: String,
    },
    SigstorePubKeyVerify {
        image: String,
        pub_keys: Vec<String>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        image: String,
        keyless: Vec<KeylessInfo>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessPrefixVerify {
        image: String,
        keyless_prefix: Vec<KeylessPrefixInfo>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreGithubActionsVerify {
        image: String,
        owner: String,
        repo: Option<String>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreCertificateVerify {
        image: String,
        certificate: Vec<u8>,
        certificate_chain: Option<Vec<Vec<u8>>>,
        require_rekor_bundle: bool,
        annotations: Option<BTreeMap<String, String>>,
    },
    #[serde(rename = "DNSLookupHost")]
    DnsLookupHost {
        host: String,
    },
    KubernetesListResourceNamespace {
        api_version: String,
        kind: String,
        namespace: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
        #[serde(default)]
        field_masks: Option<Vec<String>>,
    },
    KubernetesListResourceAll {
        api_version: String,
        kind: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
        #[serde(default)]
        field_masks: Option<Vec<String>>,
    },
    KubernetesGetResource {
        api_version: String,
        kind: String,
        name: String,
        namespace: Option<String>,
        disable_cache: bool,
        #[serde(default)]
        field_masks: Option<Vec<String>>,
    },
    KubernetesCanI {
        request: Value,
        disable_cache: bool,
    },
    CryptoIsCertificateTrusted {
        request: Value,
    },
}

/// A keyless identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeylessInfo {
    pub issuer: String,
    pub subject: String,
}

/// A keyless identity matched by URL prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeylessPrefixInfo {
    pub issuer: String,
    pub url_prefix: String,
}

impl CallbackRequest {
    /// The request a guest makes with waPC `namespace`/`operation` and `payload`.
    pub fn from_wapc(namespace: &str, operation: &str, payload: &[u8]) -> Result<Self, String> {
        let bad = |e: serde_json::Error| {
            format!("cannot decode the {namespace}/{operation} payload: {e}")
        };
        Ok(match (namespace, operation) {
            ("oci", "v1/manifest_digest") => Self::OciManifestDigest {
                image: serde_json::from_slice(payload).map_err(bad)?,
            },
            ("oci", "v1/oci_manifest") => Self::OciManifest {
                image: serde_json::from_slice(payload).map_err(bad)?,
            },
            ("oci", "v1/oci_manifest_config") => Self::OciManifestAndConfig {
                image: serde_json::from_slice(payload).map_err(bad)?,
            },
            ("oci", "v2/verify") => verify_request(payload)
                .map_err(|e| format!("cannot decode the oci/v2/verify payload: {e}"))?,
            ("net", "v1/dns_lookup_host") => Self::DnsLookupHost {
                host: serde_json::from_slice(payload).map_err(bad)?,
            },
            ("kubernetes", "get_resource") => {
                tagged("KubernetesGetResource", payload).map_err(bad)?
            }
            ("kubernetes", "list_resources_by_namespace") => {
                tagged("KubernetesListResourceNamespace", payload).map_err(bad)?
            }
            ("kubernetes", "list_resources_all") => {
                tagged("KubernetesListResourceAll", payload).map_err(bad)?
            }
            ("kubernetes", "can_i") => {
                let v: Value = serde_json::from_slice(payload).map_err(bad)?;
                Self::KubernetesCanI {
                    request: v
                        .get("subject_access_review")
                        .cloned()
                        .unwrap_or(Value::Null),
                    disable_cache: v
                        .get("disable_cache")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                }
            }
            ("crypto", "v1/is_certificate_trusted") => Self::CryptoIsCertificateTrusted {
                request: serde_json::from_slice(payload).map_err(bad)?,
            },
            ("oci" | "net" | "kubernetes" | "crypto", _) => {
                return Err(format!("unknown operation: {operation}"));
            }
            _ => return Err(format!("unknown namespace: {namespace}")),
        })
    }

    /// The variant name kwctl records (`OciManifestDigest`, `SigstorePubKeyVerify`, …).
    pub fn kind_name(&self) -> String {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
            Ok(Value::String(name)) => name,
            _ => "request".to_owned(),
        }
    }

    /// The `(apiVersion, kind)` of a Kubernetes request, which needs context-aware permission.
    pub fn kubernetes_resource(&self) -> Option<(&str, &str)> {
        match self {
            Self::KubernetesGetResource {
                api_version, kind, ..
            }
            | Self::KubernetesListResourceAll {
                api_version, kind, ..
            }
            | Self::KubernetesListResourceNamespace {
                api_version, kind, ..
            } => Some((api_version, kind)),
            _ => None,
        }
    }
}

/// Reads an `oci/v2/verify` payload, `{"type": "Sigstore…", fields…}`: the same variants and
/// fields as the recorded request, tagged inside instead of outside.
fn verify_request(payload: &[u8]) -> Result<CallbackRequest, String> {
    let mut fields: serde_json::Map<String, Value> =
        serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    match fields.remove("type") {
        Some(Value::String(tag)) if tag.starts_with("Sigstore") => {
            serde_json::from_value(json!({ tag: fields })).map_err(|e| e.to_string())
        }
        other => Err(format!("unknown verification type {other:?}")),
    }
}

/// Reads a payload whose fields are those of the recorded `variant`.
fn tagged(variant: &str, payload: &[u8]) -> Result<CallbackRequest, serde_json::Error> {
    let fields: Value = serde_json::from_slice(payload)?;
    serde_json::from_value(json!({ variant: fields }))
}

/// The recorded answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Response {
    Success { payload: String },
    Error { message: String },
}

/// One recorded exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Exchange {
    Exchange { request: String, response: Response },
}

/// A replay session: recorded exchanges consumed in order.
#[derive(Debug)]
pub struct Replay {
    queue: Mutex<VecDeque<(CallbackRequest, Response)>>,
}

impl Replay {
    /// Reads a session file's text.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let exchanges: Vec<Exchange> =
            yaml_serde::from_str(text).context("not a kwctl session file")?;
        let mut queue = VecDeque::new();
        for (index, Exchange::Exchange { request, response }) in exchanges.into_iter().enumerate() {
            let request: CallbackRequest = yaml_serde::from_str(&request)
                .with_context(|| format!("exchange {index}: unknown request {request:?}"))?;
            queue.push_back((request, response));
        }
        Ok(Self {
            queue: Mutex::new(queue),
        })
    }

    /// Answers the next request, which must equal the recorded one.
    pub fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        let mut queue = self
            .queue
            .lock()
            .map_err(|_| "replay state poisoned".to_owned())?;
        let (expected, response) = queue
            .pop_front()
            .ok_or_else(|| "Replay error: the list of recorded responses is empty".to_owned())?;
        if &expected != request {
            return Err(format!(
                "Replay error: unexpected request. Was expecting {expected:?}, got {request:?} instead"
            ));
        }
        match response {
            Response::Success { payload } => Ok(payload.into_bytes()),
            Response::Error { message } => Err(message),
        }
    }

    /// The exchanges not used yet, in order.
    pub fn into_exchanges(self) -> Vec<(CallbackRequest, Response)> {
        self.queue.into_inner().map(Vec::from).unwrap_or_default()
    }

    /// How many recorded exchanges were not used.
    pub fn remaining(&self) -> usize {
        self.queue.lock().map_or(0, |q| q.len())
    }
}

/// Record mode (kwctl's `--record-host-capabilities-interactions`): every exchange of a run, in
/// order, ready to be written as a session file that replays it.
#[derive(Debug, Default)]
pub struct Recorder {
    exchanges: Mutex<Vec<(CallbackRequest, Response)>>,
}

impl Recorder {
    /// Remembers one answered request.
    pub fn record(&self, request: &CallbackRequest, answer: &Result<Vec<u8>, String>) {
        let response = match answer {
            Ok(payload) => Response::Success {
                payload: String::from_utf8_lossy(payload).into_owned(),
            },
            Err(message) => Response::Error {
                message: message.clone(),
            },
        };
        if let Ok(mut exchanges) = self.exchanges.lock() {
            exchanges.push((request.clone(), response));
        }
    }

    /// The exchanges recorded so far.
    pub fn exchanges(&self) -> Vec<(CallbackRequest, Response)> {
        self.exchanges.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The session file text.
    pub fn to_yaml(&self) -> Result<String> {
        to_yaml(&self.exchanges())
    }
}

/// Serialises exchanges as a session file (what record mode writes).
pub fn to_yaml(exchanges: &[(CallbackRequest, Response)]) -> Result<String> {
    let list: Vec<Exchange> = exchanges
        .iter()
        .map(|(request, response)| {
            Ok(Exchange::Exchange {
                request: yaml_serde::to_string(request)?,
                response: response.clone(),
            })
        })
        .collect::<Result<_, yaml_serde::Error>>()?;
    Ok(yaml_serde::to_string(&list)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = r#"
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: payments
    namespace: null
    disable_cache: false
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"payments","labels":{"pci":"cde"}}}'
- type: Exchange
  request: |
    !OciManifestDigest
    image: ghcr.io/org/app:1.0
  response:
    type: Error
    message: registry unreachable
"#;

    #[test]
    fn answers_in_order_and_returns_recorded_errors() {
        let replay = Replay::from_yaml(SESSION).expect("valid session");
        let get = CallbackRequest::from_wapc(
            "kubernetes",
            "get_resource",
            br#"{"api_version":"v1","kind":"Namespace","name":"payments","namespace":null,"disable_cache":false,"field_masks":null}"#,
        )
        .expect("decodes");
        let answer = replay.answer(&get).expect("recorded success");
        assert!(
            String::from_utf8(answer)
                .expect("utf8")
                .contains("\"pci\":\"cde\"")
        );
        let digest =
            CallbackRequest::from_wapc("oci", "v1/manifest_digest", br#""ghcr.io/org/app:1.0""#)
                .expect("decodes");
        assert_eq!(replay.answer(&digest), Err("registry unreachable".into()));
        assert!(replay.answer(&digest).expect_err("empty").contains("empty"));
    }

    #[test]
    fn refuses_a_request_that_differs_from_the_recording() {
        let replay = Replay::from_yaml(SESSION).expect("valid session");
        let other =
            CallbackRequest::from_wapc("oci", "v1/manifest_digest", br#""ghcr.io/org/app:2.0""#)
                .expect("decodes");
        assert!(
            replay
                .answer(&other)
                .expect_err("mismatch")
                .contains("unexpected request")
        );
    }

    #[test]
    fn record_format_reads_back() {
        let exchanges = vec![(
            CallbackRequest::SigstorePubKeyVerify {
                image: "r.io/a:1".into(),
                pub_keys: vec!["KEY".into()],
                annotations: None,
            },
            Response::Success {
                payload: r#"{"is_trusted":true,"digest":"sha256:00"}"#.into(),
            },
        )];
        let text = to_yaml(&exchanges).expect("serialises");
        assert!(text.contains("!SigstorePubKeyVerify"), "{text}");
        let replay = Replay::from_yaml(&text).expect("reads back");
        let live = CallbackRequest::from_wapc(
            "oci",
            "v2/verify",
            br#"{"type":"SigstorePubKeyVerify","image":"r.io/a:1","pub_keys":["KEY"],"annotations":null}"#,
        )
        .expect("decodes");
        assert!(replay.answer(&live).is_ok());
    }

    #[test]
    fn certificate_verification_carries_pem_bytes_as_arrays() {
        let live = CallbackRequest::from_wapc(
            "oci",
            "v2/verify",
            br#"{"type":"SigstoreCertificateVerify","image":"r.io/a:1","certificate":[45,45],"certificate_chain":null,"require_rekor_bundle":true,"annotations":{"env":"prod"}}"#,
        )
        .expect("decodes");
        let recorded: CallbackRequest = yaml_serde::from_str(
            "!SigstoreCertificateVerify\nimage: r.io/a:1\ncertificate: [45, 45]\ncertificate_chain: null\nrequire_rekor_bundle: true\nannotations: {env: prod}\n",
        )
        .expect("recorded form");
        assert_eq!(live, recorded);
        assert!(
            CallbackRequest::from_wapc("oci", "v2/verify", br#"{"type":"Other","image":"x"}"#)
                .is_err()
        );
    }

    #[test]
    fn kubernetes_lists_decode_into_the_recorded_variants() {
        let live = CallbackRequest::from_wapc(
            "kubernetes",
            "list_resources_by_namespace",
            br#"{"api_version":"v1","kind":"Service","namespace":"payments","label_selector":"app=x","field_selector":null}"#,
        )
        .expect("decodes");
        let recorded: CallbackRequest = yaml_serde::from_str(
            "!KubernetesListResourceNamespace\napi_version: v1\nkind: Service\nnamespace: payments\nlabel_selector: app=x\nfield_selector: null\n",
        )
        .expect("recorded form");
        assert_eq!(live, recorded);
        assert_eq!(live.kubernetes_resource(), Some(("v1", "Service")));
        assert!(
            CallbackRequest::from_wapc(
                "kubernetes",
                "list_resources_all",
                br#"{"kind":"Service"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_operations_are_errors() {
        assert_eq!(
            CallbackRequest::from_wapc("oci", "v9/x", b"\"\""),
            Err("unknown operation: v9/x".into())
        );
        assert_eq!(
            CallbackRequest::from_wapc("bogus", "x", b""),
            Err("unknown namespace: bogus".into())
        );
    }
}
