//! Reading, removing and appending wasm custom sections on the raw module bytes.

use anyhow::{Context, Result, bail};

const MAGIC: &[u8; 4] = b"\0asm";

/// One section of a module: its id, where it starts (header included) and its payload range.
#[derive(Clone, Debug)]
struct Section {
    id: u8,
    start: usize,
    payload: std::ops::Range<usize>,
}

fn read_leb_u32(bytes: &[u8], at: &mut usize) -> Result<u32> {
    let mut result: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*at).context("truncated LEB128 integer")?;
        *at += 1;
        result |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(result);
        }
    }
    bail!("LEB128 integer too long")
}

fn write_leb_u32(mut value: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn sections(module: &[u8]) -> Result<Vec<Section>> {
    if module.len() < 8 || &module[..4] != MAGIC {
        bail!("not a WebAssembly module (missing \\0asm magic)");
    }
    let mut at = 8;
    let mut found = Vec::new();
    while at < module.len() {
        let start = at;
        let id = module[at];
        at += 1;
        let size = read_leb_u32(module, &mut at)? as usize;
        let end = at
            .checked_add(size)
            .filter(|end| *end <= module.len())
            .context("section runs past the end")?;
        found.push(Section {
            id,
            start,
            payload: at..end,
        });
        at = end;
    }
    Ok(found)
}

fn custom_name<'a>(module: &'a [u8], section: &Section) -> Result<(&'a str, usize)> {
    let mut at = section.payload.start;
    let length = read_leb_u32(module, &mut at)? as usize;
    let end = at
        .checked_add(length)
        .filter(|end| *end <= section.payload.end)
        .context("custom section name too long")?;
    Ok((std::str::from_utf8(&module[at..end])?, end))
}

/// The payload of the first custom section called `name`, as readers of the metadata take it.
pub fn read_custom(module: &[u8], name: &str) -> Result<Option<Vec<u8>>> {
    for section in sections(module)?.iter().filter(|s| s.id == 0) {
        let (found, data_start) = custom_name(module, section)?;
        if found == name {
            return Ok(Some(module[data_start..section.payload.end].to_vec()));
        }
    }
    Ok(None)
}

/// The module without any custom section called `name`.
pub fn remove_custom(module: &[u8], name: &str) -> Result<Vec<u8>> {
    let mut out = module[..8].to_vec();
    for section in sections(module)? {
        if section.id == 0 && custom_name(module, &section)?.0 == name {
            continue;
        }
        out.extend_from_slice(&module[section.start..section.payload.end]);
    }
    Ok(out)
}

/// The module with a custom section `name` carrying `payload` appended at the end.
pub fn append_custom(module: &[u8], name: &str, payload: &[u8]) -> Result<Vec<u8>> {
    sections(module)?;
    let mut content = Vec::with_capacity(name.len() + payload.len() + 5);
    write_leb_u32(u32::try_from(name.len())?, &mut content);
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);
    let mut out = module.to_vec();
    out.push(0);
    write_leb_u32(u32::try_from(content.len())?, &mut out);
    out.extend_from_slice(&content);
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
    fn rejects_what_is_not_a_module() {
        assert!(read_custom(b"not wasm", "x").is_err());
        let mut truncated = append_custom(EMPTY_MODULE, "a", b"payload").expect("append");
        truncated.pop();
        assert!(read_custom(&truncated, "a").is_err());
    }
}
