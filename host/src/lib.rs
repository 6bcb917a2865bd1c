//! The host the policies run in, as policy-server and `kwctl run` run them, without kwctl:
//! wasmtime with WASI and epoch deadlines ([`host`]), the `io.kubewarden.metadata` section
//! ([`metadata`], [`annotate`]), host capabilities answered from kwctl replay sessions or
//! recorded ([`replay`], [`capabilities`]), kwctl's AdmissionResponse ([`admission`], [`run`]),
//! the example requests ([`examples`]) and what policy-server adds around each call
//! ([`server_path`]), and policy groups as policy-server evaluates them ([`group`]).
//!
//! With the `live` feature it also talks to OCI registries: host capabilities answered live
//! ([`live`]: manifest digests and manifests with `oci-client`, cosign verification with
//! sigstore), policies pushed and pulled as `kwctl push` and policy-server do ([`oci`]), and a
//! local registry with test images and signatures ([`local_registry`], [`image_registry`],
//! [`recording`]).

pub mod admission;
pub mod annotate;
pub mod bundle;
pub mod capabilities;
pub mod digest;
pub mod examples;
pub mod group;
pub mod host;
pub mod local_registry;
pub mod metadata;
pub mod module_lock;
pub mod pinned_deploy;
pub mod replay;
pub mod run;
pub mod sections;
pub mod server_path;

#[cfg(feature = "live")]
pub mod cosign;
#[cfg(feature = "live")]
pub mod image_registry;
#[cfg(feature = "live")]
pub mod keyless;
#[cfg(all(feature = "live", any(test, feature = "keyless-fixture")))]
pub mod keyless_fixture;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "live")]
pub mod oci;
#[cfg(feature = "live")]
pub mod publish;
#[cfg(feature = "live")]
pub mod recording;
#[cfg(feature = "live")]
pub mod release;
#[cfg(feature = "live")]
pub mod trust_root;
#[cfg(feature = "live")]
pub mod verification;
