//! Turning a Dockerfile AST, build args, a target and named contexts into a
//! [BuildGraph]: the DAG of stages and steps, pruned to the target, with
//! ARG/ENV scoping and `--from` resolution done.
//!
//! Architecture Invariant: pure. No IO, no async, no knowledge of how steps run.
