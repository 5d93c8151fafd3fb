//! [`isolate_mounts`]: decant's own private mount namespace, so that the
//! overlay mounts the engine makes can never outlive decant or show up on
//! the host.

use crate::error::ExecError;

/// Moves decant into a new mount namespace whose mounts are all private
/// (recursively), so every mount decant makes afterwards disappears with its
/// last process and none propagates to the host. The cli calls this first
/// thing, before any thread exists (unshare(CLONE_NEWNS) only moves the
/// calling thread, so threads started earlier would stay outside).
///
/// Only as root: without CAP_SYS_ADMIN there is no mount to isolate (a
/// rootless decant would need a user namespace first), so it returns Ok and
/// does nothing.
pub fn isolate_mounts() -> Result<(), ExecError> {
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let isolate_error = |errno: rustix::io::Errno| ExecError::Isolate {
        source: errno.into(),
    };
    // SAFETY: unshare(CLONE_NEWNS) is "unsafe" in rustix because some flags
    // (CLONE_FILES, CLONE_FS) change what other threads share; CLONE_NEWNS
    // only affects this thread's view of mounts, and the cli calls this while
    // single-threaded.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }
        .map_err(isolate_error)?;
    // Private rather than slave: a slave would still receive the host's
    // mount events, and decant wants no ties in either direction.
    rustix::mount::mount_change(
        "/",
        rustix::mount::MountPropagationFlags::PRIVATE | rustix::mount::MountPropagationFlags::REC,
    )
    .map_err(isolate_error)?;
    Ok(())
}
