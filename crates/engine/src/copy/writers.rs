//! Background writers for the data of large files, so that a big COPY uses
//! every core: the tree walk (which creates entries and sets their metadata
//! in order, see `tree.rs`) hands a large regular file's data to a worker
//! and goes on with the next entry.
//!
//! Writing a file's data changes state the walk already set, so a worker
//! sets it again once the data is in: the kernel clears setuid/setgid on a
//! write by a writer without `CAP_FSETID` and drops `security.capability`
//! on any write (fs/attr.c `file_remove_privs`, `security_inode_killpriv`),
//! and the write sets the mtime. The worker therefore re-applies a mode with
//! special bits, re-copies extended attributes when the source has any, and
//! sets the times last, through the descriptor the walk created the file
//! with (`O_CREAT|O_EXCL|O_NOFOLLOW`), never through a path.
//!
//! It must not know about the copy's rules: it only copies bytes and
//! restores what writing them disturbed.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rustix::fs::Timestamps;

use super::CopyError;

/// Files at least this large go to a worker; smaller ones are written in
/// place, where handing them over would cost more than it saves.
pub(crate) const DEFER_AT: u64 = 256 * 1024;

/// Jobs waiting for a worker; bounds the open descriptors the walk holds.
const QUEUE: usize = 16;

pub(crate) struct Job {
    pub input: File,
    pub output: File,
    /// The source and destination paths, for the xattr re-copy.
    pub source: PathBuf,
    pub dest_host: PathBuf,
    /// The destination relative to the root, for errors.
    pub dest_rel: PathBuf,
    /// The final mode, re-applied when it has setuid, setgid or sticky bits.
    pub special_mode: Option<u32>,
    pub recopy_xattrs: bool,
    pub times: Timestamps,
}

type Outcome = Result<u64, CopyError>;

pub(crate) struct Writers {
    sender: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<Outcome>>,
}

impl Writers {
    /// One worker per core beyond the walk's own, at least one.
    pub(crate) fn start() -> Writers {
        let count = std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .clamp(1, 8);
        let (sender, receiver) = sync_channel::<Job>(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..count)
            .map(|_| {
                let receiver = Arc::clone(&receiver);
                std::thread::spawn(move || work(&receiver))
            })
            .collect();
        Writers {
            sender: Some(sender),
            workers,
        }
    }

    /// Queues a job. When every worker has stopped on an error, the job
    /// comes back so the caller can write the file itself; `finish`
    /// reports the workers' error.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        match &self.sender {
            Some(sender) => sender.send(job).map_err(|e| e.0),
            None => Err(job),
        }
    }

    /// Waits for every queued job; the bytes written, or the first error.
    pub(crate) fn finish(&mut self) -> Result<u64, CopyError> {
        self.sender = None;
        let mut total = 0;
        let mut first_error = None;
        for worker in self.workers.drain(..) {
            match worker.join() {
                Ok(Ok(bytes)) => total += bytes,
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(_) => {
                    first_error.get_or_insert(CopyError::WriteFile {
                        path: PathBuf::from("."),
                        source: io::Error::other("a file writer thread panicked"),
                    });
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(total),
        }
    }
}

impl Drop for Writers {
    /// An abandoned copy (an error in the walk) still waits for its
    /// workers, so no write lands after the caller moved on.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) -> Outcome {
    let mut total = 0;
    loop {
        // The lock is held only to take one job.
        let job = match receiver.lock() {
            Ok(guard) => guard.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else {
            return Ok(total);
        };
        total += write(job)?;
    }
}

/// Copies one file's data, then restores what the write disturbed.
pub(crate) fn write(mut job: Job) -> Outcome {
    let error = |source: io::Error| CopyError::WriteFile {
        path: job.dest_rel.clone(),
        source,
    };
    // std::io::copy uses copy_file_range between two files on Linux.
    let bytes = io::copy(&mut job.input, &mut job.output).map_err(error)?;
    if job.recopy_xattrs {
        super::tree::copy_xattrs(&job.source, &job.dest_host);
    }
    if let Some(mode) = job.special_mode {
        rustix::fs::fchmod(&job.output, rustix::fs::Mode::from_raw_mode(mode))
            .map_err(|e| error(e.into()))?;
    }
    rustix::fs::futimens(&job.output, &job.times).map_err(|e| error(e.into()))?;
    Ok(bytes)
}
