//! `images`, `inspect`, `tag` and `rmi`: the tag records and what they name.

use std::path::Path;

use oci::Digest;

use super::{
    LocalImage, OpsError, normalize_name, open_store, parse_reference, require_local, store_op,
};

/// One tag, as `decant images` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    /// The full normalised name, e.g. `docker.io/library/busybox:latest`.
    pub name: String,
    pub manifest_digest: Digest,
    /// The image ID (config digest); `None` when the manifest is missing or
    /// unreadable, which `fsck` reports.
    pub id: Option<Digest>,
    /// The config's `created`, as written.
    pub created: Option<String>,
    /// Config plus compressed layers, as a registry would transfer them.
    pub size: u64,
}

/// Every tagged image, sorted by name.
pub fn list_images(store_root: &Path) -> Result<Vec<ImageSummary>, OpsError> {
    let store = open_store(store_root)?;
    let mut out = Vec::new();
    for record in store.tags().map_err(store_op("the tag list"))? {
        let image = LocalImage::read(&store, Some(record.name.clone()), &record.manifest).ok();
        out.push(match image {
            Some(image) => ImageSummary {
                name: record.name,
                manifest_digest: record.manifest,
                id: Some(image.manifest.config.digest.clone()),
                created: image.config.created.clone(),
                size: image.manifest.config.size
                    + image.manifest.layers.iter().map(|l| l.size).sum::<u64>(),
            },
            None => ImageSummary {
                name: record.name,
                manifest_digest: record.manifest,
                id: None,
                created: None,
                size: 0,
            },
        });
    }
    Ok(out)
}

/// An image's documents, for `decant inspect`.
#[derive(Clone, Debug)]
pub struct InspectedImage {
    /// The tag it was found by; by ID, a tag naming that image; none for a
    /// manifest digest given as `name@sha256:…`.
    pub name: Option<String>,
    /// Every tag naming the same manifest, sorted.
    pub tags: Vec<String>,
    pub manifest_digest: Digest,
    pub manifest: serde_json::Value,
    pub config: serde_json::Value,
}

impl InspectedImage {
    /// `{"Name", "RepoTags", "Digest", "Id", "Manifest", "Config"}`: the
    /// stored documents verbatim (as JSON values) plus where they are.
    pub fn to_json(&self) -> serde_json::Value {
        let id = self
            .manifest
            .pointer("/config/digest")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        serde_json::json!({
            "Name": self.name,
            "RepoTags": self.tags,
            "Digest": self.manifest_digest.to_string(),
            "Id": id,
            "Manifest": self.manifest,
            "Config": self.config,
        })
    }
}

/// Reads the manifest and config of the image `reference` names.
pub fn inspect(store_root: &Path, reference: &str) -> Result<InspectedImage, OpsError> {
    let store = open_store(store_root)?;
    let image = require_local(&store, reference)?;
    let json = |what, digest: &Digest, bytes: &[u8]| {
        serde_json::from_slice(bytes).map_err(|source| OpsError::Json {
            what,
            digest: digest.clone(),
            source,
        })
    };
    let manifest = json("manifest", &image.manifest_digest, &image.manifest_bytes)?;
    let config = json(
        "image config",
        &image.manifest.config.digest,
        &image.config_bytes,
    )?;
    let tags = store
        .tags()
        .map_err(store_op("the tag list"))?
        .into_iter()
        .filter(|t| t.manifest == image.manifest_digest)
        .map(|t| t.name)
        .collect();
    Ok(InspectedImage {
        name: image.name,
        tags,
        manifest_digest: image.manifest_digest,
        manifest,
        config,
    })
}

/// Points the name `dest` at the image `source` names; returns the
/// normalised name.
pub fn tag(store_root: &Path, source: &str, dest: &str) -> Result<String, OpsError> {
    // A destination must be a valid reference: it may later be pushed.
    let name = parse_reference(dest)?.to_string();
    let store = open_store(store_root)?;
    let image = require_local(&store, source)?;
    store
        .tag(&name, &image.manifest_digest)
        .map_err(store_op(format!("tag {name}")))?;
    Ok(name)
}

/// Removes the tag `reference`, or every tag of the image an ID or digest
/// names. Blobs stay until `prune`, as other images may share them. Returns
/// the names removed.
pub fn rmi(store_root: &Path, reference: &str, force: bool) -> Result<Vec<String>, OpsError> {
    let store = open_store(store_root)?;
    for name in [normalize_name(reference), reference.to_string()] {
        if store
            .untag(&name)
            .map_err(store_op(format!("tag {name}")))?
        {
            return Ok(vec![name]);
        }
    }
    let image = require_local(&store, reference)?;
    let names: Vec<String> = store
        .tags()
        .map_err(store_op("the tag list"))?
        .into_iter()
        .filter(|t| t.manifest == image.manifest_digest)
        .map(|t| t.name)
        .collect();
    // docker refuses to untag several names by ID without --force, so one
    // command cannot silently remove names the user did not mention.
    if names.len() > 1 && !force {
        return Err(OpsError::SeveralNames {
            reference: reference.to_string(),
            names,
        });
    }
    for name in &names {
        store.untag(name).map_err(store_op(format!("tag {name}")))?;
    }
    Ok(names)
}
