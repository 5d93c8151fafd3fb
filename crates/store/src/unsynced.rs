//! Layer directories published without a sync, and what a crash does to
//! them.
//!
//! Syncing a layer's files before publishing it made every step wait for
//! its data to reach the disk: a 500 MB `COPY . .` spent 1 to 4 s of a 6 s
//! build in `syncfs`. Neither containerd's overlay snapshotter nor docker's
//! overlay2 syncs snapshot contents. What a sync bought was this promise: a
//! layer directory under its final name is complete. It is kept this way:
//!
//! * Before the rename that publishes a layer, an empty marker
//!   `unsynced/<boot-id>/<chain-id-hex>` is created. Its name is all it
//!   holds, so it needs no data flush; namespace operations reach the
//!   journal in order (ext4, xfs), so a crash that kept the rename kept the
//!   marker.
//! * After a reboot (`/proc/sys/kernel/random/boot_id` changed), the
//!   page cache the layer lived in is gone and its files may be partly on
//!   disk: [`Store::open`](crate::Store::open) deletes every layer marked
//!   under another boot, with its marker, under the exclusive store lock so
//!   that no other process is using it. A cache record that named it then
//!   misses, and the step runs again.
//! * Within one boot, a killed process loses nothing the kernel holds. Once
//!   markers are older than [`SETTLE`], by when the kernel's writeback
//!   (`vm.dirty_expire_centisecs`, 30 s by default) has normally written
//!   them, one `syncfs` makes them durable and they are removed, so the
//!   sync costs little and is paid once, not per step.
//!
//! Without a boot id (not Linux, or no procfs) layers are synced before
//! they are published, as before.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use oci::Digest;

const DIR: &str = "unsynced";

/// How old markers are before a `syncfs` retires them.
pub(crate) const SETTLE: Duration = Duration::from_secs(60);

/// This boot's id, if the kernel tells it.
pub(crate) fn boot_id() -> Option<String> {
    let text = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = text.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        .then(|| id.to_string())
}

/// Marks `chain_id` as published without a sync in this boot.
pub(crate) fn mark(root: &Path, boot: &str, chain_id: &Digest) -> io::Result<()> {
    let dir = root.join(DIR).join(boot);
    fs::create_dir_all(&dir)?;
    fs::File::create(dir.join(chain_id.hex())).map(drop)
}

/// Boot directories other than this boot's.
fn stale_boots(root: &Path, boot: &str) -> io::Result<Vec<PathBuf>> {
    let dir = root.join(DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_name() != boot {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Whether a previous boot left unsynced layers behind.
pub(crate) fn has_stale(root: &Path, boot: &str) -> io::Result<bool> {
    Ok(!stale_boots(root, boot)?.is_empty())
}

/// Deletes the layers a previous boot published without a sync, then their
/// markers. Needs the exclusive store lock. Returns how many were deleted.
pub(crate) fn discard_stale(root: &Path, boot: &str) -> io::Result<u64> {
    let mut discarded = 0;
    for stale in stale_boots(root, boot)? {
        for marker in fs::read_dir(&stale)? {
            let name = marker?.file_name();
            let Some(hex) = name.to_str().filter(|n| n.len() == 64) else {
                continue;
            };
            let layer = root.join("layers").join(hex);
            match crate::fsutil::remove_any(&layer) {
                Ok(()) => discarded += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        // Markers go only after every layer they name is gone.
        fs::remove_dir_all(&stale)?;
    }
    Ok(discarded)
}

/// Retires this boot's markers older than [`SETTLE`] with one `syncfs`.
pub(crate) fn settle(root: &Path, boot: &str) -> io::Result<()> {
    let dir = root.join(DIR).join(boot);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let now = SystemTime::now();
    let mut settled = Vec::new();
    for entry in entries {
        let entry = entry?;
        let modified = entry.metadata()?.modified()?;
        if now.duration_since(modified).unwrap_or_default() >= SETTLE {
            settled.push(entry.path());
        }
    }
    if settled.is_empty() {
        return Ok(());
    }
    // A marker is made after its layer's files are written, so every layer
    // whose marker predates this sync is covered by it.
    let handle = fs::File::open(root)?;
    rustix::fs::syncfs(&handle)?;
    for marker in settled {
        match fs::remove_file(&marker) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
