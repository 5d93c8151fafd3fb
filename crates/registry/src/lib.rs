//! The OCI distribution client: registries.conf mirrors and insecure
//! registries, docker credentials, manifest/index resolution, verified blob
//! pulls and pushes with retries.
//!
//! Architecture Invariant: knows nothing of the store's layout or the build graph.
