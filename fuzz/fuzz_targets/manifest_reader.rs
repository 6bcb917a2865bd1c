//! The scan's manifest reader (`pci_policies::manifests`) on arbitrary text: never panics, and
//! every document the YAML parser counts is judged, skipped or unreadable, in order, with a line
//! of the file (`manifests::accounting::check`); the line of any field of a workload is a line
//! of the file too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pci_policies::manifests::{Document, accounting, read_text, yaml::last_line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let documents = read_text("fuzz.yaml", text);
    if let Err(error) = accounting::check(text, &documents) {
        panic!("{error}\n{text:?}\n{documents:#?}");
    }
    let last = last_line(text);
    for document in &documents {
        if let Document::Workload { origin, source, .. } = document {
            for path in ["metadata.name", "spec.containers[0].image", "spec.template.spec"] {
                let line = source.line_of(origin.line, path);
                assert!((1..=last).contains(&line), "{path} on line {line}: {text:?}");
            }
        }
    }
});
