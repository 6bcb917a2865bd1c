//! The little DER the settings need: definite-length TLVs, enough to read a
//! SubjectPublicKeyInfo (RFC 5280) and to check that a PEM body is exactly one value.

/// Tag of a SEQUENCE.
pub const SEQUENCE: u8 = 0x30;
/// Tag of an OBJECT IDENTIFIER.
pub const OID: u8 = 0x06;
/// Tag of a BIT STRING.
pub const BIT_STRING: u8 = 0x03;
/// Tag of an INTEGER.
pub const INTEGER: u8 = 0x02;
/// Tag of NULL.
pub const NULL: u8 = 0x05;

/// Reads one TLV: its tag, its content, and what follows it.
pub fn read(bytes: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, rest) = bytes.split_first().ok_or("no value")?;
    let (&first, rest) = rest.split_first().ok_or("no length")?;
    let (length, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            if rest.len() < count {
                return Err("truncated length".into());
            }
            let (digits, rest) = rest.split_at(count);
            if digits[0] == 0 || (count == 1 && digits[0] < 0x80) {
                return Err("length not in its shortest form".into());
            }
            let length = digits
                .iter()
                .fold(0usize, |length, &digit| (length << 8) | usize::from(digit));
            (length, rest)
        }
        _ => return Err("indefinite or oversized length".into()),
    };
    if rest.len() < length {
        return Err(format!(
            "a value of {length} bytes where {} remain (truncated)",
            rest.len()
        ));
    }
    let (content, rest) = rest.split_at(length);
    Ok((tag, content, rest))
}

/// Reads one TLV that must have tag `tag`.
pub fn expect<'a>(bytes: &'a [u8], tag: u8, what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let (found, content, rest) = read(bytes).map_err(|reason| format!("{what}: {reason}"))?;
    if found == tag {
        Ok((content, rest))
    } else {
        Err(format!(
            "{what}: tag 0x{found:02x} where 0x{tag:02x} was expected"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths_and_refuses_the_rest() {
        assert_eq!(read(&[0x05, 0x00, 0xff]), Ok((0x05, &[][..], &[0xff][..])));
        let long: Vec<u8> = [0x04, 0x81, 0x80].into_iter().chain([7; 0x80]).collect();
        assert_eq!(
            read(&long).map(|(_, c, r)| (c.len(), r.len())),
            Ok((0x80, 0))
        );
        assert!(
            read(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).is_err(),
            "not shortest"
        );
        assert!(read(&[0x30, 0x80]).is_err(), "indefinite");
        assert!(read(&[0x30, 0x03, 1]).is_err(), "truncated");
        assert!(expect(&[0x05, 0x00], SEQUENCE, "x").is_err());
    }
}
