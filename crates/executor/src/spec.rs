//! What a run is asked to do ([`RunSpec`]) and how it ended ([`ExitStatus`]).
//! The spec is serialised to the helper, so every type here is serde.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One process to run over a prepared root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The root filesystem (typically an overlay mount point). Mounts made for
    /// the run land on top of it only inside the helper's mount namespace;
    /// what the command writes lands in it.
    pub rootfs: PathBuf,
    /// argv; `args[0]` without a '/' is looked up in the env's `PATH` inside
    /// the root, as runc does.
    pub args: Vec<String>,
    /// `KEY=value` entries. `PATH` (BuildKit's default) and `HOME` (from the
    /// user's passwd entry, as runc does) are added when absent.
    pub env: Vec<String>,
    /// Absolute working directory inside the root; created (0755, owned by
    /// the resolved user, as BuildKit does) when missing. Empty means "/".
    pub cwd: String,
    /// Dockerfile `USER` text: "", "app", "1000", "1000:1000", "app:grp".
    pub user: String,
    /// Empty means [`crate::DEFAULT_HOSTNAME`].
    pub hostname: String,
    /// `--add-host` entries, `(name, address)`, appended to /etc/hosts.
    pub extra_hosts: Vec<(String, std::net::IpAddr)>,
    pub network: Network,
    /// BuildKit's `RUN --security`: sandbox (the default) or insecure.
    pub security: Security,
    /// Extra mounts, applied after the standard ones, in order.
    pub mounts: Vec<MountSpec>,
    /// The program to spawn as the helper: the decant binary, which must
    /// dispatch [`crate::HELPER_ARG`] to [`crate::helper_main`].
    pub helper_program: PathBuf,
}

/// The network a run sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Network {
    /// The host's network namespace and its /etc/resolv.conf (BuildKit's
    /// `--network=host`, decant's default).
    Host,
    /// A fresh network namespace with only `lo`, brought up as runc does.
    None,
}

/// How much of the host's power a run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Security {
    /// containerd's default capability set (what BuildKit runs RUN with),
    /// masked and read-only /proc paths, read-only /sys.
    Sandbox,
    /// `RUN --security=insecure`: every capability, nothing masked, /sys
    /// writable (BuildKit's `WithInsecureSpec`).
    Insecure,
}

/// An extra mount inside the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountSpec {
    /// Bind-mount a host path (file or directory, recursively) at `target`.
    Bind {
        source: PathBuf,
        target: String,
        readonly: bool,
    },
    /// A fresh tmpfs at `target`; `size_bytes` None means the kernel default.
    Tmpfs {
        target: String,
        size_bytes: Option<u64>,
    },
}

impl MountSpec {
    /// The absolute path inside the root this mount covers.
    pub fn target(&self) -> &str {
        match self {
            MountSpec::Bind { target, .. } | MountSpec::Tmpfs { target, .. } => target,
        }
    }
}

/// Which pipe a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    /// It called exit with this code.
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
}

impl ExitStatus {
    pub fn success(&self) -> bool {
        *self == ExitStatus::Exited(0)
    }

    /// The code a shell (and runc, hence BuildKit's "exit code: N" message)
    /// reports: the exit code, or 128 + the signal number.
    pub fn code(&self) -> i32 {
        match *self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitStatus::Exited(code) => write!(f, "exit code: {code}"),
            ExitStatus::Signaled(signal) => {
                write!(f, "exit code: {} (signal {signal})", 128 + signal)
            }
        }
    }
}
