//! Errors about the admitted input, naming the field at fault.

use std::fmt;

use serde::Deserializer;
use serde::de::DeserializeOwned;

/// Input the policy cannot evaluate: a malformed request, object or settings document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// Where the problem is, relative to the document named in `context` (may be empty).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Which document: `request`, `object`, `settings`…
    pub context: &'static str,
}

impl InputError {
    /// A problem with no more precise location than the document itself.
    pub fn new(context: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: String::new(),
            message: message.into(),
            context,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "invalid {}: {}", self.context, self.message)
        } else {
            write!(
                f,
                "invalid {}: {}: {}",
                self.context, self.path, self.message
            )
        }
    }
}

impl std::error::Error for InputError {}

/// Deserializes `T`, reporting the path of the offending field on failure.
pub fn deserialize_with_path<'de, T, D>(
    context: &'static str,
    deserializer: D,
) -> Result<T, InputError>
where
    T: serde::Deserialize<'de>,
    D: Deserializer<'de>,
    D::Error: fmt::Display,
{
    serde_path_to_error::deserialize(deserializer).map_err(|error| InputError {
        path: error.path().to_string(),
        message: error.inner().to_string(),
        context,
    })
}

/// Deserializes `T` from JSON text, reporting the path of the offending field on failure.
pub fn from_json_str<T: DeserializeOwned>(
    context: &'static str,
    json: &str,
) -> Result<T, InputError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = deserialize_with_path(context, &mut deserializer)?;
    deserializer
        .end()
        .map_err(|error| InputError::new(context, error.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Vec<Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    #[test]
    fn names_the_offending_field() {
        let error = from_json_str::<Outer>("object", r#"{"inner":[{"flag":true},{"flag":"yes"}]}"#)
            .expect_err("wrong type");
        assert_eq!(error.path, "inner[1].flag");
        assert!(
            error
                .to_string()
                .starts_with("invalid object: inner[1].flag: invalid type")
        );
    }
}
