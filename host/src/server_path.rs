//! What policy-server does around every `validate` call, so that `make bench` reports what a
//! cluster pays per request and per policy, not only the guest's own time.
//!
//! Modelled on policy-evaluator's waPC runtime: the AdmissionReview body is read into a typed
//! request; that request becomes a JSON value (the object a mutation is diffed against) and,
//! wrapped with the settings, the `validate` payload text; the guest's answer is read and turned
//! into an AdmissionResponse (a JSON patch computed for a mutation), which is written back as an
//! AdmissionReview.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::admission::{AdmissionResponse, Deployment, PolicyAnswer};
use crate::host::Instance;

/// An AdmissionReview as the API server posts it.
#[derive(Deserialize)]
struct ReviewRequest {
    request: TypedRequest,
}

/// The AdmissionRequest fields policy-server's typed request carries.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedRequest {
    uid: String,
    kind: GroupVersionKind,
    resource: GroupVersionResource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub_resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_kind: Option<GroupVersionKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_resource: Option<GroupVersionResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_sub_resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    operation: String,
    #[serde(default)]
    user_info: UserInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    old_object: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dry_run: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    options: Option<Value>,
}

#[derive(Serialize, Deserialize)]
struct GroupVersionKind {
    group: String,
    version: String,
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct GroupVersionResource {
    group: String,
    version: String,
    resource: String,
}

#[derive(Default, Serialize, Deserialize)]
struct UserInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extra: Option<BTreeMap<String, Vec<String>>>,
}

/// One policy as policy-server serves it: an instance and its settings.
pub struct ServerPath<'a> {
    instance: &'a Instance,
    settings: Value,
}

impl<'a> ServerPath<'a> {
    /// Serves `instance` with `settings`.
    pub fn new(instance: &'a Instance, settings: Value) -> Self {
        Self { instance, settings }
    }

    /// Answers an AdmissionReview body with the AdmissionReview response body.
    pub fn review(&self, body: &[u8]) -> Result<Vec<u8>> {
        let review: ReviewRequest =
            serde_json::from_slice(body).context("the body is not an AdmissionReview")?;
        let request = review.request;
        let request_value = serde_json::to_value(&request)?;
        let payload = serde_json::to_string(&json!({
            "request": &request,
            "settings": &self.settings,
        }))?;
        let response = match self.instance.call("validate", payload.as_bytes()) {
            Ok(answer) => {
                let answer: PolicyAnswer = serde_json::from_slice(&answer)
                    .context("cannot deserialize the policy validation response")?;
                AdmissionResponse::from_answer(
                    &request.uid,
                    request_value.get("object"),
                    answer,
                    Deployment::default(),
                )?
            }
            Err(error) => AdmissionResponse::internal_error(&request.uid, &error.to_string()),
        };
        Ok(serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response,
        }))?)
    }
}

/// The AdmissionReview body the API server would post for `request` (a bare AdmissionRequest).
pub fn review_body(request: &Value) -> Vec<u8> {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
        .to_string()
        .into_bytes()
}
