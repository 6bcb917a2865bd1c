//! Admission requests in, AdmissionResponses out, as `kwctl run` reads and prints them.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Reads a request file: a bare AdmissionRequest or a whole AdmissionReview, in JSON or YAML.
pub fn read_request(text: &str) -> Result<Value> {
    let document: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => yaml_serde::from_str(text).context("the request is neither JSON nor YAML")?,
    };
    let request = if document.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        document
            .get("request")
            .cloned()
            .context("the AdmissionReview has no request")?
    } else {
        document
    };
    if !request.is_object() {
        bail!("the request must be an object, got {request}");
    }
    Ok(request)
}

/// Reads settings: a JSON or YAML object; empty text or `null` is `{}`.
pub fn read_settings(text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let settings: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => yaml_serde::from_str(text).context("the settings are neither JSON nor YAML")?,
    };
    match settings {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(settings),
        other => bail!("settings must be an object, got {other}"),
    }
}

/// How policy-server applies a policy's answer (`spec.mode`, `spec.mutating`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// `monitor` mode: never reject, drop patches.
    pub monitor: bool,
    /// `spec.mutating`: a patch from a non-mutating policy becomes a rejection.
    pub allowed_to_mutate: bool,
}

impl Default for Deployment {
    /// What `kwctl run` does: protect mode, mutation allowed.
    fn default() -> Self {
        Self {
            monitor: false,
            allowed_to_mutate: true,
        }
    }
}

/// A policy's answer to `validate` (the Kubewarden ValidationResponse), as policy-evaluator
/// reads it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct PolicyAnswer {
    pub accepted: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<Value>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// `status` of an AdmissionResponse.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// The AdmissionResponse kwctl prints (camelCase, field order of policy-evaluator).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

impl AdmissionResponse {
    /// The rejection message (`status.message`), empty when there is none.
    pub fn message(&self) -> String {
        self.status
            .as_ref()
            .and_then(|status| status.message.clone())
            .unwrap_or_default()
    }

    /// The JSON patch operations, decoded from `patch`.
    pub fn patch_operations(&self) -> Result<Option<Value>> {
        let Some(patch) = &self.patch else {
            return Ok(None);
        };
        let bytes = base64::engine::general_purpose::STANDARD.decode(patch)?;
        Ok(Some(serde_json::from_slice(&bytes)?))
    }

    /// A rejection for a policy that failed to evaluate (HTTP 500, as policy-server answers).
    pub fn internal_error(uid: &str, error: &str) -> Self {
        Self {
            uid: uid.to_owned(),
            allowed: false,
            patch_type: None,
            patch: None,
            status: Some(Status {
                message: Some(format!("internal server error: {error}")),
                code: Some(500),
            }),
            audit_annotations: None,
            warnings: None,
        }
    }

    /// Turns the policy's ValidationResponse into the AdmissionResponse for `request`.
    pub fn from_validation(
        request: &Value,
        response: &Value,
        deployment: Deployment,
    ) -> Result<Self> {
        let answer = PolicyAnswer::deserialize(response).context(
            "the policy did not answer a ValidationResponse (accepted, message, code, mutated_object, audit_annotations, warnings)",
        )?;
        let uid = request
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Self::from_answer(uid, request.get("object"), answer, deployment)
    }

    /// The AdmissionResponse for the request `uid` whose object is `object` (`None` or `null`
    /// for a DELETE), given the policy's answer.
    pub fn from_answer(
        uid: &str,
        object: Option<&Value>,
        answer: PolicyAnswer,
        deployment: Deployment,
    ) -> Result<Self> {
        let PolicyAnswer {
            accepted,
            message,
            code,
            mutated_object,
            audit_annotations,
            warnings,
        } = answer;
        let mut admission = Self {
            uid: uid.to_owned(),
            allowed: accepted,
            patch_type: None,
            patch: None,
            status: (message.is_some() || code.is_some()).then_some(Status { message, code }),
            audit_annotations,
            warnings,
        };
        if let Some(mutated) = mutated_object.filter(|v| !v.is_null()) {
            let Some(original) = object.filter(|v| !v.is_null()) else {
                return Ok(Self::internal_error(
                    uid,
                    "Incoming object is null, which happens only with DELETE operations, but the policy is attempting a mutation. This is not allowed",
                ));
            };
            let patch = json_patch::diff(original, &mutated);
            if !patch.0.is_empty() {
                admission.patch_type = Some("JSONPatch".into());
                admission.patch = Some(
                    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&patch)?),
                );
            }
        }
        Ok(admission.apply(deployment))
    }

    /// What policy-server does with the answer, given how the policy is deployed.
    fn apply(mut self, deployment: Deployment) -> Self {
        if deployment.monitor {
            self.allowed = true;
            self.patch = None;
            self.patch_type = None;
            self.status = None;
        } else if self.patch.is_some() && !deployment.allowed_to_mutate {
            self.allowed = false;
            self.patch = None;
            self.patch_type = None;
            self.status = Some(Status {
                message: Some("Request rejected by policy. The policy attempted to mutate the request, but it is currently configured to not allow mutations.".into()),
                code: None,
            });
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_reviews_and_bare_requests_in_json_and_yaml() {
        let bare = read_request(r#"{"uid":"a","operation":"CREATE"}"#).expect("json");
        let review = read_request("kind: AdmissionReview\napiVersion: admission.k8s.io/v1\nrequest:\n  uid: a\n  operation: CREATE\n")
            .expect("yaml review");
        assert_eq!(bare, review);
        assert!(read_request("[1]").is_err());
        assert_eq!(read_settings("").expect("empty"), json!({}));
        assert_eq!(
            read_settings("level: baseline").expect("yaml"),
            json!({"level": "baseline"})
        );
        assert!(read_settings("[1]").is_err());
    }

    #[test]
    fn computes_the_patch_from_the_object_and_the_mutated_object() {
        let request = json!({"uid": "u", "object": {"spec": {"a": 1, "keep": {"x": true}}}});
        let response = json!({"accepted": true, "message": null, "code": null, "audit_annotations": null, "warnings": null,
            "mutated_object": {"spec": {"a": 1, "b": 2, "keep": {"x": true}}}});
        let admission =
            AdmissionResponse::from_validation(&request, &response, Deployment::default())
                .expect("converts");
        assert_eq!(admission.patch_type.as_deref(), Some("JSONPatch"));
        assert_eq!(
            admission.patch_operations().expect("decodes"),
            Some(json!([{"op": "add", "path": "/spec/b", "value": 2}]))
        );
        assert_eq!(
            serde_json::to_string(&admission).expect("json"),
            format!(
                r#"{{"uid":"u","allowed":true,"patchType":"JSONPatch","patch":"{}","auditAnnotations":null,"warnings":null}}"#,
                admission.patch.clone().expect("patch")
            )
        );
        let refused = AdmissionResponse::from_validation(
            &request,
            &response,
            Deployment {
                monitor: false,
                allowed_to_mutate: false,
            },
        )
        .expect("converts");
        assert!(!refused.allowed && refused.patch.is_none());
    }

    #[test]
    fn an_unchanged_mutated_object_gives_no_patch_and_monitor_never_rejects() {
        let request = json!({"uid": "u", "object": {"a": 1}});
        let same = json!({"accepted": true, "mutated_object": {"a": 1}});
        let admission = AdmissionResponse::from_validation(&request, &same, Deployment::default())
            .expect("converts");
        assert!(admission.patch.is_none());
        let rejected = json!({"accepted": false, "message": "no", "code": 403, "warnings": ["w"]});
        let monitored = AdmissionResponse::from_validation(
            &request,
            &rejected,
            Deployment {
                monitor: true,
                allowed_to_mutate: true,
            },
        )
        .expect("converts");
        assert!(monitored.allowed && monitored.status.is_none());
        assert_eq!(monitored.warnings, Some(vec!["w".to_owned()]));
    }
}
