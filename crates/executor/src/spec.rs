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
    /// `--ulimit` limits the command starts with.
    pub ulimits: Vec<Ulimit>,
    pub network: Network,
    /// BuildKit's `RUN --security`: sandbox (the default) or insecure.
    pub security: Security,
    /// Extra mounts, applied after the standard ones, in order.
    pub mounts: Vec<MountSpec>,
    /// The program to spawn as the helper: the decant binary, which must
    /// dispatch [`crate::HELPER_ARG`] to [`crate::helper_main`].
    pub helper_program: PathBuf,
}

/// A resource limit the command starts with (runc's `process.rlimits`),
/// as `docker build --ulimit NAME=SOFT[:HARD]` gives it; -1 is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// The names docker/go-units `ParseUlimit` takes, and the limits they set.
const ULIMITS: &[(&str, rustix::process::Resource)] = {
    use rustix::process::Resource as R;
    &[
        ("core", R::Core),
        ("cpu", R::Cpu),
        ("data", R::Data),
        ("fsize", R::Fsize),
        ("locks", R::Locks),
        ("memlock", R::Memlock),
        ("msgqueue", R::Msgqueue),
        ("nice", R::Nice),
        ("nofile", R::Nofile),
        ("nproc", R::Nproc),
        ("rss", R::Rss),
        ("rtprio", R::Rtprio),
        ("rttime", R::Rttime),
        ("sigpending", R::Sigpending),
        ("stack", R::Stack),
    ]
};

impl Ulimit {
    /// Reads `NAME=SOFT[:HARD]` as go-units' `ParseUlimit` does: a known
    /// name, integers, the hard limit equal to the soft one when absent,
    /// and soft not above hard.
    pub fn parse(value: &str) -> Result<Ulimit, String> {
        let (name, limits) = value
            .split_once('=')
            .ok_or_else(|| "not NAME=SOFT[:HARD]".to_string())?;
        if !ULIMITS.iter().any(|(known, _)| *known == name) {
            return Err(format!("unknown limit {name:?}"));
        }
        let number = |text: &str| {
            text.parse::<i64>()
                .map_err(|_| format!("{text:?} is not an integer"))
        };
        let (soft, hard) = match limits.split_once(':') {
            Some((soft, hard)) => (number(soft)?, number(hard)?),
            None => {
                let soft = number(limits)?;
                (soft, soft)
            }
        };
        if soft > hard {
            return Err(format!(
                "the soft limit must not be above the hard limit: {soft} > {hard}"
            ));
        }
        Ok(Ulimit {
            name: name.to_string(),
            soft,
            hard,
        })
    }

    /// The kernel resource this limit sets.
    pub(crate) fn resource(&self) -> Option<rustix::process::Resource> {
        ULIMITS
            .iter()
            .find(|(name, _)| *name == self.name)
            .map(|(_, resource)| *resource)
    }
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

#[cfg(test)]
mod tests {
    use super::Ulimit;

    /// The name, soft and hard limits a value gives, or a piece of its
    /// error.
    type Parsed = Result<(&'static str, i64, i64), &'static str>;

    /// `--ulimit` values and what they give.
    const ULIMITS: &[(&str, Parsed)] = &[
        ("nofile=1024", Ok(("nofile", 1024, 1024))),
        ("nofile=512:1024", Ok(("nofile", 512, 1024))),
        ("core=-1", Ok(("core", -1, -1))),
        ("stack=-1:-1", Ok(("stack", -1, -1))),
        ("nofile=2048:1024", Err("must not be above")),
        ("nofile", Err("not NAME=SOFT[:HARD]")),
        ("files=1", Err("unknown limit \"files\"")),
        ("nproc=many", Err("\"many\" is not an integer")),
        ("nproc=1:2:3", Err("\"2:3\" is not an integer")),
    ];

    #[test]
    fn ulimits_parse_as_go_units_does() {
        for (value, expected) in ULIMITS {
            let parsed = Ulimit::parse(value);
            match (expected, parsed) {
                (Ok((name, soft, hard)), Ok(ulimit)) => {
                    let want = Ulimit {
                        name: name.to_string(),
                        soft: *soft,
                        hard: *hard,
                    };
                    assert_eq!(ulimit, want, "{value}");
                    assert!(ulimit.resource().is_some(), "{value}");
                }
                (Err(piece), Err(error)) => assert!(error.contains(piece), "{value}: {error}"),
                (expected, parsed) => panic!("{value}: expected {expected:?}, got {parsed:?}"),
            }
        }
    }
}
