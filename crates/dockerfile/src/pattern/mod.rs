//! Path patterns with the exact semantics of the Go code BuildKit runs.
//!
//! Two pattern languages live here, because Docker has two:
//!
//! - [`filepath_match`] is Go's `path/filepath.Match` (Unix flavour), which
//!   BuildKit uses for COPY/ADD source wildcards. `*` and `?` never cross a
//!   `/`, `[...]` classes negate with `^`, `\` escapes, there is no `**` and no
//!   `{a,b}`, and a malformed pattern is an error ([`PatternError::BadPattern`])
//!   even when the name would not have matched.
//! - [`PatternMatcher`] is moby/patternmatcher, used for `.dockerignore` and
//!   `COPY --exclude`. Patterns are trimmed and `filepath.Clean`ed, `!` marks
//!   an exception, `**` crosses directories, the last matching pattern wins and
//!   a path is matched when it or any parent directory matches. Upstream
//!   compiles each pattern to a Go regexp; we build the same Go regexp text
//!   and translate it into the `regex` crate's dialect (see `goregex`), so that
//!   quirks such as `[` being literal inside a class survive.
//!
//! [`parse_ignore_file`] turns `.dockerignore` text into patterns the way
//! moby's `ignorefile.ReadAll` does.
//!
//! Architecture Invariant: pure string functions. This module never touches
//! the filesystem; walking a context and pruning directories (only allowed
//! when [`PatternMatcher::has_exclusions`] is false) is the caller's job.

mod filepath;
mod goregex;
mod ignorefile;
mod matcher;

pub use filepath::{clean, filepath_match, has_wildcards};
pub use goregex::GoRegexError;
pub use ignorefile::parse_ignore_file;
pub use matcher::PatternMatcher;

/// Why a pattern was rejected.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum PatternError {
    /// Go's `filepath.ErrBadPattern`: unterminated class, empty class,
    /// dangling `\` or `-`, and so on.
    #[error("syntax error in pattern `{pattern}`")]
    BadPattern { pattern: String },
    /// A `.dockerignore` line consisting of `!` alone.
    #[error("illegal exclusion pattern: \"!\"")]
    IllegalExclusion,
    /// The pattern passed `filepath.Match` validation but its regexp form is
    /// invalid for Go's regexp too (for example the range `l-O` in
    /// `[Local-Only]`); moby reports `ErrBadPattern` at match time, we report
    /// it when the matcher is built.
    #[error("syntax error in pattern `{pattern}`: regexp `{regexp}`: {reason}")]
    BadRegexp {
        pattern: String,
        regexp: String,
        reason: goregex::GoRegexError,
    },
    /// The translated regexp was refused by the `regex` crate (a construct Go
    /// accepts and Rust does not, such as an unknown `\p{...}` script).
    #[error("pattern `{pattern}` compiles to regexp `{regexp}` which cannot be built")]
    Unsupported {
        pattern: String,
        regexp: String,
        #[source]
        source: Box<regex::Error>,
    },
}

#[cfg(test)]
mod tests;
