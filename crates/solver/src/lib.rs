//! Scheduling a build graph: content-addressed cache keys ([`CacheKey`]) and
//! running a DAG of jobs on a bounded number of threads ([`run_graph`]), in
//! dependency order, stopping at the first failure.
//!
//! The solver is generic over what a job is: the engine hands it one job per
//! stage and a closure that builds that stage. Keeping the scheduler free of
//! namespaces, tar and registries lets it be tested with plain closures.
//!
//! Architecture Invariant: pure scheduling logic. No namespaces, tar,
//! registries or Dockerfile syntax; no IO of its own (threads only).

pub mod cache_key;
pub mod schedule;

pub use cache_key::{CacheKey, Fields, Reserved};
pub use schedule::{GraphError, run_graph};
