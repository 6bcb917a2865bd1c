//! One Gatekeeper constraint as the converters read it: its kind, name and parameters, and
//! how a note names one of its fields.

use serde_json::Value;

/// A `constraints.gatekeeper.sh` object of a K8sPSP* kind.
pub struct Constraint<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub parameters: &'a Value,
    pub spec: &'a Value,
}

impl<'a> Constraint<'a> {
    /// Reads the parts the conversion uses (missing ones read as null).
    pub fn of(object: &'a Value) -> Self {
        let kind = object["kind"].as_str().unwrap_or_default();
        Self {
            kind,
            name: object["metadata"]["name"].as_str().unwrap_or(kind),
            parameters: &object["spec"]["parameters"],
            spec: &object["spec"],
        }
    }

    /// `K8sPSPCapabilities caps`, how notes and errors name the constraint.
    pub fn id(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }

    /// `K8sPSPCapabilities caps: parameters.allowedCapabilities`.
    pub fn at(&self, field: &str) -> String {
        format!("{}: parameters.{field}", self.id())
    }

    /// The strings of a list parameter, and whether it is given at all.
    pub fn strings(&self, field: &str) -> Option<Vec<String>> {
        self.parameters[field].as_array().map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
    }
}
