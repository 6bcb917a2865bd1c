//! Linux capability names: normalisation, the known set, and a container's added ones.

use pci_shared::containers::ContainerRef;

/// Every Linux capability a container runtime knows (without the `CAP_` prefix).
pub const KNOWN: [&str; 41] = [
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// Capabilities the baseline level allows containers to add.
pub const BASELINE_ALLOWED: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The only capability the restricted level allows containers to add.
pub const RESTRICTED_ALLOWED: [&str; 1] = ["NET_BIND_SERVICE"];

/// The name that stands for every capability in `drop`.
pub const ALL: &str = "ALL";

/// In `allowedCapabilities`, PodSecurityPolicy's "any capability".
pub const ANY: &str = "*";

/// Upper case, without the `CAP_` prefix: `cap_net_raw` and `NET_RAW` are the same capability.
pub fn normalize(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    match upper.strip_prefix("CAP_") {
        Some(rest) => rest.to_owned(),
        None => upper,
    }
}

/// True for a known capability name (in any spelling).
pub fn is_known(name: &str) -> bool {
    KNOWN.contains(&normalize(name).as_str())
}

/// The note for a capability refused only because of its spelling: `" (names are compared
/// exactly, as Pod Security Admission does: write CHOWN for CAP_CHOWN)"`, or nothing.
pub fn respelling_hint(added: &str, is_allowed: impl Fn(&str) -> bool) -> String {
    let canonical = normalize(added);
    if canonical != added && is_allowed(&canonical) {
        format!(
            " (names are compared exactly, as Pod Security Admission does: write {canonical} for {added})"
        )
    } else {
        String::new()
    }
}

/// The entries of `container`'s `securityContext.capabilities.add`, with their index.
pub fn added_capabilities<'c>(
    container: &ContainerRef<'c>,
) -> impl Iterator<Item = (usize, &'c str)> + 'c {
    container
        .container
        .security_context
        .as_ref()
        .and_then(|sc| sc.capabilities.as_ref())
        .map(|caps| caps.add.as_slice())
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .enumerate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_normalise_to_one_name() {
        for spelling in [
            "NET_RAW",
            "net_raw",
            "CAP_NET_RAW",
            "cap_net_raw",
            " Cap_Net_Raw ",
        ] {
            assert_eq!(normalize(spelling), "NET_RAW");
        }
        assert!(is_known("cap_sys_admin"));
        assert!(!is_known("SYS_ADMINN"));
        assert!(!is_known(ALL));
    }
}
