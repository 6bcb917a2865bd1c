//! With the `generate` feature, xtask links the policies (whose shared crate stubs the waPC host
//! functions for native builds) and the Kubewarden SDK (which stubs the same functions). Both
//! stub sets do nothing natively; the linker is told to keep the first instead of failing.
fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_GENERATE");
    if std::env::var_os("CARGO_FEATURE_GENERATE").is_some() {
        println!("cargo:rustc-link-arg=-Wl,--allow-multiple-definition");
    }
}
