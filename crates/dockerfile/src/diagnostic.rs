//! Parse errors with a place: `Dockerfile:LINE:COL: message`, the source
//! line with a caret under the column, and a `hint:` when we can guess what
//! was meant.

use std::fmt;

use crate::ast::Span;
use crate::mount::MountError;
use crate::shell::ExpandError;

/// What went wrong while parsing. Messages follow BuildKit's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("file with no instructions")]
    NoInstructions,
    #[error("dockerfile contains no stages to build")]
    NoStages,
    #[error("{instruction} is not allowed before the first FROM (only ARG is)")]
    InstructionBeforeFrom { instruction: String },
    #[error("unknown instruction: {name}")]
    UnknownInstruction { name: String },
    #[error("only one {name} parser directive can be used")]
    DuplicateDirective { name: String },
    #[error("invalid escape token '{value}' does not match ` or \\")]
    InvalidEscapeToken { value: String },
    #[error("empty continuation line")]
    EmptyContinuationLine,
    #[error("unknown flag: --{flag} for {instruction}")]
    UnknownFlag { instruction: String, flag: String },
    #[error("arg should start with -- : {arg}")]
    FlagWithoutDashes { arg: String },
    #[error("duplicate flag specified: --{flag}")]
    DuplicateFlag { flag: String },
    #[error("missing a value on flag: --{flag}")]
    FlagMissingValue { flag: String },
    #[error("expecting boolean value for flag --{flag}, not: {value}")]
    FlagNotBool { flag: String, value: String },
    #[error("{instruction} requires exactly one argument")]
    ExactlyOneArgument { instruction: String },
    #[error("{instruction} requires at least one argument")]
    AtLeastOneArgument { instruction: String },
    #[error(
        "{instruction} requires at least two arguments, but only one was provided. Destination could not be determined"
    )]
    NoDestination { instruction: String },
    #[error("{instruction} must have two arguments")]
    TwoArguments { instruction: String },
    #[error("syntax error - can't find = in {word:?}. Must be of the form: name=value")]
    MissingEquals { word: String },
    #[error("{instruction} names can not be blank")]
    BlankName { instruction: String },
    #[error("FROM requires either one or three arguments")]
    FromArguments,
    #[error(
        "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
    )]
    InvalidStageName { name: String },
    #[error("when using JSON array syntax, arrays must be comprised of strings only")]
    JsonNotStrings,
    #[error("SHELL requires the arguments to be in JSON form")]
    ShellNotJson,
    #[error("{instruction} cannot accept a heredoc as a destination")]
    HeredocDestination { instruction: String },
    #[error("unterminated heredoc {name}")]
    UnterminatedHeredoc { name: String },
    #[error("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    OnbuildChain,
    #[error("{instruction} isn't allowed as an ONBUILD trigger")]
    OnbuildTrigger { instruction: String },
    #[error("HEALTHCHECK NONE takes no arguments")]
    HealthcheckNoneArguments,
    #[error("missing command after HEALTHCHECK CMD")]
    HealthcheckMissingCommand,
    #[error("unknown type {kind:?} in HEALTHCHECK (try CMD)")]
    HealthcheckType { kind: String },
    #[error("invalid duration {value:?} for --{flag}")]
    InvalidDuration { flag: String, value: String },
    #[error("interval --{flag} cannot be less than 1ms")]
    DurationTooShort { flag: String },
    #[error("invalid --retries value {value:?}")]
    InvalidRetries { value: String },
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    #[error("invalid --network value {value:?} (expected default, none or host)")]
    InvalidNetwork { value: String },
    #[error("invalid --security value {value:?} (expected sandbox or insecure)")]
    InvalidSecurity { value: String },
    #[error("invalid --mount: {source}")]
    Mount {
        #[source]
        source: MountError,
    },
    #[error("{source}")]
    Expand {
        #[source]
        source: ExpandError,
    },
}

/// A parse error (or warning) at a place in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Span,
    /// Boxed: the error enum is large and diagnostics travel in `Result`s.
    pub kind: Box<ParseErrorKind>,
    /// The source line the span starts on, for the snippet.
    pub source_line: Option<String>,
    /// What the user probably meant, e.g. `did you mean COPY?`.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Span, kind: ParseErrorKind, source_line: Option<&str>) -> Diagnostic {
        Diagnostic {
            span,
            kind: Box::new(kind),
            source_line: source_line.map(|l| l.trim_end_matches(['\r', '\n']).to_string()),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Diagnostic {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Dockerfile:{}:{}: {}",
            self.span.line, self.span.column, self.kind
        )?;
        if let Some(line) = &self.source_line {
            let number = self.span.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_pad: String = line
                .chars()
                .take(self.span.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n {pad} |\n {number} | {line}\n {pad} | {caret_pad}^")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.kind.as_ref())
    }
}
