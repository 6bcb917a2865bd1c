//! Text globs: `*` matches any run of characters except `/` and the given barriers. Image
//! patterns use it per host label and path segment; runtime-isolation for handler names.

/// Matches `text` against `pattern`, where `*` matches any run of characters except the
/// `barriers` (and `/`, always).
pub fn glob(pattern: &str, text: &str, barriers: &[u8]) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    // matches[j]: pattern prefix consumed so far matches text prefix of length j.
    let mut matches = vec![false; t.len() + 1];
    matches[0] = true;
    for &pc in p {
        let mut next = vec![false; t.len() + 1];
        if pc == b'*' {
            for j in 0..=t.len() {
                next[j] = matches[j]
                    || (j > 0 && next[j - 1] && t[j - 1] != b'/' && !barriers.contains(&t[j - 1]));
            }
        } else {
            for j in 1..=t.len() {
                next[j] = matches[j - 1] && t[j - 1] == pc;
            }
        }
        matches = next;
    }
    matches[t.len()]
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn a_star_stops_at_slashes_and_barriers() {
        assert!(glob("kata-*", "kata-qemu", b""));
        assert!(glob("*", "", b""));
        assert!(!glob("kata-*", "kata/qemu", b""));
        assert!(glob("*.corp.com", "eu.corp.com", b"."));
        assert!(!glob("*.corp.com", "a.eu.corp.com", b"."));
        assert!(!glob("runsc", "runsc-debug", b""));
    }
}
