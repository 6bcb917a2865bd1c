//! Asking the host what digest a tag points to (`oci/v1/manifest_digest`), once per tag and
//! request.

use pci_shared::host_answers::HostAnswers;

/// The digests looked up during one request, by `registry/repository:tag`.
pub type Lookups = HostAnswers<String, Result<String, String>>;

/// The digest `tagged` points to, asking `L` only the first time this request needs it.
pub fn manifest_digest<L: DigestLookup>(
    lookups: &mut Lookups,
    tagged: String,
) -> Result<String, String> {
    lookups.get_or_ask(tagged, |tagged| L::manifest_digest(tagged))
}

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
