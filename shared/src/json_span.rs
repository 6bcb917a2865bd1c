//! Finding a value in JSON text without parsing it: what lets an UPDATE compare the pod
//! templates of `object` and `oldObject` for a fraction of the cost of reading them.

use crate::input::find_quote_or_backslash;

/// The text of the value at `path` (a chain of object keys) in the JSON document `text`; `None`
/// when a key is absent, a step is not an object, or a key is written with escapes (a caller
/// then reads the document in full).
///
/// `text` must be valid JSON, as the payload parse has already checked: the scan trusts its
/// syntax. Strings are skipped eight bytes at a time, brackets counted; the first occurrence
/// of a key is taken (the typed reading refuses duplicate keys anyway).
pub fn value_at<'a>(text: &'a str, path: &[&str]) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    for key in path {
        at = member_value(bytes, at, key.as_bytes())?;
    }
    let end = skip_value(bytes, at)?;
    text.get(at..end)
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

/// Where the value of member `key` starts, in the object that starts at `at`.
fn member_value(bytes: &[u8], at: usize, key: &[u8]) -> Option<usize> {
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut at = skip_whitespace(bytes, at + 1);
    while bytes.get(at) == Some(&b'"') {
        let key_end = string_end(bytes, at)?;
        let name = bytes.get(at + 1..key_end - 1)?;
        at = skip_whitespace(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_whitespace(bytes, at + 1);
        if name == key {
            return Some(at);
        }
        at = skip_whitespace(bytes, skip_value(bytes, at)?);
        if bytes.get(at) != Some(&b',') {
            return None;
        }
        at = skip_whitespace(bytes, at + 1);
    }
    None
}

/// The index after the string that starts (with its quote) at `at`.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut at = at + 1;
    loop {
        at += find_quote_or_backslash(bytes.get(at..)?)?;
        if bytes[at] == b'"' {
            return Some(at + 1);
        }
        at += 2;
    }
}

/// The index after the value that starts at `at`.
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = at;
            loop {
                match bytes.get(at)? {
                    b'"' => {
                        at = string_end(bytes, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => {
            let mut at = at;
            while !matches!(
                bytes.get(at),
                None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            ) {
                at += 1;
            }
            Some(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_value_of_a_path_of_keys() {
        let text = r#" {"kind": "Deployment", "spec": {"replicas": 3, "selector": {"a": [1, {"b": "}"}]},
            "template" : {"metadata": {"annotations": {"x\"y": "{["}}, "spec": {"containers": []}}, "z": null}}"#;
        assert_eq!(
            value_at(text, &["spec", "template"]),
            Some(r#"{"metadata": {"annotations": {"x\"y": "{["}}, "spec": {"containers": []}}"#)
        );
        assert_eq!(value_at(text, &["spec", "replicas"]), Some("3"));
        assert_eq!(value_at(text, &["kind"]), Some(r#""Deployment""#));
        assert_eq!(value_at(text, &["spec", "z"]), Some("null"));
        assert_eq!(value_at(text, &["spec", "missing"]), None);
        assert_eq!(value_at(text, &["kind", "x"]), None, "not an object");
    }

    #[test]
    fn agrees_with_serde_on_every_value_of_a_real_object() {
        let text = r#"{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a\\b","image":"x","args":["\"]}"]}]}}}},"schedule":"*/5 * * * *"},"metadata":{"name":"n"}}"#;
        let value: serde_json::Value = serde_json::from_str(text).expect("valid");
        let template = value_at(text, &["spec", "jobTemplate", "spec", "template"]).expect("found");
        let reparsed: serde_json::Value = serde_json::from_str(template).expect("a whole value");
        assert_eq!(reparsed, value["spec"]["jobTemplate"]["spec"]["template"]);
        assert_eq!(value_at(text, &["metadata", "name"]), Some(r#""n""#));
    }
}
