//! Whole-file-or-nothing output: write to a temp file beside the destination,
//! sync, then rename. rename(2) within one directory is atomic, so readers see
//! either the old file or the complete new one, and a failed or interrupted
//! export leaves no partial file (the temp file is removed on drop).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::ExportError;

/// Runs `fill` on a buffered writer over a temp file next to `dest`, and
/// moves the temp file onto `dest` if `fill` succeeds.
pub(crate) fn write_atomically(
    dest: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let dir = parent_dir(dest);
    let temp = tempfile::Builder::new()
        .prefix(".decant-export-")
        .tempfile_in(&dir)
        .map_err(|source| ExportError::CreateTemp {
            dir: dir.clone(),
            source,
        })?;
    let (file, temp_path) = temp.into_parts();
    let write_error = |source| ExportError::Write {
        path: dest.to_path_buf(),
        source,
    };
    let mut writer = BufWriter::new(file);
    fill(&mut writer)?;
    writer.flush().map_err(write_error)?;
    let file = writer
        .into_inner()
        .map_err(|e| write_error(e.into_error()))?;
    // tempfile creates 0600; an exported image is an ordinary output file.
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    NamedTempFile::from_parts(file, temp_path)
        .persist(dest)
        .map_err(|e| ExportError::Persist {
            path: dest.to_path_buf(),
            source: e.error,
        })?;
    Ok(())
}

fn parent_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
