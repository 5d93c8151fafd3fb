//! Planning errors. Every variant that comes from a line of the Dockerfile
//! carries its [`Location`], so the CLI can print `Dockerfile:LINE:COL`.

use std::fmt;

use dockerfile::{Diagnostic, ExpandError, MountError};

/// A place in the Dockerfile (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dockerfile:{}:{}", self.line, self.column)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{location}: {source}")]
    Expand {
        location: Location,
        #[source]
        source: ExpandError,
    },
    #[error("{location}: base name ({base}) should not be blank{}", undefined_hint(.undefined))]
    BlankBaseName {
        location: Location,
        base: String,
        undefined: Vec<String>,
    },
    #[error("{location}: failed to parse platform {value:?}: {reason}")]
    InvalidPlatform {
        location: Location,
        value: String,
        reason: String,
    },
    #[error("target stage {target:?} could not be found{}", suggestion_hint(.suggestion))]
    TargetNotFound {
        target: String,
        suggestion: Option<String>,
    },
    #[error(
        "{location}: cannot copy from stage {from:?}, it needs to be defined before current stage {stage:?}"
    )]
    StageDefinedLater {
        location: Location,
        from: String,
        stage: String,
    },
    #[error("{location}: circular dependency detected on stage: {stage}")]
    CircularDependency { location: Location, stage: String },
    #[error("{location}: stage {stage} depends on a chain of more than {limit} stages")]
    DependencyChainTooDeep {
        location: Location,
        stage: String,
        limit: usize,
    },
    #[error("{location}: invalid stage index {index}")]
    InvalidStageIndex { location: Location, index: String },
    #[error("{location}: failed to resolve base image {reference}")]
    Resolve {
        location: Location,
        reference: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{location}: invalid --mount: {source}")]
    Mount {
        location: Location,
        #[source]
        source: MountError,
    },
    #[error(
        "{location}: invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"
    )]
    Chmod { location: Location, value: String },
    #[error("{location}: {reason}")]
    Checksum {
        location: Location,
        reason: &'static str,
    },
    #[error("{location}: source can't be a URL for COPY")]
    CopyFromUrl { location: Location },
    #[error("{location}: invalid port {port:?}: {reason}")]
    Port {
        location: Location,
        port: String,
        reason: String,
    },
    #[error("{location}: invalid signal: {value}")]
    Signal { location: Location, value: String },
    #[error("{location}: VOLUME specified can not be an empty string")]
    EmptyVolume { location: Location },
    #[error("{location}: invalid ONBUILD trigger {trigger:?} of the base")]
    Onbuild {
        location: Location,
        trigger: String,
        #[source]
        source: Diagnostic,
    },
}

fn undefined_hint(undefined: &[String]) -> String {
    if undefined.is_empty() {
        String::new()
    } else {
        format!(
            "\nhint: ARG {} is not defined before the first FROM (or given with --build-arg)",
            undefined.join(", ")
        )
    }
}

fn suggestion_hint(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("\nhint: did you mean {s}?"),
        None => String::new(),
    }
}
