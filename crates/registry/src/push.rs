//! Pushing images: blobs first (HEAD to skip what exists, a cross-repository
//! mount where the caller knows a source repository on the same registry,
//! else an upload session: one PUT, or PATCH chunks then PUT), manifests
//! last, children of an index before the index, so a registry never holds a
//! manifest whose blobs are missing.
//!
//! Pushes go to the registry's own location, never to a mirror.

use std::io::Read;

use oci::{Descriptor, Digest, Index, Manifest, MediaType, Reference};
use reqwest::Url;
use reqwest::blocking::Body;
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION,
};
use reqwest::{Method, StatusCode};

use crate::Client;
use crate::conf::Endpoint;
use crate::error::RegistryError;
use crate::http::{Request, Scope, error_message, redact};
use crate::pull::MAX_MANIFEST_SIZE;

/// Where push reads blobs (and child manifests of an index) from: the
/// store, an OCI layout, memory.
pub trait BlobSource: Sync {
    fn open_blob(&self, digest: &Digest) -> std::io::Result<Box<dyn Read + Send>>;
    /// A repository on the same registry that already holds `digest`, to
    /// mount from instead of uploading (e.g. the base image's repository).
    fn mount_source(&self, _digest: &Digest) -> Option<Reference> {
        None
    }
}

/// What a push did, per blob.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    pub manifest_digest: Option<Digest>,
    pub uploaded: Vec<Digest>,
    pub mounted: Vec<Digest>,
    pub existing: Vec<Digest>,
}

enum BlobOutcome {
    Existing,
    Mounted,
    Uploaded,
}

impl Client {
    /// Pushes the manifest or index `manifest_bytes` (exactly these bytes)
    /// as `reference` (its tag, else its digest), with every blob and child
    /// manifest it references read from `blobs`.
    pub fn push_image(
        &self,
        reference: &Reference,
        manifest_bytes: &[u8],
        blobs: &dyn BlobSource,
    ) -> Result<PushReport, RegistryError> {
        let endpoint = self.conf.push_endpoint(reference)?;
        let shown = reference.to_string();
        let mut report = PushReport::default();
        let target = match (&reference.tag, &reference.digest) {
            (Some(t), _) => t.clone(),
            (None, Some(d)) => d.to_string(),
            (None, None) => "latest".to_string(),
        };
        let digest = self.push_tree(
            &endpoint,
            &shown,
            manifest_bytes,
            &target,
            blobs,
            &mut report,
            0,
        )?;
        report.manifest_digest = Some(digest);
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_tree(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        bytes: &[u8],
        target: &str,
        blobs: &dyn BlobSource,
        report: &mut PushReport,
        depth: usize,
    ) -> Result<Digest, RegistryError> {
        let media_type = crate::pull::classify(shown, bytes, None)?;
        let json_err = |source| RegistryError::ManifestJson {
            reference: shown.to_string(),
            source,
        };
        if MediaType::is_index(&media_type) {
            let index: Index = serde_json::from_slice(bytes).map_err(json_err)?;
            if depth > 0 {
                // Nested indexes are legal but nothing we build makes them;
                // refusing keeps recursion bounded.
                return Err(RegistryError::UnsupportedMediaType {
                    reference: shown.to_string(),
                    media_type,
                });
            }
            for child in &index.manifests {
                let child_bytes =
                    self.read_source(shown, &child.digest, blobs, MAX_MANIFEST_SIZE)?;
                self.push_tree(
                    endpoint,
                    shown,
                    &child_bytes,
                    &child.digest.to_string(),
                    blobs,
                    report,
                    depth + 1,
                )?;
            }
        } else {
            let manifest: Manifest = serde_json::from_slice(bytes).map_err(json_err)?;
            let mut descriptors = vec![manifest.config.clone()];
            descriptors.extend(manifest.layers.iter().cloned());
            let outcomes = self.push_blobs(endpoint, shown, &descriptors, blobs)?;
            for (descriptor, outcome) in descriptors.iter().zip(outcomes) {
                let list = match outcome {
                    BlobOutcome::Existing => &mut report.existing,
                    BlobOutcome::Mounted => &mut report.mounted,
                    BlobOutcome::Uploaded => &mut report.uploaded,
                };
                list.push(descriptor.digest.clone());
            }
        }
        self.put_manifest(endpoint, shown, bytes, &media_type, target)
    }

    fn read_source(
        &self,
        shown: &str,
        digest: &Digest,
        blobs: &dyn BlobSource,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let source_err = |source| RegistryError::SourceRead {
            reference: shown.to_string(),
            digest: digest.clone(),
            source,
        };
        let mut bytes = Vec::new();
        blobs
            .open_blob(digest)
            .map_err(source_err)?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(source_err)?;
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(RegistryError::BlobDigestMismatch {
                reference: shown.to_string(),
                digest: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Pushes blobs on up to `options.parallelism` threads, in order of
    /// the results.
    fn push_blobs(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        descriptors: &[Descriptor],
        blobs: &dyn BlobSource,
    ) -> Result<Vec<BlobOutcome>, RegistryError> {
        let threads = self
            .http
            .options
            .parallelism
            .clamp(1, descriptors.len().max(1));
        let chunks: Vec<&[Descriptor]> = descriptors
            .chunks(descriptors.len().div_ceil(threads).max(1))
            .collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|d| self.push_blob(endpoint, shown, d, blobs))
                            .collect::<Result<Vec<_>, _>>()
                    })
                })
                .collect();
            let mut out = Vec::new();
            for handle in handles {
                match handle.join() {
                    Ok(result) => out.extend(result?),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(out)
        })
    }

    fn blob_exists(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        descriptor: &Descriptor,
        scope: &Scope,
    ) -> Result<bool, RegistryError> {
        let url = self.http.url(
            endpoint,
            &format!("/v2/{}/blobs/{}", endpoint.repository, descriptor.digest),
        )?;
        let response = self.http.send(
            endpoint,
            &Request {
                method: Method::HEAD,
                url: url.clone(),
                scope,
                headers: HeaderMap::new(),
                body: None,
                retry: true,
            },
        )?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(RegistryError::Status {
                what: format!("blob {} of {shown}", descriptor.digest),
                method: "HEAD".into(),
                url: redact(&url),
                status: s.as_u16(),
                message: error_message(response),
            }),
        }
    }

    fn push_blob(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        descriptor: &Descriptor,
        blobs: &dyn BlobSource,
    ) -> Result<BlobOutcome, RegistryError> {
        let digest = &descriptor.digest;
        let mount_from = blobs
            .mount_source(digest)
            .and_then(|src| self.conf.push_endpoint(&src).ok())
            .filter(|src| src.host == endpoint.host && src.repository != endpoint.repository);
        let scope = match &mount_from {
            Some(src) => Scope::push(&endpoint.repository).with_pull(&src.repository),
            None => Scope::push(&endpoint.repository),
        };
        if self.blob_exists(endpoint, shown, descriptor, &scope)? {
            return Ok(BlobOutcome::Existing);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.upload_once(
                endpoint,
                shown,
                descriptor,
                blobs,
                &scope,
                mount_from.as_ref().filter(|_| attempt == 1),
            );
            match result {
                Ok(outcome) => return Ok(outcome),
                Err(e) if attempt < self.http.options.max_attempts && upload_retryable(&e) => {
                    self.http.sleep_backoff(attempt);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn upload_once(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        descriptor: &Descriptor,
        blobs: &dyn BlobSource,
        scope: &Scope,
        mount_from: Option<&Endpoint>,
    ) -> Result<BlobOutcome, RegistryError> {
        let digest = &descriptor.digest;
        let mut start = self.http.url(
            endpoint,
            &format!("/v2/{}/blobs/uploads/", endpoint.repository),
        )?;
        if let Some(src) = mount_from {
            start
                .query_pairs_mut()
                .append_pair("mount", &digest.to_string())
                .append_pair("from", &src.repository);
        }
        let response = self.http.send(
            endpoint,
            &Request {
                method: Method::POST,
                url: start.clone(),
                scope,
                headers: content_length_zero(),
                body: None,
                retry: true,
            },
        )?;
        let status = response.status();
        if mount_from.is_some() && status == StatusCode::CREATED {
            return Ok(BlobOutcome::Mounted);
        }
        if status != StatusCode::ACCEPTED {
            return Err(RegistryError::Status {
                what: format!("upload of blob {digest} for {shown}"),
                method: "POST".into(),
                url: redact(&start),
                status: status.as_u16(),
                message: error_message(response),
            });
        }
        let mut location = upload_location(&start, response.headers())?;
        let chunk_size = self.http.options.chunk_size;
        let source_err = |source| RegistryError::SourceRead {
            reference: shown.to_string(),
            digest: digest.clone(),
            source,
        };
        if chunk_size > 0 && descriptor.size > chunk_size {
            let mut reader = blobs.open_blob(digest).map_err(source_err)?;
            let mut offset = 0u64;
            loop {
                let mut chunk = Vec::with_capacity(chunk_size as usize);
                (&mut reader)
                    .take(chunk_size)
                    .read_to_end(&mut chunk)
                    .map_err(source_err)?;
                if chunk.is_empty() {
                    break;
                }
                let end = offset + chunk.len() as u64 - 1;
                let mut headers = HeaderMap::new();
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                if let Ok(v) = HeaderValue::from_str(&format!("{offset}-{end}")) {
                    headers.insert(CONTENT_RANGE, v);
                }
                let chunk_len = chunk.len() as u64;
                let shared = std::sync::Mutex::new(Some(chunk));
                let body = move || -> Result<Body, RegistryError> {
                    let bytes = shared
                        .lock()
                        .ok()
                        .and_then(|mut c| c.take())
                        .unwrap_or_default();
                    Ok(Body::from(bytes))
                };
                let response = self.http.send(
                    endpoint,
                    &Request {
                        method: Method::PATCH,
                        url: location.clone(),
                        scope,
                        headers,
                        body: Some(&body),
                        retry: false,
                    },
                )?;
                if response.status() != StatusCode::ACCEPTED {
                    return Err(RegistryError::Status {
                        what: format!("chunk {offset}-{end} of blob {digest} for {shown}"),
                        method: "PATCH".into(),
                        url: redact(&location),
                        status: response.status().as_u16(),
                        message: error_message(response),
                    });
                }
                location = upload_location(&location, response.headers())?;
                offset += chunk_len;
            }
            let mut url = location.clone();
            url.query_pairs_mut()
                .append_pair("digest", &digest.to_string());
            self.finish_upload(endpoint, shown, digest, url, scope, None)?;
        } else {
            let mut url = location.clone();
            url.query_pairs_mut()
                .append_pair("digest", &digest.to_string());
            let size = descriptor.size;
            let body = || -> Result<Body, RegistryError> {
                let reader = blobs.open_blob(digest).map_err(source_err)?;
                Ok(Body::sized(reader, size))
            };
            self.finish_upload(endpoint, shown, digest, url, scope, Some(&body))?;
        }
        Ok(BlobOutcome::Uploaded)
    }

    fn finish_upload(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        digest: &Digest,
        url: Url,
        scope: &Scope,
        body: Option<&dyn Fn() -> Result<Body, RegistryError>>,
    ) -> Result<(), RegistryError> {
        let mut headers = if body.is_none() {
            content_length_zero()
        } else {
            HeaderMap::new()
        };
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let response = self.http.send(
            endpoint,
            &Request {
                method: Method::PUT,
                url: url.clone(),
                scope,
                headers,
                body,
                retry: false,
            },
        )?;
        if response.status() != StatusCode::CREATED {
            return Err(RegistryError::Status {
                what: format!("upload of blob {digest} for {shown}"),
                method: "PUT".into(),
                url: redact(&url),
                status: response.status().as_u16(),
                message: error_message(response),
            });
        }
        Ok(())
    }

    fn put_manifest(
        &self,
        endpoint: &Endpoint,
        shown: &str,
        bytes: &[u8],
        media_type: &str,
        target: &str,
    ) -> Result<Digest, RegistryError> {
        let url = self.http.url(
            endpoint,
            &format!("/v2/{}/manifests/{target}", endpoint.repository),
        )?;
        let scope = Scope::push(&endpoint.repository);
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(media_type) {
            headers.insert(CONTENT_TYPE, v);
        }
        let owned = bytes.to_vec();
        let body = move || -> Result<Body, RegistryError> { Ok(Body::from(owned.clone())) };
        let response = self.http.send(
            endpoint,
            &Request {
                method: Method::PUT,
                url: url.clone(),
                scope: &scope,
                headers,
                body: Some(&body),
                // Re-putting identical bytes is idempotent.
                retry: true,
            },
        )?;
        if response.status() != StatusCode::CREATED {
            return Err(RegistryError::Status {
                what: format!("manifest of {shown}"),
                method: "PUT".into(),
                url: redact(&url),
                status: response.status().as_u16(),
                message: error_message(response),
            });
        }
        let expected = Digest::of(bytes);
        if let Some(stored) = response
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            && stored != expected.to_string()
        {
            return Err(RegistryError::PushedDigestMismatch {
                reference: shown.to_string(),
                expected,
                actual: stored.chars().take(80).collect(),
            });
        }
        Ok(expected)
    }
}

fn content_length_zero() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    headers
}

/// The upload session URL from `Location`, which may be relative.
fn upload_location(base: &Url, headers: &HeaderMap) -> Result<Url, RegistryError> {
    let text = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RegistryError::NoUploadLocation { url: redact(base) })?;
    base.join(text).map_err(|_| RegistryError::BadUrl {
        url: text.chars().take(200).collect(),
        host: base.host_str().unwrap_or("").to_string(),
    })
}

fn upload_retryable(error: &RegistryError) -> bool {
    match error {
        RegistryError::Http { .. } => true,
        RegistryError::Status { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
        _ => false,
    }
}
