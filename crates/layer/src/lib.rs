//! Reading and writing layer tars with OCI whiteouts: deterministic writes,
//! gzip/zstd with digests computed while streaming, and safe extraction
//! confined to a root.
//!
//! Architecture Invariant: knows nothing of registries or the build graph.
