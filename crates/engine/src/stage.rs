//! Building one stage: its base, then each step, from the cache when its key
//! is known and by running it in a fresh snapshot otherwise.
//!
//! # Cache freshness
//!
//! Every filesystem step (RUN, COPY/ADD, WORKDIR) has a *cache key*, a
//! sha256 built by [`solver::CacheKey`] from, in order:
//!
//! 1. the parent key: the previous step's key, or for the stage's first step
//!    the base's key (`scratch`, the base image's manifest digest, or the
//!    base stage's last key). A change anywhere upstream therefore changes
//!    every key below it, which is what "an earlier step changed" means;
//! 2. the step's definition as planned (`Op`, with every argument already
//!    expanded) and its state (`StepState`: the env including ARGs in scope,
//!    user, workdir, shell), so an edited instruction or a changed ENV/ARG
//!    misses;
//! 3. `SOURCE_DATE_EPOCH`, which shapes the layer's tar (compression does
//!    not: a layer is compressed only when an image needs its blob, see
//!    `layers.rs`, so a gzip build and a zstd build share every step);
//! 4. what the step reads: for COPY/ADD from the context, the checksum of
//!    exactly the selected files (name, type, mode, owner, size, content,
//!    link target; never mtime: see `context.rs`); from a stage, the same
//!    checksum of the selected files in that stage's root (recorded under
//!    the stage's key, see `stage_content`); from an image, its manifest
//!    digest.
//!
//! A key maps, in the store's cache index, to the layer's diffID, its chain
//! ID (which keeps its unpacked dir alive through `prune`) and, once it has
//! been compressed, a blob. A hit needs the unpacked layer dir or a blob of
//! the layer in the store; the dir is recreated from the blob if it was
//! pruned. What is *not* in a key: config
//! instructions themselves (they reach later steps through the state), the
//! time, the host, and the content of RUN cache mounts or secrets.
//!
//! On a miss, the parts of the key (parent, definition, state, whole key) are
//! recorded under the step's identity (Dockerfile path, stage, step index);
//! the next miss of the same step compares them to say which input changed.
//!
//! # `--link` and named contexts
//!
//! `COPY --link`/`ADD --link` (BuildKit: a FileOp on `llb.Scratch()` merged
//! onto the stage with MergeOp) runs its copy in a snapshot with no lower
//! layers and commits that diff as the layer. So the copy sees nothing of
//! the destination: a symlink in the base on the destination path is not
//! followed (`COPY --link f /app/x` over `/app -> /etc` makes `/app` a real
//! directory in the new layer, which hides the link in the stacked image),
//! parents it creates are 0755 (or `--chown`'s owner) and override the
//! base's (`/tmp` 1777 becomes 0755), and `--chown=name` cannot be looked up
//! (there is no /etc/passwd on scratch). The layer's cache key leaves out the
//! parent, so it survives a change below it; the stage's key after it
//! combines both.
//!
//! A `FROM <named local context>` base is the directory's files as one layer
//! (its own `.dockerignore` applied, owned 0:0 like any context file), keyed
//! by their checksums; `COPY --from=<named local context>` reads the
//! directory like the main context.

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oci::{Descriptor, DiffId, Digest, History};
use plan::{CopySource, Op, Stage, StageId, Step};
use serde::{Deserialize, Serialize};
use solver::CacheKey;

use crate::context::Context;
use crate::error::BuildError;
use crate::events::{Event, EventSink};
use crate::layers::{Images, LayerRef, chain_id};
use crate::request::BuildRequest;

/// What a built stage hands to its dependents and to the exporter.
#[derive(Clone, Debug)]
pub(crate) struct StageResult {
    pub layers: Vec<LayerRef>,
    pub history: Vec<History>,
    /// The cache key of the stage's last filesystem state.
    pub key: Digest,
}

/// A layer as the cache index records it.
#[derive(Serialize, Deserialize)]
struct CacheRecord {
    diff_id: DiffId,
    /// Named so that the store's GC, which keeps whatever digests a cache
    /// record names, keeps the layer's unpacked directory.
    #[serde(default)]
    chain_id: Option<Digest>,
    /// A blob of the layer, when one was made (records written before lazy
    /// compression always have one).
    #[serde(default)]
    descriptor: Option<Descriptor>,
    /// When the layer was made. A cached step's history keeps this time, so
    /// a rebuild from the cache yields the same config and image ID, as
    /// BuildKit's does.
    #[serde(default)]
    created: Option<String>,
}

/// What a step's key was made of the last time this step of this Dockerfile
/// ran, so a miss can say which input changed.
#[derive(Serialize, Deserialize, PartialEq)]
struct KeyParts {
    parent: Digest,
    definition: Digest,
    state: Digest,
    key: Digest,
}

/// Everything a stage build needs, shared by the stage threads.
pub(crate) struct StageBuilder<'a> {
    pub request: &'a BuildRequest,
    pub store: &'a store::Store,
    pub images: &'a Images<'a>,
    pub context: &'a Context,
    pub events: EventSink<'a>,
    /// The snapshot driver: forced by the request, else detected on first
    /// use (see [`StageBuilder::driver`]).
    pub driver: std::sync::OnceLock<snapshot::Driver>,
    /// ADD's downloads, shared by the stages of one build.
    pub downloads: crate::remote::Downloads,
    pub created: Option<String>,
    pub steps_run: AtomicUsize,
    pub steps_cached: AtomicUsize,
    /// One lock per cache key being computed: two stages with an identical
    /// step (same parent, same instruction, same inputs) run it once, the
    /// second finding the first's result in the cache.
    pub in_flight: Mutex<HashMap<Digest, Arc<Mutex<()>>>>,
}

impl StageBuilder<'_> {
    /// Builds `stage`; `built` holds the results of the stages it depends on.
    pub fn build(
        &self,
        stage: &Stage,
        built: &HashMap<StageId, StageResult>,
    ) -> Result<StageResult, BuildError> {
        let label = stage
            .name
            .clone()
            .unwrap_or_else(|| format!("stage-{}", stage.id.0));
        let (mut layers, mut history, mut key) = match &stage.base {
            plan::Base::Scratch => (Vec::new(), Vec::new(), CacheKey::new("scratch").finish()),
            plan::Base::Image(text) => {
                let image = self.images.resolve(text)?;
                let key = CacheKey::new("image")
                    .field(image.manifest_digest.to_string())
                    .finish();
                (
                    Images::image_layers(&image),
                    image.config.history.clone(),
                    key,
                )
            }
            plan::Base::Stage(id) => {
                let parent = built.get(id).ok_or(BuildError::Cancelled)?;
                (
                    parent.layers.clone(),
                    parent.history.clone(),
                    parent.key.clone(),
                )
            }
            plan::Base::Context(name) => {
                let (layer, key) = self.context_base(name)?;
                let history = History {
                    created: self.created.clone(),
                    created_by: Some(format!("context {name}")),
                    comment: Some("buildkit.exporter.image.v0".to_string()),
                    ..History::default()
                };
                (vec![layer], vec![history], key)
            }
        };
        // Config-only steps take the time of the newest layer below them, so
        // that nothing in a fully cached stage depends on the clock.
        let mut last_created = history.last().and_then(|h| h.created.clone());
        for (index, step) in stage.steps.iter().enumerate() {
            if self.request.cancel.load(Ordering::Relaxed) {
                return Err(BuildError::Cancelled);
            }
            if matches!(step.op, Op::Config) {
                if step.history {
                    let created = last_created.clone().or_else(|| self.created.clone());
                    history.push(self.history(step, true, created));
                }
                continue;
            }
            (self.events)(Event::StepStarted {
                stage: label.clone(),
                step: index + 1,
                steps: stage.steps.len(),
                line: step.line,
                text: step.text.clone(),
            });
            let step_key = self.step_key(&key, step, built)?;
            let skip_cache = self.skip_cache(stage);
            let slot = self
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(step_key.clone())
                .or_default()
                .clone();
            let _in_flight = slot.lock().unwrap_or_else(|p| p.into_inner());
            let cached = if skip_cache {
                None
            } else {
                self.cached(&step_key, &layers)
            };
            let mut created = self.created.clone();
            let layer = match cached {
                Some(layer) => {
                    created = self.cached_created(&step_key).or(created);
                    self.steps_cached.fetch_add(1, Ordering::Relaxed);
                    (self.events)(Event::StepCached {
                        stage: label.clone(),
                        step: index + 1,
                        text: step.text.clone(),
                    });
                    layer
                }
                None => {
                    let parts = KeyParts {
                        parent: key.clone(),
                        definition: CacheKey::new("definition")
                            .field(format!("{:?}", step.op))
                            .finish(),
                        state: CacheKey::new("state")
                            .field(format!("{:?}", step.state))
                            .finish(),
                        key: step_key.clone(),
                    };
                    let identity = self.step_identity(&label, index);
                    let reason = if skip_cache {
                        if self.request.no_cache {
                            "--no-cache".to_string()
                        } else {
                            "--no-cache-filter".to_string()
                        }
                    } else {
                        self.miss_reason(&identity, &parts)
                    };
                    let started = Instant::now();
                    let layer = self.run_step(&label, index + 1, step, &layers, built)?;
                    self.record(&step_key, &layer)?;
                    if let Ok(bytes) = serde_json::to_vec(&parts) {
                        // Only an explanation for the next miss: losing it
                        // loses nothing but a message.
                        let _ = self.store.cache_put(&identity, &bytes);
                    }
                    self.steps_run.fetch_add(1, Ordering::Relaxed);
                    (self.events)(Event::StepFinished {
                        stage: label.clone(),
                        step: index + 1,
                        elapsed: started.elapsed(),
                        reason,
                    });
                    layer
                }
            };
            layers.push(layer);
            if step.history {
                history.push(self.history(step, false, created.clone()));
            }
            last_created = created;
            // A --link layer's own key ignores what is below it (so it
            // survives a base change, as BuildKit's MergeOp input does); the
            // stage's state after it still depends on both.
            key = if is_link(step) {
                CacheKey::new("link-merge")
                    .field(key.to_string())
                    .field(step_key.to_string())
                    .finish()
            } else {
                step_key
            };
        }
        Ok(StageResult {
            layers,
            history,
            key,
        })
    }

    /// `--no-cache`, or `--no-cache-filter` naming this stage (by name,
    /// case-insensitively, or by index).
    fn skip_cache(&self, stage: &Stage) -> bool {
        self.request.no_cache
            || self.request.no_cache_filter.iter().any(|wanted| {
                stage
                    .name
                    .as_deref()
                    .is_some_and(|name| name.eq_ignore_ascii_case(wanted))
                    || wanted
                        .parse::<usize>()
                        .is_ok_and(|index| index == stage.id.0)
            })
    }

    /// Names "this step of this stage of this Dockerfile" across builds, for
    /// explaining cache misses.
    fn step_identity(&self, label: &str, index: usize) -> String {
        if self.request.ephemeral_context {
            // Every `decant build -` shares one identity per Dockerfile
            // name, rather than leave a record per temporary directory.
            let name = self
                .request
                .dockerfile
                .strip_prefix(&self.request.context)
                .unwrap_or(&self.request.dockerfile);
            return format!("explain stdin-context {} {label} {index}", name.display());
        }
        if self.request.dockerfile_text.is_some() {
            // A Dockerfile from standard input has no path of its own.
            let context = std::fs::canonicalize(&self.request.context)
                .unwrap_or_else(|_| self.request.context.clone());
            return format!("explain stdin {} {label} {index}", context.display());
        }
        let dockerfile = std::fs::canonicalize(&self.request.dockerfile)
            .unwrap_or_else(|_| self.request.dockerfile.clone());
        format!("explain {} {label} {index}", dockerfile.display())
    }

    /// Why a step missed the cache, compared with the last time it ran.
    fn miss_reason(&self, identity: &str, parts: &KeyParts) -> String {
        let previous: Option<KeyParts> = self
            .store
            .cache_get(identity)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        match previous {
            None => "first build of this step".to_string(),
            Some(previous) if previous.definition != parts.definition => {
                "the instruction changed".to_string()
            }
            Some(previous) if previous.parent != parts.parent => {
                "an earlier step or the base image changed".to_string()
            }
            Some(previous) if previous.state != parts.state => {
                "its environment (ENV, ARG, USER or WORKDIR) changed".to_string()
            }
            Some(previous) if previous.key != parts.key => {
                "the files or stages it reads changed".to_string()
            }
            Some(_) => "its cached layer is no longer in the store".to_string(),
        }
    }

    pub(crate) fn location(&self, step: Option<&Step>) -> String {
        let file = self
            .request
            .dockerfile
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match step {
            Some(step) => format!("{file}:{}", step.line),
            None => file,
        }
    }

    fn history(&self, step: &Step, empty_layer: bool, created: Option<String>) -> History {
        History {
            created,
            created_by: Some(step.created_by.clone()),
            comment: Some("buildkit.dockerfile.v0".to_string()),
            empty_layer,
            ..History::default()
        }
    }

    /// The step's cache key: the parent's key, the step's whole definition
    /// and state (which carries the env, user and workdir in effect), and the
    /// content of whatever it reads.
    fn step_key(
        &self,
        parent: &Digest,
        step: &Step,
        built: &HashMap<StageId, StageResult>,
    ) -> Result<Digest, BuildError> {
        let mut key = CacheKey::new("step");
        if is_link(step) {
            key.field("link");
        } else {
            key.field(parent.to_string());
        }
        key.field(format!("{:?}", step.op))
            .field(format!("{:?}", step.state))
            .field(format!("{:?}", self.request.source_date_epoch));
        if let Op::Run(run) = &step.op {
            // Part of the run's definition, as ExecOp's ExtraHosts and its
            // /dev/shm mount are in BuildKit's; added only when given, so
            // that other keys stay.
            if let Some(size) = self.request.shm_size {
                key.field("shm-size").field(size.to_le_bytes());
            }
            if !self.request.ulimits.is_empty() {
                key.field("ulimits").list(
                    self.request
                        .ulimits
                        .iter()
                        .map(|ulimit| format!("{}={}:{}", ulimit.name, ulimit.soft, ulimit.hard)),
                );
            }
            if !self.request.extra_hosts.is_empty() {
                key.field("extra-hosts").list(
                    self.request
                        .extra_hosts
                        .iter()
                        .map(|(name, address)| format!("{name}={address}")),
                );
            }
            self.mount_inputs(step, run, built, &mut key)?;
        }
        if let Op::Copy(copy) = &step.op {
            let location = self.location(Some(step));
            let (local, remote) = split_sources(copy, step, &location)?;
            match &copy.from {
                CopySource::Context => self.context.checksum(&local, &mut key)?,
                CopySource::Stage(id) => {
                    let source = built.get(id).ok_or(BuildError::Cancelled)?;
                    let content = self.stage_content(source, &local, step, &location)?;
                    key.field("stage-content").field(content.to_string());
                }
                CopySource::Image(text) => {
                    let image = self.images.resolve(text)?;
                    key.field(image.manifest_digest.to_string());
                }
                CopySource::NamedContext(name) => {
                    let context = self.named_local(name)?;
                    key.field("named-context");
                    context.checksum(&local, &mut key)?;
                }
            }
            for url in remote {
                key.field("remote").field(crate::remote::file_name(url));
                match &copy.checksum {
                    // BuildKit keys a pinned download by its checksum alone:
                    // nothing is fetched to look the step up.
                    Some(checksum) => {
                        let digest = crate::remote::parse_checksum(checksum)
                            .map_err(|source| remote_error(step, &location, source))?;
                        key.field(digest.to_string());
                    }
                    // Unpinned, the content decides: fetch it now (the copy
                    // reuses the download) and key by digest and mtime.
                    None => {
                        let got = self
                            .downloads
                            .fetch(url, None)
                            .map_err(|source| remote_error(step, &location, source))?;
                        key.field(got.digest.to_string())
                            .field(got.last_modified.unwrap_or(0).to_le_bytes());
                    }
                }
            }
        }
        Ok(key.finish())
    }

    /// The digest of what `sources` select in a built stage's root: every
    /// selected path's name, type, mode, owner, size, content and link
    /// target, as for the context. A `COPY --from=<stage>` is keyed by this
    /// rather than by the stage's key, so an edit that changes the stage but
    /// not the files copied out of it (a comment in a Go source, a file the
    /// final stage does not take) leaves the copy, and the image, as they
    /// were. BuildKit does the same: a FileOp's cache map carries a content
    /// checksum of each input's selectors (solver/llbsolver/ops/file.go,
    /// `ComputeDigestFunc`), used when the input's own key missed.
    ///
    /// The digest is a function of the stage's key and the selectors, so it
    /// is recorded under those in the cache index: a warm build looks it up
    /// and mounts nothing; only after the stage changed is its root mounted
    /// and the selected files hashed.
    fn stage_content(
        &self,
        source: &StageResult,
        sources: &[String],
        step: &Step,
        location: &str,
    ) -> Result<Digest, BuildError> {
        let mut record = CacheKey::new("stage-content-record");
        record.field(source.key.to_string());
        for selector in sources {
            record.field(selector);
        }
        let record = record.finish();
        if let Some(bytes) = self.store.cache_get(record.hex()).ok().flatten()
            && let Some(digest) = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| text.trim().parse::<Digest>().ok())
        {
            return Ok(digest);
        }
        let (view, _work) = self.view(&source.layers, step, location)?;
        let mut content = CacheKey::new("stage-content");
        crate::context::Context::for_stage_root(&view.root).checksum(sources, &mut content)?;
        drop(view);
        let content = content.finish();
        self.store
            .cache_put(record.hex(), content.to_string().as_bytes())
            .map_err(|source| BuildError::StoreOp {
                what: format!("cache record {record}"),
                source,
            })?;
        Ok(content)
    }

    /// The directory of a named local context.
    fn named_local_dir(&self, name: &str) -> Result<PathBuf, BuildError> {
        let value = self.request.named_contexts.get(name).ok_or_else(|| {
            BuildError::NamedContextMissing {
                name: name.to_string(),
            }
        })?;
        let dir = PathBuf::from(value);
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => Ok(dir),
            Ok(_) => Err(BuildError::NamedContextDir {
                name: name.to_string(),
                path: dir,
                source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
            }),
            Err(source) => Err(BuildError::NamedContextDir {
                name: name.to_string(),
                path: dir,
                source,
            }),
        }
    }

    fn named_local(&self, name: &str) -> Result<Context, BuildError> {
        Context::load_named(&self.named_local_dir(name)?)
    }

    /// `FROM <named local context>`: the directory's files (its own
    /// `.dockerignore` applied, owned 0:0 as BuildKit's file sync sends
    /// them) become the stage's single base layer.
    fn context_base(&self, name: &str) -> Result<(LayerRef, Digest), BuildError> {
        let context = self.named_local(name)?;
        let sources = [".".to_string()];
        let mut key = CacheKey::new("context-base");
        key.field(format!("{:?}", self.request.source_date_epoch));
        context.checksum(&sources, &mut key)?;
        let key = key.finish();
        let instruction = format!("FROM {name}");
        if !self.request.no_cache
            && let Some(layer) = self.cached(&key, &[])
        {
            return Ok((layer, key));
        }
        let location = self.location(None);
        let work = self.work_dir()?;
        let prepared = snapshot::prepare(self.driver()?, &[], work.path()).map_err(|source| {
            BuildError::Snapshot {
                location: location.clone(),
                instruction: instruction.clone(),
                source,
            }
        })?;
        let request = crate::copy::CopyRequest::into_root(
            &context.dir,
            true,
            context.ignore.as_ref(),
            &sources,
            &prepared.root,
        );
        crate::copy::copy(&request).map_err(|source| BuildError::Copy {
            location: location.clone(),
            instruction: instruction.clone(),
            source,
        })?;
        let diff = prepared.commit().map_err(|source| BuildError::Snapshot {
            location: location.clone(),
            instruction: instruction.clone(),
            source,
        })?;
        let layer = self.commit_layer(&diff, &[], &instruction, &location)?;
        self.record(&key, &layer)?;
        Ok((layer, key))
    }

    fn record(&self, key: &Digest, layer: &LayerRef) -> Result<(), BuildError> {
        let record = CacheRecord {
            diff_id: layer.diff_id.clone(),
            chain_id: Some(layer.chain_id.clone()),
            descriptor: layer.descriptor.clone(),
            created: self.created.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&record) {
            self.store
                .cache_put(key.hex(), &bytes)
                .map_err(|source| BuildError::StoreOp {
                    what: format!("cache record {key}"),
                    source,
                })?;
        }
        Ok(())
    }

    /// When the cached layer of `key` was made, if the record says.
    fn cached_created(&self, key: &Digest) -> Option<String> {
        let bytes = self.store.cache_get(key.hex()).ok().flatten()?;
        serde_json::from_slice::<CacheRecord>(&bytes).ok()?.created
    }

    /// A cache hit: the record exists and the store still holds the layer,
    /// unpacked or as a blob (the record's, or the blob index's).
    fn cached(&self, key: &Digest, layers: &[LayerRef]) -> Option<LayerRef> {
        let bytes = self.store.cache_get(key.hex()).ok().flatten()?;
        let record: CacheRecord = serde_json::from_slice(&bytes).ok()?;
        let parent = layers.last().map(|l| &l.chain_id);
        let chain = chain_id(parent, &record.diff_id);
        let descriptor = record
            .descriptor
            .filter(|descriptor| self.store.has_blob(&descriptor.digest))
            .or_else(|| {
                self.images
                    .indexed_blob(&record.diff_id, self.request.compression)
            });
        if descriptor.is_none() && self.store.layer_dir(&chain).is_none() {
            return None;
        }
        Some(LayerRef {
            chain_id: chain,
            diff_id: record.diff_id,
            descriptor,
            source: None,
        })
    }

    /// WORKDIR creates directories owned by the current USER, resolved in
    /// the stage's /etc/passwd and /etc/group as COPY --chown is.
    fn workdir_owner(
        &self,
        root: &Path,
        step: &Step,
        location: &str,
    ) -> Result<(u32, u32), BuildError> {
        match step.state.user.as_deref() {
            None | Some("") => Ok((0, 0)),
            Some(user) => crate::copy::resolve_chown(user, root)
                .map(|owner| (owner.uid, owner.gid))
                .map_err(|source| BuildError::Copy {
                    location: location.to_string(),
                    instruction: step.text.clone(),
                    source,
                }),
        }
    }

    /// Detects the snapshot driver the first time a step needs one; the
    /// probe mounts a test overlay, which a fully cached build never pays.
    /// It probes in the store's scratch dir, because whether overlayfs takes
    /// an upper dir depends on the filesystem the snapshots will live on.
    pub(crate) fn driver(&self) -> Result<snapshot::Driver, BuildError> {
        if let Some(driver) = self.driver.get() {
            return Ok(*driver);
        }
        let detected = snapshot::Driver::detect_in(self.store.scratch_dir())
            .map_err(BuildError::SnapshotDetect)?;
        Ok(*self.driver.get_or_init(|| detected))
    }

    fn lowers(&self, layers: &[LayerRef]) -> Result<Vec<PathBuf>, BuildError> {
        layers
            .iter()
            .map(|layer| self.images.layer_dir(layer))
            .collect()
    }

    pub(crate) fn work_dir(&self) -> Result<tempfile::TempDir, BuildError> {
        // Snapshots live in the store's per-process scratch dir: on the
        // store's filesystem, so that a committed upper dir is renamed into
        // the store rather than copied, and reclaimed by the next
        // `Store::open` if this process dies.
        let parent = self.store.scratch_dir();
        tempfile::Builder::new()
            .prefix("step-")
            .tempdir_in(parent)
            .map_err(|source| BuildError::WorkDir {
                path: parent.to_path_buf(),
                source,
            })
    }

    fn run_step(
        &self,
        label: &str,
        index: usize,
        step: &Step,
        layers: &[LayerRef],
        built: &HashMap<StageId, StageResult>,
    ) -> Result<LayerRef, BuildError> {
        let location = self.location(Some(step));
        let snapshot_error = |source| BuildError::Snapshot {
            location: location.clone(),
            instruction: step.text.clone(),
            source,
        };
        // COPY --link runs on an empty root (BuildKit: a FileOp on scratch,
        // merged on top), so it sees none of the destination's files.
        let lowers = if is_link(step) {
            Vec::new()
        } else {
            self.lowers(layers)?
        };
        let work = self.work_dir()?;
        let prepared =
            snapshot::prepare(self.driver()?, &lowers, work.path()).map_err(snapshot_error)?;
        match &step.op {
            Op::Run(run) => {
                let ran = self.run(label, index, step, run, &prepared.root, built, &location);
                if let Err(BuildError::Cancelled) = ran {
                    drop(prepared);
                    crate::mounts::remove_after_kill(work);
                    return Err(BuildError::Cancelled);
                }
                ran?
            }
            Op::Copy(copy) => self.copy(step, copy, &prepared.root, built, &location)?,
            Op::Workdir { path } => {
                let owner = self.workdir_owner(&prepared.root, step, &location)?;
                crate::rootfs::mkdir_all(&prepared.root, path, owner).map_err(|source| {
                    BuildError::Workdir {
                        location: location.clone(),
                        instruction: step.text.clone(),
                        path: path.clone(),
                        source,
                    }
                })?;
            }
            Op::Config => {}
        }
        let diff = prepared.commit().map_err(snapshot_error)?;
        self.commit_layer(&diff, layers, &step.text, &location)
    }

    /// Records the diff's diffID and keeps the diff itself as the layer's
    /// unpacked directory, so later steps mount it without unpacking. No
    /// blob is written: `Images::blob` compresses the layer if and when an
    /// image manifest needs it.
    fn commit_layer(
        &self,
        diff: &Path,
        layers: &[LayerRef],
        instruction: &str,
        location: &str,
    ) -> Result<LayerRef, BuildError> {
        let options = layer::WriteOptions {
            compression: layer::Compression::Uncompressed,
            source_date_epoch: self.request.source_date_epoch,
            ..Default::default()
        };
        let written =
            layer::write_layer(diff, &mut std::io::sink(), &options).map_err(|source| {
                BuildError::WriteLayer {
                    location: location.to_string(),
                    instruction: instruction.to_string(),
                    source,
                }
            })?;
        let parent = layers.last().map(|l| &l.chain_id);
        let chain = chain_id(parent, &written.diff_id);
        if self.store.layer_dir(&chain).is_none() {
            self.store
                .create_layer_dir(&chain, &mut |target| {
                    // rename(2) may replace an empty directory, which is what
                    // the store hands us.
                    std::fs::rename(diff, target).map_err(Into::into)
                })
                .map_err(|source| BuildError::StoreOp {
                    what: format!("layer dir {chain}"),
                    source,
                })?;
        }
        Ok(LayerRef {
            descriptor: None,
            diff_id: written.diff_id,
            chain_id: chain,
            source: None,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        label: &str,
        index: usize,
        step: &Step,
        run: &plan::RunOp,
        root: &Path,
        built: &HashMap<StageId, StageResult>,
        location: &str,
    ) -> Result<(), BuildError> {
        if run.security_insecure && !self.request.allow_insecure {
            return Err(BuildError::Unsupported {
                location: location.to_string(),
                instruction: step.text.clone(),
                message: "RUN --security=insecure needs `--allow security.insecure`".to_string(),
            });
        }
        // Held until the command has exited: views, cache locks, secrets.
        let mut mounts = self.prepare_mounts(step, run, root, built, location)?;
        let mut env = step.state.env.clone();
        // Secret env vars go to the process only, never into step state
        // (hence never into a cache key or the history).
        env.extend(mounts.env.iter().cloned());
        let spec = executor::RunSpec {
            rootfs: root.to_path_buf(),
            args: run.args.clone(),
            env,
            cwd: step.state.workdir.clone(),
            user: step.state.user.clone().unwrap_or_default(),
            hostname: "buildkitsandbox".to_string(),
            extra_hosts: self.request.extra_hosts.clone(),
            ulimits: self.request.ulimits.clone(),
            network: match run.network {
                plan::NetworkMode::None => executor::Network::None,
                _ => executor::Network::Host,
            },
            security: if run.security_insecure {
                executor::Security::Insecure
            } else {
                executor::Security::Sandbox
            },
            mounts: mounts.specs.clone(),
            helper_program: self.request.helper_program.clone(),
        };
        let mut tail: VecDeque<String> = VecDeque::new();
        let mut partial: Vec<u8> = Vec::new();
        let emit = |line: &[u8], tail: &mut VecDeque<String>| {
            let line = String::from_utf8_lossy(line).into_owned();
            (self.events)(Event::Output {
                stage: label.to_string(),
                step: index,
                line: line.clone(),
            });
            tail.push_back(line);
            if tail.len() > 20 {
                tail.pop_front();
            }
        };
        let status = executor::run_cancellable(
            &spec,
            &mut |_stream, bytes| {
                partial.extend_from_slice(bytes);
                while let Some(pos) = partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = partial.drain(..=pos).collect();
                    emit(&line[..line.len() - 1], &mut tail);
                }
            },
            &self.request.cancel,
        );
        // The executor is gone with everything it mounted; what remains in
        // the root is the command's work and the mount points it created.
        mounts.remove_stubs();
        if matches!(status, Err(executor::ExecError::Cancelled))
            || self.request.cancel.load(Ordering::Relaxed)
        {
            mounts.set_killed();
        }
        drop(mounts);
        let status = match status {
            Err(executor::ExecError::Cancelled) => return Err(BuildError::Cancelled),
            // A signal meant for decant may have reached the command first.
            _ if self.request.cancel.load(Ordering::Relaxed) => {
                return Err(BuildError::Cancelled);
            }
            other => other.map_err(|source| BuildError::Exec {
                location: location.to_string(),
                instruction: step.text.clone(),
                source,
            })?,
        };
        if !partial.is_empty() {
            let rest = std::mem::take(&mut partial);
            emit(&rest, &mut tail);
        }
        if !status.success() {
            return Err(BuildError::RunFailed {
                location: location.to_string(),
                instruction: step.text.clone(),
                status: status.to_string(),
                tail: tail.into_iter().collect::<Vec<_>>().join("\n"),
            });
        }
        Ok(())
    }

    fn copy(
        &self,
        step: &Step,
        copy: &plan::CopyOp,
        dest_root: &Path,
        built: &HashMap<StageId, StageResult>,
        location: &str,
    ) -> Result<(), BuildError> {
        let copy_error = |source| BuildError::Copy {
            location: location.to_string(),
            instruction: step.text.clone(),
            source,
        };
        // A stage or image source is mounted read-only for the copy's
        // duration; the guard unmounts it.
        let mut _view: Option<(snapshot::Prepared, tempfile::TempDir)> = None;
        let mut named: Option<Context> = None;
        let (source_root, is_context): (PathBuf, bool) = match &copy.from {
            CopySource::Context => (self.context.dir.clone(), true),
            CopySource::Stage(id) => {
                let source = built.get(id).ok_or(BuildError::Cancelled)?;
                let view = self.view(&source.layers, step, location)?;
                let root = view.0.root.clone();
                _view = Some(view);
                (root, false)
            }
            CopySource::Image(text) => {
                let image = self.images.resolve(text)?;
                let view = self.view(&Images::image_layers(&image), step, location)?;
                let root = view.0.root.clone();
                _view = Some(view);
                (root, false)
            }
            // A named local context is a context like the main one (files
            // 0:0), with its own .dockerignore.
            CopySource::NamedContext(name) => {
                let context = self.named_local(name)?;
                let dir = context.dir.clone();
                named = Some(context);
                (dir, true)
            }
        };
        let ignore = match (&copy.from, &named) {
            (CopySource::Context, _) => self.context.ignore.as_ref(),
            (_, Some(context)) => context.ignore.as_ref(),
            _ => None,
        };
        // Every remote source is fetched (and verified) before anything is
        // written, like local sources are all resolved first.
        let mut downloads = Vec::new();
        for source in &copy.sources {
            if source_kind(copy, source, step, location)? == crate::remote::SourceKind::Http {
                let expected = copy
                    .checksum
                    .as_deref()
                    .map(crate::remote::parse_checksum)
                    .transpose()
                    .map_err(|source| remote_error(step, location, source))?;
                let got = self
                    .downloads
                    .fetch(source, expected.as_ref())
                    .map_err(|source| remote_error(step, location, source))?;
                downloads.push(got);
            }
        }
        // Sources are copied in order, as BuildKit chains one copy action per
        // source: consecutive local sources go in one call.
        let mut downloads = downloads.into_iter();
        let mut local_run: Vec<String> = Vec::new();
        let run_local = |names: &[String]| -> Result<(), BuildError> {
            if names.is_empty() {
                return Ok(());
            }
            let request = crate::copy::CopyRequest {
                source_root: &source_root,
                source_is_context: is_context,
                ignore,
                sources: names,
                dest_root,
                dest: &copy.dest,
                chown: copy.chown.as_deref(),
                chmod: copy.chmod.as_deref(),
                exclude: &copy.exclude,
                parents: copy.parents,
                // BuildKit: ADD unpacks local archives unless --unpack=false;
                // COPY never does.
                add: copy.unpack.unwrap_or(copy.is_add) && copy.is_add,
            };
            crate::copy::copy(&request).map(|_| ()).map_err(copy_error)
        };
        for source in &copy.sources {
            match source_kind(copy, source, step, location)? {
                crate::remote::SourceKind::Local | crate::remote::SourceKind::Git => {
                    local_run.push(source.clone())
                }
                crate::remote::SourceKind::Http => {
                    run_local(&std::mem::take(&mut local_run))?;
                    let Some(got) = downloads.next() else {
                        return Err(BuildError::DownloadMissing {
                            location: location.to_string(),
                            instruction: step.text.clone(),
                            url: crate::remote::redact(source),
                        });
                    };
                    let names = [got.name.clone()];
                    let request = crate::copy::CopyRequest {
                        source_root: &got.dir,
                        // The download is already 0:0; keep that (and its
                        // 0600 mode and Last-Modified mtime).
                        source_is_context: false,
                        ignore: None,
                        sources: &names,
                        dest_root,
                        dest: &copy.dest,
                        chown: copy.chown.as_deref(),
                        chmod: copy.chmod.as_deref(),
                        exclude: &copy.exclude,
                        parents: false,
                        // Remote archives are only unpacked on request
                        // (`ADD --unpack=true`, Dockerfile 1.17).
                        add: copy.unpack == Some(true),
                    };
                    crate::copy::copy(&request).map_err(copy_error)?;
                }
            }
        }
        run_local(&local_run)?;
        if !copy.inline_sources.is_empty() {
            let inline = self.work_dir()?;
            let mut names = Vec::new();
            for file in &copy.inline_sources {
                let path = inline.path().join(&file.path);
                std::fs::write(&path, &file.data)
                    .and_then(|()| {
                        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file.mode))
                    })
                    .map_err(|source| BuildError::WorkDir {
                        path: path.clone(),
                        source,
                    })?;
                names.push(file.path.clone());
            }
            let request = crate::copy::CopyRequest {
                source_root: inline.path(),
                source_is_context: true,
                ignore: None,
                sources: &names,
                dest_root,
                dest: &copy.dest,
                chown: copy.chown.as_deref(),
                chmod: copy.chmod.as_deref(),
                exclude: &[],
                parents: false,
                add: false,
            };
            crate::copy::copy(&request).map_err(copy_error)?;
        }
        Ok(())
    }

    /// A mounted view of a finished root filesystem, for rootfs outputs.
    pub fn root_view(
        &self,
        layers: &[LayerRef],
    ) -> Result<(snapshot::Prepared, tempfile::TempDir), BuildError> {
        self.mount_view(layers, || (self.location(None), "export".to_string()))
    }

    /// A mounted view of `layers` for what `step` reads from them.
    pub(crate) fn view(
        &self,
        layers: &[LayerRef],
        step: &Step,
        location: &str,
    ) -> Result<(snapshot::Prepared, tempfile::TempDir), BuildError> {
        self.mount_view(layers, || (location.to_string(), step.text.clone()))
    }

    /// Mounts `layers` read-write over a fresh work dir; `context` names the
    /// location and instruction for an error. The mount is dropped
    /// (unmounted) before its work dir is removed.
    fn mount_view(
        &self,
        layers: &[LayerRef],
        context: impl FnOnce() -> (String, String),
    ) -> Result<(snapshot::Prepared, tempfile::TempDir), BuildError> {
        let lowers = self.lowers(layers)?;
        let work = self.work_dir()?;
        let prepared =
            snapshot::prepare(self.driver()?, &lowers, work.path()).map_err(|source| {
                let (location, instruction) = context();
                BuildError::Snapshot {
                    location,
                    instruction,
                    source,
                }
            })?;
        Ok((prepared, work))
    }
}

/// Whether a step is a `COPY --link`/`ADD --link` (the planner already drops
/// `--link` with `--chmod`, as BuildKit does).
fn is_link(step: &Step) -> bool {
    matches!(&step.op, Op::Copy(copy) if copy.link)
}

/// What kind of source `source` is for this COPY/ADD: a URL is remote only
/// for ADD (the planner refuses one in COPY, as BuildKit does), and a git
/// source is refused. Never returns `Git`.
fn source_kind(
    copy: &plan::CopyOp,
    source: &str,
    step: &Step,
    location: &str,
) -> Result<crate::remote::SourceKind, BuildError> {
    match crate::remote::classify(source) {
        crate::remote::SourceKind::Git => Err(remote_error(
            step,
            location,
            crate::remote::RemoteError::GitUnsupported {
                url: crate::remote::redact(source),
            },
        )),
        crate::remote::SourceKind::Http if !copy.is_add => Ok(crate::remote::SourceKind::Local),
        kind => Ok(kind),
    }
}

/// The local and the remote (`http(s)://`) sources of a COPY/ADD; git
/// sources are refused.
fn split_sources<'a>(
    copy: &'a plan::CopyOp,
    step: &Step,
    location: &str,
) -> Result<(Vec<String>, Vec<&'a str>), BuildError> {
    let mut local = Vec::new();
    let mut remote = Vec::new();
    for source in &copy.sources {
        match source_kind(copy, source, step, location)? {
            crate::remote::SourceKind::Http => remote.push(source.as_str()),
            _ => local.push(source.clone()),
        }
    }
    Ok((local, remote))
}

fn remote_error(step: &Step, location: &str, source: crate::remote::RemoteError) -> BuildError {
    BuildError::Remote {
        location: location.to_string(),
        instruction: step.text.clone(),
        source,
    }
}
