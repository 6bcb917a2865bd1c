//! The library part of the `pci-policies` command: how it reads Kubernetes manifests
//! ([`manifests`]), so the fuzz targets (`fuzz/`) and property tests reach the reader the scan
//! uses. The command itself is `src/main.rs`.

pub mod manifests;
