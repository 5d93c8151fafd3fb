//! The only crate that knows all the others: runs the pipeline from parse to
//! export and implements the solver's step runner.
//!
//! Architecture Invariant: no terminal rendering, no clap.

pub mod copy;
