//! Escaping text for the markup the command writes (JUnit XML, the evidence HTML).

/// `text` safe in an XML or HTML element or attribute: `& < > " '` escaped, and the control
/// characters XML 1.0 cannot carry replaced by `?`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            super::escape("<a href=\"x\">'&'\u{1}</a>\n"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;?&lt;/a&gt;\n"
        );
    }
}
