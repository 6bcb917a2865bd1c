//! What a YAML scalar is, read as the Go YAML library behind `kubectl` (sigs.k8s.io/yaml, YAML
//! 1.1 rules) reads it before sending JSON to the API server: the scan judges the object the
//! cluster receives, not another reading of the same text. So `privileged: yes` is `true`,
//! `defaultMode: 0644` is 420 and `1_000` is 1000. Quoted and block scalars are strings.
//!
//! Tags: the core ones (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!map`, `!!seq`) and
//! the non-specific `!` are read; any other tag is refused, since what it means is up to an
//! application the scan is not.

use saphyr_parser::{ScalarStyle, Tag};
use serde_json::{Number, Value};

/// The core schema's tag handle (`!!`).
const CORE: &str = "tag:yaml.org,2002:";

/// What a tag asks a node to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// No tag: resolved from the text (plain scalars), a string otherwise.
    Any,
    Str,
    Int,
    Float,
    Bool,
    Null,
    Map,
    Seq,
}

/// The meaning of `tag`, or why it is not read.
pub fn wanted(tag: Option<&Tag>) -> Result<Wanted, String> {
    let Some(tag) = tag else {
        return Ok(Wanted::Any);
    };
    if tag.handle == "!" && tag.suffix.is_empty() {
        return Ok(Wanted::Str);
    }
    if tag.handle == CORE {
        let wanted = match tag.suffix.as_str() {
            "str" => Some(Wanted::Str),
            "int" => Some(Wanted::Int),
            "float" => Some(Wanted::Float),
            "bool" => Some(Wanted::Bool),
            "null" => Some(Wanted::Null),
            "map" => Some(Wanted::Map),
            "seq" => Some(Wanted::Seq),
            _ => None,
        };
        if let Some(wanted) = wanted {
            return Ok(wanted);
        }
    }
    Err(format!(
        "the tag {tag} is not read (only !!str, !!int, !!float, !!bool, !!null, !!map and !!seq)"
    ))
}

/// The value of a scalar written `text` in `style` with a tag asking for `wanted`.
pub fn value(text: &str, style: ScalarStyle, wanted: Wanted) -> Result<Value, String> {
    let fits: fn(&Value) -> bool = match wanted {
        Wanted::Str => return Ok(Value::String(text.to_owned())),
        Wanted::Any if style != ScalarStyle::Plain => return Ok(Value::String(text.to_owned())),
        Wanted::Map | Wanted::Seq => return Err(format!("{text:?} is a scalar, not a {wanted:?}")),
        Wanted::Any => |_| true,
        Wanted::Int => |v| v.is_i64() || v.is_u64(),
        // An integer written under !!float is a float.
        Wanted::Float => Value::is_number,
        Wanted::Bool => Value::is_boolean,
        Wanted::Null => Value::is_null,
    };
    if is_non_finite(text) {
        return Err(format!(
            "{text} is a float JSON cannot carry (kubectl refuses it too)"
        ));
    }
    let resolved = resolve(text);
    if fits(&resolved) {
        Ok(resolved)
    } else {
        Err(format!("{text:?} is not a valid {wanted:?}"))
    }
}

/// The text of a mapping key as the JSON object key Kubernetes gets: a plain key reading as a
/// boolean, null or integer is written as JSON writes that value (`on` → `true`), as
/// sigs.k8s.io/yaml converts keys.
pub fn key(text: &str, style: ScalarStyle) -> String {
    if style != ScalarStyle::Plain {
        return text.to_owned();
    }
    match resolve(text) {
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => text.to_owned(),
    }
}

/// Resolves a plain scalar as go-yaml v2 does: null, booleans of YAML 1.1, integers as Go's
/// `strconv.ParseInt(s, 0, 64)` reads them once `_` is removed (octal `0644`, `0x`, `0o`,
/// `0b`), floats; anything else is a string. Not-a-number and infinities have no JSON form:
/// they stay strings here and are refused by the reader ([`is_non_finite`]).
pub fn resolve(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return Value::String(text.to_owned());
    }
    let digits = text.replace('_', "");
    if let Some(number) = go_integer(&digits) {
        return Value::Number(number);
    }
    if is_float(&digits)
        && let Ok(float) = digits.parse::<f64>()
    {
        return float_value(float).unwrap_or_else(|| Value::String(text.to_owned()));
    }
    Value::String(text.to_owned())
}

/// True for the spellings of not-a-number and infinity, which YAML reads as floats and JSON
/// cannot carry.
pub fn is_non_finite(text: &str) -> bool {
    matches!(
        text.trim_start_matches(['+', '-']),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
    )
}

/// A float as the JSON Go writes for it: an integral value within 2^53 as an integer.
fn float_value(float: f64) -> Option<Value> {
    if !float.is_finite() {
        return None;
    }
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if float.fract() == 0.0 && float.abs() < EXACT {
        // Exact: |float| < 2^53 and integral.
        return Some(Value::Number(Number::from(float as i64)));
    }
    Number::from_f64(float).map(Value::Number)
}

/// `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: an optional sign, then `0x`/`0o`/`0b`
/// prefixes or a leading `0` for octal.
fn go_integer(text: &str) -> Option<Number> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(rest) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        (16, rest)
    } else if let Some(rest) = unsigned
        .strip_prefix("0o")
        .or_else(|| unsigned.strip_prefix("0O"))
    {
        (8, rest)
    } else if let Some(rest) = unsigned
        .strip_prefix("0b")
        .or_else(|| unsigned.strip_prefix("0B"))
    {
        (2, rest)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (8, &unsigned[1..])
    } else {
        (10, unsigned)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        // -2^63 is the smallest; ParseUint refuses any sign.
        let value = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Number::from(value))
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml's float form: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits = |at: &mut usize| {
        let start = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at - start
    };
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        if digits(&mut at) == 0 {
            return false;
        }
    } else {
        if digits(&mut at) == 0 {
            return false;
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            digits(&mut at);
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'-' | b'+')) {
            at += 1;
        }
        if digits(&mut at) == 0 {
            return false;
        }
    }
    at == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_scalars_read_as_kubectl_reads_them() {
        for (text, expected) in [
            ("yes", json!(true)),
            ("On", json!(true)),
            ("n", json!(false)),
            ("OFF", json!(false)),
            ("True", json!(true)),
            ("~", json!(null)),
            ("", json!(null)),
            ("0644", json!(420)),
            ("0", json!(0)),
            ("-0", json!(0)),
            ("1_000", json!(1000)),
            ("0x1F", json!(31)),
            ("0o17", json!(15)),
            ("0b101", json!(5)),
            ("-12", json!(-12)),
            ("+12", json!(12)),
            (
                "18446744073709551615",
                json!(18_446_744_073_709_551_615_u64),
            ),
            ("09", json!(9)),
            ("1e3", json!(1000)),
            ("1.5", json!(1.5)),
            (".5", json!(0.5)),
            ("1.", json!(1)),
            ("nginx:1.25", json!("nginx:1.25")),
            ("1.2.3", json!("1.2.3")),
            ("0x", json!("0x")),
            ("-", json!("-")),
            ("2001-12-14", json!("2001-12-14")),
            (".inf", json!(".inf")),
            ("yess", json!("yess")),
        ] {
            assert_eq!(resolve(text), expected, "{text:?}");
        }
    }

    #[test]
    fn quoted_scalars_are_strings_and_tags_are_obeyed() {
        let quoted = value("yes", ScalarStyle::DoubleQuoted, Wanted::Any).unwrap();
        assert_eq!(quoted, json!("yes"));
        assert_eq!(
            value("0644", ScalarStyle::Plain, Wanted::Str).unwrap(),
            json!("0644")
        );
        assert_eq!(
            value("12", ScalarStyle::SingleQuoted, Wanted::Int).unwrap(),
            json!(12)
        );
        assert!(value("twelve", ScalarStyle::Plain, Wanted::Int).is_err());
        assert_eq!(
            value("", ScalarStyle::DoubleQuoted, Wanted::Any).unwrap(),
            json!("")
        );
        let custom = Tag {
            handle: "!".into(),
            suffix: "secret".into(),
        };
        assert!(wanted(Some(&custom)).unwrap_err().contains("!secret"));
    }

    #[test]
    fn keys_are_written_as_json_writes_their_value() {
        assert_eq!(key("on", ScalarStyle::Plain), "true");
        assert_eq!(key("on", ScalarStyle::SingleQuoted), "on");
        assert_eq!(key("010", ScalarStyle::Plain), "8");
        assert_eq!(
            key("app.kubernetes.io/name", ScalarStyle::Plain),
            "app.kubernetes.io/name"
        );
    }
}
