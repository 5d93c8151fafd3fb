//! Writing a built image out, and reading an exported image back in.
//!
//! This crate owns the *on-disk image formats* that leave decant:
//!
//! * the OCI image layout, as a tarball ([`write_oci_archive`], what
//!   `--output type=oci` writes) or a directory ([`write_oci_dir`],
//!   `type=oci,tar=false`);
//! * the docker-archive that `docker load` accepts ([`write_docker_archive`],
//!   `type=docker`);
//! * a plain root filesystem, as a tar ([`write_rootfs_tar`], `type=tar`) or a
//!   directory ([`write_rootfs_dir`], `type=local`);
//! * and the way back: [`read_archive`] opens an OCI layout (tar or dir) or a
//!   docker-archive for `decant load`.
//!
//! The image writers take an [`ImageToExport`] (the manifest and config exactly
//! as they will be digested) and a [`BlobSource`] that opens layer blobs by
//! digest, usually the store. Every blob is verified against its descriptor
//! while it is copied, so a corrupted store cannot produce an archive whose
//! digests lie; the bytes of manifests, configs and layers are never
//! re-encoded, so digests in the output are the digests the build computed.
//!
//! Two properties hold for every writer:
//!
//! * **Deterministic bytes.** Archive entries are sorted by path, owned by
//!   0:0 with mode 0644/0755 and mtime 0, so the same image always gives the
//!   same archive (reproducible-builds users diff and hash them).
//! * **Atomic files.** A tarball is written to a temp file in the destination's
//!   directory and renamed over the destination only when complete and
//!   synced, so a failed export never leaves a partial file behind.
//!
//! Architecture Invariant: this crate knows nothing of Dockerfiles, the
//! solver, the store's layout or registries. It sees images only as
//! manifest + config bytes + blobs by digest, and root filesystems only as
//! already-materialised directories.

mod atomic;
mod docker_archive;
mod error;
mod image;
mod oci_layout;
mod read;
mod rootfs;
mod tarball;

pub use docker_archive::{write_docker_archive, write_docker_archive_to};
pub use error::ExportError;
pub use image::{BlobSource, ImageToExport};
pub use oci_layout::{
    ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, write_oci_archive, write_oci_archive_to,
    write_oci_dir,
};
pub use read::{ArchiveFormat, LoadedImage, read_archive};
pub use rootfs::{RootfsOptions, write_rootfs_dir, write_rootfs_tar, write_rootfs_tar_to};
