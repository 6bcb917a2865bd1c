//! The host's errors in our words. policy-server and kwctl answer a failed capability call
//! with their own text: SDK wrappers (`error invoking host capability oci.verify: Host error:
//! Callback evaluation failure: …`), registry client errors, multi-line YAML of the unmet
//! constraints, and, when the host runs with `RUST_BACKTRACE` set, a stack trace. A message
//! says which [`HostFailure`] it was; the audit annotation keeps [`trimmed`] host text.

/// What went wrong, as a developer can act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HostFailure {
    /// The registry did not answer in time.
    Timeout,
    /// The registry could not be reached (DNS, connection, TLS).
    Unreachable,
    /// The registry refused the host's credentials.
    Unauthorized,
    /// The image (or its signature artifact) does not exist in the registry.
    NotFound,
    /// The image carries no signature at all.
    NoSignature,
    /// Signatures exist, but none by the expected signer (or without the required annotations).
    OtherSigner,
    /// Fewer signatures than the threshold verified.
    TooFewSignatures,
    /// Anything else: the host's text is in the audit annotation.
    Other,
}

impl HostFailure {
    /// What a failed registry lookup means for the developer, and what to do.
    pub fn lookup_phrase(self) -> &'static str {
        match self {
            Self::Timeout => "the registry timed out; retry, or tell the platform team",
            Self::Unreachable => "the registry is unreachable; tell the platform team",
            Self::Unauthorized => "the registry refused access; tell the platform team",
            Self::NotFound => "not in the registry; check the name and tag",
            _ => "the registry lookup failed; the platform team has the registry's answer",
        }
    }
}

/// What the host repeats of the question (the image reference, its digest), and the short name
/// it is written as instead (`<image>`, `<digest>`).
pub type Echo<'a> = (&'a str, &'a str);

/// Classifies a host error text. The host's text echoes what it was asked about, which a pod's
/// author writes: each echo is taken out before the text is read, so an image named
/// `…/timeout-proxy` or a digest holding `401` cannot steer the class. Transport failures come
/// first: a timed-out signature read says "error sending request" too, and is a timeout.
pub fn classify(raw: &str, echoes: &[Echo<'_>]) -> HostFailure {
    let text = without_echoes(cleaned(raw), echoes).to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|needle| text.contains(needle));
    if has(&[
        "timed out",
        "deadline has elapsed",
        "deadline exceeded",
        "request timeout",
    ]) {
        HostFailure::Timeout
    } else if has(&[
        "connection refused",
        "dns error",
        "failed to lookup address",
        "error trying to connect",
        "tcp connect error",
        "connection reset",
        "network is unreachable",
        "no route to host",
        "certificate verify failed",
        "invalid peer certificate",
    ]) {
        HostFailure::Unreachable
    } else if has(&[
        "401 unauthorized",
        "403 forbidden",
        "not authorized",
        "unauthorized:",
        "authentication required",
    ]) {
        HostFailure::Unauthorized
    } else if has(&["minimum number of signatures not reached"]) {
        HostFailure::TooFewSignatures
    } else if has(&["no signatures found", "not satisfied by the 0 signature"]) {
        HostFailure::NoSignature
    } else if has(&[
        "manifest unknown",
        "name unknown",
        "404 not found",
        "not found",
    ]) {
        HostFailure::NotFound
    } else if has(&[
        "missing signatures",
        "no signature matches",
        "no matching signature",
        "constraints not satisfied",
        "verification failed",
        "not trust",
    ]) {
        HostFailure::OtherSigner
    } else {
        HostFailure::Other
    }
}

/// Longest host text kept (the audit annotation of one image).
const MAX_HOST_TEXT: usize = 600;

/// The host's words without the wrappers the SDK and the host put before them, without a stack
/// trace, on one line, control characters escaped.
fn cleaned(raw: &str) -> String {
    let mut text = raw.trim_start();
    loop {
        let before = text;
        for wrapper in ["Host error:", "Callback evaluation failure:"] {
            text = text.strip_prefix(wrapper).unwrap_or(text).trim_start();
        }
        if let Some(rest) = text
            .strip_prefix("error invoking host capability ")
            .and_then(|rest| rest.split_once(": ").map(|(_, rest)| rest))
        {
            text = rest.trim_start();
        }
        if text == before {
            break;
        }
    }
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if is_backtrace_start(line) {
            break;
        }
        if !line.is_empty() {
            lines.push(one_line(line));
        }
    }
    lines.join(" ")
}

/// `text` with control characters (a newline, a carriage return, an escape) written as escapes,
/// so nothing a pod's author or a host writes can start a line of its own in a message.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The host's text for the audit annotation: without the wrappers, without a stack trace, on
/// one line and at most [`MAX_HOST_TEXT`] bytes (cut at a character boundary, `…` marking the
/// cut); a text that was only wrappers or a trace says so.
pub fn trimmed(raw: &str) -> String {
    trimmed_about(raw, &[])
}

/// [`trimmed`], each echo (what the caller already states) written as its short name, so the
/// host's reason fits before the cut.
pub fn trimmed_about(raw: &str, echoes: &[Echo<'_>]) -> String {
    let text = without_echoes(cleaned(raw), echoes);
    if text.is_empty() {
        return "(the host gave no reason)".to_owned();
    }
    if text.len() <= MAX_HOST_TEXT {
        return text;
    }
    let mut cut = MAX_HOST_TEXT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

fn without_echoes(mut text: String, echoes: &[Echo<'_>]) -> String {
    for (echo, name) in echoes.iter().filter(|(echo, _)| !echo.is_empty()) {
        text = text.replace(echo, name);
    }
    text
}

/// The first line of a stack trace: Rust's (`Stack backtrace:`, as anyhow and a panic print
/// it) or Go's (`goroutine 1 [running]:`). Frame lines come after it; a numbered line alone is
/// the host's text (`12: dial tcp [fd00::1]:443: …`).
fn is_backtrace_start(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.starts_with("stack backtrace")
        || lower.starts_with("backtrace:")
        || (lower.starts_with("goroutine ") && lower.ends_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_and_stack_traces_are_dropped() {
        let raw = "error invoking host capability oci.verify: Host error: Callback evaluation failure: Image verification failed: missing signatures\n\
                   The following constraints were not satisfied:\n\
                   kind: pubKey\n\nStack backtrace:\n   0: anyhow::error::<impl anyhow::Error>::msg\n   1: policy_evaluator::callback_handler::CallbackHandler::loop_eval";
        assert_eq!(
            trimmed(raw),
            "Image verification failed: missing signatures The following constraints were not satisfied: kind: pubKey"
        );
        assert_eq!(
            trimmed("Stack backtrace:\n   0: std::backtrace::Backtrace::create"),
            "(the host gave no reason)"
        );
        assert_eq!(
            trimmed("12: dial tcp [fd00::1]:443: connect: connection refused"),
            "12: dial tcp [fd00::1]:443: connect: connection refused"
        );
        assert_eq!(
            trimmed("Host error: forbidden; upstream said: Host error: ok"),
            "forbidden; upstream said: Host error: ok"
        );
        assert_eq!(trimmed("refused\r\u{1b}[31m"), "refused\\r\\u{1b}[31m");
    }

    #[test]
    fn what_the_caller_states_is_not_repeated() {
        let raw = "Image verification failed for r/i@sha256:1 (sha256:1): no signature";
        assert_eq!(
            trimmed_about(
                raw,
                &[("r/i@sha256:1", "<image>"), ("sha256:1", "<digest>")]
            ),
            "Image verification failed for <image> (<digest>): no signature"
        );
    }

    #[test]
    fn long_text_is_cut_at_a_character() {
        let raw = "é".repeat(MAX_HOST_TEXT);
        let text = trimmed(&raw);
        assert!(text.len() <= MAX_HOST_TEXT + "…".len(), "{}", text.len());
        assert!(text.ends_with('…'));
    }

    #[test]
    fn each_failure_the_hosts_report_is_named() {
        let cases = [
            (
                "Host error: Image verification failed: missing signatures\nThe following constraints were not satisfied:",
                HostFailure::OtherSigner,
            ),
            (
                "no signatures found for image: ghcr.io/a/b@sha256:00 ",
                HostFailure::NoSignature,
            ),
            (
                "Image verification failed for r/i@sha256:1: 1 of 1 constraints not satisfied by the 0 signature(s) of sha256:1",
                HostFailure::NoSignature,
            ),
            (
                "Image verification failed for r/i@sha256:1: 1 of 1 constraints not satisfied by the 2 signature(s) of sha256:1",
                HostFailure::OtherSigner,
            ),
            (
                "verification failed: Verification constraints not satisfied",
                HostFailure::OtherSigner,
            ),
            (
                "Image verification failed: minimum number of signatures not reached: needed 2, got 1",
                HostFailure::TooFewSignatures,
            ),
            (
                "error sending request for url (https://reg/v2/): error trying to connect: tcp connect error: Connection refused (os error 111)",
                HostFailure::Unreachable,
            ),
            (
                "error sending request: operation timed out",
                HostFailure::Timeout,
            ),
            (
                "Registry error: url https://reg/v2/a/manifests/1, envelope: OCI API errors: [OCI API error: manifest unknown]",
                HostFailure::NotFound,
            ),
            (
                "Not authorized: url https://reg/token, 401 Unauthorized",
                HostFailure::Unauthorized,
            ),
            (
                "the host did not trust the signatures",
                HostFailure::OtherSigner,
            ),
            ("something odd", HostFailure::Other),
        ];
        for (raw, expected) in cases {
            assert_eq!(classify(raw, &[]), expected, "{raw}");
        }
    }

    /// What the host echoes (the image a pod's author named, its digest) does not steer the class.
    #[test]
    fn the_echoed_image_does_not_steer_the_class() {
        let image = "registry.corp.com/payments/timeout-proxy-401-404-not-found:1.0";
        let raw = format!("Host error: no signatures found for image: {image} ");
        assert_eq!(
            classify(&raw, &[(image, "<image>")]),
            HostFailure::NoSignature
        );
        let digest = "sha256:4014044014040000000000000000000000000000000000000000000000000000";
        let raw = format!("Image verification failed: missing signatures for r/i@{digest}");
        assert_eq!(
            classify(&raw, &[(digest, "<digest>")]),
            HostFailure::OtherSigner
        );
    }
}
