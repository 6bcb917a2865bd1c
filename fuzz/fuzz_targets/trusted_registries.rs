//! trusted_registries: `validate` on arbitrary bytes and on hostile admission requests, and settings
//! validation (see `pci_policies_fuzz::fuzz_policy`). Host calls fail natively: fail closed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pci_policies_fuzz::fuzz_policy::<trusted_registries::TrustedRegistries>(data);
});
