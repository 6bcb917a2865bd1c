//! A test Sigstore for the keyless tests of the host and of the command: a Fulcio-style
//! certificate authority, a Rekor key that signs entry timestamps, the `trusted_root.json`
//! (and ClientTrustConfig) naming both, and keyless cosign signatures pushed to a registry in
//! cosign's format (`<repo>:sha256-<hex>.sig`, certificate and bundle annotations).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use serde::Serialize;
use serde_json::json;
use sigstore::cosign::bundle::{Bundle, Payload};
use sigstore::cosign::payload::simple_signing::{Optional, SimpleSigning};
use sigstore::crypto::{SigStoreSigner, SigningScheme};
use sigstore::registry::OciReference;

use crate::digest::sha256_hex;
use crate::keyless::{
    BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, SIGNATURE_ANNOTATION, SIMPLE_SIGNING, Subject,
};
use crate::release::IN_TOTO_PAYLOAD_TYPE;

/// When the test certificates are issued (2025-06-01T12:00:00Z); they live ten minutes, as
/// Fulcio's do, and entries are integrated a minute later.
pub const ISSUED_AT: i64 = 1_748_779_200;
const LIFETIME: u64 = 600;

/// Which OIDC issuer extensions the certificate carries.
#[derive(Clone, Copy, Debug)]
pub enum IssuerExtension {
    /// 1.3.6.1.4.1.57264.1.1, the issuer's bytes.
    Legacy,
    /// 1.3.6.1.4.1.57264.1.8, a DER UTF8String.
    V2,
    /// Both, as Fulcio writes them today.
    Both,
}

/// What one keyless signature says.
#[derive(Clone, Debug)]
pub struct Signer {
    pub issuer: String,
    pub subject: Subject,
    pub extension: IssuerExtension,
    pub annotations: BTreeMap<String, String>,
    /// When Rekor integrated the entry (default: a minute after issuance).
    pub integrated_time: i64,
}

impl Signer {
    /// An e-mail identity from `issuer`.
    pub fn email(issuer: &str, email: &str) -> Self {
        Self::new(issuer, Subject::Email(email.to_owned()))
    }

    /// A URI identity from `issuer` (a workflow, for GitHub Actions).
    pub fn uri(issuer: &str, uri: &str) -> Self {
        Self::new(issuer, Subject::Uri(uri.to_owned()))
    }

    fn new(issuer: &str, subject: Subject) -> Self {
        Self {
            issuer: issuer.to_owned(),
            subject,
            extension: IssuerExtension::Both,
            annotations: BTreeMap::new(),
            integrated_time: ISSUED_AT + 60,
        }
    }
}

/// A signature layer: the payload and its descriptor's annotations.
#[derive(Clone, Debug)]
pub struct SignatureLayer {
    pub payload: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// A certificate authority and a Rekor key of one test Sigstore.
pub struct TestSigstore {
    ca_params: CertificateParams,
    ca_key: KeyPair,
    ca_der: Vec<u8>,
    rekor: SigStoreSigner,
    rekor_der: Vec<u8>,
}

impl TestSigstore {
    /// A new CA (`name` in its common name) and Rekor key.
    pub fn new(name: &str) -> Result<Self> {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.distinguished_name.push(DnType::CommonName, name);
        let ca_der = ca_params.self_signed(&ca_key)?.der().to_vec();
        let rekor = SigningScheme::ECDSA_P256_SHA256_ASN1
            .create_signer()
            .map_err(|e| anyhow!("Rekor key: {e}"))?;
        let rekor_der = rekor
            .to_sigstore_keypair()
            .and_then(|pair| pair.public_key_to_der())
            .map_err(|e| anyhow!("Rekor key: {e}"))?;
        Ok(Self {
            ca_params,
            ca_key,
            ca_der,
            rekor,
            rekor_der,
        })
    }

    /// The Rekor log id: the SHA-256 of its public key, as Rekor computes it.
    pub fn log_id(&self) -> String {
        sha256_hex(&self.rekor_der)
    }

    /// `trusted_root.json` naming this CA and Rekor key (valid from 2020).
    pub fn trusted_root(&self) -> serde_json::Value {
        let log_id = hex_to_bytes(&self.log_id());
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": "https://rekor.test",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": STANDARD.encode(&self.rekor_der),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"}
                },
                "logId": {"keyId": STANDARD.encode(log_id)}
            }],
            "certificateAuthorities": [{
                "subject": {"organization": "pci-policies tests", "commonName": "test fulcio"},
                "uri": "https://fulcio.test",
                "certChain": {"certificates": [{"rawBytes": STANDARD.encode(&self.ca_der)}]},
                "validFor": {"start": "2020-01-01T00:00:00.000Z"}
            }],
            "ctlogs": [],
            "timestampAuthorities": []
        })
    }

    /// The same trust root as a ClientTrustConfig (what kwctl 1.31 reads).
    pub fn client_trust_config(&self) -> serde_json::Value {
        json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [{"url": "https://fulcio.test", "majorApiVersion": 1,
                            "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "test"}]
            }
        })
    }

    /// A keyless signature of `digest` in `repository` (`registry/repository`) by `signer`:
    /// a fresh key, a certificate this CA issues for it, and a Rekor bundle.
    pub fn sign(&self, repository: &str, digest: &str, signer: &Signer) -> Result<SignatureLayer> {
        self.sign_with_issuer(repository, digest, signer, &self.issuer())
    }

    /// The same, with the certificate issued by another CA (`other`), while the Rekor bundle
    /// is still this Sigstore's.
    pub fn sign_with_ca_of(
        &self,
        other: &TestSigstore,
        repository: &str,
        digest: &str,
        signer: &Signer,
    ) -> Result<SignatureLayer> {
        self.sign_with_issuer(repository, digest, signer, &other.issuer())
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.ca_params, &self.ca_key)
    }

    fn sign_with_issuer(
        &self,
        repository: &str,
        digest: &str,
        signer: &Signer,
        issuer: &Issuer<'_, &KeyPair>,
    ) -> Result<SignatureLayer> {
        let reference: OciReference = repository
            .parse()
            .map_err(|e| anyhow!("{repository}: {e}"))?;
        let mut simple_signing = SimpleSigning::new(&reference, digest);
        if !signer.annotations.is_empty() {
            simple_signing.optional = Some(Optional {
                extra: signer
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect(),
                ..Optional::default()
            });
        }
        let payload = serde_json::to_vec(&simple_signing)?;

        let (key, certificate) = ephemeral(signer, issuer)?;
        let certificate = certificate.pem();
        let signature = STANDARD.encode(key.sign(&payload).map_err(|e| anyhow!("sign: {e}"))?);

        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": sha256_hex(&payload)}},
                "signature": {
                    "content": signature,
                    "publicKey": {"content": STANDARD.encode(certificate.as_bytes())}
                }
            }
        });
        let bundle = self.bundle(&body, signer.integrated_time)?;
        let annotations = BTreeMap::from([
            (SIGNATURE_ANNOTATION.to_owned(), signature),
            (CERTIFICATE_ANNOTATION.to_owned(), certificate),
            (BUNDLE_ANNOTATION.to_owned(), bundle),
        ]);
        Ok(SignatureLayer {
            payload,
            annotations,
        })
    }

    /// `statement` signed keyless by `signer` as `cosign attest-blob --new-bundle-format`
    /// writes it: a Sigstore bundle v0.3 with the DSSE envelope, the certificate and a `dsse`
    /// Rekor entry with its signed entry timestamp.
    pub fn attest(
        &self,
        statement: &serde_json::Value,
        signer: &Signer,
    ) -> Result<serde_json::Value> {
        let payload = serde_json::to_vec(statement)?;
        let (key, certificate) = ephemeral(signer, &self.issuer())?;
        let signature = key
            .sign(&crate::release::pae(IN_TOTO_PAYLOAD_TYPE, &payload))
            .map_err(|e| anyhow!("sign: {e}"))?;
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": sha256_hex(b"envelope")},
                "payloadHash": {"algorithm": "sha256", "value": sha256_hex(&payload)},
                "signatures": [{
                    "signature": STANDARD.encode(&signature),
                    "verifier": STANDARD.encode(certificate.pem().as_bytes())
                }]
            }
        });
        let rekor: Bundle = serde_json::from_str(&self.bundle(&body, signer.integrated_time)?)?;
        Ok(json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": STANDARD.encode(certificate.der())},
                "tlogEntries": [{
                    "logIndex": rekor.payload.log_index.to_string(),
                    "logId": {"keyId": STANDARD.encode(hex_to_bytes(&rekor.payload.log_id))},
                    "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                    "integratedTime": rekor.payload.integrated_time.to_string(),
                    "inclusionPromise": {"signedEntryTimestamp": rekor.signed_entry_timestamp},
                    "canonicalizedBody": rekor.payload.body
                }]
            },
            "dsseEnvelope": {
                "payload": STANDARD.encode(&payload),
                "payloadType": IN_TOTO_PAYLOAD_TYPE,
                "signatures": [{"sig": STANDARD.encode(&signature), "keyid": ""}]
            }
        }))
    }

    /// A Rekor bundle of `body`, its entry timestamp signed with this Rekor key.
    pub fn bundle(&self, body: &serde_json::Value, integrated_time: i64) -> Result<String> {
        let payload = Payload {
            body: STANDARD.encode(body.to_string()),
            integrated_time,
            log_index: 1,
            log_id: self.log_id(),
        };
        let mut canonical = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(
            &mut canonical,
            olpc_cjson::CanonicalFormatter::new(),
        );
        payload.serialize(&mut serializer)?;
        let set = self
            .rekor
            .sign(&canonical)
            .map_err(|e| anyhow!("Rekor signature: {e}"))?;
        Ok(serde_json::to_string(&Bundle {
            signed_entry_timestamp: STANDARD.encode(set),
            payload,
        })?)
    }
}

/// A fresh signing key and the certificate `issuer` issues `signer` for it, as Fulcio does.
fn ephemeral(
    signer: &Signer,
    issuer: &Issuer<'_, &KeyPair>,
) -> Result<(SigStoreSigner, rcgen::Certificate)> {
    let key = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .map_err(|e| anyhow!("signing key: {e}"))?;
    let private_pem = key
        .to_sigstore_keypair()
        .and_then(|pair| pair.private_key_to_pem())
        .map_err(|e| anyhow!("signing key: {e}"))?;
    let leaf_key = KeyPair::from_pem(&private_pem)?;
    let certificate = leaf_certificate(signer)?.signed_by(&leaf_key, issuer)?;
    Ok((key, certificate))
}

/// A Fulcio-style leaf: ten minutes from [`ISSUED_AT`], digital signature and code signing,
/// the subject as SAN, the issuer in the extensions `signer` asks for.
fn leaf_certificate(signer: &Signer) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let issued = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(ISSUED_AT.unsigned_abs());
    params.not_before = issued;
    params.not_after = issued + Duration::from_secs(LIFETIME);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    params.subject_alt_names = vec![match &signer.subject {
        Subject::Email(email) => SanType::Rfc822Name(email.as_str().try_into()?),
        Subject::Uri(uri) => SanType::URI(uri.as_str().try_into()?),
    }];
    let legacy = CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 57264, 1, 1],
        signer.issuer.as_bytes().to_vec(),
    );
    let v2 = CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 57264, 1, 8],
        der_utf8_string(&signer.issuer),
    );
    params.custom_extensions = match signer.extension {
        IssuerExtension::Legacy => vec![legacy],
        IssuerExtension::V2 => vec![v2],
        IssuerExtension::Both => vec![legacy, v2],
    };
    Ok(params)
}

/// DER UTF8String (tag 12) of `text`.
fn der_utf8_string(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut der = vec![0x0c];
    let length = bytes.len();
    if length < 0x80 {
        der.push(length as u8);
    } else {
        let octets: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        der.push(0x80 | octets.len() as u8);
        der.extend(octets);
    }
    der.extend_from_slice(bytes);
    der
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .filter_map(|i| hex.get(i..i + 2))
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect()
}

/// Pushes `layers` as the cosign signature image of `digest` in `repository`
/// (`registry/repository`, plain HTTP), replacing an earlier one. The manifest is sent as plain
/// JSON, as cosign sends it: oci-client's canonical JSON leaves the certificate's newlines
/// unescaped, which a registry refuses.
pub fn push_signature(repository: &str, digest: &str, layers: &[SignatureLayer]) -> Result<()> {
    let hex = digest
        .strip_prefix("sha256:")
        .context("a sha256 digest is needed")?;
    let reference: oci_client::Reference = format!("{repository}:sha256-{hex}.sig")
        .parse()
        .context("signature reference")?;
    let layers: Vec<ImageLayer> = layers
        .iter()
        .map(|layer| {
            ImageLayer::new(
                layer.payload.clone(),
                SIMPLE_SIGNING.to_owned(),
                Some(layer.annotations.clone()),
            )
        })
        .collect();
    let config = Config::oci_v1(b"{}".to_vec(), None);
    let mut manifest = OciImageManifest::build(&layers, &config, None);
    manifest.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_owned());
    let body = serde_json::to_vec(&manifest)?;
    let client = oci_client::Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    let push = async {
        client
            .store_auth_if_needed(reference.resolve_registry(), &RegistryAuth::Anonymous)
            .await;
        client
            .push_blob(&reference, &config.data, &manifest.config.digest)
            .await?;
        for (layer, descriptor) in layers.iter().zip(&manifest.layers) {
            client
                .push_blob(&reference, &layer.data, &descriptor.digest)
                .await?;
        }
        client
            .push_manifest_raw(&reference, body, OCI_IMAGE_MEDIA_TYPE.parse()?)
            .await?;
        anyhow::Ok(())
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(push)
        .with_context(|| format!("push of {reference}"))
}
