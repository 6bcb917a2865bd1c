//! The reader's promise, checked by the property tests and the `manifest_reader` fuzz target:
//! every document a YAML parser counts in a file is judged, skipped or unreadable, in order,
//! none dropped and none invented, and whatever is reported names a line of the file.

use saphyr_parser::{Event, Parser};

use super::Document;
use super::yaml::last_line;

/// What the parser alone finds in `text`: the documents it completes, and whether a syntax
/// error stops it.
pub fn parser_count(text: &str) -> (usize, bool) {
    let mut complete = 0;
    for event in Parser::new_from_str(text) {
        match event {
            Ok((Event::DocumentEnd, _)) => complete += 1,
            Ok(_) => {}
            Err(_) => return (complete, true),
        }
    }
    (complete, false)
}

/// Checks `documents`, what the reader made of `text`, against [`parser_count`]: document
/// numbers from 0 in order without a gap (a `List`'s items share theirs), one more unreadable
/// document when a syntax error stops the parser, and every line within the file.
pub fn check(text: &str, documents: &[Document]) -> Result<(), String> {
    let (complete, broken) = parser_count(text);
    let last = last_line(text);
    let mut expected = 0;
    for document in documents {
        let origin = document.origin();
        if !(1..=last).contains(&origin.line) {
            return Err(format!(
                "{origin:?} is outside the file's {last} lines: {document:?}"
            ));
        }
        if origin.document + 1 == expected {
            continue;
        }
        if origin.document != expected {
            return Err(format!(
                "document {expected} expected, {} found: {document:?}",
                origin.document
            ));
        }
        expected += 1;
    }
    let reported = expected;
    let wanted = complete + usize::from(broken);
    if reported != wanted {
        return Err(format!(
            "{reported} documents reported, the parser counts {complete}{}",
            if broken { " and a syntax error" } else { "" }
        ));
    }
    if broken && !matches!(documents.last(), Some(Document::Invalid { .. })) {
        return Err("a syntax error that no unreadable document reports".to_owned());
    }
    Ok(())
}
