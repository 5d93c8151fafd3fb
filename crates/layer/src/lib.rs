//! Reading and writing layer tars with OCI whiteouts: deterministic writes,
//! gzip/zstd with digests computed while streaming, and safe extraction
//! confined to a root.
//!
//! A *diff dir* is an overlayfs upper dir: whiteouts are character devices
//! 0:0 and opaque directories carry the `trusted.overlay.opaque=y` (or, for
//! rootless mounts with `userxattr`, `user.overlay.opaque=y`) xattr. Both
//! snapshot drivers produce that format, so [`write_layer`] has one input
//! format. [`apply_layer`] goes the other way and can produce either a merged
//! root (whiteouts delete) or an overlay lower dir (whiteouts stay devices).
//!
//! Determinism: a layer's bytes are a pure function of the diff dir and the
//! [`WriteOptions`]. Entries are written in walk order (a directory, then its
//! children sorted by name bytes, as Go's `filepath.Walk` that BuildKit's
//! differ uses), headers are built field by field (no user/group names, no
//! atime/ctime), and both compressors are used in a mode whose output does
//! not depend on write sizes or thread counts (see `write` for the why).
//!
//! Safety: extraction never uses `tar::Archive::unpack`. Each entry's parent
//! is resolved with `openat2(RESOLVE_IN_ROOT)`, and the final component is
//! only ever touched with `*at` calls that do not follow it (see `confined`).
//!
//! Architecture Invariant: knows nothing of registries or the build graph.

mod apply;
mod confined;
mod error;
mod pax;
mod write;

pub use apply::{ApplyLimits, ApplyMode, apply_layer};
pub use error::LayerError;
pub use write::{Compression, WriteOptions, WrittenLayer, compress_tar, write_layer};

/// The OCI whiteout prefix: `.wh.<name>` deletes `<name>` from lower layers.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The OCI opaque marker: `<dir>/.wh..wh..opq` hides the lower contents of `<dir>`.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// Names with this prefix are AUFS metadata (`.wh..wh.plnk`, ...), never files.
pub(crate) const WHITEOUT_META_PREFIX: &str = ".wh..wh.";
/// The overlayfs opaque xattr when mounted as real root.
pub const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// The overlayfs opaque xattr under the `userxattr` mount option (rootless).
pub const OVERLAY_USER_OPAQUE_XATTR: &str = "user.overlay.opaque";
