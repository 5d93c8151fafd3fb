//! The overlayfs driver.
//!
//! Mount options, and why:
//! - `index=off`, `metacopy=off`: copy-up must put whole files in the upper
//!   dir; a metacopy-only upper file has no data to archive.
//! - `redirect_dir=off`: renaming a lower dir then fails with EXDEV and
//!   tools fall back to copy+delete, so the upper dir never depends on a
//!   `trusted.overlay.redirect` pointing into a lower layer.
//! - `userxattr` when not root: unprivileged overlay mounts (Linux >= 5.11)
//!   keep their markers in `user.overlay.*`.
//! - `volatile` (Linux >= 5.10) where the kernel has it: overlayfs then
//!   omits every sync to the upper filesystem, both the `fsync`s a RUN step
//!   makes (dpkg and apt make thousands) and the `syncfs` of the whole upper
//!   filesystem that the unmount otherwise does. Durability does not
//!   depend on them: the store makes a committed layer durable with its own
//!   `syncfs` before publishing it, and a snapshot that a crash interrupts
//!   is scratch that the next `Store::open` deletes. overlayfs refuses to
//!   mount a volatile upper dir again after a crash; we never remount an
//!   upper dir as an upper dir (a committed one becomes a lower).
//!
//! The lower dirs go through the new mount API (`fsopen` + one `lowerdir+`
//! per layer, Linux >= 6.8), which has no length limit. Older kernels take
//! one `mount(2)` data page (4096 bytes) for all options; when the paths do
//! not fit, they are replaced by short symlinks `work/l/<n>` reached as
//! `/proc/self/fd/<dirfd>/<n>` (overlayfs resolves lower paths at mount
//! time, so the links go away right after). containerd plays the same trick
//! with relative paths after a chdir, which a threaded process cannot do.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::io::Errno;
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MoveMountFlags, UnmountFlags,
};

use crate::error::SnapshotError;
use crate::nodes;

/// Linux mount data is one page including the terminating NUL.
const MOUNT_DATA_MAX: usize = 4095;

#[derive(Debug)]
pub(crate) struct Mounted {
    pub(crate) merged: PathBuf,
    upper: PathBuf,
}

impl Mounted {
    /// Unmounts the merged view and returns the upper dir.
    pub(crate) fn unmount(self) -> Result<PathBuf, SnapshotError> {
        let unmount_error = |source: Errno| SnapshotError::Unmount {
            target: self.merged.clone(),
            source: source.into(),
        };
        match rustix::mount::unmount(&self.merged, UnmountFlags::empty()) {
            Ok(()) => {}
            // A process still holds it (a leaked child of the step): detach
            // so the upper dir is final; nothing can write through it anymore
            // once the last reference goes.
            Err(Errno::BUSY) => {
                rustix::mount::unmount(&self.merged, UnmountFlags::DETACH).map_err(unmount_error)?
            }
            Err(error) => return Err(unmount_error(error)),
        }
        Ok(self.upper.clone())
    }
}

fn create_dir(path: &Path) -> Result<(), SnapshotError> {
    fs::create_dir_all(path).map_err(|source| SnapshotError::CreateDir {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn mount(lowers: &[PathBuf], work: &Path) -> Result<Mounted, SnapshotError> {
    let upper = work.join("upper");
    let workdir = work.join("work");
    let merged = work.join("merged");
    for dir in [&upper, &workdir, &merged] {
        create_dir(dir)?;
    }
    let mut top_first: Vec<PathBuf> = lowers.iter().rev().cloned().collect();
    if top_first.is_empty() {
        // overlayfs needs at least one lower dir.
        let empty = work.join("empty");
        create_dir(&empty)?;
        top_first.push(empty);
    }
    let userxattr = !nodes::is_root();
    let mount_error = |source: io::Error| SnapshotError::Mount {
        target: merged.clone(),
        source,
    };
    match mount_new_api(&top_first, &upper, &workdir, &merged, userxattr) {
        Ok(()) => {}
        // No fsopen (ENOSYS) or no `lowerdir+` key (EINVAL before 6.8).
        Err(error) if error == Errno::NOSYS || error == Errno::INVAL => {
            mount_legacy(&top_first, &upper, &workdir, &merged, userxattr, work)?
        }
        Err(error) => return Err(mount_error(error.into())),
    }
    Ok(Mounted { merged, upper })
}

fn mount_new_api(
    top_first: &[PathBuf],
    upper: &Path,
    workdir: &Path,
    merged: &Path,
    userxattr: bool,
) -> Result<(), Errno> {
    let fs = rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    for lower in top_first {
        rustix::mount::fsconfig_set_string(&fs, "lowerdir+", lower.as_path())?;
    }
    rustix::mount::fsconfig_set_string(&fs, "upperdir", upper)?;
    rustix::mount::fsconfig_set_string(&fs, "workdir", workdir)?;
    for (key, value) in [
        ("index", "off"),
        ("metacopy", "off"),
        ("redirect_dir", "off"),
    ] {
        rustix::mount::fsconfig_set_string(&fs, key, value)?;
    }
    if userxattr {
        rustix::mount::fsconfig_set_flag(&fs, "userxattr")?;
    }
    // A kernel without the option rejects the key (EINVAL); the mount is
    // then only slower, so go on without it.
    let _ = rustix::mount::fsconfig_set_flag(&fs, "volatile");
    rustix::mount::fsconfig_create(&fs)?;
    let mount =
        rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())?;
    rustix::mount::move_mount(
        &mount,
        "",
        rustix::fs::CWD,
        merged,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
}

/// overlayfs' option syntax: `\` escapes `:` and `,` inside a path.
fn escape(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        if matches!(c, ':' | ',' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn legacy_data(
    top_first: &[PathBuf],
    upper: &Path,
    workdir: &Path,
    userxattr: bool,
    volatile: bool,
) -> String {
    let lowers: Vec<String> = top_first.iter().map(|p| escape(p)).collect();
    let mut data = format!(
        "lowerdir={},upperdir={},workdir={},index=off,metacopy=off,redirect_dir=off",
        lowers.join(":"),
        escape(upper),
        escape(workdir)
    );
    if userxattr {
        data.push_str(",userxattr");
    }
    if volatile {
        data.push_str(",volatile");
    }
    data
}

pub(crate) fn mount_legacy(
    top_first: &[PathBuf],
    upper: &Path,
    workdir: &Path,
    merged: &Path,
    userxattr: bool,
    work: &Path,
) -> Result<(), SnapshotError> {
    match mount_legacy_with(top_first, upper, workdir, merged, userxattr, work, true) {
        // Before Linux 5.10 `volatile` is an unknown option.
        Err(SnapshotError::Mount { source, .. })
            if source.raw_os_error() == Some(Errno::INVAL.raw_os_error()) =>
        {
            mount_legacy_with(top_first, upper, workdir, merged, userxattr, work, false)
        }
        other => other,
    }
}

fn mount_legacy_with(
    top_first: &[PathBuf],
    upper: &Path,
    workdir: &Path,
    merged: &Path,
    userxattr: bool,
    work: &Path,
    volatile: bool,
) -> Result<(), SnapshotError> {
    let mut data = legacy_data(top_first, upper, workdir, userxattr, volatile);
    let mut links_dir = None;
    // Held open until the mount call: the short paths go through it.
    let mut _links_fd = None;
    if data.len() > MOUNT_DATA_MAX {
        let links = work.join("l");
        create_dir(&links)?;
        for (i, lower) in top_first.iter().enumerate() {
            let link = links.join(i.to_string());
            std::os::unix::fs::symlink(lower, &link).map_err(|source| {
                SnapshotError::CreateDir {
                    path: link.clone(),
                    source,
                }
            })?;
        }
        // `/proc/self/fd/<n>/<i>` is short whatever `work` is, and needs no
        // chdir (process-wide, so not an option with threads).
        let fd = rustix::fs::open(
            &links,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|source| SnapshotError::CreateDir {
            path: links.clone(),
            source: source.into(),
        })?;
        let base = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        let short: Vec<PathBuf> = (0..top_first.len())
            .map(|i| base.join(i.to_string()))
            .collect();
        data = legacy_data(&short, upper, workdir, userxattr, volatile);
        _links_fd = Some(fd);
        links_dir = Some(links);
        if data.len() > MOUNT_DATA_MAX {
            let _ = fs::remove_dir_all(work.join("l"));
            return Err(SnapshotError::TooManyLowers {
                lowers: top_first.len(),
            });
        }
    }
    let mount_error = |source: io::Error| SnapshotError::Mount {
        target: merged.to_path_buf(),
        source,
    };
    let data = CString::new(data)
        .map_err(|e| mount_error(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let result = rustix::mount::mount(
        "overlay",
        merged,
        "overlay",
        MountFlags::empty(),
        data.as_c_str(),
    );
    if let Some(links) = links_dir {
        // Resolved at mount time; the links are no longer needed either way.
        let _ = fs::remove_dir_all(links);
    }
    result.map_err(|e| mount_error(e.into()))
}

/// Whether an overlay mount with our options works with dirs under `dir`.
pub(crate) fn works_in(dir: &Path) -> bool {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let probe = dir.join(format!(
        ".decant-overlay-probe-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> Result<bool, SnapshotError> {
        let lower = probe.join("lower");
        create_dir(&lower)?;
        fs::write(lower.join("probe"), b"probe").map_err(|source| SnapshotError::CreateDir {
            path: lower.clone(),
            source,
        })?;
        let mounted = mount(std::slice::from_ref(&lower), &probe.join("snapshot"))?;
        let visible = fs::read(mounted.merged.join("probe")).is_ok_and(|b| b == b"probe");
        mounted.unmount()?;
        Ok(visible)
    })();
    let _ = fs::remove_dir_all(&probe);
    result.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `mount(2)` fallback for kernels before 6.8, forced here: 150
    /// lowers with 70-byte paths need the short-link rewrite.
    #[test]
    fn legacy_mount_shortens_long_lower_chains() {
        testkit::require!(root);
        let base = std::env::temp_dir().join(format!("decant-legacy-{}", std::process::id()));
        let work = base.join("work");
        let lowers: Vec<PathBuf> = (0..150)
            .map(|i| {
                let dir = base.join(format!("{}{i:03}", "x".repeat(60)));
                fs::create_dir_all(&dir).unwrap();
                fs::write(dir.join("top"), i.to_string()).unwrap();
                dir
            })
            .collect();
        let top_first: Vec<PathBuf> = lowers.iter().rev().cloned().collect();
        assert!(legacy_data(&top_first, &work, &work, false, true).len() > MOUNT_DATA_MAX);
        let (upper, workdir, merged) = (work.join("upper"), work.join("work"), work.join("merged"));
        for dir in [&upper, &workdir, &merged] {
            fs::create_dir_all(dir).unwrap();
        }
        let result = mount_legacy(&top_first, &upper, &workdir, &merged, false, &work);
        let seen = fs::read_to_string(merged.join("top"));
        let _ = rustix::mount::unmount(&merged, UnmountFlags::DETACH);
        let _ = fs::remove_dir_all(&base);
        result.unwrap();
        assert_eq!(seen.unwrap(), "149");
        assert!(
            !work.join("l").exists(),
            "short links are removed after the mount"
        );
    }

    #[test]
    fn escapes_option_separators() {
        assert_eq!(escape(Path::new("/a:b,c\\d")), "/a\\:b\\,c\\\\d");
    }

    #[test]
    fn legacy_options_list_lowers_top_first_as_given() {
        let data = legacy_data(
            &[PathBuf::from("/top"), PathBuf::from("/bottom")],
            Path::new("/u"),
            Path::new("/w"),
            true,
            true,
        );
        assert_eq!(
            data,
            "lowerdir=/top:/bottom,upperdir=/u,workdir=/w,index=off,metacopy=off,redirect_dir=off,userxattr,volatile"
        );
    }
}
