//! Choices drawn from bytes: [`Draw`] wraps `arbitrary::Unstructured`, so a fuzzer steers every
//! choice with its input and the tests replay fixed pseudo-random buffers ([`case_bytes`]).
//! Drawing never fails: when the bytes run out, every choice takes its first option and every
//! chance is taken.

use arbitrary::Unstructured;

/// Draws choices from a byte buffer.
pub struct Draw<'a> {
    bytes: Unstructured<'a>,
}

impl<'a> Draw<'a> {
    /// Choices read from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            bytes: Unstructured::new(data),
        }
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: usize, high: usize) -> usize {
        self.bytes.int_in_range(low..=high).unwrap_or(low)
    }

    /// One of `options` (which must not be empty).
    pub fn pick<T: Clone>(&mut self, options: &[T]) -> T {
        options[self.range(0, options.len() - 1)].clone()
    }

    /// True `numerator` times in `denominator`.
    pub fn chance(&mut self, numerator: u32, denominator: u32) -> bool {
        self.bytes.ratio(numerator, denominator).unwrap_or(false)
    }

    /// `items` in a drawn order (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            let other = self.range(0, last);
            items.swap(last, other);
        }
    }

    /// A lower-case DNS label of `1..=max` characters, as object and container names are.
    pub fn label(&mut self, max: usize) -> String {
        const FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
        const REST: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";
        let len = self.range(1, max);
        let mut label = String::with_capacity(len);
        for index in 0..len {
            let alphabet = if index == 0 || index == len - 1 {
                FIRST
            } else {
                REST
            };
            label.push(char::from(self.pick(alphabet)));
        }
        label
    }
}

/// The fixed pseudo-random bytes of case `index` of `policy` (splitmix64 seeded by both), so a
/// failing case is replayed by its number alone.
pub fn case_bytes(policy: &str, index: u64, len: usize) -> Vec<u8> {
    let mut state = policy
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
        ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_fixed_and_distinct() {
        assert_eq!(case_bytes("p", 7, 64), case_bytes("p", 7, 64));
        assert_ne!(case_bytes("p", 7, 64), case_bytes("p", 8, 64));
        assert_ne!(case_bytes("p", 7, 64), case_bytes("q", 7, 64));
    }

    #[test]
    fn an_exhausted_draw_takes_the_first_option() {
        let mut draw = Draw::new(&[]);
        assert_eq!(draw.pick(&["first", "second"]), "first");
        assert_eq!(draw.range(3, 9), 3);
        assert!(draw.chance(1, 2));
        assert_eq!(draw.label(10), "a");
    }
}
