//! The typed Dockerfile AST. Values are kept as written (unexpanded): which
//! words get expanded, and with which variables, is decided by the planner,
//! which owns ARG/ENV scoping.

use crate::diagnostic::Diagnostic;
use crate::mount::MountSpec;

/// Where an instruction is: 1-based line and column of its keyword, and the
/// last line it spans (continuations and heredoc bodies included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
}

impl Span {
    pub fn at(line: usize, column: usize) -> Span {
        Span {
            line,
            column,
            end_line: line,
        }
    }
}

/// A parser directive (`# syntax=`, `# escape=`, `# check=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// A heredoc attached to RUN/COPY/ADD. `content` is the body as written
/// (line endings kept, leading tabs not yet stripped for `<<-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub file_descriptor: u32,
    /// False when the delimiter was quoted (`<<'EOF'`): no expansion.
    pub expand: bool,
    /// `<<-EOF`: leading tabs are stripped.
    pub chomp: bool,
    pub content: String,
}

/// A parsed Dockerfile: global (meta) ARGs before the first FROM, then stages.
#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    pub escape: char,
    pub directives: Vec<Directive>,
    /// ARG instructions before the first FROM.
    pub meta_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// Non-fatal findings (e.g. empty continuation lines).
    pub warnings: Vec<Diagnostic>,
}

/// One `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Position among all FROMs, from 0 (what `--from=<index>` counts).
    pub index: usize,
    pub span: Span,
    /// The FROM line as written.
    pub text: String,
    pub from: From,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The base as written (may contain `$ARG`s).
    pub image: String,
    /// The stage name, lower-cased as BuildKit stores it.
    pub name: Option<String>,
    /// `--platform` as written.
    pub platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    pub span: Span,
    /// The keyword as written (any case).
    pub keyword: String,
    /// The logical line (continuations joined), as BuildKit's `Original`.
    pub text: String,
    pub kind: InstructionKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InstructionKind {
    Add(CopyArgs),
    Arg(Vec<ArgDecl>),
    Cmd(CommandLine),
    Copy(CopyArgs),
    Entrypoint(CommandLine),
    Env(Vec<KeyValue>),
    Expose(Vec<String>),
    Healthcheck(Healthcheck),
    Label(Vec<KeyValue>),
    Maintainer(String),
    Onbuild(Onbuild),
    Run(Run),
    Shell(Vec<String>),
    StopSignal(String),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
}

impl InstructionKind {
    /// The canonical upper-case keyword.
    pub fn name(&self) -> &'static str {
        match self {
            InstructionKind::Add(_) => "ADD",
            InstructionKind::Arg(_) => "ARG",
            InstructionKind::Cmd(_) => "CMD",
            InstructionKind::Copy(_) => "COPY",
            InstructionKind::Entrypoint(_) => "ENTRYPOINT",
            InstructionKind::Env(_) => "ENV",
            InstructionKind::Expose(_) => "EXPOSE",
            InstructionKind::Healthcheck(_) => "HEALTHCHECK",
            InstructionKind::Label(_) => "LABEL",
            InstructionKind::Maintainer(_) => "MAINTAINER",
            InstructionKind::Onbuild(_) => "ONBUILD",
            InstructionKind::Run(_) => "RUN",
            InstructionKind::Shell(_) => "SHELL",
            InstructionKind::StopSignal(_) => "STOPSIGNAL",
            InstructionKind::User(_) => "USER",
            InstructionKind::Volume(_) => "VOLUME",
            InstructionKind::Workdir(_) => "WORKDIR",
        }
    }
}

/// `ENV`/`LABEL` pair as written (quotes still in place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// The legacy `ENV key value` form (no `=`).
    pub legacy: bool,
}

/// One name of an `ARG`, with its default as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

/// The exec (JSON) or shell form of RUN/CMD/ENTRYPOINT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub command: CommandLine,
    pub heredocs: Vec<Heredoc>,
    pub mounts: Vec<MountSpec>,
    pub network: Option<NetworkMode>,
    pub security: Option<SecurityMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityMode {
    Sandbox,
    Insecure,
}

/// An inline file from a heredoc source of COPY/ADD (tabs already stripped
/// for `<<-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeredocSource {
    pub name: String,
    pub content: String,
    pub expand: bool,
}

/// COPY and ADD; the parser only accepts each instruction's own flags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    pub sources: Vec<String>,
    pub heredoc_sources: Vec<HeredocSource>,
    pub dest: String,
    /// `--from` (COPY only).
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    /// `--parents` (COPY only).
    pub parents: bool,
    pub exclude: Vec<String>,
    /// `--checksum` (ADD only).
    pub checksum: Option<String>,
    /// `--keep-git-dir` (ADD only).
    pub keep_git_dir: Option<bool>,
    /// `--unpack` (ADD only).
    pub unpack: Option<bool>,
    /// JSON form was used.
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    None,
    Check(HealthCheck),
}

/// Durations are nanoseconds (Go `time.Duration`); 0 means unset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthCheck {
    /// `["CMD", args...]` or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub start_interval: i64,
    pub retries: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Onbuild {
    /// The trigger text stored in the image config (`OnBuild`).
    pub expression: String,
    pub trigger: Box<Instruction>,
}
