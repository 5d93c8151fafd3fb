//! `prune`, `du` and `fsck`: the store's own garbage collection, usage and
//! consistency checks (see the `store` crate's `gc` module), opened at a
//! root.

use std::path::Path;

use super::{OpsError, open_store, store_op};

/// Deletes what no tag or cache record reaches. Fails while another decant
/// process has the store open.
pub fn prune(
    store_root: &Path,
    options: &store::PruneOptions,
) -> Result<store::PruneReport, OpsError> {
    let mut store = open_store(store_root)?;
    store.prune(options).map_err(store_op("prune"))
}

/// Sizes and counts per area of the store.
pub fn du(store_root: &Path) -> Result<store::DiskUsage, OpsError> {
    open_store(store_root)?.du().map_err(store_op("disk usage"))
}

/// Re-hashes every blob and checks that every tag names a complete image;
/// with `repair`, deletes corrupt blobs and stray files.
pub fn fsck(store_root: &Path, repair: bool) -> Result<store::FsckReport, OpsError> {
    open_store(store_root)?
        .fsck(repair)
        .map_err(store_op("fsck"))
}
