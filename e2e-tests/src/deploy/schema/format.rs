//! The `format`s of the Kubewarden CRDs, checked as the API server checks them: `int32` and
//! `int64` ranges, `date-time` as RFC 3339. Any other format is reported as not checked, never
//! passed over.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

/// Why `value` does not have `format`, or `None` when it has it (or the format does not apply
/// to a value of this type, which the type check reports).
pub fn format_violation(format: &str, value: &Value) -> Option<String> {
    match format {
        "int32" => value
            .as_i64()
            .map_or(value.is_u64(), |n| i32::try_from(n).is_err())
            .then(|| format!("{value} does not fit the format int32")),
        "int64" => (value.is_u64() && !value.is_i64())
            .then(|| format!("{value} does not fit the format int64")),
        "date-time" => value
            .as_str()
            .filter(|text| !rfc3339().is_match(text))
            .map(|text| format!("{text:?} is not an RFC 3339 date-time")),
        other => Some(format!(
            "the format {other:?} is not checked by this checker (the API server checks it): add it to e2e-tests/src/deploy/schema/format.rs"
        )),
    }
}

/// RFC 3339 `date-time` (the API server's strfmt accepts a space for `T` too).
fn rfc3339() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(
            r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$",
        )
        .expect("the RFC 3339 pattern compiles")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_formats_bound_their_range() {
        assert_eq!(format_violation("int32", &json!(2_147_483_647)), None);
        assert_eq!(
            format_violation("int32", &json!(2_147_483_648_i64)),
            Some("2147483648 does not fit the format int32".into())
        );
        assert_eq!(format_violation("int32", &json!(-2_147_483_648_i64)), None);
        assert_eq!(
            format_violation("int64", &json!(u64::MAX)),
            Some("18446744073709551615 does not fit the format int64".into())
        );
    }

    #[test]
    fn date_times_are_rfc3339() {
        assert_eq!(
            format_violation("date-time", &json!("2026-01-31T10:00:00Z")),
            None
        );
        assert_eq!(
            format_violation("date-time", &json!("2026-01-31")),
            Some("\"2026-01-31\" is not an RFC 3339 date-time".into())
        );
    }

    #[test]
    fn an_unknown_format_is_reported_not_passed() {
        assert!(
            format_violation("uuid", &json!("x"))
                .unwrap()
                .starts_with("the format \"uuid\" is not checked")
        );
    }
}
