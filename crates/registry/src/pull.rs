//! Resolving a reference to one image (manifest, config) and streaming
//! verified blobs.
//!
//! Every document is hashed exactly as received (never re-serialised):
//! manifests fetched by digest must match it, a tag's manifest must match a
//! `Docker-Content-Digest` header when one is sent, and blobs are hashed and
//! counted while streaming with the descriptor's size as a hard cap.
//! Descriptor `urls` (foreign layers) are never fetched: containerd sent
//! registry credentials to them (CVE-2020-15157).

use std::io::{Read, Write};

use oci::{Descriptor, Digest, ImageConfig, Index, Manifest, MediaType, Platform, Reference};
use reqwest::header::{ACCEPT, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderValue, RANGE};
use reqwest::{Method, StatusCode};
use sha2::Digest as _;

use crate::Client;
use crate::conf::Endpoint;
use crate::error::RegistryError;
use crate::http::{Request, Scope, error_message, redact};

/// No registry accepts larger manifests (distribution: 4 MiB).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;
/// Configs are bounded by their descriptor, and by this.
pub const MAX_CONFIG_SIZE: u64 = 64 << 20;

const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// One image, resolved for one platform.
#[derive(Clone, Debug)]
pub struct ResolvedImage {
    /// The reference as asked for.
    pub reference: Reference,
    /// Digest of the platform's image manifest.
    pub manifest_digest: Digest,
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
    pub manifest_media_type: String,
    /// The index or manifest list the manifest was picked from, if any.
    pub index_digest: Option<Digest>,
    pub config: ImageConfig,
    pub config_bytes: Vec<u8>,
    /// Where the manifest came from; blobs are fetched from the same place.
    pub source: Endpoint,
}

/// A fetched manifest document.
struct Document {
    bytes: Vec<u8>,
    media_type: String,
    digest: Digest,
}

/// Whether `candidate` serves `wanted`: os and architecture equal, and the
/// variant equal after containerd's normalisation (arm64 means v8, arm v7
/// when unspecified). A wanted platform without variant accepts any.
fn normal_variant(p: &Platform) -> Option<String> {
    match (p.architecture.as_str(), p.variant.as_deref()) {
        ("arm64", None) => Some("v8".into()),
        ("arm", None) => Some("v7".into()),
        (_, v) => v.map(str::to_string),
    }
}

pub fn platform_matches(wanted: &Platform, candidate: &Platform) -> bool {
    let normal = normal_variant;
    wanted.os == candidate.os
        && wanted.architecture == candidate.architecture
        && (wanted.variant.is_none() || normal(wanted) == normal(candidate))
}

/// Picks the manifest for `wanted` from an index: an exact (normalised)
/// variant match first, so `linux/arm` prefers v7 over v6, else the first
/// compatible entry.
pub fn choose_platform<'a>(index: &'a Index, wanted: &Platform) -> Option<&'a Descriptor> {
    let candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| MediaType::is_manifest(&d.media_type))
        .filter(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| platform_matches(wanted, p))
        })
        .collect();
    candidates
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| normal_variant(p) == normal_variant(wanted))
        })
        .or(candidates.first())
        .copied()
}

/// Validates that a document is unambiguously what `media_type` says
/// (CVE-2021-41190: a document must not parse as both index and manifest).
pub(crate) fn classify(
    reference: &str,
    bytes: &[u8],
    header_type: Option<&str>,
) -> Result<String, RegistryError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default)]
        schema_version: Option<u32>,
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
        #[serde(default)]
        layers: Option<serde_json::Value>,
        #[serde(default)]
        config: Option<serde_json::Value>,
    }
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|source| RegistryError::ManifestJson {
            reference: reference.to_string(),
            source,
        })?;
    let is_index_shape = probe.manifests.is_some();
    let is_manifest_shape = probe.layers.is_some() || probe.config.is_some();
    if is_index_shape && is_manifest_shape {
        return Err(RegistryError::AmbiguousManifest {
            reference: reference.to_string(),
        });
    }
    let header = header_type
        .map(|h| h.split(';').next().unwrap_or("").trim().to_string())
        .filter(|h| MediaType::is_index(h) || MediaType::is_manifest(h));
    let media_type = match (&probe.media_type, &header) {
        (Some(body), Some(header)) if body != header => {
            return Err(RegistryError::MediaTypeMismatch {
                reference: reference.to_string(),
                body: body.clone(),
                header: header.clone(),
            });
        }
        (Some(body), _) => body.clone(),
        (None, Some(header)) => header.clone(),
        (None, None) if probe.schema_version == Some(2) && is_index_shape => {
            MediaType::OCI_INDEX.to_string()
        }
        (None, None) if probe.schema_version == Some(2) && is_manifest_shape => {
            MediaType::OCI_MANIFEST.to_string()
        }
        (None, None) => String::new(),
    };
    let shape_ok = (MediaType::is_index(&media_type) && is_index_shape)
        || (MediaType::is_manifest(&media_type) && is_manifest_shape);
    if !shape_ok {
        return Err(RegistryError::UnsupportedMediaType {
            reference: reference.to_string(),
            media_type,
        });
    }
    Ok(media_type)
}

fn hash_hex(bytes: &[u8]) -> Digest {
    let out: [u8; 32] = sha2::Sha256::digest(bytes).into();
    Digest::from_sha256_bytes(out)
}

impl Client {
    /// Resolves `reference` for `platform`, trying mirrors in order and then
    /// the registry itself.
    pub fn resolve(
        &self,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<ResolvedImage, RegistryError> {
        let endpoints = self.conf.pull_endpoints(reference)?;
        let mut failures: Vec<(String, RegistryError)> = Vec::new();
        for endpoint in endpoints {
            match self.resolve_at(&endpoint, reference, platform) {
                Ok(image) => return Ok(image),
                // A wrong platform is the image's property, not the mirror's.
                Err(e @ RegistryError::NoMatchingPlatform { .. }) => return Err(e),
                Err(e) => failures.push((endpoint.host.clone(), e)),
            }
        }
        let summary = failures
            .iter()
            .map(|(host, e)| format!("{host}: {e}"))
            .collect::<Vec<_>>()
            .join("; ");
        match failures.len() {
            0 => unreachable_endpoints(reference),
            1 => Err(failures.remove(0).1),
            _ => {
                let (_, last) = failures.pop().expect("len checked above");
                Err(RegistryError::AllEndpointsFailed {
                    reference: reference.to_string(),
                    summary,
                    last: Box::new(last),
                })
            }
        }
    }

    fn resolve_at(
        &self,
        endpoint: &Endpoint,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<ResolvedImage, RegistryError> {
        let shown = reference.to_string();
        let target = match (&reference.digest, &reference.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        };
        let top = self.get_manifest(endpoint, &shown, &target, reference.digest.as_ref())?;
        let (document, index_digest) = if MediaType::is_index(&top.media_type) {
            let index: Index = serde_json::from_slice(&top.bytes).map_err(|source| {
                RegistryError::ManifestJson {
                    reference: shown.clone(),
                    source,
                }
            })?;
            let Some(chosen) = choose_platform(&index, platform) else {
                let available = index
                    .manifests
                    .iter()
                    .filter_map(|d| d.platform.as_ref())
                    .map(Platform::to_spec)
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(RegistryError::NoMatchingPlatform {
                    reference: shown,
                    platform: platform.to_spec(),
                    available,
                });
            };
            let child = self.get_manifest(
                endpoint,
                &shown,
                &chosen.digest.to_string(),
                Some(&chosen.digest),
            )?;
            if !MediaType::is_manifest(&child.media_type) {
                return Err(RegistryError::UnsupportedMediaType {
                    reference: shown,
                    media_type: child.media_type,
                });
            }
            (child, Some(top.digest))
        } else {
            (top, None)
        };
        let manifest: Manifest = serde_json::from_slice(&document.bytes).map_err(|source| {
            RegistryError::ManifestJson {
                reference: shown.clone(),
                source,
            }
        })?;
        let mut config_bytes = Vec::new();
        let cap = manifest.config.size.min(MAX_CONFIG_SIZE);
        let config_descriptor = Descriptor {
            size: cap,
            ..manifest.config.clone()
        };
        self.fetch_blob_at(endpoint, &shown, &config_descriptor, &mut config_bytes)?;
        if manifest.config.size > MAX_CONFIG_SIZE {
            return Err(RegistryError::BlobTooLarge {
                reference: shown,
                digest: manifest.config.digest.clone(),
                expected: MAX_CONFIG_SIZE,
            });
        }
        let config: ImageConfig =
            serde_json::from_slice(&config_bytes).map_err(|source| RegistryError::ConfigJson {
                reference: shown.clone(),
                digest: manifest.config.digest.clone(),
                source,
            })?;
        Ok(ResolvedImage {
            reference: reference.clone(),
            manifest_digest: document.digest,
            manifest,
            manifest_bytes: document.bytes,
            manifest_media_type: document.media_type,
            index_digest,
            config,
            config_bytes,
            source: endpoint.clone(),
        })
    }

    /// GET a manifest by tag or digest, capped, verified and classified.
    fn get_manifest(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        target: &str,
        expected: Option<&Digest>,
    ) -> Result<Document, RegistryError> {
        let url = self.http.url(
            endpoint,
            &format!("/v2/{}/manifests/{target}", endpoint.repository),
        )?;
        let scope = Scope::pull(&endpoint.repository);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_MANIFESTS));
        let response = self.http.send(
            endpoint,
            &Request {
                method: Method::GET,
                url: url.clone(),
                scope: &scope,
                headers,
                body: None,
                retry: true,
            },
        )?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                what: format!("manifest of {shown}"),
                url: redact(&url),
            });
        }
        if !status.is_success() {
            return Err(RegistryError::Status {
                what: format!("manifest of {shown}"),
                method: "GET".into(),
                url: redact(&url),
                status: status.as_u16(),
                message: error_message(response),
            });
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let header_digest = response
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        let mut bytes = Vec::new();
        response
            .take(MAX_MANIFEST_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| RegistryError::Body {
                what: format!("manifest of {shown}"),
                url: redact(&url),
                source,
            })?;
        if bytes.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(RegistryError::ManifestTooLarge {
                reference: shown.to_string(),
                limit: MAX_MANIFEST_SIZE,
            });
        }
        let digest = hash_hex(&bytes);
        if let Some(expected) = expected.or(header_digest.as_ref())
            && *expected != digest
        {
            return Err(RegistryError::ManifestDigestMismatch {
                reference: shown.to_string(),
                expected: expected.clone(),
                actual: digest,
            });
        }
        let media_type = classify(shown, &bytes, content_type.as_deref())?;
        Ok(Document {
            bytes,
            media_type,
            digest,
        })
    }

    /// Streams the blob of `descriptor` into `out`, verifying size and
    /// digest; resumes with `Range` after a broken connection.
    pub fn fetch_blob(
        &self,
        image: &ResolvedImage,
        descriptor: &Descriptor,
        out: &mut dyn Write,
    ) -> Result<(), RegistryError> {
        self.fetch_blob_at(&image.source, &image.reference.to_string(), descriptor, out)
    }

    pub(crate) fn fetch_blob_at(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        descriptor: &Descriptor,
        out: &mut dyn Write,
    ) -> Result<(), RegistryError> {
        let digest = &descriptor.digest;
        let url = self.http.url(
            endpoint,
            &format!("/v2/{}/blobs/{digest}", endpoint.repository),
        )?;
        let scope = Scope::pull(&endpoint.repository);
        let mut hasher = sha2::Sha256::new();
        let mut written: u64 = 0;
        let mut stream_failures = 0u32;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let mut headers = HeaderMap::new();
            if written > 0
                && let Ok(v) = HeaderValue::from_str(&format!("bytes={written}-"))
            {
                headers.insert(RANGE, v);
            }
            let mut response = self.http.send(
                endpoint,
                &Request {
                    method: Method::GET,
                    url: url.clone(),
                    scope: &scope,
                    headers,
                    body: None,
                    retry: true,
                },
            )?;
            let status = response.status();
            // Bytes of this response already written by an earlier attempt.
            let mut skip = 0u64;
            if status == StatusCode::PARTIAL_CONTENT {
                let range = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let start = range
                    .strip_prefix("bytes ")
                    .and_then(|r| r.split('-').next())
                    .and_then(|s| s.parse::<u64>().ok());
                // RFC 9110 §14.4: only a range starting exactly where we
                // stopped may be appended (containers/image checks the same).
                if start != Some(written) {
                    return Err(RegistryError::BadContentRange {
                        reference: shown.to_string(),
                        digest: digest.clone(),
                        content_range: range.chars().take(100).collect(),
                    });
                }
            } else if status.is_success() {
                skip = written;
            } else if status == StatusCode::NOT_FOUND {
                return Err(RegistryError::NotFound {
                    what: format!("blob {digest} of {shown}"),
                    url: redact(&url),
                });
            } else {
                return Err(RegistryError::Status {
                    what: format!("blob {digest} of {shown}"),
                    method: "GET".into(),
                    url: redact(&url),
                    status: status.as_u16(),
                    message: error_message(response),
                });
            }
            let mut broken = false;
            loop {
                let n = match response.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        broken = true;
                        break;
                    }
                };
                let mut chunk = &buffer[..n];
                if skip > 0 {
                    let drop_n = (skip as usize).min(chunk.len());
                    chunk = &chunk[drop_n..];
                    skip -= drop_n as u64;
                }
                if chunk.is_empty() {
                    continue;
                }
                if written + chunk.len() as u64 > descriptor.size {
                    return Err(RegistryError::BlobTooLarge {
                        reference: shown.to_string(),
                        digest: digest.clone(),
                        expected: descriptor.size,
                    });
                }
                out.write_all(chunk)
                    .map_err(|source| RegistryError::Write {
                        reference: shown.to_string(),
                        digest: digest.clone(),
                        source,
                    })?;
                hasher.update(chunk);
                written += chunk.len() as u64;
            }
            if !broken && written == descriptor.size {
                break;
            }
            // A reset or an early EOF (truncated body): resume.
            stream_failures += 1;
            if stream_failures >= self.http.options.max_attempts {
                return Err(RegistryError::BlobTruncated {
                    reference: shown.to_string(),
                    digest: digest.clone(),
                    expected: descriptor.size,
                    actual: written,
                });
            }
            self.http.sleep_backoff(stream_failures);
        }
        let out_hash: [u8; 32] = hasher.finalize().into();
        let actual = Digest::from_sha256_bytes(out_hash);
        if actual != *digest {
            return Err(RegistryError::BlobDigestMismatch {
                reference: shown.to_string(),
                digest: digest.clone(),
                actual,
            });
        }
        out.flush().map_err(|source| RegistryError::Write {
            reference: shown.to_string(),
            digest: digest.clone(),
            source,
        })?;
        Ok(())
    }

    /// Fetches several blobs of `image` on up to `options.parallelism`
    /// threads. For each descriptor, `sink` is handed a `fetch` function that
    /// streams the verified blob into a writer of the sink's choosing (e.g.
    /// `Store::write_blob`'s). Stops handing out work at the first error.
    #[allow(clippy::type_complexity)]
    pub fn fetch_blobs<E: Send>(
        &self,
        image: &ResolvedImage,
        descriptors: &[Descriptor],
        sink: &(
             dyn Fn(
            &Descriptor,
            &mut dyn FnMut(&mut dyn Write) -> Result<(), RegistryError>,
        ) -> Result<(), E>
                 + Sync
         ),
    ) -> Result<(), E> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failed = std::sync::atomic::AtomicBool::new(false);
        let threads = self
            .http
            .options
            .parallelism
            .clamp(1, descriptors.len().max(1));
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| -> Result<(), E> {
                        loop {
                            if failed.load(std::sync::atomic::Ordering::Relaxed) {
                                return Ok(());
                            }
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(descriptor) = descriptors.get(i) else {
                                return Ok(());
                            };
                            let result = sink(descriptor, &mut |out| {
                                self.fetch_blob(image, descriptor, out)
                            });
                            if result.is_err() {
                                failed.store(true, std::sync::atomic::Ordering::Relaxed);
                                return result;
                            }
                        }
                    })
                })
                .collect();
            let mut first_error = None;
            for handle in handles {
                match handle.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        first_error.get_or_insert(e);
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }
}

fn unreachable_endpoints(reference: &Reference) -> Result<ResolvedImage, RegistryError> {
    // pull_endpoints always yields at least the registry itself; keep a
    // typed error rather than a panic should that ever change.
    Err(RegistryError::Blocked {
        reference: reference.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_classified_strictly() {
        let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
        let index = r#"{"schemaVersion":2,"manifests":[]}"#;
        let ambiguous = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"layers":[]}"#;
        let schema1 = r#"{"schemaVersion":1,"fsLayers":[]}"#;
        // (body, Content-Type, expected media type or error text)
        let cases = [
            (manifest, None, Ok(MediaType::OCI_MANIFEST)),
            (
                manifest,
                Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
                Ok(MediaType::OCI_MANIFEST),
            ),
            (
                index,
                Some(MediaType::DOCKER_MANIFEST_LIST),
                Ok(MediaType::DOCKER_MANIFEST_LIST),
            ),
            (index, None, Ok(MediaType::OCI_INDEX)),
            (
                manifest,
                Some(MediaType::OCI_INDEX),
                Err("but was served as"),
            ),
            (ambiguous, None, Err("ambiguous")),
            (
                schema1,
                Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                Err("unsupported media type"),
            ),
            ("not json", None, Err("not valid json")),
        ];
        for (body, header, expected) in cases {
            let got = classify("r", body.as_bytes(), header);
            match (expected, got) {
                (Ok(want), Ok(got)) => assert_eq!(got, want, "{body}"),
                (Err(needle), Err(e)) => assert!(e.to_string().contains(needle), "{body}: {e}"),
                (want, got) => panic!("{body}: expected {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn platform_choice() {
        let entry = |arch: &str, variant: Option<&str>| {
            let mut d = Descriptor::new(
                MediaType::OCI_MANIFEST,
                Digest::of(format!("{arch}{variant:?}").as_bytes()),
                1,
            );
            d.platform = Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                variant: variant.map(Into::into),
                os_version: None,
            });
            d
        };
        let index = Index {
            schema_version: 2,
            media_type: None,
            manifests: vec![
                entry("arm", Some("v6")),
                entry("arm", Some("v7")),
                entry("arm64", None),
                entry("amd64", None),
            ],
            annotations: None,
        };
        let wanted = |arch: &str, variant: Option<&str>| Platform {
            architecture: arch.into(),
            os: "linux".into(),
            variant: variant.map(Into::into),
            os_version: None,
        };
        let cases = [
            (wanted("amd64", None), Some(3)),
            (wanted("arm64", Some("v8")), Some(2)),
            (wanted("arm", None), Some(1)),
            (wanted("arm", Some("v6")), Some(0)),
            (wanted("arm", Some("v7")), Some(1)),
            (wanted("s390x", None), None),
        ];
        for (platform, expected) in cases {
            let got = choose_platform(&index, &platform)
                .map(|d| index.manifests.iter().position(|m| m == d).unwrap_or(99));
            assert_eq!(got, expected, "{}", platform.to_spec());
        }
    }
}
