//! The planning pass itself: global ARGs, stage headers, on-demand stage
//! planning from the target, and one dispatcher per instruction with
//! BuildKit's semantics (`dockerfile2llb/convert.go` `dispatch*`).

use std::collections::{BTreeMap, BTreeSet};

use dockerfile::{
    ArgDecl, CommandLine, CopyArgs, Dockerfile, EnvLookup, Healthcheck, Instruction,
    InstructionKind, KeyValue, Lexer, MountType, Run,
};
use oci::{HealthConfig, ImageConfig, Platform, RunConfig};

use crate::error::{Location, PlanError};
use crate::gofmt;
use crate::platform;
use crate::{
    Base, BaseResolver, BuildGraph, CopyOp, CopySource, InlineFile, NamedContext, NetworkMode, Op,
    PlanOptions, RunMount, RunOp, Stage, StageId, Step, StepState,
};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Build args that never become process env (BuildKit `nonEnvArgs`).
const NON_ENV_ARGS: &[&str] = &["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

/// An ordered variable list where redefining a name moves it to the end,
/// like BuildKit's `llb.EnvList`.
#[derive(Debug, Clone, Default)]
struct EnvList(Vec<(String, String)>);

impl EnvList {
    fn set(&mut self, key: &str, value: &str) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_string(), value.to_string()));
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn to_vec(&self) -> Vec<String> {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

impl EnvLookup for EnvList {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }
}

/// What the FROM line of a stage resolved to before planning.
struct Header {
    base_name: String,
    platform: Option<Platform>,
    /// `FROM <earlier stage>`.
    base_stage: Option<usize>,
    /// The stage's name is replaced by a named context.
    replaced_by: Option<NamedContext>,
    location: Location,
    display_name: String,
}

/// A planned stage plus what stages built FROM it inherit.
struct Finished {
    stage: Stage,
    env: EnvList,
    workdir: String,
    user: Option<String>,
    build_args: Vec<(String, Option<String>)>,
    /// The stage's own ONBUILD expressions (triggers for stages FROM it).
    onbuild: Vec<String>,
}

/// The mutable state while a stage's instructions are dispatched.
struct State {
    index: usize,
    config: ImageConfig,
    env: EnvList,
    workdir: String,
    user: Option<String>,
    build_args: Vec<(String, Option<String>)>,
    cmd_set: bool,
    deps: BTreeSet<usize>,
    platform: Platform,
    own_onbuild: Vec<String>,
}

impl State {
    fn shell(&self) -> Vec<String> {
        match &self.config.config.shell {
            Some(shell) if !shell.is_empty() => shell.clone(),
            _ => vec!["/bin/sh".to_string(), "-c".to_string()],
        }
    }
    fn step_state(&self, proxy: &[String]) -> StepState {
        let mut env = self.env.to_vec();
        env.extend(proxy.iter().cloned());
        StepState {
            env,
            user: self.user.clone(),
            workdir: self.workdir.clone(),
            shell: self.shell(),
        }
    }
}

struct Planner<'a> {
    dockerfile: &'a Dockerfile,
    options: &'a PlanOptions,
    resolver: &'a mut dyn BaseResolver,
    lexer: Lexer,
    global: EnvList,
    headers: Vec<Header>,
    names: BTreeMap<String, usize>,
    finished: Vec<Option<Finished>>,
    in_progress: Vec<bool>,
    /// How many `ensure` calls are on the stack: each stage dependency is
    /// planned recursively, so a long chain is bounded explicitly instead of
    /// by the thread's stack.
    depth: usize,
    order: Vec<usize>,
    warnings: Vec<String>,
    proxy_env: Vec<String>,
    /// Each (reference, platform) is resolved once per plan.
    resolved: BTreeMap<(String, String), ImageConfig>,
}

/// The longest chain of stages depending on each other that we plan. Real
/// Dockerfiles have chains of a few stages; the bound keeps a crafted one
/// from exhausting the stack (the engine plans on a thread whose stack fits
/// this many levels even in a debug build).
pub const MAX_DEPENDENCY_DEPTH: usize = 1000;

/// Plans `dockerfile` for `options`; see the crate docs for the steps.
pub fn plan(
    dockerfile: &Dockerfile,
    options: &PlanOptions,
    resolver: &mut dyn BaseResolver,
) -> Result<BuildGraph, PlanError> {
    let lexer = Lexer::new(dockerfile.escape);
    let target_name = match &options.target {
        Some(t) => t.clone(),
        None => dockerfile
            .stages
            .last()
            .and_then(|s| s.from.name.clone())
            .unwrap_or_default(),
    };
    let mut planner = Planner {
        dockerfile,
        options,
        resolver,
        lexer,
        global: default_args(options, &target_name),
        headers: Vec::new(),
        names: BTreeMap::new(),
        finished: dockerfile.stages.iter().map(|_| None).collect(),
        in_progress: vec![false; dockerfile.stages.len()],
        depth: 0,
        order: Vec::new(),
        warnings: Vec::new(),
        proxy_env: proxy_env(&options.build_args),
        resolved: BTreeMap::new(),
    };
    planner.meta_args()?;
    planner.headers()?;
    let target = planner.target()?;
    planner.ensure(target)?;
    let mut finished = std::mem::take(&mut planner.finished);
    let stages = planner
        .order
        .iter()
        .filter_map(|&i| finished[i].take().map(|f| f.stage))
        .collect();
    Ok(BuildGraph {
        stages,
        target: StageId(target),
        warnings: planner.warnings,
    })
}

/// BuildKit's `defaultArgs`: the automatic platform ARGs, overridable.
fn default_args(options: &PlanOptions, target: &str) -> EnvList {
    let bp = &options.build_platform;
    let tp = &options.target_platform;
    let target = if target.is_empty() { "default" } else { target };
    let pairs = [
        ("BUILDPLATFORM", platform::format(bp)),
        ("BUILDOS", bp.os.clone()),
        ("BUILDOSVERSION", bp.os_version.clone().unwrap_or_default()),
        ("BUILDARCH", bp.architecture.clone()),
        ("BUILDVARIANT", bp.variant.clone().unwrap_or_default()),
        ("TARGETPLATFORM", platform::format(tp)),
        ("TARGETOS", tp.os.clone()),
        ("TARGETOSVERSION", tp.os_version.clone().unwrap_or_default()),
        ("TARGETARCH", tp.architecture.clone()),
        ("TARGETVARIANT", tp.variant.clone().unwrap_or_default()),
        ("TARGETSTAGE", target.to_string()),
    ];
    let mut env = EnvList::default();
    for (key, value) in pairs {
        let value = options.build_args.get(key).cloned().unwrap_or(value);
        env.set(key, &value);
    }
    env
}

/// Proxy build args go to RUN's env without an ARG (BuildKit
/// `proxyEnvFromBuildArgs`), both upper- and lower-case.
fn proxy_env(build_args: &BTreeMap<String, String>) -> Vec<String> {
    let mut values: [Option<&String>; 5] = [None; 5];
    let names = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "FTP_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
    ];
    for (key, value) in build_args {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(key)) {
            values[i] = Some(value);
        }
    }
    let mut env = Vec::new();
    for (name, value) in names.iter().zip(values) {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            env.push(format!("{name}={v}"));
            env.push(format!("{}={v}", name.to_ascii_lowercase()));
        }
    }
    env
}

fn location_of(instruction: &Instruction) -> Location {
    Location {
        line: instruction.span.line,
        column: instruction.span.column,
    }
}

/// The image BuildKit starts `FROM scratch` with (`emptyImage`).
fn empty_image(platform: &Platform) -> ImageConfig {
    ImageConfig {
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        variant: platform.variant.clone(),
        os_version: platform.os_version.clone(),
        config: RunConfig {
            env: Some(vec![format!("PATH={DEFAULT_PATH}")]),
            working_dir: Some("/".to_string()),
            ..RunConfig::default()
        },
        ..ImageConfig::default()
    }
}

/// Go `path.Clean`.
pub(crate) fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// BuildKit `system.NormalizePath` (Linux): relative paths are joined to
/// `parent` and cleaned, absolute ones are kept as written; with
/// `keep_slash` a trailing `/` or `/.` survives.
fn normalize_path(parent: &str, new_path: &str, keep_slash: bool) -> String {
    let parent = if parent.is_empty() { "/" } else { parent };
    let parent = if parent.starts_with('/') {
        parent.to_string()
    } else {
        clean_path(&format!("/{parent}"))
    };
    let mut out = if new_path.is_empty() {
        parent.clone()
    } else {
        new_path.to_string()
    };
    if !out.starts_with('/') {
        out = clean_path(&format!("{parent}/{out}"));
    }
    if keep_slash {
        if new_path.ends_with('/') && !out.ends_with('/') {
            out.push('/');
        } else if new_path.ends_with("/.") {
            if out != "/" {
                out.push('/');
            }
            out.push('.');
        }
    }
    out
}

/// Where a COPY destination lands (BuildKit `pathRelativeToWorkingDir`):
/// relative to the workdir, `""` and `.` meaning the workdir itself. The
/// result is cleaned and ends in `/` when the destination names a directory
/// (written with a trailing `/` or `/.`), which is how BuildKit's copy
/// backend reads BuildKit's less tidy `/abs/./.` spelling.
fn dest_path(workdir: &str, dest: &str) -> String {
    let dest = if dest.is_empty() || dest == "." {
        "./"
    } else {
        dest
    };
    let joined = if dest.starts_with('/') {
        clean_path(dest)
    } else {
        normalize_path(workdir, dest, false)
    };
    let wants_dir = dest.ends_with('/') || dest.ends_with("/.");
    if wants_dir && !joined.ends_with('/') {
        format!("{joined}/")
    } else {
        joined
    }
}

const SIGNALS: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
    "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
    "TTIN", "TTOU", "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN",
    "RTMIN+1", "RTMIN+2", "RTMIN+3", "RTMIN+4", "RTMIN+5", "RTMIN+6", "RTMIN+7", "RTMIN+8",
    "RTMIN+9", "RTMIN+10", "RTMIN+11", "RTMIN+12", "RTMIN+13", "RTMIN+14", "RTMIN+15", "RTMAX-14",
    "RTMAX-13", "RTMAX-12", "RTMAX-11", "RTMAX-10", "RTMAX-9", "RTMAX-8", "RTMAX-7", "RTMAX-6",
    "RTMAX-5", "RTMAX-4", "RTMAX-3", "RTMAX-2", "RTMAX-1", "RTMAX",
];

/// moby/sys/signal `ParseSignal` (Linux).
fn valid_signal(value: &str) -> bool {
    if let Ok(n) = value.parse::<i64>() {
        return n != 0;
    }
    let upper = value.to_ascii_uppercase();
    SIGNALS.contains(&upper.strip_prefix("SIG").unwrap_or(&upper))
}

/// Octal up to 07777, or chmod(1) symbolic modes (Dockerfile 1.14).
fn valid_chmod(value: &str) -> bool {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        return u32::from_str_radix(value, 8).is_ok_and(|m| m <= 0o7777);
    }
    if value.chars().any(|c| c.is_ascii_digit()) {
        // BuildKit reports values that look numeric as invalid octal.
        return false;
    }
    value.split(',').all(|clause| {
        let ops = clause.trim_start_matches(['u', 'g', 'o', 'a']);
        !ops.is_empty()
            && ops.starts_with(['+', '-', '='])
            && ops.chars().all(|c| "+-=rwxXstugo".contains(c))
    })
}

fn is_http_source(src: &str) -> bool {
    src.starts_with("http://") || src.starts_with("https://")
}

fn is_git_source(src: &str) -> bool {
    src.starts_with("git@")
        || src.starts_with("git://")
        || (is_http_source(src)
            && (src.contains(".git#") || src.ends_with(".git") || src.contains(".git?")))
}

/// BuildKit's EXPOSE port spec parser: `[ip:][host:]port[-end][/proto]`.
fn parse_port(raw: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let container = parts.last().copied().unwrap_or_default();
    let (port, proto) = container.split_once('/').unwrap_or((container, ""));
    if port.is_empty() {
        return Err("no port specified".to_string());
    }
    let proto = match proto.to_ascii_lowercase().as_str() {
        "" => "tcp".to_string(),
        p @ ("tcp" | "udp" | "sctp") => p.to_string(),
        _ => return Err(format!("invalid proto: {proto}")),
    };
    let number = |s: &str| -> Result<u32, String> {
        let n: i64 = s
            .parse()
            .map_err(|_| format!("invalid port number {s:?}"))?;
        if !(0..=65535).contains(&n) {
            return Err("value out of range (0–65535)".to_string());
        }
        Ok(n as u32)
    };
    let (start, end) = match port.split_once('-') {
        Some((s, e)) if s != e => (number(s)?, number(e)?),
        Some((s, _)) => (number(s)?, number(s)?),
        None => (number(port)?, number(port)?),
    };
    if end < start {
        return Err(format!("invalid port range: {port}"));
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

impl Planner<'_> {
    fn expand(
        &self,
        word: &str,
        env: &dyn EnvLookup,
        location: Location,
    ) -> Result<String, PlanError> {
        self.lexer
            .process_word(word, env)
            .map_err(|source| PlanError::Expand { location, source })
    }

    /// BuildKit `buildMetaArgs`: global ARGs in order, `--build-arg` first.
    fn meta_args(&mut self) -> Result<(), PlanError> {
        for instruction in &self.dockerfile.meta_args {
            let InstructionKind::Arg(decls) = &instruction.kind else {
                continue;
            };
            for ArgDecl { name, default } in decls {
                let value = match self.options.build_args.get(name) {
                    Some(v) => Some(v.clone()),
                    None => match default {
                        Some(d) => Some(self.expand(d, &self.global, location_of(instruction))?),
                        None => None,
                    },
                };
                if let Some(v) = value {
                    self.global.set(name, &v);
                }
            }
        }
        Ok(())
    }

    /// Expands every FROM with the global ARGs and binds `FROM <stage>`.
    fn headers(&mut self) -> Result<(), PlanError> {
        let mut names_so_far: BTreeMap<String, usize> = BTreeMap::new();
        for (i, stage) in self.dockerfile.stages.iter().enumerate() {
            let location = Location {
                line: stage.span.line,
                column: stage.span.column,
            };
            let expansion = self
                .lexer
                .process(&stage.from.image, &self.global)
                .map_err(|source| PlanError::Expand { location, source })?;
            if expansion.result.is_empty() {
                return Err(PlanError::BlankBaseName {
                    location,
                    base: stage.from.image.clone(),
                    undefined: expansion.unmatched.into_iter().collect(),
                });
            }
            for name in &expansion.unmatched {
                self.warnings.push(format!(
                    "{location}: FROM argument '{name}' is not declared (UndefinedArgInFrom)"
                ));
            }
            let platform = match &stage.from.platform {
                None => None,
                Some(spec) => {
                    let value = self.expand(spec, &self.global, location)?;
                    if value.is_empty() {
                        return Err(PlanError::InvalidPlatform {
                            location,
                            value: spec.clone(),
                            reason: "empty platform value".to_string(),
                        });
                    }
                    Some(
                        platform::parse(&value, &self.options.target_platform).map_err(
                            |reason| PlanError::InvalidPlatform {
                                location,
                                value: value.clone(),
                                reason,
                            },
                        )?,
                    )
                }
            };
            // BuildKit binds `FROM name` to an earlier stage by the exact
            // (already lower-case) key, before this stage's own name exists.
            let base_stage = names_so_far.get(&expansion.result).copied();
            let replaced_by = stage
                .from
                .name
                .as_ref()
                .and_then(|n| self.options.named_contexts.get(n).cloned());
            if let Some(name) = &stage.from.name {
                names_so_far.insert(name.clone(), i);
            }
            self.headers.push(Header {
                base_name: expansion.result,
                platform,
                base_stage,
                replaced_by,
                location,
                display_name: stage
                    .from
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("stage-{i}")),
            });
        }
        // `--from` and `--target` see every stage; a later duplicate wins.
        self.names = names_so_far;
        Ok(())
    }

    fn target(&self) -> Result<usize, PlanError> {
        match &self.options.target {
            None => Ok(self.dockerfile.stages.len().saturating_sub(1)),
            Some(target) => self
                .names
                .get(&target.to_lowercase())
                .copied()
                .ok_or_else(|| PlanError::TargetNotFound {
                    target: target.clone(),
                    suggestion: dockerfile::suggest::closest(
                        target,
                        self.names.keys().map(String::as_str),
                    ),
                }),
        }
    }

    fn resolve_image(
        &mut self,
        reference: &str,
        platform: &Platform,
        location: Location,
    ) -> Result<ImageConfig, PlanError> {
        let key = (reference.to_string(), platform::format(platform));
        if let Some(config) = self.resolved.get(&key) {
            return Ok(config.clone());
        }
        let config = self
            .resolver
            .resolve(reference, platform)
            .map_err(|source| PlanError::Resolve {
                location,
                reference: reference.to_string(),
                source,
            })?;
        self.resolved.insert(key, config.clone());
        Ok(config)
    }

    /// Plans stage `index` (and, first, every stage it needs).
    ///
    /// Error returns between the depth increment and decrement leave `depth`
    /// high, which is harmless: an error ends the whole plan.
    fn ensure(&mut self, index: usize) -> Result<(), PlanError> {
        if self.finished[index].is_some() {
            return Ok(());
        }
        let location = self.headers[index].location;
        if self.in_progress[index] {
            return Err(PlanError::CircularDependency {
                location,
                stage: self.headers[index].display_name.clone(),
            });
        }
        if self.depth >= MAX_DEPENDENCY_DEPTH {
            return Err(PlanError::DependencyChainTooDeep {
                location,
                stage: self.headers[index].display_name.clone(),
                limit: MAX_DEPENDENCY_DEPTH,
            });
        }
        self.in_progress[index] = true;
        self.depth += 1;
        let target_platform = self.options.target_platform.clone();
        let header_platform = self.headers[index].platform.clone();
        let stage_platform = header_platform.clone().unwrap_or(target_platform);
        let base_name = self.headers[index].base_name.clone();

        let mut triggers: Vec<String> = Vec::new();
        let mut deps = BTreeSet::new();
        let mut run_instructions = true;
        let (base, base_config, mut state) =
            if let Some(context) = self.headers[index].replaced_by.clone() {
                // A named context replaces the whole stage (BuildKit marks it
                // dispatched and never runs its instructions).
                run_instructions = false;
                let name = self.dockerfile.stages[index]
                    .from
                    .name
                    .clone()
                    .unwrap_or_default();
                match context {
                    NamedContext::Image(reference) => {
                        let config = self.resolve_image(&reference, &stage_platform, location)?;
                        let state =
                            self.state_from_image(index, &config, &stage_platform, &mut triggers);
                        (Base::Image(reference), config, state)
                    }
                    NamedContext::Local(_) => {
                        let config = empty_image(&stage_platform);
                        let state =
                            self.state_from_image(index, &config, &stage_platform, &mut triggers);
                        (Base::Context(name), config, state)
                    }
                }
            } else if let Some(parent) = self.headers[index].base_stage {
                self.ensure(parent)?;
                deps.insert(parent);
                let Some(done) = self.finished[parent].as_ref() else {
                    return Err(PlanError::CircularDependency {
                        location,
                        stage: self.headers[index].display_name.clone(),
                    });
                };
                let mut config = done.stage.config.clone();
                config.config.on_build = None;
                triggers = done.onbuild.clone();
                let state = State {
                    index,
                    config: config.clone(),
                    env: done.env.clone(),
                    workdir: done.workdir.clone(),
                    user: done.user.clone(),
                    build_args: done.build_args.clone(),
                    cmd_set: false,
                    deps: BTreeSet::new(),
                    platform: done.stage.platform.clone(),
                    own_onbuild: Vec::new(),
                };
                (
                    Base::Stage(StageId(parent)),
                    done.stage.config.clone(),
                    state,
                )
            } else if base_name == "scratch" {
                let config = empty_image(&stage_platform);
                let state = self.state_from_image(index, &config, &stage_platform, &mut triggers);
                (Base::Scratch, config, state)
            } else if let Some(context) = self.options.named_contexts.get(&base_name).cloned() {
                match context {
                    NamedContext::Image(reference) => {
                        let config = self.resolve_image(&reference, &stage_platform, location)?;
                        let state =
                            self.state_from_image(index, &config, &stage_platform, &mut triggers);
                        (Base::Image(reference), config, state)
                    }
                    NamedContext::Local(_) => {
                        let config = empty_image(&stage_platform);
                        let state =
                            self.state_from_image(index, &config, &stage_platform, &mut triggers);
                        (Base::Context(base_name.clone()), config, state)
                    }
                }
            } else {
                let config = self.resolve_image(&base_name, &stage_platform, location)?;
                let state = self.state_from_image(index, &config, &stage_platform, &mut triggers);
                (Base::Image(base_name.clone()), config, state)
            };
        state.deps = deps;

        let mut steps = Vec::new();
        if run_instructions {
            for trigger in &triggers {
                let instruction = dockerfile::parse_instruction(trigger).map_err(|source| {
                    PlanError::Onbuild {
                        location,
                        trigger: trigger.clone(),
                        source,
                    }
                })?;
                let mut instruction = instruction;
                instruction.span.line = location.line;
                instruction.span.column = location.column;
                instruction.span.end_line = location.line;
                steps.push(self.dispatch(&mut state, &instruction, true)?);
            }
            let instructions = &self.dockerfile.stages[index].instructions;
            for instruction in instructions {
                steps.push(self.dispatch(&mut state, instruction, false)?);
            }
        }

        let mut config = state.config.clone();
        config.created = None;
        config.history = Vec::new();
        config.rootfs = oci::RootFs::default();
        if config.os.is_empty() {
            config.os = state.platform.os.clone();
        }
        if config.architecture.is_empty() {
            config.architecture = state.platform.architecture.clone();
            config.variant = state.platform.variant.clone();
        }
        let stage = Stage {
            id: StageId(index),
            name: self.dockerfile.stages[index].from.name.clone(),
            base,
            platform: state.platform.clone(),
            deps: state.deps.iter().map(|&d| StageId(d)).collect(),
            base_config,
            config,
            steps,
        };
        self.finished[index] = Some(Finished {
            stage,
            env: state.env,
            workdir: state.workdir,
            user: state.user,
            build_args: state.build_args,
            onbuild: state.own_onbuild,
        });
        self.in_progress[index] = false;
        self.depth -= 1;
        self.order.push(index);
        Ok(())
    }

    /// The state a stage starts in on top of an image config (BuildKit
    /// `dispatchStages` initialisation): PATH defaulted, env, WORKDIR and
    /// USER from the config; the image's ONBUILD triggers taken out.
    fn state_from_image(
        &self,
        index: usize,
        config: &ImageConfig,
        platform: &Platform,
        triggers: &mut Vec<String>,
    ) -> State {
        let mut config = config.clone();
        config.created = None;
        if let Some(onbuild) = config.config.on_build.take() {
            triggers.extend(onbuild);
        }
        if config.config.env_value("PATH").is_none() && platform.os != "windows" {
            config
                .config
                .env
                .get_or_insert_with(Vec::new)
                .push(format!("PATH={DEFAULT_PATH}"));
        }
        let mut env = EnvList::default();
        for entry in config.config.env.iter().flatten() {
            let (k, v) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
            env.set(k, v);
        }
        let workdir = match config.config.working_dir.as_deref() {
            Some(wd) if !wd.is_empty() => normalize_path("", wd, false),
            _ => "/".to_string(),
        };
        let user = config.config.user.clone().filter(|u| !u.is_empty());
        State {
            index,
            config,
            env,
            workdir,
            user,
            build_args: Vec::new(),
            cmd_set: false,
            deps: BTreeSet::new(),
            platform: platform.clone(),
            own_onbuild: Vec::new(),
        }
    }

    /// `COPY --from` / `RUN --mount=from=`: stage name (case-insensitive),
    /// index, named context, or else an image reference.
    fn resolve_from(
        &mut self,
        state: &mut State,
        value: &str,
        location: Location,
    ) -> Result<CopySource, PlanError> {
        let stage = if let Ok(index) = value.parse::<i64>() {
            if index < 0 || index as usize >= self.dockerfile.stages.len() {
                return Err(PlanError::InvalidStageIndex {
                    location,
                    index: value.to_string(),
                });
            }
            Some(index as usize)
        } else {
            self.names.get(&value.to_lowercase()).copied()
        };
        let Some(stage) = stage else {
            return Ok(match self.options.named_contexts.get(value) {
                Some(NamedContext::Image(reference)) => CopySource::Image(reference.clone()),
                Some(NamedContext::Local(_)) => CopySource::NamedContext(value.to_string()),
                None => CopySource::Image(value.to_string()),
            });
        };
        if stage == state.index {
            return Err(PlanError::CircularDependency {
                location,
                stage: self.headers[state.index].display_name.clone(),
            });
        }
        if stage > state.index {
            return Err(PlanError::StageDefinedLater {
                location,
                from: value.to_string(),
                stage: self.headers[state.index].display_name.clone(),
            });
        }
        self.ensure(stage)?;
        state.deps.insert(stage);
        Ok(CopySource::Stage(StageId(stage)))
    }

    fn dispatch(
        &mut self,
        state: &mut State,
        instruction: &Instruction,
        onbuild: bool,
    ) -> Result<Step, PlanError> {
        let location = location_of(instruction);
        let mut history = true;
        let (op, created_by) = match &instruction.kind {
            InstructionKind::Env(pairs) => {
                let pairs = self.expand_pairs(pairs, &state.env, location)?;
                let mut message = "ENV".to_string();
                for (key, value) in &pairs {
                    message.push_str(&format!(" {key}={value}"));
                    state.env.set(key, value);
                    state.config.config.set_env(key, value);
                }
                (Op::Config, message)
            }
            InstructionKind::Label(pairs) => {
                let pairs = self.expand_pairs(pairs, &state.env, location)?;
                let labels = state.config.config.labels.get_or_insert_with(BTreeMap::new);
                let mut message = "LABEL".to_string();
                for (key, value) in pairs {
                    message.push_str(&format!(" {key}={value}"));
                    labels.insert(key, value);
                }
                (Op::Config, message)
            }
            InstructionKind::Arg(decls) => {
                let mut parts = Vec::new();
                for ArgDecl { name, default } in decls {
                    let build_arg = self.options.build_args.get(name);
                    let mut value = None;
                    if default.is_none() && build_arg.is_none() {
                        value = self.global.get(name).map(str::to_string);
                    }
                    if let Some(v) = build_arg {
                        value = Some(v.clone());
                    } else if let Some(d) = default {
                        value = Some(self.expand(d, &state.env, location)?);
                    }
                    if let Some(v) = &value
                        && !NON_ENV_ARGS.contains(&name.as_str())
                    {
                        state.env.set(name, v);
                    }
                    parts.push(match &value {
                        Some(v) => format!("{name}={v}"),
                        None => name.clone(),
                    });
                    state.build_args.push((name.clone(), value));
                }
                (Op::Config, format!("ARG {}", parts.join(" ")))
            }
            InstructionKind::Run(run) => self.dispatch_run(state, run, location)?,
            InstructionKind::Copy(copy) => self.dispatch_copy(state, copy, false, location)?,
            InstructionKind::Add(copy) => self.dispatch_copy(state, copy, true, location)?,
            InstructionKind::Workdir(path) => {
                let path = self.expand(path, &state.env, location)?;
                let current = state.config.config.working_dir.clone().unwrap_or_default();
                let wd = normalize_path(&current, &path, false);
                state.config.config.working_dir = Some(wd.clone());
                // The config keeps BuildKit's spelling; processes get a clean
                // path so that `/missing/../dir` does not fail the chdir.
                state.workdir = clean_path(&wd);
                // BuildKit makes no layer (and no mkdir) for WORKDIR /.
                let op = if wd == "/" {
                    Op::Config
                } else {
                    Op::Workdir {
                        path: clean_path(&wd),
                    }
                };
                (op, format!("WORKDIR {wd}"))
            }
            InstructionKind::User(user) => {
                let user = self.expand(user, &state.env, location)?;
                state.config.config.user = Some(user.clone());
                state.user = Some(user.clone()).filter(|u| !u.is_empty());
                (Op::Config, format!("USER {user}"))
            }
            InstructionKind::Volume(volumes) => {
                let mut expanded = Vec::new();
                for volume in volumes {
                    let v = self.expand(volume, &state.env, location)?;
                    if v.is_empty() {
                        return Err(PlanError::EmptyVolume { location });
                    }
                    expanded.push(v);
                }
                let map = state
                    .config
                    .config
                    .volumes
                    .get_or_insert_with(BTreeMap::new);
                for v in &expanded {
                    map.insert(v.clone(), oci::config::Empty {});
                }
                (Op::Config, format!("VOLUME {}", gofmt::slice(&expanded)))
            }
            InstructionKind::Expose(ports) => {
                let mut words = Vec::new();
                for port in ports {
                    words.extend(
                        self.lexer
                            .process_words(port, &state.env)
                            .map_err(|source| PlanError::Expand { location, source })?,
                    );
                }
                let mut specs = Vec::new();
                for word in &words {
                    specs.extend(parse_port(word).map_err(|reason| PlanError::Port {
                        location,
                        port: word.clone(),
                        reason,
                    })?);
                }
                let map = state
                    .config
                    .config
                    .exposed_ports
                    .get_or_insert_with(BTreeMap::new);
                for spec in &specs {
                    map.insert(spec.clone(), oci::config::Empty {});
                }
                (Op::Config, format!("EXPOSE {}", gofmt::slice(&specs)))
            }
            InstructionKind::StopSignal(signal) => {
                let signal = self.expand(signal, &state.env, location)?;
                if !valid_signal(&signal) {
                    return Err(PlanError::Signal {
                        location,
                        value: signal,
                    });
                }
                state.config.config.stop_signal = Some(signal.clone());
                (Op::Config, format!("STOPSIGNAL {signal}"))
            }
            InstructionKind::Cmd(command) => {
                let args = self.command_args(state, command);
                state.config.config.cmd = Some(args.clone());
                state.config.config.args_escaped = Some(true);
                state.cmd_set = true;
                (Op::Config, format!("CMD {}", gofmt::quote_slice(&args)))
            }
            InstructionKind::Entrypoint(command) => {
                let args = self.command_args(state, command);
                state.config.config.entrypoint = (!args.is_empty()).then(|| args.clone());
                if !state.cmd_set {
                    state.config.config.cmd = None;
                }
                (
                    Op::Config,
                    format!("ENTRYPOINT {}", gofmt::quote_slice(&args)),
                )
            }
            InstructionKind::Healthcheck(check) => {
                let (health, text) = match check {
                    Healthcheck::None => (
                        HealthConfig {
                            test: Some(vec!["NONE".to_string()]),
                            ..HealthConfig::default()
                        },
                        health_text(&["NONE".to_string()], 0, 0, 0, 0, 0),
                    ),
                    Healthcheck::Check(c) => {
                        let nonzero = |v: i64| (v != 0).then_some(v);
                        (
                            HealthConfig {
                                test: Some(c.test.clone()),
                                interval: nonzero(c.interval),
                                timeout: nonzero(c.timeout),
                                start_period: nonzero(c.start_period),
                                start_interval: nonzero(c.start_interval),
                                retries: nonzero(c.retries),
                            },
                            health_text(
                                &c.test,
                                c.interval,
                                c.timeout,
                                c.start_period,
                                c.start_interval,
                                c.retries,
                            ),
                        )
                    }
                };
                state.config.config.healthcheck = Some(health);
                (Op::Config, text)
            }
            InstructionKind::Shell(shell) => {
                state.config.config.shell = Some(shell.clone());
                (Op::Config, format!("SHELL {}", gofmt::slice(shell)))
            }
            InstructionKind::Maintainer(author) => {
                state.config.author = Some(author.clone());
                (Op::Config, format!("MAINTAINER {author}"))
            }
            InstructionKind::Onbuild(onbuild) => {
                state
                    .config
                    .config
                    .on_build
                    .get_or_insert_with(Vec::new)
                    .push(onbuild.expression.clone());
                state.own_onbuild.push(onbuild.expression.clone());
                history = false;
                (Op::Config, String::new())
            }
        };
        Ok(Step {
            line: location.line,
            column: location.column,
            text: instruction.text.clone(),
            created_by,
            history,
            onbuild,
            op,
            state: state.step_state(&self.proxy_env),
        })
    }

    fn expand_pairs(
        &self,
        pairs: &[KeyValue],
        env: &EnvList,
        location: Location,
    ) -> Result<Vec<(String, String)>, PlanError> {
        pairs
            .iter()
            .map(|kv| {
                Ok((
                    self.expand(&kv.key, env, location)?,
                    self.expand(&kv.value, env, location)?,
                ))
            })
            .collect()
    }

    /// CMD/ENTRYPOINT: exec form as given, shell form wrapped in SHELL.
    fn command_args(&self, state: &State, command: &CommandLine) -> Vec<String> {
        match command {
            CommandLine::Exec(args) => args.clone(),
            CommandLine::Shell(text) => {
                let mut args = state.shell();
                args.push(text.clone());
                args
            }
        }
    }

    fn dispatch_run(
        &mut self,
        state: &mut State,
        run: &Run,
        location: Location,
    ) -> Result<(Op, String), PlanError> {
        let (mut args, prepend_shell) = match &run.command {
            CommandLine::Exec(args) => (args.clone(), false),
            CommandLine::Shell(text) => (vec![text.clone()], true),
        };
        let mut heredoc_files = Vec::new();
        if let (Some(first), [single]) = (run.heredocs.first(), args.as_slice()) {
            if dockerfile::heredoc_word(single).is_some() {
                let data = if first.chomp {
                    dockerfile::chomp_heredoc(&first.content)
                } else {
                    first.content.clone()
                };
                if data.starts_with("#!") {
                    // A script with a shebang is run as a file (BuildKit
                    // mounts it read-only at /dev/pipes/).
                    let path = format!("/dev/pipes/{}", first.name);
                    heredoc_files.push(InlineFile {
                        path: path.clone(),
                        data,
                        mode: 0o755,
                    });
                    args = vec![path];
                } else {
                    args = vec![data];
                }
            } else {
                let mut text = single.clone();
                for doc in &run.heredocs {
                    text.push('\n');
                    text.push_str(&doc.content);
                    text.push_str(&doc.name);
                }
                args = vec![text];
            }
        }
        if prepend_shell {
            let mut shell = state.shell();
            shell.push(args.join(" "));
            args = shell;
        }
        let mut mounts = Vec::new();
        // BuildKit numbers a RUN's ssh sockets from 0 in each RUN (llb
        // ExecOp: `/run/buildkit/ssh_agent.<i>`).
        let mut ssh_mounts = 0;
        for spec in &run.mounts {
            let lexer = self.lexer;
            let env = state.env.clone();
            let mut mount = spec
                .resolve(&mut |word| lexer.process_word(word, &env))
                .map_err(|source| PlanError::Mount { location, source })?;
            let from = match mount.from.clone() {
                Some(from) => Some(self.resolve_from(state, &from, location)?),
                None => None,
            };
            match mount.kind {
                MountType::Secret => {
                    let mut id = mount.id.clone().unwrap_or_default();
                    if let Some(source) = &mount.source {
                        id = source.clone();
                    }
                    if id.is_empty() {
                        id = mount
                            .target
                            .as_deref()
                            .map(|t| t.rsplit('/').next().unwrap_or(t).to_string())
                            .unwrap_or_default();
                    }
                    if mount.target.is_none() && mount.env.is_none() {
                        mount.target = Some(format!("/run/secrets/{id}"));
                    }
                    mount.id = Some(id);
                }
                MountType::Ssh => {
                    if mount.id.is_none() {
                        mount.id = Some("default".to_string());
                    }
                    if mount.target.is_none() {
                        mount.target = Some(format!("/run/buildkit/ssh_agent.{ssh_mounts}"));
                    }
                    ssh_mounts += 1;
                }
                _ => {}
            }
            if let Some(target) = &mount.target
                && !target.starts_with('/')
            {
                mount.target = Some(clean_path(&format!("/{}/{target}", state.workdir)));
            }
            if mount.kind == MountType::Cache && mount.id.is_none() {
                mount.id = mount.target.clone();
            }
            mounts.push(RunMount { mount, from });
        }
        let created_by = format!("RUN {} # buildkit", self.run_command_string(state, &args));
        Ok((
            Op::Run(RunOp {
                args,
                mounts,
                // BuildKit sets the build's network on every stage's state, so
                // `RUN --network=default` takes it too.
                network: match run.network {
                    None | Some(dockerfile::NetworkMode::Default) => self.options.network,
                    Some(dockerfile::NetworkMode::None) => NetworkMode::None,
                    Some(dockerfile::NetworkMode::Host) => NetworkMode::Host,
                },
                security_insecure: run.security == Some(dockerfile::SecurityMode::Insecure),
                heredoc_files,
            }),
            created_by,
        ))
    }

    /// BuildKit `runCommandString`: `|N K=V … args` when ARGs are in scope.
    fn run_command_string(&self, state: &State, args: &[String]) -> String {
        let mut seen: Vec<(String, String)> = Vec::new();
        for (key, value) in &state.build_args {
            let v = state
                .env
                .get(key)
                .map(str::to_string)
                .unwrap_or_else(|| value.clone().unwrap_or_default());
            match seen.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = v,
                None => seen.push((key.clone(), v)),
            }
        }
        let mut parts: Vec<String> = Vec::new();
        if !seen.is_empty() {
            parts.push(format!("|{}", seen.len()));
            parts.extend(seen.iter().map(|(k, v)| format!("{k}={v}")));
        }
        parts.extend(args.iter().cloned());
        parts.join(" ")
    }

    fn dispatch_copy(
        &mut self,
        state: &mut State,
        copy: &CopyArgs,
        is_add: bool,
        location: Location,
    ) -> Result<(Op, String), PlanError> {
        let env = state.env.clone();
        let expand_opt = |this: &Self, v: &Option<String>| -> Result<Option<String>, PlanError> {
            match v {
                Some(v) => Ok(Some(this.expand(v, &env, location)?).filter(|s| !s.is_empty())),
                None => Ok(None),
            }
        };
        let chown = expand_opt(self, &copy.chown)?;
        let chmod = expand_opt(self, &copy.chmod)?;
        let checksum = if is_add {
            expand_opt(self, &copy.checksum)?
        } else {
            None
        };
        let mut sources = Vec::new();
        for src in &copy.sources {
            sources.push(self.expand(src, &env, location)?);
        }
        let dest_written = self.expand(&copy.dest, &env, location)?;
        if let Some(mode) = &chmod
            && !valid_chmod(mode)
        {
            return Err(PlanError::Chmod {
                location,
                value: mode.clone(),
            });
        }
        if checksum.is_some() {
            if sources.len() != 1 {
                return Err(PlanError::Checksum {
                    location,
                    reason: "checksum can't be specified for multiple sources",
                });
            }
            if !sources
                .iter()
                .all(|s| is_http_source(s) || is_git_source(s))
            {
                return Err(PlanError::Checksum {
                    location,
                    reason: "checksum requires HTTP(S) or Git sources",
                });
            }
        }
        if !is_add && sources.iter().any(|s| is_http_source(s)) {
            return Err(PlanError::CopyFromUrl { location });
        }
        let from = match &copy.from {
            // Deliberate extension: BuildKit refuses variables in --from.
            Some(from) => {
                let value = self.expand(from, &env, location)?;
                self.resolve_from(state, &value, location)?
            }
            None => CopySource::Context,
        };
        let mut inline_sources = Vec::new();
        for doc in &copy.heredoc_sources {
            let data = if doc.expand {
                let mut raw = Lexer::new('\\');
                raw.skip_process_quotes = true;
                raw.process_word(&doc.content, &env)
                    .map_err(|source| PlanError::Expand { location, source })?
            } else {
                doc.content.clone()
            };
            inline_sources.push(InlineFile {
                path: doc.name.clone(),
                data,
                mode: 0o644,
            });
        }
        let mut message = if is_add { "ADD" } else { "COPY" }.to_string();
        if copy.parents {
            message.push_str(" --parents");
        }
        if let Some(c) = &chown {
            message.push_str(&format!(" --chown={c}"));
        }
        if let Some(c) = &chmod {
            message.push_str(&format!(" --chmod={c}"));
        }
        for src in &sources {
            message.push_str(&format!(" {src}"));
        }
        for doc in &copy.heredoc_sources {
            message.push_str(&format!(" <<{}", doc.name));
        }
        message.push_str(&format!(" {dest_written} # buildkit"));
        let op = CopyOp {
            is_add,
            from,
            sources,
            inline_sources,
            dest: dest_path(&state.workdir, &dest_written),
            link: copy.link && chmod.is_none(),
            chown,
            chmod,
            parents: copy.parents,
            exclude: copy.exclude.clone(),
            checksum,
            keep_git_dir: copy.keep_git_dir.unwrap_or(false),
            unpack: copy.unpack,
        };
        Ok((Op::Copy(op), message))
    }
}

/// `fmt.Sprintf("HEALTHCHECK %+v", HealthcheckConfig)`.
fn health_text(
    test: &[String],
    interval: i64,
    timeout: i64,
    start_period: i64,
    start_interval: i64,
    retries: i64,
) -> String {
    format!(
        "HEALTHCHECK {{Test:{} Interval:{} Timeout:{} StartPeriod:{} StartInterval:{} Retries:{}}}",
        gofmt::slice(test),
        gofmt::duration(interval),
        gofmt::duration(timeout),
        gofmt::duration(start_period),
        gofmt::duration(start_interval),
        retries
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let cases = [
            ("/app", "rel", "/app/rel"),
            ("/app", "./", "/app/"),
            ("/app/sub2", "../up", "/app/up"),
            ("/", "/x/", "/x/"),
            ("/a", "/abs/.", "/abs/"),
            ("/a", "x/.", "/a/x/"),
            ("/a", "/x/../y", "/y"),
            ("/a", "", "/a/"),
            ("/", ".", "/"),
        ];
        for (wd, dest, expected) in cases {
            assert_eq!(dest_path(wd, dest), expected, "{wd} {dest}");
        }
        let workdirs = [
            ("", "/a", "/a"),
            ("/a", "b", "/a/b"),
            ("/a/b", "../c", "/a/c"),
            ("/a", "/x/../y", "/x/../y"),
        ];
        for (current, path, expected) in workdirs {
            assert_eq!(normalize_path(current, path, false), expected);
        }
    }

    #[test]
    fn ports() {
        assert_eq!(
            parse_port("8000-8002"),
            Ok(vec![
                "8000/tcp".into(),
                "8001/tcp".into(),
                "8002/tcp".into()
            ])
        );
        assert_eq!(parse_port("53/UDP"), Ok(vec!["53/udp".into()]));
        assert!(parse_port("80/xyz").is_err());
        assert!(parse_port("70000").is_err());
    }

    #[test]
    fn chmod_values() {
        for ok in ["0755", "755", "4755", "0", "u=rwX,go=rX", "a+x", "go-w"] {
            assert!(valid_chmod(ok), "{ok}");
        }
        for bad in ["64a", "10000", "0888", "x", ""] {
            assert!(!valid_chmod(bad), "{bad}");
        }
    }
}
