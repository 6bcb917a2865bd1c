//! Pulls from a real registry (Debian's docker-registry): a layer declared larger than
//! accepted is refused before it is fetched, and a registry sending more than the manifest
//! declared is cut off.

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OCI_IMAGE_MEDIA_TYPE;
use oci_client::secrets::RegistryAuth;
use serde_json::json;

use super::*;
use crate::local_registry::LocalRegistry;

const MEDIA_TYPE: &str = "text/plain";

fn artifact(bytes: usize) -> Artifact {
    Artifact::files(
        "application/vnd.test.artifact.v1",
        vec![ArtifactFile {
            name: "big.txt".to_owned(),
            media_type: MEDIA_TYPE.to_owned(),
            data: vec![b'x'; bytes],
        }],
        BTreeMap::new(),
    )
}

/// A registry with a 2000-byte artifact at `REPOSITORY:big`; the client and the repository.
fn registry_with_big_artifact(name: &str) -> (LocalRegistry, Registry, String) {
    let local = LocalRegistry::start().expect("docker-registry");
    let repository = format!("{}/test/{name}", local.address());
    let registry = Registry::new(Transport::Http, Credentials::Anonymous).expect("client");
    registry
        .push_artifact(&format!("{repository}:big"), artifact(2000))
        .expect("push");
    (local, registry, repository)
}

#[test]
fn layers_declared_larger_than_accepted_are_refused_before_they_are_fetched() {
    let (mut local, registry, repository) = registry_with_big_artifact("declared");

    let pulled = registry
        .pull_artifact_bounded(&format!("{repository}:big"), &[MEDIA_TYPE], 4096)
        .expect("within the bound");
    assert_eq!(pulled.layers[0].data.len(), 2000);
    let error = registry
        .pull_artifact_bounded(&format!("{repository}:big"), &[MEDIA_TYPE], 1000)
        .expect_err("declared larger than accepted");
    assert!(
        format!("{error:#}").contains("declares 2000 bytes, more than the 1000 accepted"),
        "{error:#}"
    );
    let error = registry
        .pull_artifact_bounded(&format!("{repository}:big"), &["text/html"], 4096)
        .expect_err("another media type");
    assert!(
        format!("{error:#}").contains("a layer of media type text/plain, not one of text/html"),
        "{error:#}"
    );

    // Three layers of 2000 bytes: each within 4096, together more than twice 2500.
    let three: Vec<ArtifactFile> = ["a", "b", "c"]
        .iter()
        .map(|name| ArtifactFile {
            name: (*name).to_owned(),
            media_type: MEDIA_TYPE.to_owned(),
            data: name.repeat(2000).into_bytes(),
        })
        .collect();
    registry
        .push_artifact(
            &format!("{repository}:three"),
            Artifact::files("application/vnd.test.artifact.v1", three, BTreeMap::new()),
        )
        .expect("push");
    let error = registry
        .pull_artifact_bounded(&format!("{repository}:three"), &[MEDIA_TYPE], 2500)
        .expect_err("too much in all");
    assert!(
        format!("{error:#}")
            .contains("its layers declare 6000 bytes in all, more than the 5000 accepted"),
        "{error:#}"
    );

    local.stop();
}

#[test]
fn a_registry_sending_more_than_declared_is_cut_off() {
    let (mut local, registry, repository) = registry_with_big_artifact("lying");
    let pulled = registry
        .pull_artifact_bounded(&format!("{repository}:big"), &[MEDIA_TYPE], 4096)
        .expect("within the bound");
    // A manifest that declares the same 2000-byte blob as 10 bytes.
    let layer = &pulled.layers[0].data;
    let digest = format!("sha256:{}", crate::digest::sha256_hex(layer));
    let empty = b"{}";
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": format!("sha256:{}", crate::digest::sha256_hex(empty)),
            "size": empty.len()
        },
        "layers": [{"mediaType": MEDIA_TYPE, "digest": digest, "size": 10}]
    });
    let reference: Reference = format!("{repository}:lying").parse().expect("reference");
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            client
                .store_auth_if_needed(reference.resolve_registry(), &RegistryAuth::Anonymous)
                .await;
            client
                .push_manifest_raw(
                    &reference,
                    serde_json::to_vec(&manifest).expect("json"),
                    OCI_IMAGE_MEDIA_TYPE.parse().expect("media type"),
                )
                .await
        })
        .expect("the registry takes the manifest");
    let error = registry
        .pull_artifact_bounded(&format!("{repository}:lying"), &[MEDIA_TYPE], 4096)
        .expect_err("more than declared");
    assert!(
        format!("{error:#}").contains("more than the layer's declared 10 bytes"),
        "{error:#}"
    );
    local.stop();
}
