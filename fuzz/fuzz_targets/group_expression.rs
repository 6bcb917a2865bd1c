//! Policy-group expressions (`pci_host::group`) on arbitrary text: never panic; a tokenized
//! expression's tokens round-trip to their source spans (`group::check_spans`: byte spans in
//! order, only whitespace between them, each span's text is its token), and an expression means
//! the same written the shortest way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pci_host::group::{Expression, check_spans, tokenize};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Expression::parse(text);
    let Ok(tokens) = tokenize(text) else {
        assert!(parsed.is_err(), "{text:?}: parsed without tokens");
        return;
    };
    if let Err(error) = check_spans(text, &tokens) {
        panic!("{text:?}: {error}");
    }
    let shortest: Vec<String> = tokens.iter().map(|t| t.token.written()).collect();
    assert_eq!(
        parsed.as_ref().ok(),
        Expression::parse(&shortest.join(" ")).as_ref().ok(),
        "{text:?}"
    );
    if let Ok(expression) = parsed {
        let members = expression.members();
        let _ = expression.evaluate(&mut |name| members.contains(name) && name.len() % 2 == 0);
    }
});
