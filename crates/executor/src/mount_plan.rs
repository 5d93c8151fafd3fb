//! The ordered list of mounts a run sets up inside its root, before
//! pivot_root. Pure: the helper applies it (`helper::apply`). The standard
//! set follows what BuildKit hands runc: containerd's `defaultMounts` minus
//! `/run` (moby/buildkit#429), its masked and read-only paths, read-only
//! binds of generated /etc/resolv.conf and /etc/hosts, then the run's own
//! mounts in order.

use std::path::PathBuf;

use rustix::mount::MountFlags;

use crate::error::SetupError;
use crate::spec::{MountSpec, RunSpec, Security};

/// containerd `populateDefaultUnixSpec` MaskedPaths: kernel interfaces that
/// leak host information or allow host-wide effects.
pub(crate) const MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    "/proc/scsi",
];

/// containerd `populateDefaultUnixSpec` ReadonlyPaths.
pub(crate) const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Host device nodes bind-mounted into the fresh /dev (runc's default device
/// list; binding rather than mknod keeps working in a user namespace).
pub(crate) const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// What to do when a [`Step::Filesystem`] cannot be mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OnFailure {
    Fail,
    /// Bind this host path read-only instead (sysfs in a network namespace
    /// the caller does not own, as runc does).
    BindHost(PathBuf),
    /// Go on without it.
    Skip,
}

/// One thing to set up, paths absolute inside the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A fresh filesystem on `target` (a directory, created when missing).
    Filesystem {
        target: String,
        fstype: &'static str,
        flags: MountFlags,
        data: String,
        on_failure: OnFailure,
    },
    /// Bind a host path (recursively) on `target`, created as a file or a
    /// directory like the source when missing.
    Bind {
        source: PathBuf,
        target: String,
        readonly: bool,
    },
    /// A symlink at `path` (its parent must exist) pointing to `link_to`.
    Symlink { path: String, link_to: String },
    /// A generated file bound read-only on `target` (an empty file is created
    /// as the mount point when missing: it shows up empty in the layer).
    File { target: String, contents: String },
    /// If `target` exists: /dev/null over a file, an empty read-only tmpfs
    /// over a directory (runc's maskPath).
    Mask { target: String },
    /// If `target` exists: bind it on itself, read-only.
    Readonly { target: String },
}

impl Step {
    pub(crate) fn target(&self) -> &str {
        match self {
            Step::Filesystem { target, .. }
            | Step::Bind { target, .. }
            | Step::File { target, .. }
            | Step::Mask { target }
            | Step::Readonly { target } => target,
            Step::Symlink { path, .. } => path,
        }
    }
}

/// A run's mount target: absolute, not "/", normalised (no empty or "."
/// components, no trailing '/'). ".." is left to RESOLVE_IN_ROOT, which
/// cannot climb above the root.
fn normalise_target(target: &str) -> Result<String, SetupError> {
    let invalid = || SetupError::InvalidMountTarget {
        target: target.to_string(),
    };
    if !target.starts_with('/') {
        return Err(invalid());
    }
    let parts: Vec<&str> = target
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.is_empty() {
        return Err(invalid());
    }
    Ok(format!("/{}", parts.join("/")))
}

fn filesystem(target: &str, fstype: &'static str, flags: MountFlags, data: &str) -> Step {
    Step::Filesystem {
        target: target.to_string(),
        fstype,
        flags,
        data: data.to_string(),
        on_failure: OnFailure::Fail,
    }
}

/// Everything to mount for `spec`, in order.
pub(crate) fn plan(spec: &RunSpec, hosts: String, resolv: String) -> Result<Vec<Step>, SetupError> {
    use MountFlags as F;
    let sandbox = spec.security == Security::Sandbox;
    // BuildKit's insecure mode leaves /sys (and the cgroup tree) writable.
    let sys_readonly = if sandbox { F::RDONLY } else { F::empty() };
    let mut steps = vec![filesystem(
        "/proc",
        "proc",
        F::NOSUID | F::NOEXEC | F::NODEV,
        "",
    )];
    if sandbox {
        for path in MASKED_PATHS
            .iter()
            .filter(|path| path.starts_with("/proc/"))
        {
            steps.push(Step::Mask {
                target: path.to_string(),
            });
        }
        for path in READONLY_PATHS {
            steps.push(Step::Readonly {
                target: path.to_string(),
            });
        }
    }
    steps.push(filesystem(
        "/dev",
        "tmpfs",
        F::NOSUID | F::STRICTATIME,
        "mode=755,size=65536k",
    ));
    for device in DEVICES {
        steps.push(Step::Bind {
            source: PathBuf::from(format!("/dev/{device}")),
            target: format!("/dev/{device}"),
            readonly: false,
        });
    }
    let pts_options = "newinstance,ptmxmode=0666,mode=0620,gid=5";
    steps.push(filesystem(
        "/dev/pts",
        "devpts",
        F::NOSUID | F::NOEXEC,
        pts_options,
    ));
    steps.push(Step::Symlink {
        path: "/dev/ptmx".into(),
        link_to: "pts/ptmx".into(),
    });
    let shm_options = "mode=1777,size=65536k";
    steps.push(filesystem(
        "/dev/shm",
        "tmpfs",
        F::NOSUID | F::NOEXEC | F::NODEV,
        shm_options,
    ));
    steps.push(filesystem(
        "/dev/mqueue",
        "mqueue",
        F::NOSUID | F::NOEXEC | F::NODEV,
        "",
    ));
    for (name, link_to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        steps.push(Step::Symlink {
            path: format!("/dev/{name}"),
            link_to: link_to.into(),
        });
    }
    steps.push(Step::Filesystem {
        target: "/sys".into(),
        fstype: "sysfs",
        flags: F::NOSUID | F::NOEXEC | F::NODEV | sys_readonly,
        data: String::new(),
        on_failure: OnFailure::BindHost(PathBuf::from("/sys")),
    });
    if sandbox {
        for path in MASKED_PATHS.iter().filter(|path| path.starts_with("/sys/")) {
            steps.push(Step::Mask {
                target: path.to_string(),
            });
        }
    }
    // BuildKit's withCGroup: the container's own cgroup (v2) tree. Hosts
    // without a mountable cgroup2 hierarchy simply do not get one.
    steps.push(Step::Filesystem {
        target: "/sys/fs/cgroup".into(),
        fstype: "cgroup2",
        flags: F::NOSUID | F::NOEXEC | F::NODEV | sys_readonly,
        data: String::new(),
        on_failure: OnFailure::Skip,
    });
    steps.push(Step::File {
        target: "/etc/resolv.conf".into(),
        contents: resolv,
    });
    steps.push(Step::File {
        target: "/etc/hosts".into(),
        contents: hosts,
    });
    for mount in &spec.mounts {
        let target = normalise_target(mount.target())?;
        steps.push(match mount {
            MountSpec::Bind {
                source, readonly, ..
            } => Step::Bind {
                source: source.clone(),
                target,
                readonly: *readonly,
            },
            MountSpec::Tmpfs { size_bytes, .. } => {
                let data = size_bytes
                    .map(|size| format!("size={size}"))
                    .unwrap_or_default();
                Step::Filesystem {
                    target,
                    fstype: "tmpfs",
                    flags: F::NOSUID | F::STRICTATIME,
                    data,
                    on_failure: OnFailure::Fail,
                }
            }
        });
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Network;

    fn spec(mounts: Vec<MountSpec>) -> RunSpec {
        RunSpec {
            rootfs: "/r".into(),
            args: vec!["true".into()],
            env: vec![],
            cwd: "/".into(),
            user: String::new(),
            hostname: String::new(),
            extra_hosts: vec![],
            ulimits: vec![],
            network: Network::None,
            security: Security::Sandbox,
            mounts,
            helper_program: "/decant".into(),
        }
    }

    fn render(steps: &[Step]) -> String {
        steps
            .iter()
            .map(|step| match step {
                Step::Filesystem {
                    target,
                    fstype,
                    flags,
                    data,
                    on_failure,
                } => format!(
                    "fs {fstype} {target} {flags:?} {data:?}{}\n",
                    match on_failure {
                        OnFailure::Fail => String::new(),
                        OnFailure::BindHost(host) => format!(" else bind {}", host.display()),
                        OnFailure::Skip => " else skip".to_string(),
                    }
                ),
                Step::Bind {
                    source,
                    target,
                    readonly,
                } => {
                    format!("bind {} {target} ro={readonly}\n", source.display())
                }
                Step::Symlink { path, link_to } => format!("symlink {path} -> {link_to}\n"),
                Step::File { target, contents } => {
                    format!("file {target} {} bytes\n", contents.len())
                }
                Step::Mask { target } => format!("mask {target}\n"),
                Step::Readonly { target } => format!("readonly {target}\n"),
            })
            .collect()
    }

    #[test]
    fn standard_plan_then_user_mounts_in_order() {
        let steps = plan(
            &spec(vec![
                MountSpec::Bind {
                    source: "/host/cache".into(),
                    target: "/root/.cache/".into(),
                    readonly: false,
                },
                MountSpec::Tmpfs {
                    target: "/./tmp//x".into(),
                    size_bytes: Some(1 << 20),
                },
                MountSpec::Bind {
                    source: "/host/f".into(),
                    target: "/etc/f".into(),
                    readonly: true,
                },
            ]),
            "hosts".into(),
            "resolv".into(),
        )
        .expect("valid plan");
        let rendered = render(&steps);
        let expected = include_str!("../tests/fixtures/standard_plan.txt");
        assert_eq!(rendered, expected, "plan changed; rendered:\n{rendered}");
    }

    #[test]
    fn mounts_come_after_what_they_mount_into() {
        let steps = plan(&spec(vec![]), String::new(), String::new()).expect("valid plan");
        let position = |target: &str| steps.iter().position(|s| s.target() == target);
        for (index, step) in steps.iter().enumerate() {
            for parent in ["/proc", "/dev", "/sys"] {
                if step.target().starts_with(&format!("{parent}/")) {
                    assert!(
                        position(parent) < Some(index),
                        "{} before {parent}",
                        step.target()
                    );
                }
            }
        }
    }

    #[test]
    fn invalid_targets_are_rejected() {
        for target in ["relative", "", "/", "//", "/./"] {
            let result = plan(
                &spec(vec![MountSpec::Tmpfs {
                    target: target.into(),
                    size_bytes: None,
                }]),
                String::new(),
                String::new(),
            );
            assert_eq!(
                result.err(),
                Some(SetupError::InvalidMountTarget {
                    target: target.into()
                }),
                "{target:?}"
            );
        }
    }
}
