//! The wire between [`crate::run`] and the helper: one JSON [`Request`] from
//! decant (then a half-close), JSON-lines [`Report`]s back, all on the
//! socketpair end the helper finds at [`CHANNEL_FD`].

use serde::{Deserialize, Serialize};

use crate::error::SetupError;
use crate::spec::{ExitStatus, RunSpec};

/// The helper's end of the socketpair; `run` dup2s it there in the child.
pub(crate) const CHANNEL_FD: i32 = 3;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) spec: RunSpec,
    /// decant's pid: the helper checks after PR_SET_PDEATHSIG that its parent
    /// is still this process, closing the race where decant died before the
    /// death signal was armed.
    pub(crate) parent_pid: i32,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Report {
    Failed(SetupError),
    Exited(ExitStatus),
}

impl Report {
    pub(crate) fn to_line(&self) -> Vec<u8> {
        // Serialising these plain enums cannot fail; fall back to a fixed
        // line rather than panicking in the helper.
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| b"null".to_vec());
        line.push(b'\n');
        line
    }
}
