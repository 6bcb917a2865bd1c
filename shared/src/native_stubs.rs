//! The waPC host functions for native builds (tests, fuzzing): a policy links them only inside a
//! waPC host. Natively every host call fails (so a policy fails closed), unless the thread has
//! installed a [`HostScript`] with [`script_host_calls`]: then the call is answered by the
//! script, in the host's wire format, and the policy runs exactly the code it runs in wasm
//! (its `host_calls` requests and answer parsing included).

#![allow(clippy::missing_safety_doc)]

use std::cell::{Cell, RefCell};

/// One host call as the guest makes it: `binding` (`kubewarden`), `namespace` (`oci`,
/// `kubernetes`), `operation` (`v1/manifest_digest`, `v2/verify`, `get_resource`) and the
/// payload the guest sent.
#[derive(Clone, Copy, Debug)]
pub struct HostCall<'a> {
    pub binding: &'a str,
    pub namespace: &'a str,
    pub operation: &'a str,
    pub payload: &'a [u8],
}

/// Answers host calls natively: the answer's bytes, or the host's error message.
pub type HostScript = fn(&HostCall<'_>) -> Result<Vec<u8>, String>;

thread_local! {
    /// The script answering this thread's host calls, if any.
    static SCRIPT: Cell<Option<HostScript>> = const { Cell::new(None) };
    /// The answer to the last host call, which the guest then reads.
    static LAST: RefCell<Result<Vec<u8>, Vec<u8>>> = const { RefCell::new(Err(Vec::new())) };
}

/// Answers this thread's host calls with `script` until the returned guard is dropped.
pub fn script_host_calls(script: HostScript) -> ScriptedHost {
    let previous = SCRIPT.with(|current| current.replace(Some(script)));
    ScriptedHost { previous }
}

/// Restores the previous script (none: every call fails) when dropped.
#[must_use = "the script is removed when the guard is dropped"]
pub struct ScriptedHost {
    previous: Option<HostScript>,
}

impl Drop for ScriptedHost {
    fn drop(&mut self) {
        SCRIPT.with(|current| current.set(self.previous));
    }
}

/// The bytes at `ptr`, or nothing for a null pointer or a zero length.
///
/// # Safety
/// `ptr` must point to `len` readable bytes, as waPC's guest passes them.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the guest passes a pointer to `len` bytes it owns for the whole call.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Copies `source` to `target`, which the guest allocated with the announced length.
///
/// # Safety
/// `target` must be valid for `source.len()` bytes.
unsafe fn copy_to(source: &[u8], target: *mut u8) {
    if !target.is_null() && !source.is_empty() {
        // SAFETY: the guest allocated `__host_response_len()` (or `__host_error_len()`) bytes.
        unsafe { std::ptr::copy_nonoverlapping(source.as_ptr(), target, source.len()) }
    }
}

/// The host's log sink: nothing natively.
#[unsafe(no_mangle)]
pub extern "C" fn __console_log(_ptr: *const u8, _len: usize) {}

/// A host call: answered by the thread's script, else a failure.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn __host_call(
    binding_ptr: *const u8,
    binding_len: usize,
    namespace_ptr: *const u8,
    namespace_len: usize,
    operation_ptr: *const u8,
    operation_len: usize,
    payload_ptr: *const u8,
    payload_len: usize,
) -> usize {
    let answer = match SCRIPT.with(Cell::get) {
        None => Err(Vec::new()),
        Some(script) => {
            let text = |ptr, len| {
                // SAFETY: waPC's `host_call` passes its `&str` and `&[u8]` arguments.
                String::from_utf8_lossy(unsafe { bytes(ptr, len) }).into_owned()
            };
            let (binding, namespace, operation) = (
                text(binding_ptr, binding_len),
                text(namespace_ptr, namespace_len),
                text(operation_ptr, operation_len),
            );
            let call = HostCall {
                binding: &binding,
                namespace: &namespace,
                operation: &operation,
                // SAFETY: as above.
                payload: unsafe { bytes(payload_ptr, payload_len) },
            };
            script(&call).map_err(String::into_bytes)
        }
    };
    let succeeded = usize::from(answer.is_ok());
    LAST.with(|last| *last.borrow_mut() = answer);
    succeeded
}

/// The answer of the last host call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __host_response(ptr: *mut u8) {
    LAST.with(|last| {
        if let Ok(answer) = &*last.borrow() {
            // SAFETY: the guest allocated `__host_response_len()` bytes at `ptr`.
            unsafe { copy_to(answer, ptr) }
        }
    });
}

/// Its length.
#[unsafe(no_mangle)]
pub extern "C" fn __host_response_len() -> usize {
    LAST.with(|last| last.borrow().as_ref().map_or(0, Vec::len))
}

/// The length of the last host call's error.
#[unsafe(no_mangle)]
pub extern "C" fn __host_error_len() -> usize {
    LAST.with(|last| last.borrow().as_ref().err().map_or(0, Vec::len))
}

/// The error bytes of the last host call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __host_error(ptr: *mut u8) {
    LAST.with(|last| {
        if let Err(error) = &*last.borrow() {
            // SAFETY: the guest allocated `__host_error_len()` bytes at `ptr`.
            unsafe { copy_to(error, ptr) }
        }
    });
}

/// A guest answer: dropped.
#[unsafe(no_mangle)]
pub extern "C" fn __guest_response(_ptr: *const u8, _len: usize) {}

/// A guest error: dropped.
#[unsafe(no_mangle)]
pub extern "C" fn __guest_error(_ptr: *const u8, _len: usize) {}

/// The guest request: none.
#[unsafe(no_mangle)]
pub extern "C" fn __guest_request(_op_ptr: *mut u8, _ptr: *mut u8) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_calls;

    fn registry(call: &HostCall<'_>) -> Result<Vec<u8>, String> {
        match (call.binding, call.namespace, call.operation) {
            ("kubewarden", "oci", "v1/manifest_digest") if call.payload == br#""reg/img:1""# => {
                Ok(br#"{"digest":"sha256:1"}"#.to_vec())
            }
            _ => Err(format!(
                "manifest unknown: {}",
                String::from_utf8_lossy(call.payload)
            )),
        }
    }

    #[test]
    fn a_script_answers_host_calls_on_its_thread_until_dropped() {
        let guard = script_host_calls(registry);
        assert_eq!(
            host_calls::manifest_digest("reg/img:1").unwrap(),
            "sha256:1"
        );
        let error = host_calls::manifest_digest("reg/other:1").unwrap_err();
        assert!(
            error.ends_with("manifest unknown: \"reg/other:1\""),
            "{error}"
        );
        let other_thread = std::thread::spawn(|| host_calls::manifest_digest("reg/img:1"));
        assert!(
            other_thread.join().unwrap().is_err(),
            "scripted on its own thread only"
        );
        drop(guard);
        assert!(host_calls::manifest_digest("reg/img:1").is_err());
    }
}
