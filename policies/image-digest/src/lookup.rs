//! Asking the host what digest a tag points to (`oci/v1/manifest_digest`).

/// Where digests come from: the Kubewarden host in a policy, a recording in native tests.
pub trait DigestLookup {
    /// The digest `image` (a normalised `registry/repository:tag`) points to now, or the host's
    /// error.
    fn manifest_digest(image: &str) -> Result<String, String>;
}

/// The Kubewarden host capability `oci/v1/manifest_digest`.
pub struct HostLookup;

impl DigestLookup for HostLookup {
    fn manifest_digest(image: &str) -> Result<String, String> {
        pci_shared::host_calls::manifest_digest(image)
    }
}
