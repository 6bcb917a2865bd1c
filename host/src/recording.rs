//! Replay fixtures made from real exchanges (`make record`): a real registry is started, images
//! are pushed and signed, the compiled policies run live with record mode on, and each case is
//! written as an example folder entry — `<case>.json` (request), `<case>.settings.json`,
//! `<case>.session.yml` (the kwctl session the live run exchanged) and `<case>.response.json`
//! (the live AdmissionResponse) — which the e2e tests replay offline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sigstore::crypto::{SigStoreSigner, SigningScheme};

use crate::capabilities::LiveAnswers;
use crate::host::Policy;
use crate::image_registry::ImageRegistry;
use crate::live::LiveHost;
use crate::replay::Recorder;
use crate::run::{RunOptions, run};

/// Where a policy's recorded cases live: `policies/<policy>/test_data/recorded/`.
pub fn recorded_dir(root: &Path, policy: &str) -> PathBuf {
    root.join("policies")
        .join(policy)
        .join("test_data")
        .join("recorded")
}

/// Records every case into `recorded_dir(out_root, policy)`; `load` gives a compiled policy by
/// name. Returns the files written.
pub fn record_all(
    out_root: &Path,
    load: &dyn Fn(&str) -> Result<Arc<Policy>>,
) -> Result<Vec<PathBuf>> {
    let mut studio = Studio::start()?;
    let mut written = Vec::new();
    for case in studio.cases()? {
        let policy = load(case.policy)?;
        written.extend(case.record(&policy, &studio.live()?, out_root)?);
    }
    // Last: the registry goes down and a lookup fails.
    let down = studio.registry_down_case();
    studio.0.registry.stop();
    let policy = load(down.policy)?;
    written.extend(down.record(&policy, &studio.live()?, out_root)?);
    Ok(written)
}

/// One recorded case.
struct Case {
    policy: &'static str,
    name: &'static str,
    images: Vec<String>,
    settings: Value,
}

impl Case {
    fn record(
        &self,
        policy: &Policy,
        live: &Arc<LiveHost>,
        out_root: &Path,
    ) -> Result<Vec<PathBuf>> {
        let request = deployment(self.name, &self.images);
        let recorder = Arc::new(Recorder::default());
        let options = RunOptions {
            settings: self.settings.clone(),
            live: Some(Arc::clone(live) as Arc<dyn LiveAnswers>),
            record: Some(Arc::clone(&recorder)),
            ..RunOptions::default()
        };
        let response = run(policy, &request, options)
            .with_context(|| format!("live run of {}/{}", self.policy, self.name))?;
        let dir = recorded_dir(out_root, self.policy);
        std::fs::create_dir_all(&dir)?;
        let files = [
            (format!("{}.json", self.name), pretty(&request)?),
            (
                format!("{}.settings.json", self.name),
                pretty(&self.settings)?,
            ),
            (format!("{}.session.yml", self.name), recorder.to_yaml()?),
            (
                format!("{}.response.json", self.name),
                pretty(&serde_json::to_value(&response)?)?,
            ),
        ];
        let mut written = Vec::new();
        for (file, text) in files {
            let path = dir.join(file);
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The registry of a recording, and the cases made in it.
struct Studio(ImageRegistry);

impl std::ops::Deref for Studio {
    type Target = ImageRegistry;
    fn deref(&self) -> &ImageRegistry {
        &self.0
    }
}

impl Studio {
    fn start() -> Result<Self> {
        Ok(Self(ImageRegistry::start()?))
    }

    fn cases(&mut self) -> Result<Vec<Case>> {
        let mut cases = Vec::new();

        // image-digest: resolve two tags to the digests the registry serves.
        self.push("shop/api:1.4", "api 1.4")?;
        self.push("shop/web:2.0", "web 2.0")?;
        cases.push(Case {
            policy: "image-digest",
            name: "resolve-two-tags",
            images: vec![self.image("shop/api:1.4"), self.image("shop/web:2.0")],
            settings: json!({"mode": "resolve"}),
        });
        // image-digest: a pinned image whose tag was moved afterwards.
        let pinned = self.push("shop/pay:3.1", "pay 3.1")?;
        self.push("shop/pay:3.1", "pay 3.1, rebuilt")?;
        cases.push(Case {
            policy: "image-digest",
            name: "tag-moved-after-pinning",
            images: vec![format!("{}@{pinned}", self.image("shop/pay:3.1"))],
            settings: json!({"mode": "require", "checkTagMatchesDigest": "reject"}),
        });

        // image-signatures: keys generated for the recording.
        let (release_signer, release_key) = key()?;
        // The retired key of a rotation: in the settings, but it signs nothing.
        let (_, old_key) = key()?;
        let (stranger_signer, _) = key()?;
        let rule = |keys: Vec<&String>, threshold: Option<usize>| {
            let mut public_keys = json!({ "keys": keys });
            if let Some(threshold) = threshold {
                public_keys["threshold"] = json!(threshold);
            }
            json!({"rules": [{"images": [format!("{}/**", self.registry.address())], "publicKeys": public_keys}]})
        };
        self.push("signed/api:1.0", "signed api")?;
        self.sign(
            &self.image("signed/api:1.0"),
            vec![release_signer],
            &BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
        )?;
        cases.push(Case {
            policy: "image-signatures",
            name: "signed-and-pinned",
            images: vec![self.image("signed/api:1.0")],
            settings: rule(vec![&release_key], None),
        });
        cases.push(Case {
            policy: "image-signatures",
            name: "rotation-one-of-two-keys",
            images: vec![self.image("signed/api:1.0")],
            settings: rule(vec![&old_key, &release_key], Some(1)),
        });
        self.push("plain/tool:0.9", "unsigned tool")?;
        self.push("other/lib:2.2", "signed by a stranger")?;
        self.sign(
            &self.image("other/lib:2.2"),
            vec![stranger_signer],
            &BTreeMap::new(),
        )?;
        cases.push(Case {
            policy: "image-signatures",
            name: "unsigned-and-foreign-key",
            images: vec![self.image("plain/tool:0.9"), self.image("other/lib:2.2")],
            settings: rule(vec![&release_key], None),
        });
        cases.extend(self.one_digest_cases()?);
        Ok(cases)
    }

    /// image-signatures: every key and rule is counted on the one digest the image resolves
    /// to. `split/app:1.0` was built twice: the first build signed with the release key, the
    /// second (where the tag points now) with the security team's key.
    fn one_digest_cases(&mut self) -> Result<Vec<Case>> {
        let (release_signer, release_again) = key()?;
        let (security_signer, security_key) = key()?;
        self.push("split/app:1.0", "app, first build")?;
        self.sign(
            &self.image("split/app:1.0"),
            vec![release_signer],
            &BTreeMap::new(),
        )?;
        self.push("split/app:1.0", "app, second build")?;
        self.sign(
            &self.image("split/app:1.0"),
            vec![security_signer],
            &BTreeMap::new(),
        )?;
        let everything = format!("{}/**", self.registry.address());
        let keys =
            |keys: Vec<&String>, threshold: usize| json!({"keys": keys, "threshold": threshold});
        // The image pins a build nobody signed, while its tag points to a signed one.
        let unsigned = self.push("split/app:0.9", "app, unsigned build")?;
        let (tag_signer, tag_key) = key()?;
        self.push("split/app:1.1", "app, 1.1")?;
        self.sign(
            &self.image("split/app:1.1"),
            vec![tag_signer],
            &BTreeMap::new(),
        )?;
        Ok(vec![
            Case {
                policy: "image-signatures",
                name: "threshold-counts-one-digest",
                images: vec![self.image("split/app:1.0")],
                settings: json!({"rules": [{"images": [everything], "publicKeys": keys(vec![&release_again, &security_key], 2)}]}),
            },
            Case {
                policy: "image-signatures",
                name: "rules-share-one-digest",
                images: vec![self.image("split/app:1.0")],
                settings: json!({"rules": [
                    {"images": [everything], "publicKeys": keys(vec![&release_again], 1)},
                    {"images": [format!("{}/split/*", self.registry.address())], "publicKeys": keys(vec![&security_key], 1)}
                ]}),
            },
            Case {
                policy: "image-signatures",
                name: "pinned-digest-is-verified",
                images: vec![format!("{}@{unsigned}", self.image("split/app:1.1"))],
                settings: json!({"rules": [{"images": [everything], "publicKeys": keys(vec![&tag_key], 1)}]}),
            },
        ])
    }

    fn registry_down_case(&self) -> Case {
        Case {
            policy: "image-digest",
            name: "registry-down",
            images: vec![self.image("shop/api:1.4")],
            settings: json!({"mode": "resolve"}),
        }
    }
}

/// A new ECDSA P-256 key: the signer and its public key PEM.
fn key() -> Result<(SigStoreSigner, String)> {
    let signer = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .map_err(|e| anyhow::anyhow!("cannot generate a key: {e}"))?;
    let public = signer
        .to_sigstore_keypair()
        .and_then(|pair| pair.public_key_to_pem())
        .map_err(|e| anyhow::anyhow!("cannot export the public key: {e}"))?;
    Ok((signer, public))
}

/// A Deployment CREATE request with one container per image.
fn deployment(name: &str, images: &[String]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    json!({
        "uid": format!("recorded-{name}"),
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "operation": "CREATE",
        "namespace": "payments",
        "name": name,
        "userInfo": {"username": "recorder"},
        "object": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "payments"},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": containers}
                }
            }
        }
    })
}

fn pretty(value: &Value) -> Result<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(value)?))
}
