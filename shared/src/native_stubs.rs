//! The waPC host functions, stubbed for native builds (tests, fuzzing): a policy links them only
//! inside a waPC host; natively every host call fails (so a policy fails closed), and nothing
//! is ever answered.

#![allow(clippy::missing_safety_doc)]

/// The host's log sink: nothing natively.
#[unsafe(no_mangle)]
pub extern "C" fn __console_log(_ptr: *const u8, _len: usize) {}

/// A host call: always fails natively.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn __host_call(
    _binding_ptr: *const u8,
    _binding_len: usize,
    _namespace_ptr: *const u8,
    _namespace_len: usize,
    _operation_ptr: *const u8,
    _operation_len: usize,
    _payload_ptr: *const u8,
    _payload_len: usize,
) -> usize {
    0
}

/// The answer of a host call: none natively.
#[unsafe(no_mangle)]
pub extern "C" fn __host_response(_ptr: *mut u8) {}

/// Its length: none.
#[unsafe(no_mangle)]
pub extern "C" fn __host_response_len() -> usize {
    0
}

/// The error of a host call: empty.
#[unsafe(no_mangle)]
pub extern "C" fn __host_error_len() -> usize {
    0
}

/// The error bytes: none.
#[unsafe(no_mangle)]
pub extern "C" fn __host_error(_ptr: *mut u8) {}

/// A guest answer: dropped.
#[unsafe(no_mangle)]
pub extern "C" fn __guest_response(_ptr: *const u8, _len: usize) {}

/// A guest error: dropped.
#[unsafe(no_mangle)]
pub extern "C" fn __guest_error(_ptr: *const u8, _len: usize) {}

/// The guest request: none.
#[unsafe(no_mangle)]
pub extern "C" fn __guest_request(_op_ptr: *mut u8, _ptr: *mut u8) {}
