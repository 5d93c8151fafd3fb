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

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build an image from a Dockerfile
    Build(BuildArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    Auto,
    Tty,
    Plain,
    Json,
    Quiet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The build context directory
    #[arg(value_name = "CONTEXT", default_value = ".")]
    pub context: PathBuf,
    /// The Dockerfile [default: CONTEXT/Dockerfile]
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
    /// Output destination: type=oci|docker|image|local|tar[,dest=PATH][,tar=false][,compression=gzip|zstd|uncompressed], or a directory path
    #[arg(short = 'o', long = "output", value_name = "SPEC")]
    pub outputs: Vec<String>,
    /// Set metadata for the image (repeatable)
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,
    /// Do not use the cache
    #[arg(long)]
    pub no_cache: bool,
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
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "text", value_name = "FORMAT")]
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
    /// docker build flags that decant does not support yet; refused with a message
    #[arg(long, hide = true, value_name = "VALUE")]
    pub push: bool,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub platform: Option<String>,
    /// Expose a secret to `RUN --mount=type=secret` (repeatable): id=ID,src=FILE or id=ID,env=VAR
    #[arg(long, value_name = "id=ID,src=PATH|env=VAR")]
    pub secret: Vec<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub ssh: Vec<String>,
    #[arg(long = "cache-from", hide = true, value_name = "VALUE")]
    pub cache_from: Vec<String>,
    #[arg(long = "cache-to", hide = true, value_name = "VALUE")]
    pub cache_to: Vec<String>,
}
