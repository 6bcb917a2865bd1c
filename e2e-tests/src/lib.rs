//! A waPC host that runs compiled Kubewarden policies as policy-server and `kwctl run` do,
//! without kwctl: wasmtime with WASI and epoch deadlines, the `io.kubewarden.metadata`
//! section, kwctl replay sessions for host capabilities, and kwctl's AdmissionResponse output;
//! and OCI publishing as `kwctl push` does it, with a local registry for the tests.

pub mod admission;
pub mod annotate;
pub mod capabilities;
pub mod cosign;
pub mod examples;
pub mod host;
pub mod image_registry;
pub mod live;
pub mod local_registry;
pub mod metadata;
pub mod oci;
pub mod recording;
pub mod replay;
pub mod run;
pub mod sections;
