//! Writing a built image out: OCI layout (dir or tar), docker-archive, a
//! local rootfs dir or tar.
//!
//! Architecture Invariant: knows nothing of Dockerfiles or the solver.
