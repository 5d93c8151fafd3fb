//! Scheduling a build graph: cache keys, dedup of identical steps, parallel
//! execution and cancellation.
//!
//! Architecture Invariant: pure scheduling logic. No namespaces, tar, registries or
//! Dockerfile syntax; steps are run through a trait the engine implements.
