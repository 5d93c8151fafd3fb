//! Turning a Dockerfile AST, build args, a target and named contexts into a
//! [`BuildGraph`]: the stages the target needs, in dependency order, each
//! with its steps fully resolved.
//!
//! The planner owns every *meaning* of the Dockerfile that is not running a
//! process or copying files, following BuildKit's `dockerfile2llb/convert.go`:
//!
//! 1. Global ARGs (before the first FROM) on top of the automatic platform
//!    ARGs (`TARGETPLATFORM`, `BUILDARCH`, …, `TARGETSTAGE`) and the
//!    `--build-arg` values; they expand `FROM` lines.
//! 2. Stage names (lower-cased) and indexes; the target (`--target`,
//!    case-insensitive, or the last stage).
//! 3. Stages are planned on demand starting from the target, so a stage the
//!    target does not need is never looked at and its base image is never
//!    resolved. A stage plans its base stage and the stages its `COPY --from`
//!    and `RUN --mount=from=` name first; the order stages finish in is the
//!    dependency order of [`BuildGraph::stages`].
//! 4. Within a stage, every instruction updates the stage state the way
//!    BuildKit's dispatchers do: ENV/ARG scoping (ARG values are process
//!    env for RUN but never image config; a later definition of a name wins),
//!    WORKDIR/USER/SHELL, CMD/ENTRYPOINT/HEALTHCHECK/LABEL/EXPOSE/VOLUME/
//!    STOPSIGNAL/ONBUILD config, and ONBUILD triggers of the base.
//!
//! The engine then executes only [`Op::Run`], [`Op::Copy`] and
//! [`Op::Workdir`] and uses [`Stage::config`] as the image config.
//!
//! Deliberate extension over BuildKit: `COPY --from=$ARG` is expanded with
//! the stage's variables (BuildKit refuses it).
//!
//! Architecture Invariant: pure. No IO, no async, no knowledge of how steps
//! run; base images come through the [`BaseResolver`] the caller provides.

mod dump;
mod error;
mod gofmt;
mod planner;
mod platform;

use std::collections::BTreeMap;

pub use dockerfile::{CacheSharing, Mount, MountType};
pub use dump::{dump_json, dump_text};
pub use error::{Location, PlanError};
pub use planner::{MAX_DEPENDENCY_DEPTH, plan};
pub use platform::{format as format_platform, parse as parse_platform};

/// What the caller wants built.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub build_args: BTreeMap<String, String>,
    /// Stage name (case-insensitive); `None` is the last stage.
    pub target: Option<String>,
    /// `--build-context name=…`: replaces a stage or an image of that name.
    pub named_contexts: BTreeMap<String, NamedContext>,
    pub target_platform: oci::Platform,
    pub build_platform: oci::Platform,
    /// `--network`: the network of every RUN that does not choose its own
    /// (BuildKit's force-network-mode).
    pub network: NetworkMode,
}

impl PlanOptions {
    /// Options for the host platform with nothing else set.
    pub fn for_host() -> PlanOptions {
        PlanOptions {
            build_args: BTreeMap::new(),
            target: None,
            named_contexts: BTreeMap::new(),
            target_platform: oci::Platform::host(),
            build_platform: oci::Platform::host(),
            network: NetworkMode::Default,
        }
    }
}

/// A `--build-context` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// `docker-image://ref`: planned as that image.
    Image(String),
    /// A local directory; the engine loads it ([`Base::Context`],
    /// [`CopySource::NamedContext`]).
    Local(String),
}

/// Gets an external base image's config (env, workdir, user, shell,
/// onbuild, …). Called only for stages the target needs; the engine does
/// the IO behind it.
pub trait BaseResolver {
    fn resolve(
        &mut self,
        reference: &str,
        platform: &oci::Platform,
    ) -> Result<oci::ImageConfig, Box<dyn std::error::Error + Send + Sync>>;
}

/// A resolver that knows no images: every base is an empty config (no env,
/// no layers) for the requested platform. For tools that only need the
/// plan's shape (linting, benchmarks, fuzzing), never for a real build.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyImageResolver;

impl BaseResolver for EmptyImageResolver {
    fn resolve(
        &mut self,
        _reference: &str,
        platform: &oci::Platform,
    ) -> Result<oci::ImageConfig, Box<dyn std::error::Error + Send + Sync>> {
        Ok(oci::ImageConfig {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: platform.variant.clone(),
            ..oci::ImageConfig::default()
        })
    }
}

/// The index of a stage's FROM in the Dockerfile (what `--from=N` counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageId(pub usize);

/// The plan: the stages the target needs, each after the stages it uses.
#[derive(Debug, Clone)]
pub struct BuildGraph {
    pub stages: Vec<Stage>,
    pub target: StageId,
    /// Non-fatal findings (e.g. an undefined ARG in FROM).
    pub warnings: Vec<String>,
}

impl BuildGraph {
    pub fn stage(&self, id: StageId) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub id: StageId,
    pub name: Option<String>,
    pub base: Base,
    pub platform: oci::Platform,
    /// Stages whose results this stage reads (base stage included), sorted.
    pub deps: Vec<StageId>,
    /// What the stage starts from: the resolved image config as returned by
    /// the resolver (rootfs and history included), the base stage's final
    /// config, or BuildKit's defaults for `scratch`.
    pub base_config: oci::ImageConfig,
    /// The stage's final config. `rootfs` and `history` are left empty: the
    /// engine composes them from the base and the steps.
    pub config: oci::ImageConfig,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    /// The expanded reference text, as written after ARG expansion.
    Image(String),
    Stage(StageId),
    /// A named local context.
    Context(String),
}

#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    pub column: usize,
    /// The instruction's source (continuations joined).
    pub text: String,
    /// BuildKit's history text, e.g. `RUN /bin/sh -c echo hi # buildkit`.
    pub created_by: String,
    /// Whether BuildKit writes a history entry for this step (ONBUILD does
    /// not).
    pub history: bool,
    /// An ONBUILD trigger of the base, run before the stage's instructions.
    pub onbuild: bool,
    pub op: Op,
    /// The state the step runs in (after the step's own config changes,
    /// e.g. WORKDIR's new directory).
    pub state: StepState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    /// Process env for RUN: image env, ARGs in scope, proxy build args.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: String,
    pub shell: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// One layer.
    Run(RunOp),
    /// One layer (COPY and ADD).
    Copy(CopyOp),
    /// Creates the dir if missing, owned by `state.user`; one layer.
    Workdir { path: String },
    /// Config only: no layer, history `empty_layer = true`.
    Config,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOp {
    /// Already wrapped in SHELL for the shell form.
    pub args: Vec<String>,
    pub mounts: Vec<RunMount>,
    pub network: NetworkMode,
    pub security_insecure: bool,
    /// Files to provide to the process, e.g. a heredoc script with a
    /// shebang at `/dev/pipes/EOF` (mode 0755).
    pub heredoc_files: Vec<InlineFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// Not set in the Dockerfile: the builder's default.
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    /// Values expanded; `target` made absolute against the workdir; secret
    /// and cache ids defaulted as BuildKit does.
    pub mount: Mount,
    /// Where `from=` points (bind/cache mounts), resolved like `COPY --from`.
    pub from: Option<CopySource>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFile {
    /// For COPY/ADD heredocs the file name (the delimiter); for RUN the
    /// absolute path where the process finds it.
    pub path: String,
    pub data: String,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOp {
    pub is_add: bool,
    pub from: CopySource,
    /// Expanded, as written otherwise (wildcards, relative to the source).
    pub sources: Vec<String>,
    /// Heredoc sources, expanded unless the delimiter was quoted.
    pub inline_sources: Vec<InlineFile>,
    /// Absolute; a trailing `/` (or `/.`) is kept.
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    /// `--link`, false when `--chmod` is set (BuildKit ignores it then).
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    pub unpack: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopySource {
    Context,
    Stage(StageId),
    Image(String),
    NamedContext(String),
}
