//! Errors about the admitted input, naming the field at fault.

use std::fmt;

use serde::Deserialize;

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

/// The deepest nesting a policy reads: serde_json's own recursion limit for typed data. Fields
/// a policy does not model are skipped without any limit, so the whole document is checked first.
pub const MAX_DEPTH: usize = 128;

/// Refuses JSON nested deeper than [`MAX_DEPTH`] levels, naming where the limit is passed.
///
/// Built to be cheap on every request: nesting cannot exceed the number of opening brackets,
/// which a word-at-a-time count gives first; only a document with more than [`MAX_DEPTH`] of
/// them is scanned precisely (string contents skipped, brackets outside strings counted).
pub fn check_depth(context: &'static str, text: &str) -> Result<(), InputError> {
    let bytes = text.as_bytes();
    if count_openers(bytes) <= MAX_DEPTH {
        return Ok(());
    }
    let mut depth = 0usize;
    let mut at = 0usize;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => {
                at += 1;
                // Skip the string: to the next quote not escaped by a backslash.
                while let Some(offset) = bytes.get(at..).and_then(find_quote_or_backslash) {
                    at += offset;
                    if bytes[at] == b'"' {
                        break;
                    }
                    at += 2;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(InputError {
                        path: path_at(text, at),
                        message: format!("nested deeper than {MAX_DEPTH} levels"),
                        context,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    Ok(())
}

/// The offset of the first `"` or `\\` in `bytes`, eight bytes at a time.
pub(crate) fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0usize;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let found =
            zero_bytes(word ^ 0x2222_2222_2222_2222) | zero_bytes(word ^ 0x5c5c_5c5c_5c5c_5c5c);
        if found != 0 {
            return Some(base + found.trailing_zeros() as usize / 8);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|offset| base + offset)
}

/// The high bit of each zero byte of `word`, exactly (no borrow between bytes).
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((word & LOW7) + LOW7) | word | LOW7)
}

/// How many `[` and `{` bytes `bytes` holds, eight at a time: `[` is 0x5B and `{` is 0x7B, so
/// both become 0x7B once bit 0x20 is set, and the bytes equal to 0x7B are counted exactly.
fn count_openers(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut count = 0usize;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // Zero where the byte is `[` or `{`.
        let diff = (u64::from_le_bytes(word) | 0x2020_2020_2020_2020) ^ 0x7b7b_7b7b_7b7b_7b7b;
        count += zero_bytes(diff).count_ones() as usize;
    }
    count
        + chunks
            .remainder()
            .iter()
            .filter(|&&b| b | 0x20 == b'{')
            .count()
}

/// Deserializes `T` from JSON text; on failure, the error names the offending field.
///
/// The path is recovered from the position serde_json reports, by scanning the text up to it
/// ([`path_at`]): the happy path runs one plain deserializer, fast, and the wasm carries no
/// second, path-tracking copy of every deserializer.
pub fn from_json_str<'a, T: Deserialize<'a>>(
    context: &'static str,
    text: &'a str,
) -> Result<T, InputError> {
    serde_json::from_str(text).map_err(|error| located(text, context, &error))
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn located(text: &str, context: &'static str, error: &serde_json::Error) -> InputError {
    let message = strip_position(&error.to_string());
    InputError {
        path: path_at(text, byte_offset(text, error.line(), error.column())),
        message,
        context,
    }
}

/// The byte offset of a 1-based line and column (serde_json counts columns in bytes).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let line_start = text
        .match_indices('\n')
        .nth(line.saturating_sub(2))
        .map_or(0, |(at, _)| at + 1);
    let line_start = if line == 1 { 0 } else { line_start };
    (line_start + column).min(text.len())
}

/// One open container while scanning JSON.
enum Frame {
    Object {
        key: Option<String>,
        expect_key: bool,
    },
    Array {
        index: usize,
    },
}

/// The path (`spec.containers[0].ports[1].hostPort`) of the innermost field being read at
/// `offset` in the JSON `text`.
pub fn path_at(text: &str, offset: usize) -> String {
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'{' => frames.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => frames.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { key, expect_key }) => {
                    *key = None;
                    *expect_key = true;
                }
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key, expect_key }) = frames.last_mut()
                    && *expect_key
                {
                    let raw = &text[start..i.min(bytes.len())];
                    *key = Some(
                        serde_json::from_str::<String>(&format!("\"{raw}\""))
                            .unwrap_or_else(|_| raw.to_owned()),
                    );
                    *expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &frames {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_and_backslashes_are_found_at_any_offset() {
        for len in 0..20 {
            for at in 0..len {
                for stop in [b'"', b'\\'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = stop;
                    if at + 1 < len {
                        bytes[at + 1] = b'"';
                    }
                    assert_eq!(
                        super::find_quote_or_backslash(&bytes),
                        Some(at),
                        "{len} {at}"
                    );
                }
            }
            assert_eq!(super::find_quote_or_backslash(&vec![0xa2u8; len]), None);
        }
    }

    #[test]
    fn openers_are_counted_exactly() {
        for text in [
            "",
            "[",
            "{[x]}",
            "abc{def[ghi{jkl[mno",
            "{{{{{{{{{",
            "[[[[[[[[[[[[[[[[[",
            "z{z[z;z{z[z\u{7f}[{",
        ] {
            let expected = text.bytes().filter(|&b| b == b'[' || b == b'{').count();
            assert_eq!(super::count_openers(text.as_bytes()), expected, "{text:?}");
        }
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(super::count_openers(&all), 2);
    }

    #[test]
    fn nesting_is_limited_and_the_place_is_named() {
        let ok = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(super::check_depth("object", &ok), Ok(()));
        let deep = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        let error = super::check_depth("object", &deep).unwrap_err();
        assert_eq!(error.message, "nested deeper than 128 levels");
        assert!(error.path.starts_with("a[0]"), "{}", error.path);
        // Brackets inside strings, escaped quotes included, do not count.
        let quoted = format!("{{\"a\":\"\\\"{}\"}}", "[".repeat(1000));
        assert_eq!(super::check_depth("object", &quoted), Ok(()));
    }

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

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Spec {
        spec: Template,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Template {
        template: Outer,
    }

    #[test]
    fn finds_the_path_in_pretty_printed_json() {
        let text = "{\n  \"spec\": {\n    \"replicas\": 1,\n    \"template\": {\n      \"inner\": [\n        {\"flag\": true},\n        {\"flag\": 3}\n      ]\n    }\n  }\n}";
        let error = from_json_str::<Spec>("object", text).expect_err("wrong type");
        assert_eq!(error.path, "spec.template.inner[1].flag");
        assert_eq!(
            error.message,
            "invalid type: integer `3`, expected a boolean"
        );
        let missing = from_json_str::<Spec>("object", "{\n \"spec\": {\"replicas\": 1}\n}")
            .expect_err("missing");
        assert_eq!(missing.path, "spec");
        assert_eq!(missing.message, "missing field `template`");
    }

    #[test]
    fn path_scanning_handles_escapes_and_nesting() {
        let text = r#"{"a\"b":{"c":[1,[2,{"d":"x\"}y"}]]}}"#;
        let at = text.find("y\"").expect("marker");
        assert_eq!(path_at(text, at), "a\"b.c[1][1].d");
        assert_eq!(path_at("", 0), "");
        assert_eq!(path_at("[1,2,", 99), "[2]");
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
