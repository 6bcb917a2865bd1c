//! The seccomp and AppArmor annotation keys, deprecated but still judged as Pod Security
//! Admission judged them: one set, read by the UPDATE significance rule (`update.rs`) and by
//! every pod-security check that reads them.

/// The Pod-wide seccomp annotation.
pub const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// Prefix of the per-container seccomp annotation (`…/<container name>`).
pub const SECCOMP_CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
/// Prefix of the per-container AppArmor annotation (`…/<container name>`).
pub const APPARMOR_CONTAINER_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
