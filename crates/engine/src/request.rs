//! What a build is asked to do, and what it reports back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// One `--output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// An OCI image layout, as a tarball (`tar = true`) or a directory.
    Oci { dest: PathBuf, tar: bool },
    /// A docker-archive tarball that `docker load` accepts.
    Docker { dest: PathBuf },
    /// Only the local store (tags from `-t`).
    Image,
    /// The final root filesystem as a directory.
    Local { dest: PathBuf },
    /// The final root filesystem as a tarball.
    Tar { dest: PathBuf },
}

/// Everything `decant build` was told.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    /// The Dockerfile to read; with `dockerfile_text`, only its name in
    /// messages.
    pub dockerfile: PathBuf,
    /// The Dockerfile's text when it did not come from a file (`-f -`,
    /// standard input). No `<Dockerfile>.dockerignore` applies then, as in
    /// docker, only the context's own `.dockerignore`.
    pub dockerfile_text: Option<String>,
    /// The build context directory.
    pub context: PathBuf,
    /// The context directory is made for this build and deleted after it
    /// (`decant build -`): nothing keyed by its path is remembered in the
    /// store (context checksums, the records that explain cache misses),
    /// since no later build can meet that path again.
    pub ephemeral_context: bool,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    /// `--platform` values (each may list several, comma-separated); only
    /// the platform decant runs on is accepted.
    pub platforms: Vec<String>,
    /// `--network`: the network of a RUN that does not choose its own.
    pub network: plan::NetworkMode,
    /// `--add-host`: `(name, address)` lines added to every RUN's
    /// /etc/hosts.
    pub extra_hosts: Vec<(String, std::net::IpAddr)>,
    /// `--shm-size` in bytes: the size of every RUN's /dev/shm (64 MiB
    /// when not given, as in BuildKit).
    pub shm_size: Option<u64>,
    /// `--ulimit`: resource limits every RUN starts with.
    pub ulimits: Vec<executor::Ulimit>,
    /// `--build-context name=value`, passed to the planner.
    pub named_contexts: BTreeMap<String, String>,
    /// `-t` names; tagged in the store only after every output succeeded.
    pub tags: Vec<String>,
    pub outputs: Vec<Output>,
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    /// `--no-cache-filter`: stages (names or indexes) rebuilt without the cache.
    pub no_cache_filter: Vec<String>,
    /// `--pull`: resolve every base image in its registry, even when the
    /// store has an image by that name.
    pub pull: bool,
    /// `--allow security.insecure`: lets `RUN --security=insecure` keep all
    /// capabilities.
    pub allow_insecure: bool,
    /// How many stages may run at once.
    pub jobs: usize,
    /// The store's root directory.
    pub store_root: PathBuf,
    /// The decant binary, re-executed as the RUN helper.
    pub helper_program: PathBuf,
    pub compression: layer::Compression,
    /// `SOURCE_DATE_EPOCH`: clamps layer mtimes and sets `created`.
    pub source_date_epoch: Option<i64>,
    /// Forces a snapshot driver (`overlay` or `copy`); `None` detects.
    pub snapshotter: Option<String>,
    /// `--secret id=…`: where each secret's bytes come from. Read only when
    /// a `RUN --mount=type=secret` asks for the id; the bytes never enter a
    /// cache key, a layer, the history or an event.
    pub secrets: BTreeMap<String, SecretSource>,
    /// `--ssh id=SOCKET`: the ssh-agent socket each id forwards to
    /// `RUN --mount=type=ssh,id=…`. Only the id and the mount's place reach
    /// a cache key, never the agent.
    pub ssh: BTreeMap<String, PathBuf>,
    /// Set (e.g. from a signal handler) to stop the build: the running
    /// step's processes are killed, its mounts undone, and the build returns
    /// [`crate::BuildError::Cancelled`].
    pub cancel: Arc<AtomicBool>,
}

/// Where a `--secret` comes from. Holds names only, never the secret, so
/// that printing a request cannot leak one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// A file read when the secret is mounted.
    File(PathBuf),
    /// An environment variable of the decant process.
    Env(String),
}

/// What a successful build produced.
#[derive(Clone, Debug)]
pub struct BuildOutcome {
    pub manifest_digest: oci::Digest,
    pub config_digest: oci::Digest,
    /// Filesystem steps that ran, and those served from the cache.
    pub steps_run: usize,
    pub steps_cached: usize,
}
