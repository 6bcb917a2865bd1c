//! YAML that Kubernetes tools read back as it was written. yaml_serde writes a string such as
//! `2027-12-31` plain, which YAML 1.2 reads as a string; kustomize (go-yaml v3, YAML 1.1
//! timestamps) reads it as a timestamp and writes `2027-12-31T00:00:00Z` back whenever it
//! patches the object, which pod-security then refuses as an exception's `expires`. Such
//! strings are written quoted here.

use anyhow::{Result, bail};
use serde_json::Value;

/// `value` as block YAML, strings that look like timestamps single-quoted. The text is read
/// back and compared with `value`, so the quoting can never change what a document says.
pub fn to_string(value: &Value) -> Result<String> {
    let plain = yaml_serde::to_string(value)?;
    let mut text = String::with_capacity(plain.len());
    // The indentation of the line that opened the block scalar being read (`key: |`), if any.
    let mut block_scalar: Option<usize> = None;
    for line in plain.lines() {
        let indent = line.len() - line.trim_start().len();
        if block_scalar.is_some_and(|opened_at| indent > opened_at || line.trim().is_empty()) {
            text.push_str(line);
        } else {
            let parsed = BlockLine::parse(line);
            block_scalar = parsed.value.starts_with(['|', '>']).then_some(indent);
            text.push_str(&parsed.quoting_timestamp());
        }
        text.push('\n');
    }
    if yaml_serde::from_str::<Value>(&text)? != *value {
        bail!("quoting the timestamps of this YAML would change its content:\n{plain}");
    }
    Ok(text)
}

/// A line of block YAML: `key: value`, `- value`, `- key: value`, indented; `value` is empty
/// when the line opens a nested block.
struct BlockLine<'a> {
    line: &'a str,
    value: &'a str,
}

impl<'a> BlockLine<'a> {
    fn parse(line: &'a str) -> Self {
        let mut rest = line.trim_start();
        while let Some(after_dash) = rest.strip_prefix("- ") {
            rest = after_dash;
        }
        let value = match rest.split_once(": ") {
            Some((key, value)) if !key.contains(' ') && !key.starts_with(['\'', '"']) => value,
            Some(_) => "",
            None if rest.ends_with(':') => "",
            None => rest,
        };
        Self { line, value }
    }

    /// The line, its value single-quoted when it looks like a timestamp.
    fn quoting_timestamp(&self) -> String {
        if looks_like_timestamp(self.value) {
            let start = self.line.len() - self.value.len();
            format!("{}'{}'", &self.line[..start], self.value)
        } else {
            self.line.to_owned()
        }
    }
}

/// True when `text` starts as a YAML 1.1 timestamp does: `YYYY-M-D` (one or two digits each).
fn looks_like_timestamp(text: &str) -> bool {
    let mut parts = text.splitn(3, '-');
    let digits = |part: Option<&str>, lengths: &[usize]| {
        part.is_some_and(|p| lengths.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let (year, month, rest) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    let day_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits(year, &[4]) && digits(month, &[1, 2]) && (1..=2).contains(&day_len)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dates_are_quoted_wherever_they_are_written() {
        let value = json!({
            "expires": "2027-12-31",
            "seen": "2027-1-5T10:00:00Z",
            "list": ["2027-12-31", {"until": "2028-01-01", "name": "a"}],
            "nested": [["2027-12-31"]],
            "reason": "until 2027-12-31: reviewed",
            "version": "v2027-12-31",
            "text": "line one\nexpires: 2027-12-31\n",
        });
        let text = to_string(&value).unwrap();
        for quoted in [
            "expires: '2027-12-31'",
            "seen: '2027-1-5T10:00:00Z'",
            "- '2027-12-31'",
            "  until: '2028-01-01'",
            "- - '2027-12-31'",
            "version: v2027-12-31",
        ] {
            assert!(text.contains(quoted), "{quoted}:\n{text}");
        }
        // Inside a block scalar, the line is text, not a value: it stays as it is.
        assert!(text.contains("\n  expires: 2027-12-31\n"), "{text}");
        assert_eq!(yaml_serde::from_str::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn what_is_not_a_timestamp_is_left_plain() {
        for text in [
            "2027",
            "2027-12",
            "27-12-31",
            "2027-123-1",
            "2027-12-x",
            "abc",
        ] {
            assert!(!looks_like_timestamp(text), "{text}");
        }
        for text in ["2027-12-31", "2027-1-5", "2027-12-31 10:00:00"] {
            assert!(looks_like_timestamp(text), "{text}");
        }
    }
}
