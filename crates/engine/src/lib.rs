//! The only crate that knows all the others: it runs the pipeline from a
//! Dockerfile to an exported image, and implements the solver's job runner
//! with the snapshot, executor, layer, store and registry crates.
//!
//! # The pipeline
//!
//! [`build`] runs these steps in order:
//!
//! 1. **Read and parse** the Dockerfile (`dockerfile::parse`); a syntax error
//!    stops here with a `file:line:col` diagnostic.
//! 2. **Plan** (`plan::plan`): build args, target and ARG/ENV scoping turn the
//!    AST into a graph of the stages the target needs. The planner asks us
//!    (through [`plan::BaseResolver`]) for the config of each external base
//!    image it needs, and only for those: a stage the target does not need
//!    never has its base resolved.
//! 3. **Solve** (`solver::run_graph`): one job per stage, independent stages
//!    in parallel. Each filesystem step (RUN, COPY/ADD, WORKDIR) gets a cache
//!    key from its parent's key, the step's definition, the checksums of what
//!    it reads and the environment; a key found in the store's cache index
//!    reuses that layer, anything else runs in a snapshot and commits a layer.
//! 4. **Assemble** the image: the planner's config for the target stage,
//!    `rootfs.diff_ids` and `history` from the steps, and a manifest.
//! 5. **Export** to every requested output; only a complete image is tagged.
//!
//! Architecture Invariant: no terminal rendering and no clap. Progress goes
//! out as [`Event`]s; the CLI decides how to show them.

// BuildError carries the Dockerfile text and line for display; it is only
// built on the failure path, once per build, so its size costs nothing worth
// the noise of boxing every variant.
#![allow(clippy::result_large_err)]

pub mod copy;

mod checksum_record;
mod context;
mod error;
mod events;
mod image;
mod layers;
mod mounts;
mod oci_layout;
pub mod ops;
mod remote;
mod request;
mod rootfs;
mod stage;

pub use error::BuildError;
pub use events::Event;
pub use layers::BlobWriteError;
pub use mounts::MountError;
pub use oci_layout::OciLayoutError;
pub use remote::RemoteError;
pub use request::{BuildOutcome, BuildRequest, Output, SecretSource};

pub use executor::Ulimit;
pub use image::build;
pub use image::plan_only;
pub use plan::NetworkMode;

/// The RUN helper's entry points, re-exported so that the CLI, which may only
/// depend on `engine` and `oci`, can dispatch the hidden helper subcommand.
pub mod helper {
    pub use executor::{HELPER_ARG, helper_main, isolate_mounts};
}

/// Entry points for the criterion benches under `benches/`; not an API.
#[doc(hidden)]
pub mod bench {
    use std::path::Path;

    use crate::context::Context;
    use crate::error::BuildError;

    /// The cache-key contribution of `sources` in the context `dir`, as a
    /// COPY step computes it, using (and then saving) the checksum cache of
    /// the store at `store_root` when one is given.
    pub fn context_checksum(
        dir: &Path,
        sources: &[String],
        store_root: Option<&Path>,
    ) -> Result<oci::Digest, BuildError> {
        let mut context = Context::load(dir, Some(&dir.join("Dockerfile")))?;
        let store = store_root
            .map(|root| {
                store::Store::open(root).map_err(|source| BuildError::Store {
                    path: root.to_path_buf(),
                    source,
                })
            })
            .transpose()?;
        if let Some(store) = &store {
            context.load_checksum_cache(store);
        }
        let mut key = solver::CacheKey::new("bench");
        context.checksum(sources, &mut key)?;
        if let Some(store) = &store {
            context
                .save_checksum_cache(store)
                .map_err(|source| BuildError::StoreOp {
                    what: "context checksum cache".to_string(),
                    source,
                })?;
        }
        Ok(key.finish())
    }
}

/// The store directory used when neither `--root` nor `DECANT_ROOT` is given.
pub fn default_store_root() -> std::path::PathBuf {
    store::Store::default_root()
}
