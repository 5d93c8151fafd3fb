//! Per-process scratch space under `tmp/`, and the recovery of the scratch
//! space of processes that died.
//!
//! Every open [`crate::Store`] owns `tmp/<id>/` and holds an exclusive lock on
//! `tmp/<id>.lock` for as long as it lives. Blob ingests and layer unpacking
//! happen inside that directory, so anything a crashed (SIGKILLed) process
//! left behind sits in a directory whose lock nobody holds any more: the
//! kernel drops a flock when its last file descriptor closes, including on
//! SIGKILL. [`reclaim_dead`] removes exactly those, which makes recovery safe
//! to run while other live processes are ingesting (umoci's flocked temp
//! directories follow the same idea).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::fsutil;

const LOCK_SUFFIX: &str = ".lock";
/// A lock file not yet renamed to its final name: it is created, locked and
/// only then renamed to `<id>.lock`, so that a reclaimer can never take the
/// lock of a live process in the window between create and lock.
const PENDING_SUFFIX: &str = ".locking";

pub(crate) struct Scratch {
    pub(crate) dir: PathBuf,
    /// Held for the lifetime of the store; dropping it releases the flock.
    _lock: File,
}

impl Scratch {
    pub(crate) fn create(tmp_root: &Path) -> io::Result<Scratch> {
        loop {
            let id = unique_id();
            let pending = tmp_root.join(format!("{id}{PENDING_SUFFIX}"));
            let file = match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&pending)
            {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            file.lock()?;
            fs::rename(&pending, tmp_root.join(format!("{id}{LOCK_SUFFIX}")))?;
            let dir = tmp_root.join(&id);
            fsutil::create_private_dir(&dir)?;
            return Ok(Scratch { dir, _lock: file });
        }
    }
}

fn unique_id() -> String {
    // The pid alone repeats across reboots and pid namespaces; the random
    // part from a fresh temp name makes collisions practically impossible.
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let counter = {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
    format!("p{}-{nanos:x}-{counter}", std::process::id())
}

/// Removes the scratch directories of processes that no longer hold their
/// lock. Returns how many were removed.
pub(crate) fn reclaim_dead(tmp_root: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(tmp_root)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(id) = name.strip_suffix(LOCK_SUFFIX) else {
            continue;
        };
        let lock_path = entry.path();
        let file = match File::open(&lock_path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        match file.try_lock() {
            Ok(()) => {
                // Directory first, lock file last: a directory without a lock
                // file can only be the leftover of an interrupted reclaim.
                fsutil::remove_any(&tmp_root.join(id))?;
                fsutil::remove_any(&lock_path)?;
                removed += 1;
            }
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(removed)
}

/// Removes everything in `tmp/` except the scratch space of `keep` (the
/// caller's own). Only valid while holding the store's exclusive lock, when
/// no other process can be using the store.
pub(crate) fn clear_all_but(tmp_root: &Path, keep: &Scratch) -> io::Result<u64> {
    let keep_dir = keep.dir.file_name().map(|n| n.to_os_string());
    let keep_lock = keep_dir.as_ref().map(|n| {
        let mut s = n.clone();
        s.push(LOCK_SUFFIX);
        s
    });
    let mut freed = 0;
    for entry in fs::read_dir(tmp_root)? {
        let entry = entry?;
        let name = entry.file_name();
        if Some(&name) == keep_dir.as_ref() || Some(&name) == keep_lock.as_ref() {
            continue;
        }
        freed += crate::gc::tree_size(&entry.path())?;
        fsutil::remove_any(&entry.path())?;
    }
    // Our own scratch dir may hold leftovers of aborted ingests of this process.
    for entry in fs::read_dir(&keep.dir)? {
        let entry = entry?;
        freed += crate::gc::tree_size(&entry.path())?;
        fsutil::remove_any(&entry.path())?;
    }
    Ok(freed)
}
