//! `RUN --mount=…` and RUN heredoc files: what each mount of a
//! [`plan::RunOp`] becomes for the executor ([`executor::MountSpec`]), what
//! it adds to the step's cache key, what backs it while the command runs,
//! and the mount points it leaves behind.
//!
//! # Mount types (BuildKit's `dockerfile2llb/convert_runmount.go` and
//! `solver/llbsolver/mounts`)
//!
//! * `bind`: a path (`source`, default the root) of the build context, of a
//!   stage or of an image (`from=`), resolved inside that root so that
//!   neither `..` nor a symlink can leave it. Read-only unless `rw`; with
//!   `rw` the command writes into a throwaway overlay (or copy) and the
//!   source never changes, as BuildKit discards a bind mount's writes.
//!   A context with a `.dockerignore` is mounted through a filtered copy:
//!   BuildKit only ever sees the context as filtered by the client.
//! * `cache`: a directory that persists across builds in the store, at
//!   `<store>/cache-mounts/<sha256(id[:from identity])>/` (the store knows
//!   only that the area exists: `du` sizes it and `prune --cache` drops the
//!   directories whose `id` file, rewritten on every use, is old enough).
//!   Each such directory holds instances `0/`, `1/`, … with a lock file
//!   each. `shared` and `locked` use instance 0 with a shared or exclusive
//!   flock held for the whole RUN (flock works across processes and across
//!   the threads of one build); `private` takes the first instance nobody
//!   holds, creating a fresh one when all are busy. An instance is created
//!   under a temporary name, seeded from `from`/`source` when given, given
//!   `mode` (default 0755) and `uid`/`gid` (default 0), then renamed into
//!   place without replacing a concurrent creator's. Its contents never
//!   enter a cache key (BuildKit's `NoContentBasedHash` for cache mounts).
//! * `tmpfs`: a fresh tmpfs (`size`).
//! * `secret`: `--secret id=…` bytes, read only when mounted, written to a
//!   tmpfs mounted in decant's private mount namespace (never to disk) and
//!   bound read-only at `target` (default `/run/secrets/<id>`), and/or put
//!   in the command's environment as `env`. Only the id reaches the cache
//!   key; a missing secret fails when `required`, else the mount is
//!   skipped (BuildKit's `secretmount` returns no mount then).
//! * `ssh`: the ssh-agent socket `--ssh id=SOCKET` names (default id
//!   `default`) bound at `target` (default `/run/buildkit/ssh_agent.<i>`,
//!   numbered per RUN), and `SSH_AUTH_SOCK` set to the first ssh mount's
//!   target unless the environment sets it, as BuildKit's llb ExecOp does.
//!   BuildKit serves a fresh socket that forwards to the client's agent,
//!   owned by the mount's `uid`/`gid` with its `mode` (default 0:0, 0600);
//!   decant binds the agent's own socket, so it refuses other owners and
//!   modes rather than change the host socket's. A missing id fails when
//!   `required`, else the mount is skipped (BuildKit's `sshmount`).
//!
//! RUN heredoc scripts with a shebang (`/dev/pipes/<delimiter>`) are written
//! to a temp dir and bound read-only at their path; the executor applies
//! extra mounts after its fresh `/dev`, so they land inside it.
//!
//! # Mount stubs
//!
//! Binding onto a path that does not exist makes the executor create it
//! (empty file or directory) in the step's root, where it would end up in
//! the layer. As BuildKit's `executor.MountStubsCleaner`, every path of a
//! mount target (and `/etc/resolv.conf`, `/etc/hosts`) that did not exist
//! before the run is removed after it when it is still an empty directory
//! or empty file, restoring the parent directory's timestamps
//! (moby/buildkit#3148: reproducible layers).
//!
//! Architecture Invariant: nothing here prints or reads a secret outside
//! [`StageBuilder::prepare_mounts`]; secret bytes go to the tmpfs file or to
//! the executor's env and nowhere else.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use plan::{CacheSharing, CopySource, Mount, MountType, RunOp, StageId, Step};
use solver::CacheKey;

use crate::error::BuildError;
use crate::layers::Images;
use crate::stage::{StageBuilder, StageResult};

/// Why a RUN's mounts could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("mount type {kind} needs a target")]
    NoTarget { kind: &'static str },
    #[error("mount source {path} not found in {origin}")]
    SourceNotFound { path: String, origin: String },
    #[error(
        "secret {id} is required but was not provided (pass --secret id={id},src=FILE or env=VAR)"
    )]
    SecretMissing { id: String },
    #[error(
        "ssh agent {id} is required but was not forwarded (pass --ssh {id} with SSH_AUTH_SOCK set, or --ssh {id}=SOCKET)"
    )]
    SshMissing { id: String },
    #[error(
        "RUN --mount=type=ssh with uid, gid or mode is not supported yet: decant binds the agent's own socket"
    )]
    SshOwner,
    #[error("cannot read secret {id} from {path}")]
    SecretRead {
        id: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot mount a tmpfs for secrets on {path}")]
    SecretTmpfs {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot prepare {what} at {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot seed cache mount {id} from {path}")]
    CacheSeed {
        id: String,
        path: String,
        #[source]
        source: crate::copy::CopyError,
    },
    #[error("cannot copy {path} of the build context for the mount")]
    ContextCopy {
        path: String,
        #[source]
        source: crate::copy::CopyError,
    },
    #[error("cannot prepare a writable view for the mount at {target}")]
    Snapshot {
        target: String,
        #[source]
        source: snapshot::SnapshotError,
    },
}

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> MountError + 'a {
    move |source| MountError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Something that must outlive the command: dropped (in order) after it.
/// Never read: each variant is held for what its `Drop` undoes.
#[allow(dead_code)]
enum Held {
    /// A mounted view of a stage or image (or a writable overlay), unmounted
    /// before its work dir is removed.
    View(snapshot::Prepared, tempfile::TempDir),
    Temp(tempfile::TempDir),
    /// A cache instance's flock.
    Lock(File),
    Tmpfs(Tmpfs),
}

/// A tmpfs mounted on a temp dir in decant's own (private) mount namespace.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Detach: nothing else uses it once the command has exited.
        let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
    }
}

/// The mounts of one RUN, ready for the executor, and what backs them.
pub(crate) struct RunMounts {
    pub specs: Vec<executor::MountSpec>,
    /// `KEY=value` entries of secrets mounted with `env=`.
    pub env: Vec<String>,
    /// Paths in the root that did not exist before the run, deepest first
    /// per mount target.
    stubs: Vec<PathBuf>,
    held: Vec<Held>,
    /// The command was killed: its namespace may briefly outlive it.
    killed: bool,
}

impl RunMounts {
    /// Says that the command was killed, so that dropping waits for the
    /// mounts' work dirs to become removable (see [`remove_after_kill`]).
    pub fn set_killed(&mut self) {
        self.killed = true;
    }

    /// Removes the mount points the run created that are still empty, as
    /// BuildKit does before it commits a RUN (`MountStubsCleaner`).
    pub fn remove_stubs(&self) {
        for path in &self.stubs {
            let Ok(meta) = fs::symlink_metadata(path) else {
                continue;
            };
            let empty = if meta.is_dir() {
                fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
            } else {
                meta.len() == 0
            };
            if !empty {
                continue;
            }
            let Some(parent) = path.parent() else {
                continue;
            };
            let times = fs::metadata(parent)
                .ok()
                .map(|m| (m.accessed().ok(), m.modified().ok()));
            let removed = if meta.is_dir() {
                fs::remove_dir(path)
            } else {
                fs::remove_file(path)
            };
            if removed.is_err() {
                continue;
            }
            if let Some((Some(accessed), Some(modified))) = times
                && let Ok(dir) = File::open(parent)
            {
                let _ = dir.set_times(
                    fs::FileTimes::new()
                        .set_accessed(accessed)
                        .set_modified(modified),
                );
            }
        }
    }
}

impl Drop for RunMounts {
    fn drop(&mut self) {
        // Views before temp dirs they may point into: reverse creation order.
        while let Some(held) = self.held.pop() {
            match held {
                Held::View(prepared, work) if self.killed => {
                    drop(prepared);
                    remove_after_kill(work);
                }
                Held::Temp(work) if self.killed => remove_after_kill(work),
                other => drop(other),
            }
        }
    }
}

/// Removes a step's work dir after its command was killed. The executor's
/// namespace dies asynchronously after its helper (the kernel kills the
/// pid namespace once init is gone), and until then it still holds the
/// step's overlay, so removal can fail with EBUSY for a moment: retry for
/// up to five seconds rather than leave the dir in the store.
pub(crate) fn remove_after_kill(work: tempfile::TempDir) {
    let path = work.keep();
    for _ in 0..50 {
        match fs::remove_dir_all(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                std::thread::sleep(Duration::from_millis(100));
            }
            _ => return,
        }
    }
}

/// The paths along `target` (absolute in the root) that do not exist yet,
/// deepest first: what the executor will create to mount on it.
fn missing_paths(root: &Path, target: &str) -> Vec<PathBuf> {
    let Some(components) = crate::rootfs::resolve_lenient(root, target) else {
        return Vec::new();
    };
    let mut path = components.iter().fold(root.to_path_buf(), |p, c| p.join(c));
    let mut missing = Vec::new();
    while path != root {
        match fs::symlink_metadata(&path) {
            Err(error)
                if error.kind() == io::ErrorKind::NotFound
                    || error.kind() == io::ErrorKind::NotADirectory =>
            {
                missing.push(path.clone());
            }
            _ => break,
        }
        if !path.pop() {
            break;
        }
    }
    missing
}

/// The cache-key identity and label of a `from=` source.
enum Origin<'a> {
    Context,
    Stage(&'a StageResult, StageId),
    Image(String),
}

impl StageBuilder<'_> {
    fn mount_origin<'b>(
        &self,
        from: Option<&CopySource>,
        built: &'b HashMap<StageId, StageResult>,
        step: &Step,
        location: &str,
    ) -> Result<Origin<'b>, BuildError> {
        match from {
            None | Some(CopySource::Context) => Ok(Origin::Context),
            Some(CopySource::Stage(id)) => built
                .get(id)
                .map(|result| Origin::Stage(result, *id))
                .ok_or(BuildError::Cancelled),
            Some(CopySource::Image(text)) => Ok(Origin::Image(text.clone())),
            Some(CopySource::NamedContext(name)) => Err(BuildError::Unsupported {
                location: location.to_string(),
                instruction: step.text.clone(),
                message: format!(
                    "RUN --mount from named build context {name:?} is not supported yet"
                ),
            }),
        }
    }

    /// Adds to a RUN's cache key what its mounts read: the checksum of a
    /// context bind source, the key of a stage, the digest of an image.
    /// Secret values and cache mount contents never enter it; the mounts'
    /// definitions are already part of the step's definition.
    pub(crate) fn mount_inputs(
        &self,
        step: &Step,
        run: &RunOp,
        built: &HashMap<StageId, StageResult>,
        key: &mut CacheKey,
    ) -> Result<(), BuildError> {
        let location = self.location(Some(step));
        for mount in &run.mounts {
            let reads_source = match mount.mount.kind {
                MountType::Bind => true,
                MountType::Cache => mount.from.is_some(),
                _ => false,
            };
            if !reads_source {
                continue;
            }
            key.field("mount-source")
                .field(mount.mount.target.as_deref().unwrap_or_default());
            let source = mount.mount.source.clone().unwrap_or_default();
            match self.mount_origin(mount.from.as_ref(), built, step, &location)? {
                Origin::Context => self.context.checksum(&[source], key)?,
                Origin::Stage(result, _) => {
                    key.field(result.key.to_string());
                }
                Origin::Image(text) => {
                    let image = self.images.resolve(&text)?;
                    key.field(image.manifest_digest.to_string());
                }
            }
        }
        Ok(())
    }

    /// Sets up every mount of `run` (and its heredoc files) over `root`.
    pub(crate) fn prepare_mounts(
        &self,
        step: &Step,
        run: &RunOp,
        root: &Path,
        built: &HashMap<StageId, StageResult>,
        location: &str,
    ) -> Result<RunMounts, BuildError> {
        let mount_error = mount_error(step, location);
        let mut mounts = RunMounts {
            specs: Vec::new(),
            env: Vec::new(),
            stubs: Vec::new(),
            held: Vec::new(),
            killed: false,
        };
        // The executor creates these two as mount points for its generated
        // files; BuildKit lists them among the stubs it removes.
        for target in ["/etc/resolv.conf", "/etc/hosts"] {
            mounts.stubs.extend(missing_paths(root, target));
        }
        // `--shm-size`: BuildKit mounts a tmpfs of that size at /dev/shm for
        // every RUN (dockerfile2llb dispatchRun); it lands in the executor's
        // fresh /dev, so no stub is left in the root. A RUN's own mounts
        // come after it and win.
        if let Some(size) = self.request.shm_size {
            mounts.specs.push(executor::MountSpec::Tmpfs {
                target: "/dev/shm".to_string(),
                size_bytes: Some(size),
            });
        }
        for run_mount in &run.mounts {
            let mount = &run_mount.mount;
            if let Some(target) = &mount.target {
                mounts.stubs.extend(missing_paths(root, target));
            }
            match mount.kind {
                MountType::Tmpfs => {
                    let target = target_of(mount).map_err(mount_error)?;
                    mounts.specs.push(executor::MountSpec::Tmpfs {
                        target,
                        size_bytes: mount.size_limit.and_then(|s| u64::try_from(s).ok()),
                    });
                }
                MountType::Bind => {
                    let target = target_of(mount).map_err(mount_error)?;
                    let origin =
                        self.mount_origin(run_mount.from.as_ref(), built, step, location)?;
                    let source =
                        self.bind_source(&origin, mount, &target, step, location, &mut mounts)?;
                    mounts.specs.push(executor::MountSpec::Bind {
                        source,
                        target,
                        readonly: mount.read_only,
                    });
                }
                MountType::Cache => {
                    let target = target_of(mount).map_err(mount_error)?;
                    let origin =
                        self.mount_origin(run_mount.from.as_ref(), built, step, location)?;
                    let source = self.cache_dir(&origin, mount, step, location, &mut mounts)?;
                    mounts.specs.push(executor::MountSpec::Bind {
                        source,
                        target,
                        readonly: mount.read_only,
                    });
                }
                MountType::Secret => {
                    self.secret(mount, &mut mounts).map_err(mount_error)?;
                }
                MountType::Ssh => {
                    self.ssh(mount, &mut mounts).map_err(mount_error)?;
                }
            }
        }
        if let Some(first) = run.mounts.iter().find(|m| m.mount.kind == MountType::Ssh)
            && let Some(target) = &first.mount.target
            && !step
                .state
                .env
                .iter()
                .any(|entry| entry.starts_with("SSH_AUTH_SOCK="))
        {
            mounts.env.push(format!("SSH_AUTH_SOCK={target}"));
        }
        if !run.heredoc_files.is_empty() {
            let dir = self.work_dir()?;
            for (index, file) in run.heredoc_files.iter().enumerate() {
                let path = dir.path().join(index.to_string());
                fs::write(&path, &file.data)
                    .and_then(|()| {
                        fs::set_permissions(&path, fs::Permissions::from_mode(file.mode))
                    })
                    .map_err(io_error("a heredoc file", &path))
                    .map_err(mount_error)?;
                mounts.stubs.extend(missing_paths(root, &file.path));
                mounts.specs.push(executor::MountSpec::Bind {
                    source: path,
                    target: file.path.clone(),
                    readonly: true,
                });
            }
            mounts.held.push(Held::Temp(dir));
        }
        Ok(mounts)
    }

    /// The host path to bind for a `type=bind` mount.
    fn bind_source(
        &self,
        origin: &Origin<'_>,
        mount: &Mount,
        target: &str,
        step: &Step,
        location: &str,
        mounts: &mut RunMounts,
    ) -> Result<PathBuf, BuildError> {
        let mount_error = mount_error(step, location);
        let source = mount.source.clone().unwrap_or_default();
        match origin {
            Origin::Context => {
                let (path, throwaway) = self.context_source(&source, mounts, location, step)?;
                if mount.read_only || throwaway {
                    return Ok(path);
                }
                // rw: the command may write, the context must not change.
                if path.is_dir() {
                    let work = self.work_dir()?;
                    let prepared =
                        snapshot::prepare(self.driver()?, std::slice::from_ref(&path), work.path())
                            .map_err(|source| MountError::Snapshot {
                                target: target.to_string(),
                                source,
                            })
                            .map_err(mount_error)?;
                    let root = prepared.root.clone();
                    mounts.held.push(Held::View(prepared, work));
                    Ok(root)
                } else {
                    let dir = self.work_dir()?;
                    let copy = dir.path().join("file");
                    fs::copy(&path, &copy)
                        .map_err(io_error("a writable copy of a bind source", &copy))
                        .map_err(mount_error)?;
                    mounts.held.push(Held::Temp(dir));
                    Ok(copy)
                }
            }
            Origin::Stage(..) | Origin::Image(_) => {
                // The view is an overlay with its own throwaway upper dir:
                // `rw` writes land there and vanish when it is dropped.
                let (root, label) = self.origin_view(origin, step, location, mounts)?;
                crate::rootfs::resolve(&root, &source).ok_or_else(|| {
                    mount_error(MountError::SourceNotFound {
                        path: source.clone(),
                        origin: label,
                    })
                })
            }
        }
    }

    /// Mounts a view of a stage or image; returns its root and a label.
    fn origin_view(
        &self,
        origin: &Origin<'_>,
        step: &Step,
        location: &str,
        mounts: &mut RunMounts,
    ) -> Result<(PathBuf, String), BuildError> {
        let (layers, label) = match origin {
            Origin::Stage(result, id) => (result.layers.clone(), format!("stage {}", id.0)),
            Origin::Image(text) => {
                let image = self.images.resolve(text)?;
                (Images::image_layers(&image), format!("image {text}"))
            }
            Origin::Context => (Vec::new(), "the build context".to_string()),
        };
        let (prepared, work) = self.view(&layers, step, location)?;
        let root = prepared.root.clone();
        mounts.held.push(Held::View(prepared, work));
        Ok((root, label))
    }

    /// A context path to mount: the path itself, or (when a `.dockerignore`
    /// filters the context) a filtered copy; the flag says it is a copy.
    fn context_source(
        &self,
        source: &str,
        mounts: &mut RunMounts,
        location: &str,
        step: &Step,
    ) -> Result<(PathBuf, bool), BuildError> {
        let mount_error = mount_error(step, location);
        let not_found = || {
            mount_error(MountError::SourceNotFound {
                path: source.to_string(),
                origin: "the build context".to_string(),
            })
        };
        let path = crate::rootfs::resolve(&self.context.dir, source).ok_or_else(not_found)?;
        let relative = path
            .strip_prefix(&self.context.dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.context.ignore.is_none() {
            return Ok((path, false));
        }
        if self.context.ignored(&relative) {
            return Err(not_found());
        }
        if !path.is_dir() {
            return Ok((path, false));
        }
        let dir = self.work_dir()?;
        let sources = [relative.clone()];
        // As COPY from the context: the copy engine applies .dockerignore
        // to context sources only, and such files become 0:0.
        let request = crate::copy::CopyRequest::into_root(
            &self.context.dir,
            true,
            self.context.ignore.as_ref(),
            &sources,
            dir.path(),
        );
        crate::copy::copy(&request)
            .map_err(|source| MountError::ContextCopy {
                path: relative.clone(),
                source,
            })
            .map_err(mount_error)?;
        let root = dir.path().to_path_buf();
        mounts.held.push(Held::Temp(dir));
        Ok((root, true))
    }

    /// The persistent directory of a cache mount, locked as its sharing
    /// mode asks, created (and seeded) when missing.
    fn cache_dir(
        &self,
        origin: &Origin<'_>,
        mount: &Mount,
        step: &Step,
        location: &str,
        mounts: &mut RunMounts,
    ) -> Result<PathBuf, BuildError> {
        let mount_error = mount_error(step, location);
        let id = mount.id.clone().unwrap_or_default();
        // BuildKit keys a cache seeded from a ref by id and that ref.
        let mut identity = id.clone();
        match origin {
            Origin::Context => {}
            Origin::Stage(result, _) => {
                identity.push(':');
                identity.push_str(&result.key.to_string());
            }
            Origin::Image(text) => {
                let image = self.images.resolve(text)?;
                identity.push(':');
                identity.push_str(&image.manifest_digest.to_string());
            }
        }
        let hash = oci::Digest::of(identity.as_bytes());
        let base = self.store.root().join(store::CACHE_MOUNTS).join(hash.hex());
        fs::create_dir_all(&base)
            .map_err(io_error("the cache mount directory", &base))
            .map_err(mount_error)?;
        let _ = fs::write(base.join("id"), format!("{id}\n"));
        let sharing = mount.sharing.unwrap_or(CacheSharing::Shared);
        let (instance, lock) = self.lock_instance(&base, sharing).map_err(mount_error)?;
        mounts.held.push(Held::Lock(lock));
        let dir = base.join(instance.to_string());
        if dir.is_dir() {
            return Ok(dir);
        }
        let fresh = tempfile::Builder::new()
            .prefix("new-")
            .tempdir_in(&base)
            .map_err(io_error("a new cache mount", &base))
            .map_err(mount_error)?;
        let seed = fresh.path().join("data");
        fs::create_dir(&seed)
            .map_err(io_error("a new cache mount", &seed))
            .map_err(mount_error)?;
        if !matches!(origin, Origin::Context) {
            let (root, _) = self.origin_view(origin, step, location, mounts)?;
            let sources = [mount.source.clone().unwrap_or_else(|| "/".to_string())];
            let request = crate::copy::CopyRequest::into_root(&root, false, None, &sources, &seed);
            crate::copy::copy(&request)
                .map_err(|source| MountError::CacheSeed {
                    id: id.clone(),
                    path: sources[0].clone(),
                    source,
                })
                .map_err(mount_error)?;
        }
        fs::set_permissions(
            &seed,
            fs::Permissions::from_mode(mount.mode.unwrap_or(0o755)),
        )
        .and_then(|()| {
            std::os::unix::fs::lchown(
                &seed,
                Some(mount.uid.unwrap_or(0)),
                Some(mount.gid.unwrap_or(0)),
            )
        })
        .map_err(io_error("a new cache mount", &seed))
        .map_err(mount_error)?;
        // NOREPLACE: a concurrent shared user may have created it first;
        // replacing theirs would orphan what they are writing.
        match rustix::fs::renameat_with(
            rustix::fs::CWD,
            &seed,
            rustix::fs::CWD,
            &dir,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(dir),
            Err(errno) => Err(mount_error(MountError::Io {
                what: "a new cache mount",
                path: dir,
                source: errno.into(),
            })),
        }
    }

    /// Takes the lock of the cache instance `sharing` allows; polls so that
    /// a cancelled build does not wait for another build's RUN.
    fn lock_instance(
        &self,
        base: &Path,
        sharing: CacheSharing,
    ) -> Result<(usize, File), MountError> {
        let open = |instance: usize| {
            let path = base.join(format!("{instance}.lock"));
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_error("a cache mount lock", &path))
        };
        if sharing == CacheSharing::Private {
            for instance in 0.. {
                let file = open(instance)?;
                match file.try_lock() {
                    Ok(()) => return Ok((instance, file)),
                    Err(fs::TryLockError::WouldBlock) => continue,
                    Err(fs::TryLockError::Error(source)) => {
                        return Err(MountError::Io {
                            what: "a cache mount lock",
                            path: base.join(format!("{instance}.lock")),
                            source,
                        });
                    }
                }
            }
        }
        let file = open(0)?;
        loop {
            let attempt = match sharing {
                CacheSharing::Locked => file.try_lock(),
                _ => file.try_lock_shared(),
            };
            match attempt {
                Ok(()) => return Ok((0, file)),
                Err(fs::TryLockError::WouldBlock) => {
                    if self.request.cancel.load(Ordering::Relaxed) {
                        return Err(MountError::Io {
                            what: "a cache mount lock (cancelled while waiting)",
                            path: base.join("0.lock"),
                            source: io::Error::from(io::ErrorKind::Interrupted),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(fs::TryLockError::Error(source)) => {
                    return Err(MountError::Io {
                        what: "a cache mount lock",
                        path: base.join("0.lock"),
                        source,
                    });
                }
            }
        }
    }

    /// Provides a secret as a read-only file at its target and/or as an
    /// environment variable; a missing secret is an error only when
    /// `required`.
    /// `type=ssh`: binds the agent socket forwarded for the mount's id at
    /// its target, read-only: connecting to a socket needs no write access
    /// to its mount, and the RUN cannot chmod the host's socket through it.
    fn ssh(&self, mount: &Mount, mounts: &mut RunMounts) -> Result<(), MountError> {
        let default_owner = mount.uid.unwrap_or(0) == 0
            && mount.gid.unwrap_or(0) == 0
            && mount.mode.unwrap_or(0o600) == 0o600;
        if !default_owner {
            return Err(MountError::SshOwner);
        }
        let id = mount.id.clone().unwrap_or_else(|| "default".to_string());
        let Some(socket) = self.request.ssh.get(&id) else {
            if mount.required {
                return Err(MountError::SshMissing { id });
            }
            return Ok(());
        };
        let target = target_of(mount)?;
        mounts.specs.push(executor::MountSpec::Bind {
            source: socket.clone(),
            target,
            readonly: true,
        });
        Ok(())
    }

    fn secret(&self, mount: &Mount, mounts: &mut RunMounts) -> Result<(), MountError> {
        let id = mount.id.clone().unwrap_or_default();
        let bytes = match self.request.secrets.get(&id) {
            None => None,
            Some(crate::request::SecretSource::File(path)) => {
                Some(fs::read(path).map_err(|source| MountError::SecretRead {
                    id: id.clone(),
                    path: path.clone(),
                    source,
                })?)
            }
            Some(crate::request::SecretSource::Env(name)) => {
                std::env::var_os(name).map(|v| v.into_encoded_bytes())
            }
        };
        let Some(bytes) = bytes else {
            if mount.required {
                return Err(MountError::SecretMissing { id });
            }
            return Ok(());
        };
        if let Some(name) = &mount.env {
            mounts
                .env
                .push(format!("{name}={}", String::from_utf8_lossy(&bytes)));
        }
        let Some(target) = &mount.target else {
            return Ok(());
        };
        let dir = self.secrets_tmpfs(mounts)?;
        let path = dir.join(mounts.specs.len().to_string());
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_error("a secret file", &path))?;
        file.write_all(&bytes)
            .and_then(|()| {
                file.set_permissions(fs::Permissions::from_mode(mount.mode.unwrap_or(0o400)))
            })
            .and_then(|()| {
                std::os::unix::fs::fchown(
                    &file,
                    Some(mount.uid.unwrap_or(0)),
                    Some(mount.gid.unwrap_or(0)),
                )
            })
            .map_err(io_error("a secret file", &path))?;
        mounts.specs.push(executor::MountSpec::Bind {
            source: path,
            target: target.clone(),
            readonly: true,
        });
        Ok(())
    }

    /// The run's in-memory directory for secret files, mounted on first use.
    fn secrets_tmpfs(&self, mounts: &mut RunMounts) -> Result<PathBuf, MountError> {
        for held in &mounts.held {
            if let Held::Tmpfs(tmpfs) = held {
                return Ok(tmpfs.dir.path().to_path_buf());
            }
        }
        let parent = self.store.scratch_dir();
        let dir = tempfile::Builder::new()
            .prefix("secrets-")
            .tempdir_in(parent)
            .map_err(io_error("a secrets directory", parent))?;
        let path = dir.path().to_path_buf();
        // A tmpfs keeps secret bytes off the disk; mounted in decant's
        // private mount namespace, it vanishes with the process however it
        // ends.
        rustix::mount::mount(
            "tmpfs",
            &path,
            "tmpfs",
            rustix::mount::MountFlags::NOSUID
                | rustix::mount::MountFlags::NODEV
                | rustix::mount::MountFlags::NOEXEC,
            c"mode=0700,size=16m",
        )
        .map_err(|errno| MountError::SecretTmpfs {
            path: path.clone(),
            source: errno.into(),
        })?;
        mounts.held.push(Held::Tmpfs(Tmpfs { dir }));
        Ok(path)
    }
}

fn target_of(mount: &Mount) -> Result<String, MountError> {
    mount.target.clone().ok_or(MountError::NoTarget {
        kind: mount.kind.as_str(),
    })
}

/// Wraps a mount failure in the build error that names the RUN step.
fn mount_error<'a>(
    step: &'a Step,
    location: &'a str,
) -> impl Fn(MountError) -> BuildError + Copy + 'a {
    move |source| BuildError::Mount {
        location: location.to_string(),
        instruction: step.text.clone(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_paths_lists_what_the_executor_would_create() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc", root.path().join("link")).unwrap();
        fs::write(root.path().join("file"), "x").unwrap();
        let cases: &[(&str, &[&str])] = &[
            ("/etc", &[]),
            ("/etc/hosts", &["etc/hosts"]),
            ("/run/secrets/a", &["run/secrets/a", "run/secrets", "run"]),
            // Resolved inside the root: the link's target is /etc of the root.
            ("/link/x", &["etc/x"]),
            ("/../../outside", &["outside"]),
            ("/file/below", &["file/below"]),
        ];
        for (target, want) in cases {
            let got: Vec<String> = missing_paths(root.path(), target)
                .iter()
                .map(|p| {
                    p.strip_prefix(root.path())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            assert_eq!(got, *want, "{target}");
        }
    }

    #[test]
    fn stubs_are_removed_only_while_empty() {
        let root = tempfile::tempdir().unwrap();
        let mut stubs = missing_paths(root.path(), "/a/b");
        stubs.extend(missing_paths(root.path(), "/kept/c"));
        stubs.extend(missing_paths(root.path(), "/f"));
        fs::create_dir_all(root.path().join("a/b")).unwrap();
        fs::create_dir_all(root.path().join("kept/c")).unwrap();
        fs::write(root.path().join("kept/other"), "written by the run").unwrap();
        fs::write(root.path().join("f"), "").unwrap();
        let mounts = RunMounts {
            specs: Vec::new(),
            env: Vec::new(),
            stubs,
            held: Vec::new(),
            killed: false,
        };
        mounts.remove_stubs();
        let mut left: Vec<String> = walk(root.path(), root.path());
        left.sort();
        assert_eq!(left, ["kept", "kept/other"]);
    }

    fn walk(root: &Path, dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
            if path.is_dir() {
                out.extend(walk(root, &path));
            }
        }
        out
    }
}
