//! The image reference parser: never panics, and a parsed reference prints to its normal form
//! (registry, repository, effective tag — `latest` when none is given —, digest), which parses
//! back to the same image and prints identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pci_shared::image_reference::ImageReference;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(reference) = ImageReference::parse(text) {
        let printed = reference.to_string();
        let again = ImageReference::parse(&printed).unwrap_or_else(|e| {
            panic!("{text:?} printed as {printed:?}, which does not parse: {e}")
        });
        assert_eq!(
            again.to_string(),
            printed,
            "{text:?}: the normal form is not stable"
        );
        assert_eq!(again.registry(), reference.registry(), "{text:?}");
        assert_eq!(again.repository(), reference.repository(), "{text:?}");
        assert_eq!(again.effective_tag(), reference.effective_tag(), "{text:?}");
        assert_eq!(again.digest(), reference.digest(), "{text:?}");
    }
});
