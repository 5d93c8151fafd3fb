//! The command line, as clap types only; what each command does lives in
//! its own module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// decant: a daemonless container-image builder for Dockerfiles.
#[derive(Parser, Debug)]
#[command(name = "decant", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// The store directory [default: /var/lib/decant as root, else $XDG_DATA_HOME/decant]
    #[arg(long, global = true, env = "DECANT_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
}

// Parsed once per process; boxing `build`'s many flags would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build an image from a Dockerfile
    Build(BuildArgs),
    /// Download an image from a registry into the store
    Pull(PullArgs),
    /// Upload an image from the store to a registry
    Push(PushArgs),
    /// List the images in the store
    Images(ImagesArgs),
    /// Show an image's manifest and config as JSON
    Inspect(InspectArgs),
    /// Give an image in the store another name
    Tag(TagArgs),
    /// Remove image names from the store (blobs go at the next prune)
    Rmi(RmiArgs),
    /// Write an image to an OCI layout tarball or a docker-archive
    Save(SaveArgs),
    /// Read an image from an OCI layout or docker-archive into the store
    Load(LoadArgs),
    /// Delete blobs, unpacked layers and scratch space no image or cache record uses
    Prune(PruneArgs),
    /// Show what uses space in the store
    Du(DuArgs),
    /// Check every blob against its digest and every image for missing blobs
    Fsck(FsckArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SaveFormat {
    /// OCI image layout tarball
    Oci,
    /// docker-archive, as `docker save` writes
    Docker,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// The image, e.g. `busybox`, `registry.example:5000/app:1`, `alpine@sha256:…`
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The platform to pull from a multi-platform image: os/arch[/variant]
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Print only the manifest digest
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// The image in the store
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Where to push it [default: REF]
    #[arg(value_name = "DEST")]
    pub dest: Option<String>,
    /// Print only the manifest digest
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// Print only image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Show manifest digests
    #[arg(long)]
    pub digests: bool,
    /// Show full IDs and digests
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Image names, IDs or digests
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,
    /// Print one field: a path such as `.Config.config.Env`, `{{.Id}}` or `.Manifest.layers.0.digest`
    #[arg(short = 'f', long, value_name = "PATH")]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// The image in the store
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// The new name
    #[arg(value_name = "TARGET")]
    pub target: String,
}

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Names, IDs or digests
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,
    /// Remove every name of an image given by ID or digest
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// The image in the store
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The file to write
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Archive format
    #[arg(long, value_enum, default_value = "oci")]
    pub format: SaveFormat,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// The archive (OCI layout tar or dir, or docker-archive)
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub input: PathBuf,
    /// The platform to load from a multi-platform archive: os/arch[/variant]
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Print only the manifest digest
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Also drop the build cache (records not used for DURATION, e.g. 24h, 7d, 0s for all)
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "0s")]
    pub cache: Option<String>,
}

#[derive(Args, Debug)]
pub struct DuArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Args, Debug)]
pub struct FsckArgs {
    /// Delete corrupt blobs and stray files
    #[arg(long)]
    pub repair: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    Auto,
    Tty,
    Plain,
    Json,
    Quiet,
}

/// `docker build --network`: `default` is decant's RUN network (the
/// host's, as no bridge is set up without a daemon).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NetworkMode {
    Default,
    None,
    Host,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The build context directory, or - for a Dockerfile on stdin with no context
    #[arg(value_name = "CONTEXT", default_value = ".")]
    pub context: PathBuf,
    /// The Dockerfile, or - for stdin [default: CONTEXT/Dockerfile]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Name and tag the image in the local store (repeatable)
    #[arg(short = 't', long = "tag", value_name = "NAME:TAG")]
    pub tags: Vec<String>,
    /// The stage to build
    #[arg(long)]
    pub target: Option<String>,
    /// Set a build-time variable (repeatable); `K` alone takes the value from the environment
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// Add a named build context: name=dir|docker-image://ref|oci-layout://path
    #[arg(long = "build-context", value_name = "NAME=VALUE")]
    pub build_contexts: Vec<String>,
    /// Output destination: type=oci|docker|image|registry|local|tar[,dest=PATH|-][,tar=false][,compression=gzip|zstd|uncompressed], a directory path, or - (the root filesystem as a tar on stdout)
    #[arg(short = 'o', long = "output", value_name = "SPEC")]
    pub outputs: Vec<String>,
    /// Set metadata for the image (repeatable)
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,
    /// Do not use the cache
    #[arg(long)]
    pub no_cache: bool,
    /// Do not use the cache for these stages (names or indexes; repeatable or comma-separated)
    #[arg(long = "no-cache-filter", value_name = "STAGE", value_delimiter = ',')]
    pub no_cache_filter: Vec<String>,
    /// Resolve base images in the registry even when the store has them by name
    #[arg(long)]
    pub pull: bool,
    /// Grant an entitlement; only `security.insecure` exists (for `RUN --security=insecure`)
    #[arg(long, value_name = "ENTITLEMENT", value_parser = ["security.insecure"])]
    pub allow: Vec<String>,
    /// How many stages may run at once [default: the number of CPUs]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Progress output
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: Progress,
    /// Shorthand for --progress=quiet, printing only the image ID
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print the build plan instead of building
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "FORMAT")]
    pub print_plan: Option<PlanFormat>,
    /// Write the image ID (config digest) to this file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Write build metadata as JSON to this file
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Force the snapshot driver
    #[arg(long, env = "DECANT_SNAPSHOTTER", value_parser = ["overlay", "copy"])]
    pub snapshotter: Option<String>,
    /// Add a line to every RUN's /etc/hosts (repeatable): HOST:IP or HOST=IP
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Resource limit for every RUN (repeatable): NAME=SOFT[:HARD], such as nofile=1024:2048
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// Size of every RUN's /dev/shm, such as 256m or 1g [default: 64m]
    #[arg(long = "shm-size", value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Network of RUN steps that do not set --network themselves
    #[arg(long, value_enum, default_value = "default", value_name = "MODE")]
    pub network: NetworkMode,
    /// Push the image to the registry of each -t name (as --output type=registry)
    #[arg(long)]
    pub push: bool,
    /// Target platform, os/arch[/variant] or `local`: only the platform decant runs on (others need emulation)
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Vec<String>,
    /// Forward an ssh-agent to `RUN --mount=type=ssh` (repeatable): ID (the agent at SSH_AUTH_SOCK) or ID=SOCKET
    #[arg(long, value_name = "ID[=SOCKET]")]
    pub ssh: Vec<String>,
    /// Expose a secret to `RUN --mount=type=secret` (repeatable): id=ID,src=FILE or id=ID,env=VAR
    #[arg(long, value_name = "id=ID,src=PATH|env=VAR")]
    pub secret: Vec<String>,
    /// Accepted for buildx scripts: every image built with -t is in decant's store
    #[arg(long)]
    pub load: bool,
    #[command(flatten)]
    pub docker: DockerFlags,
}

/// `docker buildx build` flags that decant does not take as its own, so
/// that they get a message instead of clap's "unexpected argument": the
/// ones decant cannot honour yet are refused, and the legacy-builder flags
/// that buildx itself accepts and ignores (hidden, in its build command)
/// are ignored with a warning.
#[derive(Args, Debug)]
pub struct DockerFlags {
    #[arg(long = "cache-from", hide = true, value_name = "VALUE")]
    cache_from: Vec<String>,
    #[arg(long = "cache-to", hide = true, value_name = "VALUE")]
    cache_to: Vec<String>,
    #[arg(long = "cgroup-parent", hide = true, value_name = "VALUE")]
    cgroup_parent: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    attest: Vec<String>,
    #[arg(long, hide = true, value_name = "VALUE", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    sbom: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    provenance: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    annotation: Vec<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    builder: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    call: Option<String>,
    #[arg(long, hide = true)]
    check: bool,
    // Accepted and ignored by buildx: they configured the legacy builder.
    #[arg(long, hide = true, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    rm: Option<String>,
    #[arg(long = "force-rm", hide = true, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    force_rm: Option<String>,
    #[arg(long, hide = true, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    compress: Option<String>,
    #[arg(long, hide = true, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    squash: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    isolation: Option<String>,
    #[arg(long = "security-opt", hide = true, value_name = "VALUE")]
    security_opt: Vec<String>,
    #[arg(short = 'm', long, hide = true, value_name = "VALUE")]
    memory: Option<String>,
    #[arg(long = "memory-swap", hide = true, value_name = "VALUE")]
    memory_swap: Option<String>,
    #[arg(short = 'c', long = "cpu-shares", hide = true, value_name = "VALUE")]
    cpu_shares: Option<String>,
    #[arg(long = "cpu-period", hide = true, value_name = "VALUE")]
    cpu_period: Option<String>,
    #[arg(long = "cpu-quota", hide = true, value_name = "VALUE")]
    cpu_quota: Option<String>,
    #[arg(long = "cpuset-cpus", hide = true, value_name = "VALUE")]
    cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems", hide = true, value_name = "VALUE")]
    cpuset_mems: Option<String>,
}

impl DockerFlags {
    /// The first given flag that decant cannot honour yet. `--sbom=false`
    /// and `--provenance=false` ask for what decant does anyway (it writes
    /// no attestations), so only other values are refused.
    pub fn refused(&self) -> Option<&'static str> {
        let attestation = |value: &Option<String>| value.as_deref().is_some_and(|v| v != "false");
        [
            (!self.cache_from.is_empty(), "--cache-from"),
            (!self.cache_to.is_empty(), "--cache-to"),
            (self.cgroup_parent.is_some(), "--cgroup-parent"),
            (!self.attest.is_empty(), "--attest"),
            (attestation(&self.sbom), "--sbom"),
            (attestation(&self.provenance), "--provenance"),
            (!self.annotation.is_empty(), "--annotation"),
            (self.builder.is_some(), "--builder"),
            (self.call.is_some(), "--call"),
            (self.check, "--check"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The given flags that have no effect, as in buildx.
    pub fn ignored(&self) -> Vec<&'static str> {
        [
            (self.rm.is_some(), "--rm"),
            (self.force_rm.is_some(), "--force-rm"),
            (self.compress.is_some(), "--compress"),
            (self.squash.is_some(), "--squash"),
            (self.isolation.is_some(), "--isolation"),
            (!self.security_opt.is_empty(), "--security-opt"),
            (self.memory.is_some(), "--memory"),
            (self.memory_swap.is_some(), "--memory-swap"),
            (self.cpu_shares.is_some(), "--cpu-shares"),
            (self.cpu_period.is_some(), "--cpu-period"),
            (self.cpu_quota.is_some(), "--cpu-quota"),
            (self.cpuset_cpus.is_some(), "--cpuset-cpus"),
            (self.cpuset_mems.is_some(), "--cpuset-mems"),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }
}
