//! Reading, removing and appending wasm custom sections on the raw module bytes: the sections
//! are found with `wasmparser` and a new one is encoded with `wasm-encoder` (the versions
//! wasmtime already builds). The sections kept are copied byte for byte, so removing and
//! re-appending a section changes nothing else in the module.

use std::borrow::Cow;
use std::ops::Range;

use anyhow::{Context, Result, bail};
use wasm_encoder::Section as _;
use wasmparser::{Encoding, Parser, Payload};

/// One section of a module: its bytes (header included) and, for a custom section, its name
/// and data.
struct Section<'a> {
    bytes: Range<usize>,
    custom: Option<(&'a str, &'a [u8])>,
}

/// The module's header (magic and version) and its sections in order.
fn sections(module: &[u8]) -> Result<(Range<usize>, Vec<Section<'_>>)> {
    let mut header = 0..0;
    let mut found = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.context("not a WebAssembly module")?;
        match &payload {
            Payload::Version {
                encoding: Encoding::Module,
                range,
                ..
            } => header = range.clone(),
            Payload::Version { .. } => bail!("not a WebAssembly module (a component)"),
            _ => {}
        }
        let Some((_, contents)) = payload.as_section() else {
            continue;
        };
        // Sections follow each other: this one's header starts where the last one ended.
        let start = found
            .last()
            .map_or(header.end, |last: &Section| last.bytes.end);
        let custom = match &payload {
            Payload::CustomSection(reader) => Some((reader.name(), reader.data())),
            _ => None,
        };
        found.push(Section {
            bytes: start..contents.end,
            custom,
        });
    }
    Ok((header, found))
}

/// The payload of the first custom section called `name`, as readers of the metadata take it.
pub fn read_custom(module: &[u8], name: &str) -> Result<Option<Vec<u8>>> {
    Ok(sections(module)?
        .1
        .iter()
        .find_map(|section| match section.custom {
            Some((found, data)) if found == name => Some(data.to_vec()),
            _ => None,
        }))
}

/// The module without any custom section called `name`.
pub fn remove_custom(module: &[u8], name: &str) -> Result<Vec<u8>> {
    let (header, sections) = sections(module)?;
    let mut out = module[header].to_vec();
    for section in sections {
        if !matches!(section.custom, Some((found, _)) if found == name) {
            out.extend_from_slice(&module[section.bytes]);
        }
    }
    Ok(out)
}

/// The module with a custom section `name` carrying `payload` appended at the end.
pub fn append_custom(module: &[u8], name: &str, payload: &[u8]) -> Result<Vec<u8>> {
    sections(module)?;
    u32::try_from(name.len() + payload.len() + 5).context("custom section too large")?;
    let mut out = module.to_vec();
    wasm_encoder::CustomSection {
        name: Cow::Borrowed(name),
        data: Cow::Borrowed(payload),
    }
    .append_to(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn append_read_and_remove_round_trip() {
        let long = vec![b'x'; 300];
        let module = append_custom(EMPTY_MODULE, "a", b"first").expect("append");
        let module = append_custom(&module, "io.kubewarden.metadata", &long).expect("append");
        let module = append_custom(&module, "io.kubewarden.metadata", b"second").expect("append");
        assert_eq!(
            read_custom(&module, "io.kubewarden.metadata").expect("read"),
            Some(long)
        );
        let stripped = remove_custom(&module, "io.kubewarden.metadata").expect("remove");
        assert_eq!(
            read_custom(&stripped, "io.kubewarden.metadata").expect("read"),
            None
        );
        assert_eq!(
            read_custom(&stripped, "a").expect("read"),
            Some(b"first".to_vec())
        );
    }

    #[test]
    fn kept_sections_are_copied_byte_for_byte() {
        // A custom section "a" whose size is a padded (non-minimal) LEB128, as some linkers write.
        let mut module = EMPTY_MODULE.to_vec();
        module.extend_from_slice(&[0, 0x85, 0x80, 0x80, 0x80, 0x00, 1, b'a', b'x', b'y', b'z']);
        let annotated = append_custom(&module, "b", b"payload").expect("append");
        assert_eq!(remove_custom(&annotated, "b").expect("remove"), module);
        assert_eq!(
            read_custom(&annotated, "a").expect("read"),
            Some(b"xyz".to_vec())
        );
    }

    #[test]
    fn rejects_what_is_not_a_module() {
        assert!(read_custom(b"not wasm", "x").is_err());
        let mut truncated = append_custom(EMPTY_MODULE, "a", b"payload").expect("append");
        truncated.pop();
        assert!(read_custom(&truncated, "a").is_err());
        // A component is not a policy module.
        assert!(read_custom(b"\0asm\x0d\0\x01\0", "x").is_err());
    }
}
