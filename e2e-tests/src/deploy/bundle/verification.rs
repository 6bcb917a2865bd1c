//! The PolicyServer's verification config: `spec.verificationConfig` names a ConfigMap of the
//! bundle, in the Kubewarden namespace, whose `verification-config` is the text of the
//! repository's `verification-config.yml`, the signatures the release makes. Parsing is not
//! enough: a looser config (any GitHub repository's workflow, any key) would let the
//! PolicyServer run modules the release never signed.

use serde_json::Value;

use pci_host::verification::VerificationConfig;
use pci_shared::path::FieldPath;

use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// The ConfigMap key a PolicyServer reads its verification config from.
pub const VERIFICATION_CONFIG_KEY: &str = "verification-config";

/// What `server`'s verification config gets wrong: its ConfigMap is in `namespace` and its
/// text is `expected`.
pub fn verification_findings(
    server: &Object,
    objects: &[Object],
    namespace: &str,
    expected: &str,
) -> Vec<Finding> {
    let at = FieldPath::parse_static("spec.verificationConfig");
    let Some(name) = server
        .value
        .pointer("/spec/verificationConfig")
        .and_then(Value::as_str)
    else {
        return vec![Finding::new(
            server.label(),
            at,
            "unset: the PolicyServer would run modules without checking their signatures; name the bundle's verification ConfigMap",
        )];
    };
    let Some(config_map) = objects.iter().find(|object| {
        object.is("v1", "ConfigMap")
            && object.name() == name
            && object.namespace() == Some(namespace)
    }) else {
        return vec![Finding::new(
            server.label(),
            at,
            format!("names ConfigMap {namespace}/{name}, which is not in the bundle"),
        )];
    };
    let text = config_map
        .value
        .pointer("/data")
        .and_then(|data| data.get(VERIFICATION_CONFIG_KEY));
    text_problem(text, expected)
        .map(|problem| {
            Finding::new(
                config_map.label(),
                FieldPath::parse_static("data").field(VERIFICATION_CONFIG_KEY),
                problem,
            )
        })
        .into_iter()
        .collect()
}

/// Why the ConfigMap's `text` is not `expected`, the repository's verification config.
fn text_problem(text: Option<&Value>, expected: &str) -> Option<String> {
    let Some(text) = text else {
        return Some(
            "required, missing: the PolicyServer reads its verification config from this key"
                .to_owned(),
        );
    };
    let Some(text) = text.as_str() else {
        return Some("must be the text of a verification config".to_owned());
    };
    if let Err(error) = VerificationConfig::from_yaml(text) {
        return Some(format!("not a Kubewarden verification config: {error:#}"));
    }
    first_difference(expected, text).map(|difference| {
        format!("is not the repository's verification-config.yml ({difference}): the PolicyServer must require exactly the signatures the release makes")
    })
}

/// Where `found` first differs from `expected`, by line, or none when they are equal.
fn first_difference(expected: &str, found: &str) -> Option<String> {
    if expected == found {
        return None;
    }
    let (mut wanted, mut stated) = (expected.lines(), found.lines());
    for line in 1.. {
        match (wanted.next(), stated.next()) {
            (Some(wanted), Some(stated)) if wanted == stated => {}
            (Some(wanted), Some(stated)) => {
                return Some(format!("line {line} is {stated:?}, not {wanted:?}"));
            }
            (Some(wanted), None) => return Some(format!("line {line} {wanted:?} is missing")),
            (None, Some(stated)) => return Some(format!("line {line} {stated:?} is extra")),
            (None, None) => break,
        }
    }
    Some("the line ends differ".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_line_that_differs() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(
            first_difference("a\nb\n", "a\nc\n").as_deref(),
            Some("line 2 is \"c\", not \"b\"")
        );
        assert_eq!(
            first_difference("a\nb\n", "a\nb\nc\n").as_deref(),
            Some("line 3 \"c\" is extra")
        );
        assert_eq!(
            first_difference("a\nb\n", "a\n").as_deref(),
            Some("line 2 \"b\" is missing")
        );
        assert_eq!(
            first_difference("a\nb\n", "a\r\nb").as_deref(),
            Some("the line ends differ")
        );
    }
}
