//! The ServiceAccount the bundle's PolicyServer runs as: the name its `spec.serviceAccountName`
//! states, in the namespace its pods run in (the Kubewarden controller's).

use std::fmt;

use serde_json::Value;

use crate::deploy::bundle::policies::is_policy_server;
use crate::deploy::object::Object;

/// A ServiceAccount, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRef {
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for AccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The PolicyServer of a rendering: the first one (a second is a finding of its own).
pub fn policy_server(objects: &[Object]) -> Option<&Object> {
    objects.iter().find(|object| is_policy_server(object))
}

/// The ServiceAccount name `server` states, if any.
pub fn account_name(server: &Object) -> Option<&str> {
    server
        .value
        .pointer("/spec/serviceAccountName")
        .and_then(Value::as_str)
}

/// True for a `v1` ServiceAccount.
pub fn is_service_account(object: &Object) -> bool {
    object.is("v1", "ServiceAccount")
}

/// The one ServiceAccount of the rendering that the PolicyServer names (by name: its namespace
/// is what the rendering says the Kubewarden namespace is); none when there are several.
pub fn policy_server_account(objects: &[Object]) -> Option<&Object> {
    let name = policy_server(objects).and_then(account_name)?;
    let mut named = objects
        .iter()
        .filter(|object| is_service_account(object) && object.name() == name);
    match (named.next(), named.next()) {
        (Some(account), None) => Some(account),
        _ => None,
    }
}
