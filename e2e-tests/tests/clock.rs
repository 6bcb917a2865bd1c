//! The wall clock a policy reads through WASI, set by the host: a clock that cannot be read must
//! not open an expiring exception (issue 29). policy-server's wasmtime-provider always gives the
//! guest the system clock, so these tests run the compiled module in a minimal waPC host of their
//! own, on the same wasmtime and WASI, whose wall clock they choose.

use std::time::Duration;

use e2e::module_bytes;
use pci_shared::workload::WorkloadKind;
use pci_testkit::{admission_request, reported_violations, validation_payload, workload_object};
use serde_json::{Value, json};
use wasmtime::{Caller, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{HostWallClock, WasiCtxBuilder};

/// A wall clock that reads `since_epoch`. `Duration::MAX` does not fit WASI's nanosecond
/// timestamp, so `clock_time_get` answers `EOVERFLOW`: a clock that cannot be read.
struct WallClock {
    since_epoch: Duration,
}

impl HostWallClock for WallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.since_epoch
    }
}

/// 2026-11-22T00:00:00Z.
const READABLE: Duration = Duration::from_secs(20_779 * 86_400);
/// A clock whose reading the guest cannot get.
const UNREADABLE: Duration = Duration::MAX;

/// One waPC call's state: the WASI context, the operation and payload handed to the guest, and
/// what it answered.
struct Call {
    wasi: WasiP1Ctx,
    operation: Vec<u8>,
    payload: Vec<u8>,
    answer: Option<Result<Vec<u8>, String>>,
}

/// Copies `bytes` into the guest's memory at `at`.
fn write(caller: &mut Caller<'_, Call>, at: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let memory = caller
        .get_export("memory")
        .and_then(wasmtime::Extern::into_memory)
        .ok_or_else(|| wasmtime::Error::msg("the guest exports no memory"))?;
    memory.write(caller, usize::try_from(at)?, bytes)?;
    Ok(())
}

/// `len` bytes of the guest's memory at `at`.
fn read(caller: &mut Caller<'_, Call>, at: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let memory = caller
        .get_export("memory")
        .and_then(wasmtime::Extern::into_memory)
        .ok_or_else(|| wasmtime::Error::msg("the guest exports no memory"))?;
    let mut bytes = vec![0; usize::try_from(len)?];
    memory.read(caller, usize::try_from(at)?, &mut bytes)?;
    Ok(bytes)
}

/// The waPC host functions a policy imports; host capabilities are not offered.
fn wapc_linker(engine: &Engine) -> wasmtime::Result<Linker<Call>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |call: &mut Call| &mut call.wasi)?;
    linker.func_wrap(
        "wapc",
        "__guest_request",
        |mut caller: Caller<'_, Call>, operation_at: i32, payload_at: i32| {
            let (operation, payload) = {
                let call = caller.data();
                (call.operation.clone(), call.payload.clone())
            };
            write(&mut caller, operation_at, &operation)?;
            write(&mut caller, payload_at, &payload)
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__guest_response",
        |mut caller: Caller<'_, Call>, at: i32, len: i32| {
            let bytes = read(&mut caller, at, len)?;
            caller.data_mut().answer = Some(Ok(bytes));
            Ok(())
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__guest_error",
        |mut caller: Caller<'_, Call>, at: i32, len: i32| {
            let bytes = read(&mut caller, at, len)?;
            caller.data_mut().answer = Some(Err(String::from_utf8_lossy(&bytes).into_owned()));
            Ok(())
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_call",
        |_: Caller<'_, Call>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| 0_i32,
    )?;
    linker.func_wrap("wapc", "__host_response_len", || 0_i32)?;
    linker.func_wrap("wapc", "__host_response", |_: i32| {})?;
    linker.func_wrap("wapc", "__host_error_len", || 0_i32)?;
    linker.func_wrap("wapc", "__host_error", |_: i32| {})?;
    linker.func_wrap("wapc", "__console_log", |_: i32, _: i32| {})?;
    Ok(linker)
}

/// Calls `operation` of `dist/<policy>.wasm` with `payload` in a fresh instance whose wall clock
/// reads `since_epoch`: the guest's answer, or why the call failed (a trap included).
fn call_with_clock(
    policy: &str,
    since_epoch: Duration,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let engine = Engine::default();
    let module = Module::new(&engine, module_bytes(policy)).map_err(|e| e.to_string())?;
    let linker = wapc_linker(&engine).map_err(|e| e.to_string())?;
    let wasi = WasiCtxBuilder::new()
        .wall_clock(WallClock { since_epoch })
        .build_p1();
    let mut store = Store::new(
        &engine,
        Call {
            wasi,
            operation: operation.as_bytes().to_vec(),
            payload: payload.to_vec(),
            answer: None,
        },
    );
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| e.to_string())?;
    for init in ["_initialize", "wapc_init"] {
        if let Ok(function) = instance.get_typed_func::<(), ()>(&mut store, init) {
            function
                .call(&mut store, ())
                .map_err(|e| format!("{e:?}"))?;
        }
    }
    let guest_call = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "__guest_call")
        .map_err(|e| e.to_string())?;
    let length = |bytes: &[u8]| i32::try_from(bytes.len()).expect("a small payload");
    let succeeded = guest_call
        .call(&mut store, (length(operation.as_bytes()), length(payload)))
        .map_err(|e| format!("the guest trapped: {e:?}"))?;
    let answer = store
        .data_mut()
        .answer
        .take()
        .unwrap_or_else(|| Err("the guest answered nothing".into()));
    match (succeeded, answer) {
        (1, Ok(bytes)) => Ok(bytes),
        (_, Err(message)) => Err(message),
        (code, Ok(_)) => Err(format!("__guest_call returned {code}")),
    }
}

/// A privileged kube-proxy Pod in kube-system, and the exception for it, expiring or not.
fn kube_proxy(expires: Option<&str>) -> Vec<u8> {
    let mut request = admission_request(
        WorkloadKind::Pod,
        "CREATE",
        workload_object(
            WorkloadKind::Pod,
            "kube-proxy",
            json!({}),
            json!({"containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.31.0",
                "securityContext": {"privileged": true}}]}),
        ),
    );
    request["namespace"] = json!("kube-system");
    let mut exception = json!({"controls": ["privileged"], "containers": ["kube-proxy"],
        "namespaces": ["kube-system"], "reason": "kube-proxy programs iptables"});
    if let Some(date) = expires {
        exception["expires"] = json!(date);
    }
    validation_payload(
        &request,
        &json!({"level": "baseline", "exceptions": [exception]}),
    )
}

fn validate(since_epoch: Duration, payload: &[u8]) -> Value {
    let answer = call_with_clock("pod-security", since_epoch, "validate", payload)
        .unwrap_or_else(|error| panic!("validate failed: {error}"));
    serde_json::from_slice(&answer).expect("a JSON answer")
}

#[test]
fn without_a_readable_clock_an_expiring_exception_waives_nothing() {
    let expiring = kube_proxy(Some("2999-12-31"));
    // The host works: with a clock, the exception waives.
    assert_eq!(validate(READABLE, &expiring)["accepted"], true);

    let response = validate(UNREADABLE, &expiring);
    assert_eq!(response["accepted"], false, "{response}");
    assert_eq!(
        reported_violations(&response["audit_annotations"]),
        ["privileged spec.containers[0].securityContext.privileged"]
    );
    let warnings = response["warnings"].to_string();
    assert!(
        warnings.contains(
            "pod-security: exception #0 expires on 2999-12-31 but the clock cannot be read, so it waives nothing"
        ),
        "{warnings}"
    );
    assert!(
        response["audit_annotations"]["exceptions-clock-unreadable"].is_string(),
        "{response}"
    );
}

#[test]
fn without_a_readable_clock_an_exception_without_expiry_still_waives() {
    let response = validate(UNREADABLE, &kube_proxy(None));
    assert_eq!(response["accepted"], true, "{response}");
    assert!(
        response["warnings"]
            .to_string()
            .contains("exception #0 waives [privileged]"),
        "{response}"
    );
}
