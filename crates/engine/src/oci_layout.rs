//! `--build-context name=oci-layout://PATH[:TAG|@DIGEST]`: an image from an
//! OCI image layout directory on disk (image-spec `image-layout.md`).
//!
//! BuildKit receives such a context as `oci-layout://<store>@<digest>`; the
//! client (buildx) has already turned a tag into a digest through the
//! layout's `index.json`. decant does both: a tag is looked up by the
//! `org.opencontainers.image.ref.name` annotation of the index's entries;
//! neither a tag nor a digest picks the only entry, or the one named
//! `latest`. An index entry that is itself an index picks the build
//! platform's manifest.
//!
//! Every document and blob is verified against its digest, and documents are
//! read with a size limit. Layer blobs are copied into the store (verified
//! by the store), so the rest of the build treats the image like a pulled
//! one.
//!
//! Must not know about stages or steps: a layout path in, a
//! [`registry::ResolvedImage`] out.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use oci::{Descriptor, Digest, ImageConfig, Index, Manifest, MediaType, Platform, Reference};

/// The prefix of a `--build-context` value naming an OCI layout.
pub(crate) const PREFIX: &str = "oci-layout://";

/// Manifests, indexes and configs larger than this are refused, as
/// containerd refuses manifests over 4 MiB (reliability.md §1.4).
const MAX_DOCUMENT: u64 = 4 << 20;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Why an OCI layout could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OciLayoutError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is larger than {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path} is not valid JSON for an {what}")]
    Json {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid digest {value:?} in oci-layout reference {spec:?}")]
    InvalidDigest { spec: String, value: String },
    #[error("{path}: no image tagged {tag:?} (index.json has {available})")]
    TagNotFound {
        path: PathBuf,
        tag: String,
        available: String,
    },
    #[error("{path}: no manifest for platform {platform}")]
    NoPlatform { path: PathBuf, platform: String },
    #[error("{path}: blob {digest} does not match its digest (got {actual})")]
    DigestMismatch {
        path: PathBuf,
        digest: Digest,
        actual: Digest,
    },
    #[error("{path}: {digest} has media type {media_type:?}, not an image manifest or index")]
    NotAnImage {
        path: PathBuf,
        digest: Digest,
        media_type: String,
    },
    #[error("{path}: the image config has {diff_ids} diff ids for {layers} layers")]
    LayerCount {
        path: PathBuf,
        layers: usize,
        diff_ids: usize,
    },
    #[error("cannot copy layer {digest} from {path} into the store")]
    Import {
        path: PathBuf,
        digest: Digest,
        #[source]
        source: store::StoreError,
    },
}

/// A parsed `oci-layout://` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LayoutRef {
    pub path: PathBuf,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// Splits `PATH[:TAG|@DIGEST]` (after the prefix). A `:` counts as a tag
/// separator only in the last path component, so `./a:b/layout` is a path.
pub(crate) fn parse(spec: &str) -> Result<LayoutRef, OciLayoutError> {
    let rest = spec.strip_prefix(PREFIX).unwrap_or(spec);
    if let Some((path, digest)) = rest.rsplit_once('@') {
        let parsed = digest
            .parse::<Digest>()
            .map_err(|_| OciLayoutError::InvalidDigest {
                spec: spec.to_string(),
                value: digest.to_string(),
            })?;
        return Ok(LayoutRef {
            path: PathBuf::from(path),
            tag: None,
            digest: Some(parsed),
        });
    }
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            Ok(LayoutRef {
                path: PathBuf::from(&rest[..at]),
                tag: Some(rest[at + 1..].to_string()),
                digest: None,
            })
        }
        None => Ok(LayoutRef {
            path: PathBuf::from(rest),
            tag: None,
            digest: None,
        }),
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, OciLayoutError> {
    let read_error = |source| OciLayoutError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(OciLayoutError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_DOCUMENT,
        });
    }
    Ok(bytes)
}

fn blob_path(layout: &Path, digest: &Digest) -> PathBuf {
    layout
        .join("blobs")
        .join(digest.algorithm())
        .join(digest.hex())
}

/// A document blob, verified against its digest.
fn read_blob(layout: &Path, digest: &Digest) -> Result<Vec<u8>, OciLayoutError> {
    let path = blob_path(layout, digest);
    let bytes = read_limited(&path)?;
    let actual = Digest::of(&bytes);
    if &actual != digest {
        return Err(OciLayoutError::DigestMismatch {
            path,
            digest: digest.clone(),
            actual,
        });
    }
    Ok(bytes)
}

fn parse_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    what: &'static str,
) -> Result<T, OciLayoutError> {
    serde_json::from_slice(bytes).map_err(|source| OciLayoutError::Json {
        path: path.to_path_buf(),
        what,
        source,
    })
}

/// The descriptor `reference` names in the layout's `index.json`.
fn select(layout: &LayoutRef, index: &Index) -> Result<Descriptor, OciLayoutError> {
    if let Some(digest) = &layout.digest {
        // A digest may name any blob of the layout, listed or not.
        return Ok(index
            .manifests
            .iter()
            .find(|d| &d.digest == digest)
            .cloned()
            .unwrap_or_else(|| Descriptor::new("", digest.clone(), 0)));
    }
    let name_of = |d: &Descriptor| {
        d.annotations
            .as_ref()
            .and_then(|a| a.get(REF_NAME))
            .cloned()
    };
    let wanted = layout.tag.clone();
    let found = match &wanted {
        Some(tag) => index
            .manifests
            .iter()
            .find(|d| name_of(d).as_deref() == Some(tag.as_str())),
        None if index.manifests.len() == 1 => index.manifests.first(),
        None => index
            .manifests
            .iter()
            .find(|d| name_of(d).as_deref() == Some("latest")),
    };
    found.cloned().ok_or_else(|| {
        let names: Vec<String> = index.manifests.iter().filter_map(name_of).collect();
        OciLayoutError::TagNotFound {
            path: layout.path.join("index.json"),
            tag: wanted.unwrap_or_else(|| "latest".to_string()),
            available: if names.is_empty() {
                format!("{} untagged entries", index.manifests.len())
            } else {
                format!("tags {}", names.join(", "))
            },
        }
    })
}

/// Resolves the layout image for `platform` and copies its layer blobs into
/// `store`.
pub(crate) fn resolve(
    store: &store::Store,
    spec: &str,
    platform: &Platform,
) -> Result<registry::ResolvedImage, OciLayoutError> {
    let layout = parse(spec)?;
    let path = layout.path.clone();
    let index_path = path.join("index.json");
    let index: Index = parse_json(&index_path, &read_limited(&index_path)?, "image index")?;
    let mut descriptor = select(&layout, &index)?;
    let mut index_digest = None;
    let mut bytes = read_blob(&path, &descriptor.digest)?;
    let media_type_of = |bytes: &[u8], d: &Descriptor| -> String {
        if !d.media_type.is_empty() {
            return d.media_type.clone();
        }
        serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| {
                v.get("mediaType")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default()
    };
    let mut media_type = media_type_of(&bytes, &descriptor);
    // Nested indexes are followed a bounded number of times.
    for _ in 0..4 {
        if !MediaType::is_index(&media_type) {
            break;
        }
        let blob = blob_path(&path, &descriptor.digest);
        let nested: Index = parse_json(&blob, &bytes, "image index")?;
        let chosen = registry::choose_platform(&nested, platform).ok_or_else(|| {
            OciLayoutError::NoPlatform {
                path: blob.clone(),
                platform: platform.to_spec(),
            }
        })?;
        index_digest = Some(descriptor.digest.clone());
        descriptor = chosen.clone();
        bytes = read_blob(&path, &descriptor.digest)?;
        media_type = media_type_of(&bytes, &descriptor);
    }
    if !MediaType::is_manifest(&media_type) {
        return Err(OciLayoutError::NotAnImage {
            path: path.clone(),
            digest: descriptor.digest.clone(),
            media_type,
        });
    }
    let manifest_path = blob_path(&path, &descriptor.digest);
    let manifest: Manifest = parse_json(&manifest_path, &bytes, "image manifest")?;
    let config_bytes = read_blob(&path, &manifest.config.digest)?;
    let config: ImageConfig = parse_json(
        &blob_path(&path, &manifest.config.digest),
        &config_bytes,
        "image config",
    )?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(OciLayoutError::LayerCount {
            path: manifest_path,
            layers: manifest.layers.len(),
            diff_ids: config.rootfs.diff_ids.len(),
        });
    }
    for layer in &manifest.layers {
        if store.has_blob(&layer.digest) {
            continue;
        }
        let source = blob_path(&path, &layer.digest);
        store
            .write_blob(Some(&layer.digest), &mut |out| {
                let mut file = fs::File::open(&source)?;
                std::io::copy(&mut file, out).map(|_| ())
            })
            .map_err(|source_error| OciLayoutError::Import {
                path: source.clone(),
                digest: layer.digest.clone(),
                source: source_error,
            })?;
    }
    Ok(registry::ResolvedImage {
        reference: Reference {
            registry: "oci-layout".to_string(),
            repository: path.to_string_lossy().trim_matches('/').to_string(),
            tag: layout.tag.clone(),
            digest: Some(descriptor.digest.clone()),
        },
        manifest_digest: descriptor.digest.clone(),
        manifest,
        manifest_bytes: bytes,
        manifest_media_type: media_type,
        index_digest,
        config,
        config_bytes,
        source: registry::Endpoint {
            host: "oci-layout".to_string(),
            repository: path.to_string_lossy().into_owned(),
            insecure: false,
            mirror: false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_layout_references() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let rows: Vec<(String, &str, Option<&str>, bool)> = vec![
            (
                "oci-layout:///srv/layout".into(),
                "/srv/layout",
                None,
                false,
            ),
            ("oci-layout://./out:v1".into(), "./out", Some("v1"), false),
            ("oci-layout://a:b/layout".into(), "a:b/layout", None, false),
            (format!("oci-layout:///l@{digest}"), "/l", None, true),
        ];
        for (spec, path, tag, has_digest) in rows {
            let got = parse(&spec).expect(&spec);
            assert_eq!(got.path, PathBuf::from(path), "{spec}");
            assert_eq!(got.tag.as_deref(), tag, "{spec}");
            assert_eq!(got.digest.is_some(), has_digest, "{spec}");
        }
        assert!(parse("oci-layout:///l@sha256:zz").is_err());
    }
}
