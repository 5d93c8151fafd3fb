//! Running one process isolated in Linux namespaces over a prepared root, in a
//! re-exec'd single-threaded helper. All `unsafe` in decant lives here.
//!
//! Architecture Invariant: knows nothing of images, layers or Dockerfiles.
