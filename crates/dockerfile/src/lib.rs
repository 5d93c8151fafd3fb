//! Turning Dockerfile text into a typed AST with spans and diagnostics, word
//! expansion, and `.dockerignore`/wildcard patterns with Go semantics.
//!
//! Architecture Invariant: pure. Takes `&str`, does no IO, is not async,
//! knows nothing of files, images or the build.

pub mod pattern;
