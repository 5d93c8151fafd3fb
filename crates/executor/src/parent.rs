//! decant's side of a run: spawn the helper through `std::process::Command`
//! (the only fork a multi-threaded process may do), hand it the spec, stream
//! the command's output as it comes and collect the helper's report.

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};

use crate::error::ExecError;
use crate::protocol::{CHANNEL_FD, Report, Request};
use crate::spec::{ExitStatus, OutputStream, RunSpec};

/// Runs `spec.args` in a fresh container over `spec.rootfs` and waits for
/// it. `output` gets the command's stdout and stderr chunks as they arrive
/// (stdin is /dev/null). A non-zero exit is `Ok`: only a failure to start
/// the command is an error, e.g. [`crate::SetupError::ExecutableNotFound`].
///
/// Blocks the calling thread; the helper is killed (with everything it
/// started) if that thread's process dies. Needs root.
pub fn run(
    spec: &RunSpec,
    output: &mut dyn FnMut(OutputStream, &[u8]),
) -> Result<ExitStatus, ExecError> {
    run_cancellable(spec, output, &AtomicBool::new(false))
}

/// [`run`], but setting `cancel` (from another thread) kills the container
/// within about [`CANCEL_POLL`] and returns [`ExecError::Cancelled`], as
/// BuildKit kills a step whose build was cancelled.
pub fn run_cancellable(
    spec: &RunSpec,
    output: &mut dyn FnMut(OutputStream, &[u8]),
    cancel: &AtomicBool,
) -> Result<ExitStatus, ExecError> {
    let channel_error = |source| ExecError::Channel { source };
    let (ours, theirs) = socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|errno| channel_error(errno.into()))?;

    let mut command = Command::new(&spec.helper_program);
    command
        .arg(crate::HELPER_ARG)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let theirs_raw = theirs.as_raw_fd();
    // SAFETY: the hook runs in the forked child before exec and only calls
    // dup2/fcntl (async-signal-safe, no allocation); CHANNEL_FD is free
    // because std has already placed stdio on 0-2 and every other fd of
    // decant is close-on-exec.
    unsafe {
        command.pre_exec(move || crate::sys::dup_to(theirs_raw, CHANNEL_FD));
    }
    let child = command.spawn().map_err(|source| ExecError::Spawn {
        program: spec.helper_program.clone(),
        source,
    })?;
    let mut helper = HelperGuard(Some(child));
    drop(theirs);

    let request = Request {
        spec: spec.clone(),
        parent_pid: std::process::id() as i32,
    };
    let request = serde_json::to_vec(&request).map_err(|source| ExecError::Encode { source })?;
    let sent = send_all(&ours, &request).and_then(|()| {
        rustix::net::shutdown(&ours, rustix::net::Shutdown::Write).map_err(io::Error::from)
    });
    // A helper that died early closes its end (EPIPE); its report or exit
    // status below says why, so only other errors are fatal here.
    if let Err(error) = sent
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        return Err(channel_error(error));
    }

    let (stdout, stderr) = match helper.0.as_mut() {
        Some(child) => (
            child.stdout.take().map(OwnedFd::from),
            child.stderr.take().map(OwnedFd::from),
        ),
        None => (None, None),
    };
    let reports = match pump(stdout, stderr, ours, output, cancel) {
        Ok(Some(reports)) => reports,
        // The guard's drop kills the helper; its death signal takes init and
        // with it the whole pid namespace.
        Ok(None) => return Err(ExecError::Cancelled),
        Err(error) => return Err(channel_error(error)),
    };
    let status = helper.wait().map_err(channel_error)?;

    let mut exit = None;
    for line in reports
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
    {
        let report: Report = serde_json::from_slice(line).map_err(|source| ExecError::Report {
            line: String::from_utf8_lossy(line).into_owned(),
            source,
        })?;
        match report {
            // The first failure is the cause; later lines only say that
            // init saw its child exit because of it.
            Report::Failed(error) => return Err(ExecError::Setup(error)),
            Report::Exited(status) => exit = Some(status),
        }
    }
    exit.ok_or(ExecError::HelperDied { status })
}

/// How often a cancellable run checks its flag.
pub const CANCEL_POLL: Duration = Duration::from_millis(100);
const POLL_TIMEOUT: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 100_000_000,
};

/// Kills and reaps the helper unless it was waited for: whatever way `run`
/// leaves (an error, a panic in `output`), no helper outlives it.
struct HelperGuard(Option<Child>);

impl HelperGuard {
    fn wait(&mut self) -> io::Result<std::process::ExitStatus> {
        match self.0.take() {
            Some(mut child) => child.wait(),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }
}

impl Drop for HelperGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn send_all(socket: &OwnedFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match rustix::net::send(socket, bytes, rustix::net::SendFlags::NOSIGNAL) {
            Ok(sent) => bytes = &bytes[sent..],
            Err(rustix::io::Errno::INTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(())
}

/// Reads stdout, stderr and the report channel until all three are closed,
/// handing output to `output` as it arrives. Returns the report bytes, or
/// None as soon as `cancel` is set.
fn pump(
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    channel: OwnedFd,
    output: &mut dyn FnMut(OutputStream, &[u8]),
    cancel: &AtomicBool,
) -> io::Result<Option<Vec<u8>>> {
    let mut sources: Vec<(Option<OutputStream>, std::fs::File)> = Vec::new();
    if let Some(fd) = stdout {
        sources.push((Some(OutputStream::Stdout), fd.into()));
    }
    if let Some(fd) = stderr {
        sources.push((Some(OutputStream::Stderr), fd.into()));
    }
    sources.push((None, channel.into()));
    let mut reports = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    while !sources.is_empty() {
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> = sources
                .iter()
                .map(|(_, file)| PollFd::from_borrowed_fd(file.as_fd(), PollFlags::IN))
                .collect();
            if cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            match poll(&mut fds, Some(&POLL_TIMEOUT)) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(errno) => return Err(errno.into()),
            }
            fds.iter().map(|fd| !fd.revents().is_empty()).collect()
        };
        // Walk backwards so removing a closed source keeps indices valid.
        for index in (0..sources.len()).rev() {
            if !ready[index] {
                continue;
            }
            let (stream, file) = &mut sources[index];
            match file.read(&mut buffer) {
                Ok(0) => {
                    sources.remove(index);
                }
                Ok(read) => match stream {
                    Some(stream) => output(*stream, &buffer[..read]),
                    None => reports.extend_from_slice(&buffer[..read]),
                },
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(Some(reports))
}
