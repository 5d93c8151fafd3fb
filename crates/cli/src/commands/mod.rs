//! The image commands (everything but `build`), one module each. Each
//! parses its arguments into a call of `engine::ops` and prints the result;
//! no logic about images lives here.

mod du;
mod fsck;
mod images;
mod inspect;
mod load;
mod prune;
mod pull;
mod push;
mod rmi;
mod save;
mod tag;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::args::{Command, GlobalArgs};
use crate::build::UsageError;
use crate::report;

/// Runs an image command; `build` is dispatched by `main`.
pub fn run(global: &GlobalArgs, command: Command) -> ExitCode {
    let root = store_root(global);
    let result = match command {
        Command::Build(_) => unreachable_build(),
        Command::Pull(args) => pull::run(&root, &args),
        Command::Push(args) => push::run(&root, &args),
        Command::Images(args) => images::run(&root, &args),
        Command::Inspect(args) => inspect::run(&root, &args),
        Command::Tag(args) => tag::run(&root, &args),
        Command::Rmi(args) => rmi::run(&root, &args),
        Command::Save(args) => save::run(&root, &args),
        Command::Load(args) => load::run(&root, &args),
        Command::Prune(args) => prune::run(&root, &args),
        Command::Du(args) => du::run(&root, &args),
        Command::Fsck(args) => fsck::run(&root, &args),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(error)) => {
            report::usage_error(&error);
            ExitCode::from(2)
        }
        Err(Failure::Ops(error)) => {
            report::ops_error(&error);
            ExitCode::FAILURE
        }
    }
}

fn unreachable_build() -> Result<ExitCode, Failure> {
    Err(Failure::Usage(UsageError {
        message: "internal error: build dispatched as an image command".to_string(),
        hint: None,
    }))
}

/// Why a command failed: its arguments, or the operation.
pub enum Failure {
    Usage(UsageError),
    Ops(Box<engine::ops::OpsError>),
}

impl From<engine::ops::OpsError> for Failure {
    fn from(error: engine::ops::OpsError) -> Failure {
        Failure::Ops(Box::new(error))
    }
}

impl From<UsageError> for Failure {
    fn from(error: UsageError) -> Failure {
        Failure::Usage(error)
    }
}

pub type Outcome = Result<ExitCode, Failure>;

fn store_root(global: &GlobalArgs) -> PathBuf {
    global
        .root
        .clone()
        .unwrap_or_else(engine::default_store_root)
}

/// `os/arch[/variant]`, default the host's.
fn platform(spec: Option<&str>) -> Result<oci::Platform, UsageError> {
    let Some(spec) = spec else {
        return Ok(oci::Platform::host());
    };
    let parts: Vec<&str> = spec.split('/').collect();
    match parts.as_slice() {
        [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(oci::Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: parts
                .get(2)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string()),
            os_version: None,
        }),
        _ => Err(UsageError {
            message: format!("invalid --platform {spec:?}"),
            hint: Some("write it as os/arch[/variant], e.g. linux/arm64".to_string()),
        }),
    }
}

/// Sizes as docker prints them: decimal units, three significant digits.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else if value < 10.0 {
        format!("{value:.2}{}", UNITS[unit])
    } else if value < 100.0 {
        format!("{value:.1}{}", UNITS[unit])
    } else {
        format!("{value:.0}{}", UNITS[unit])
    }
}

/// The 12 hex digits docker shows for a digest.
pub fn short(digest: &oci::Digest) -> String {
    digest.hex().chars().take(12).collect()
}

/// Pretty JSON for stdout; serialising a `Value` cannot fail.
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_docker() {
        for (bytes, text) in [
            (0, "0B"),
            (999, "999B"),
            (1_000, "1.00kB"),
            (4_261_000, "4.26MB"),
            (52_400_000, "52.4MB"),
            (734_000_000, "734MB"),
            (2_000_000_000_000_000, "2000TB"),
        ] {
            assert_eq!(super::human_size(bytes), text, "{bytes}");
        }
    }

    #[test]
    fn platforms_parse() {
        for (spec, ok) in [
            ("linux/amd64", true),
            ("linux/arm64/v8", true),
            ("linux", false),
            ("/amd64", false),
            ("a/b/c/d", false),
        ] {
            assert_eq!(super::platform(Some(spec)).is_ok(), ok, "{spec}");
        }
    }
}
