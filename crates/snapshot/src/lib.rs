//! Root filesystems for build steps: overlayfs over a chain of unpacked layers
//! with a fresh upper dir, or a copy plus tree diff where overlayfs is
//! unavailable; committing yields the change set of the step.
//!
//! Architecture Invariant: knows nothing of tar or cache keys.
