//! The on-disk content-addressed store under one root directory: blobs by
//! digest (atomic, verified), image records and tags, unpacked layers keyed by
//! chain ID, the build cache index, a cross-process lock and GC.
//!
//! Architecture Invariant: knows nothing of what blobs mean beyond digests, and
//! nothing of HTTP.
