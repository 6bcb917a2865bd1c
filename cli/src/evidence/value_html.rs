//! A setting's value as HTML a printed page can hold: a scalar as code, a list of scalars as
//! one wrapping line in brackets, anything deeper as nested lists (`key: value`), never one
//! long JSON line. A list never reads as the scalar it holds, nor a string as a boolean.

use serde_json::Value;

use crate::markup::escape;

/// `value` as HTML: nested lists for objects and lists of objects.
pub fn value_html(value: &Value) -> String {
    match value {
        Value::Array(items) if items.is_empty() => "<code>[]</code>".into(),
        Value::Object(map) if map.is_empty() => "<code>{}</code>".into(),
        Value::Array(items) if items.iter().all(is_scalar) => format!(
            "[{}]",
            items.iter().map(scalar_html).collect::<Vec<_>>().join(", ")
        ),
        Value::Array(items) => {
            let items: String = items
                .iter()
                .map(|item| format!("<li>{}</li>", value_html(item)))
                .collect();
            format!("<ol class=\"value\">{items}</ol>")
        }
        Value::Object(map) => {
            let entries: String = map
                .iter()
                .map(|(key, item)| {
                    format!(
                        "<li><code>{}</code>: {}</li>",
                        escape(key),
                        value_html(item)
                    )
                })
                .collect();
            format!("<ul class=\"value\">{entries}</ul>")
        }
        scalar => scalar_html(scalar),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// A string without its JSON quotes, unless it would read as something else (empty, `true`,
/// `null`, a number); anything else as JSON.
fn scalar_html(value: &Value) -> String {
    match value {
        Value::String(text)
            if !text.is_empty() && serde_json::from_str::<Value>(text.trim()).is_err() =>
        {
            format!("<code>{}</code>", escape(text))
        }
        other => format!("<code>{}</code>", escape(&other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_lists_and_objects() {
        assert_eq!(value_html(&json!("restricted")), "<code>restricted</code>");
        assert_eq!(value_html(&json!("")), "<code>&quot;&quot;</code>");
        assert_eq!(value_html(&json!(true)), "<code>true</code>");
        assert_eq!(
            value_html(&json!(["a", 1])),
            "[<code>a</code>, <code>1</code>]"
        );
        assert_ne!(value_html(&json!(["gvisor"])), value_html(&json!("gvisor")));
        assert_eq!(value_html(&json!("true")), "<code>&quot;true&quot;</code>");
        assert_eq!(value_html(&json!("2")), "<code>&quot;2&quot;</code>");
        assert_eq!(
            value_html(&json!({"allow": ["r.io"], "x": {}})),
            "<ul class=\"value\"><li><code>allow</code>: [<code>r.io</code>]</li><li><code>x</code>: <code>{}</code></li></ul>"
        );
        assert_eq!(
            value_html(&json!([{"k": "<b>"}])),
            "<ol class=\"value\"><li><ul class=\"value\"><li><code>k</code>: <code>&lt;b&gt;</code></li></ul></li></ol>"
        );
    }
}
