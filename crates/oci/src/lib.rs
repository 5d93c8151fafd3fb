//! The shared vocabulary of decant: [`Digest`], [`Descriptor`], [`MediaType`]
//! constants, [`Platform`], the image [`ImageConfig`], [`Manifest`] and
//! [`Index`], and image references ([`reference`]).
//!
//! Every other crate speaks in these types, so this crate owns no behaviour
//! beyond (de)serialisation, validation and hashing of bytes it is handed.
//!
//! Why not `oci-spec`'s image types: the image config that BuildKit writes,
//! even into OCI images, keeps Docker's extension fields (`Healthcheck`,
//! `Shell`, `OnBuild`, `ArgsEscaped`), which `oci-spec`'s
//! `ImageConfiguration` drops on a round trip. Users compare our configs with
//! `docker inspect`, and the conformance suite compares those fields, so we
//! own plain serde structs that keep unknown fields out of our way but keep
//! every field Docker writes.
//!
//! Architecture Invariant: no IO, no HTTP, no knowledge of Dockerfiles.

pub mod config;
pub mod digest;
pub mod manifest;
pub mod reference;

pub use config::{HealthConfig, History, ImageConfig, RootFs, RunConfig};
pub use digest::{DiffId, Digest, DigestError, Sha256Writer};
pub use manifest::{Descriptor, Index, Manifest, MediaType, Platform};
pub use reference::{Reference, ReferenceError};
