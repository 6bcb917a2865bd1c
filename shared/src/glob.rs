//! Text globs, one matcher for every pattern the policies read: `*` matches any run of
//! characters except the bytes it stops at, and, where the syntax has it, `?` one character.
//! Image patterns stop `*` at `/` (and at `.`, `:` in hosts); runtime-isolation's handler and
//! node names at `/`; EKS Fargate profile selectors let `*` cross everything and read `?`.

/// How a pattern's wildcards read.
#[derive(Clone, Copy, Debug)]
pub struct Wildcards<'a> {
    /// The bytes `*` does not match; none: `*` matches anything.
    pub star_stops_at: &'a [u8],
    /// `?` matches one character; otherwise it is a literal `?`.
    pub question_mark: bool,
}

/// `*` within one path segment (`/` stops it); `?` literal.
pub const SEGMENT: Wildcards<'static> = Wildcards {
    star_stops_at: b"/",
    question_mark: false,
};

/// `*` within one host label (`/`, `.` and `:` stop it); `?` literal.
pub const HOST_LABEL: Wildcards<'static> = Wildcards {
    star_stops_at: b"/.:",
    question_mark: false,
};

/// As EKS reads Fargate profile selectors: `*` any run of characters, `?` one character.
pub const EKS: Wildcards<'static> = Wildcards {
    star_stops_at: b"",
    question_mark: true,
};

/// Matches `text` against `pattern` read with `wildcards`.
pub fn glob(pattern: &str, text: &str, wildcards: Wildcards<'_>) -> bool {
    let t = text.as_bytes();
    // matches[j]: the pattern prefix consumed so far matches the text prefix of length j.
    let mut matches = vec![false; t.len() + 1];
    matches[0] = true;
    for &pc in pattern.as_bytes() {
        let mut next = vec![false; t.len() + 1];
        match pc {
            b'*' => {
                for j in 0..=t.len() {
                    next[j] = matches[j]
                        || (j > 0 && next[j - 1] && !wildcards.star_stops_at.contains(&t[j - 1]));
                }
            }
            b'?' if wildcards.question_mark => {
                // One character: from the start of the character that ends at j.
                for j in 1..=t.len() {
                    if j == t.len() || !is_continuation(t[j]) {
                        let mut start = j - 1;
                        while start > 0 && is_continuation(t[start]) {
                            start -= 1;
                        }
                        next[j] = matches[start];
                    }
                }
            }
            _ => {
                for j in 1..=t.len() {
                    next[j] = matches[j - 1] && t[j - 1] == pc;
                }
            }
        }
        matches = next;
    }
    matches[t.len()]
}

/// A UTF-8 continuation byte (not the first byte of a character).
fn is_continuation(byte: u8) -> bool {
    byte & 0xC0 == 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_stops_at_slashes_and_barriers() {
        assert!(glob("kata-*", "kata-qemu", SEGMENT));
        assert!(glob("*", "", SEGMENT));
        assert!(!glob("kata-*", "kata/qemu", SEGMENT));
        assert!(glob("*.corp.com", "eu.corp.com", HOST_LABEL));
        assert!(!glob("*.corp.com", "a.eu.corp.com", HOST_LABEL));
        assert!(!glob("runsc", "runsc-debug", SEGMENT));
        assert!(glob("a?c", "a?c", SEGMENT) && !glob("a?c", "abc", SEGMENT));
    }

    #[test]
    fn eks_stars_cross_everything_and_a_question_mark_is_one_character() {
        assert!(glob("prod-*", "prod-payments", EKS));
        assert!(glob("prod-*", "prod-", EKS));
        assert!(glob("prod-*", "prod-a/b.c", EKS));
        assert!(!glob("prod-*", "staging-prod-x", EKS));
        assert!(glob("team-?", "team-a", EKS));
        assert!(!glob("team-?", "team-ab", EKS));
        assert!(!glob("team-?", "team-", EKS));
        assert!(glob("team-?", "team-é", EKS), "one character, two bytes");
        assert!(!glob("team-??", "team-é", EKS));
        assert!(glob("*?", "é", EKS));
        assert!(glob("cde", "cde", EKS) && !glob("cde", "cde2", EKS));
    }
}
