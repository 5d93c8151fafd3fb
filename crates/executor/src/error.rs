//! The executor's errors. [`SetupError`] is what the helper side reports
//! across the process boundary (so it is serde and carries errnos as numbers);
//! [`ExecError`] is what [`crate::run`] and [`crate::isolate_mounts`] return.

use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A failure inside the helper before the command could start. Messages
/// follow runc/BuildKit's where users know them (`exec: "x": executable file
/// not found in $PATH`, `unable to find user x: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SetupError {
    #[error("unable to find user {user}: no matching entries in passwd file")]
    UserNotFound { user: String },
    #[error("unable to find group {group}: no matching entries in group file")]
    GroupNotFound { group: String },
    #[error("invalid user {value:?}: uids and gids must be in range 0-2147483647")]
    IdOutOfRange { value: String },
    #[error("exec: {program:?}: executable file not found in $PATH")]
    ExecutableNotFound { program: String },
    #[error("exec: {program:?}: {}", errno_text(*errno))]
    Exec { program: String, errno: i32 },
    #[error("exec: {program:?}: permission denied (not an executable file)")]
    NotExecutable { program: String },
    #[error("failed to create working directory {path}: {}", errno_text(*errno))]
    Workdir { path: String, errno: i32 },
    #[error("chdir to working directory {path}: {}", errno_text(*errno))]
    Chdir { path: String, errno: i32 },
    #[error("working directory {path} is not inside the container root")]
    WorkdirEscapes { path: String },
    #[error("empty command: a run needs at least argv[0]")]
    EmptyCommand,
    #[error("mount target {target:?} must be an absolute path inside the root")]
    InvalidMountTarget { target: String },
    #[error("{operation}: {}", errno_text(*errno))]
    Syscall { operation: String, errno: i32 },
    #[error("reading {path}: {}", errno_text(*errno))]
    ReadUserFile { path: String, errno: i32 },
    #[error("malformed request from decant: {detail}")]
    MalformedRequest { detail: String },
    #[error("the executor helper must be single-threaded, found {threads} threads")]
    NotSingleThreaded { threads: usize },
    #[error("decant exited before the helper could start")]
    ParentGone,
}

impl SetupError {
    pub(crate) fn syscall(operation: impl Into<String>, errno: rustix::io::Errno) -> SetupError {
        SetupError::Syscall {
            operation: operation.into(),
            errno: errno.raw_os_error(),
        }
    }

    pub(crate) fn io(operation: impl Into<String>, error: &io::Error) -> SetupError {
        SetupError::Syscall {
            operation: operation.into(),
            errno: error.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

fn errno_text(errno: i32) -> String {
    // std renders "No such file or directory (os error 2)"; Go (hence runc and
    // BuildKit) renders "no such file or directory", which users grep for.
    let text = io::Error::from_raw_os_error(errno).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Why [`crate::run`] or [`crate::isolate_mounts`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("spawning the executor helper {program}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("talking to the executor helper")]
    Channel {
        #[source]
        source: io::Error,
    },
    #[error("encoding the run request")]
    Encode {
        #[source]
        source: serde_json::Error,
    },
    #[error("unreadable report from the executor helper: {line:?}")]
    Report {
        line: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("the executor helper ended ({status}) without reporting how the command ended")]
    HelperDied { status: std::process::ExitStatus },
    #[error("the run was cancelled; its container was killed")]
    Cancelled,
    #[error("making decant's mounts private")]
    Isolate {
        #[source]
        source: io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_runc_wording() {
        let cases = [
            (
                SetupError::ExecutableNotFound {
                    program: "foo".into(),
                },
                "exec: \"foo\": executable file not found in $PATH",
            ),
            (
                SetupError::Exec {
                    program: "/x".into(),
                    errno: libc::ENOENT,
                },
                "exec: \"/x\": no such file or directory",
            ),
            (
                SetupError::UserNotFound { user: "bob".into() },
                "unable to find user bob: no matching entries in passwd file",
            ),
            (
                SetupError::Syscall {
                    operation: "mount proc on /proc".into(),
                    errno: libc::EPERM,
                },
                "mount proc on /proc: operation not permitted",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }
}
