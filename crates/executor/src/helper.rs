//! The namespaced side of a run, in the re-exec'd helper: [`helper_main`]
//! (outside the new pid namespace), `init` (pid 1 inside it: mounts,
//! pivot_root, identity, then reaping and signal forwarding) and `command`
//! (pid 2: drops to the user and execs). Single-threaded throughout, which is
//! what makes its plain `fork`s sound.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::{CapabilitySet, CapabilitySets, UnshareFlags};

use crate::environ::{self, LookupError, Probe};
use crate::error::SetupError;
use crate::mount_plan::{self, OnFailure, Step};
use crate::netconf;
use crate::protocol::{CHANNEL_FD, Report, Request};
use crate::spec::{ExitStatus, Network, RunSpec, Security};
use crate::sys::{self, Forked};
use crate::user::{self, Identity};

/// Largest /etc/passwd or /etc/group read (BuildKit's `maxUserFileBytes`).
const MAX_USER_FILE_BYTES: u64 = 10 << 20;

/// The entry point of `decant __decant-executor`: reads a run request from
/// fd 3, runs it, reports on fd 3, exits. Must be called before the process
/// starts any thread (it forks).
pub fn helper_main() -> ! {
    // SAFETY: `run` placed our end of the socketpair on CHANNEL_FD before
    // exec and nothing else in this fresh process owns that fd. If decant was
    // started without it, reads fail with EBADF and we report nothing.
    let channel = unsafe { OwnedFd::from_raw_fd(CHANNEL_FD) };
    let mut channel = File::from(channel);
    let code = match helper(&mut channel) {
        Ok(code) => code,
        Err(error) => {
            report(&mut channel, &Report::Failed(error));
            125
        }
    };
    std::process::exit(code)
}

fn report(channel: &mut File, report: &Report) {
    // Nothing sensible is left to do if decant stopped listening.
    let _ = channel.write_all(&report.to_line());
}

fn errno_of(error: &std::io::Error) -> i32 {
    error.raw_os_error().unwrap_or(libc::EIO)
}

fn helper(channel: &mut File) -> Result<i32, SetupError> {
    rustix::io::fcntl_setfd(channel.as_fd(), rustix::io::FdFlags::CLOEXEC)
        .map_err(|errno| SetupError::syscall("fcntl on the helper channel", errno))?;
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|errno| SetupError::syscall("prctl(PR_SET_PDEATHSIG)", errno))?;

    let mut bytes = Vec::new();
    channel
        .read_to_end(&mut bytes)
        .map_err(|error| SetupError::io("reading the run request", &error))?;
    let request: Request =
        serde_json::from_slice(&bytes).map_err(|error| SetupError::MalformedRequest {
            detail: error.to_string(),
        })?;
    // Decant may have died before the death signal was armed; then we have
    // been reparented and must not run an orphan container.
    let parent = rustix::process::getppid().map(|pid| pid.as_raw_nonzero().get());
    if parent != Some(request.parent_pid) {
        return Err(SetupError::ParentGone);
    }
    let threads =
        sys::thread_count().map_err(|error| SetupError::io("listing /proc/self/task", &error))?;
    if threads != 1 {
        return Err(SetupError::NotSingleThreaded { threads });
    }
    let spec = request.spec;
    if spec.args.is_empty() {
        return Err(SetupError::EmptyCommand);
    }

    // Host files are read before unsharing, while "/" is still the host's.
    let hostname = if spec.hostname.is_empty() {
        crate::DEFAULT_HOSTNAME.to_string()
    } else {
        spec.hostname.clone()
    };
    let resolv = netconf::resolv_conf(host_resolv_conf(spec.network).as_deref(), spec.network);
    let hosts = netconf::hosts_file(&hostname, &spec.extra_hosts);
    let steps = mount_plan::plan(&spec, hosts, resolv)?;

    let mut flags =
        UnshareFlags::NEWNS | UnshareFlags::NEWPID | UnshareFlags::NEWUTS | UnshareFlags::NEWIPC;
    if spec.network == Network::None {
        flags |= UnshareFlags::NEWNET;
    }
    // SAFETY: rustix marks unshare unsafe because CLONE_FILES/CLONE_FS alter
    // state shared with other threads; we are single-threaded (checked above)
    // and pass only namespace flags.
    unsafe { rustix::thread::unshare_unsafe(flags) }
        .map_err(|errno| SetupError::syscall("unshare namespaces", errno))?;
    sys::block_handled_signals().map_err(|error| SetupError::io("sigprocmask", &error))?;

    // init learns that we died (before its own death signal was armed) from
    // this pipe hanging up.
    let (alive_read, alive_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|errno| SetupError::syscall("pipe", errno))?;
    match sys::fork().map_err(|error| SetupError::io("fork init", &error))? {
        Forked::Child => {
            drop(alive_write);
            let code = match init(&spec, &steps, &hostname, channel, alive_read) {
                Ok(code) => code,
                Err(error) => {
                    report(channel, &Report::Failed(error));
                    125
                }
            };
            std::process::exit(code)
        }
        Forked::Parent(init_pid) => {
            drop(alive_read);
            let status = supervise(init_pid)?;
            drop(alive_write);
            Ok(match status {
                ExitStatus::Exited(code) => code,
                ExitStatus::Signaled(signal) => 128 + signal,
            })
        }
    }
}

fn host_resolv_conf(network: Network) -> Option<String> {
    let main = std::fs::read_to_string("/etc/resolv.conf").ok();
    // BuildKit: with a private network, systemd-resolved's stub (127.0.0.53)
    // is unreachable, so use the upstream list it maintains instead.
    let only_stub = main.as_deref().is_some_and(|text| {
        let servers: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("nameserver"))
            .map(str::trim)
            .collect();
        servers == ["127.0.0.53"]
    });
    if network == Network::None && only_stub {
        return std::fs::read_to_string("/run/systemd/resolve/resolv.conf")
            .ok()
            .or(main);
    }
    main
}

/// Forwards termination signals to `child` and reaps every child until
/// `child` itself exits (as pid 1 we also inherit orphans, which must be
/// reaped or they stay zombies).
fn supervise(child: i32) -> Result<ExitStatus, SetupError> {
    loop {
        let signal = sys::wait_signal().map_err(|error| SetupError::io("sigwaitinfo", &error))?;
        if signal != libc::SIGCHLD {
            sys::send_signal(child, signal);
            continue;
        }
        loop {
            match rustix::process::waitpid(None, rustix::process::WaitOptions::NOHANG) {
                Ok(Some((pid, status))) => {
                    if pid.as_raw_nonzero().get() == child {
                        if let Some(signal) = status.terminating_signal() {
                            return Ok(ExitStatus::Signaled(signal));
                        }
                        if let Some(code) = status.exit_status() {
                            return Ok(ExitStatus::Exited(code));
                        }
                    }
                }
                Ok(None) => break,
                Err(Errno::CHILD) => break,
                Err(Errno::INTR) => continue,
                Err(errno) => return Err(SetupError::syscall("waitpid", errno)),
            }
        }
    }
}

/// pid 1 of the new pid namespace.
fn init(
    spec: &RunSpec,
    steps: &[Step],
    hostname: &str,
    channel: &mut File,
    helper_alive: OwnedFd,
) -> Result<i32, SetupError> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|errno| SetupError::syscall("prctl(PR_SET_PDEATHSIG)", errno))?;
    let mut probe = [rustix::event::PollFd::new(
        &helper_alive,
        rustix::event::PollFlags::IN,
    )];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    if rustix::event::poll(&mut probe, Some(&zero)).is_ok() && !probe[0].revents().is_empty() {
        return Err(SetupError::ParentGone);
    }
    drop(helper_alive);
    // Not dumpable: the command (root in the same user namespace) must not
    // open /proc/1/exe, which is the host's decant binary (CVE-2019-5736).
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|errno| SetupError::syscall("prctl(PR_SET_DUMPABLE)", errno))?;
    // runc's default umask, so files the command creates get 0644/0755.
    rustix::process::umask(Mode::from_raw_mode(0o022));

    setup_root(&spec.rootfs, steps)?;
    rustix::system::sethostname(hostname.as_bytes())
        .map_err(|errno| SetupError::syscall("sethostname", errno))?;
    if spec.network == Network::None {
        sys::loopback_up().map_err(|error| SetupError::io("bringing up lo", &error))?;
    }

    let passwd = read_user_file("/etc/passwd")?;
    let group = read_user_file("/etc/group")?;
    let identity = user::resolve(&spec.user, passwd.as_deref(), group.as_deref())?;
    let env = environ::process_env(&spec.env, &identity.home);
    let cwd = if spec.cwd.is_empty() {
        "/".to_string()
    } else {
        spec.cwd.clone()
    };
    ensure_workdir(&cwd, &identity)?;
    // A build step is throughput work (see `batch_scheduling`); a kernel
    // or a seccomp profile that refuses the policy only costs speed.
    let _ = sys::batch_scheduling();
    // Set here, before the fork, so the command inherits them, as runc
    // applies `process.rlimits` before it execs.
    for ulimit in &spec.ulimits {
        let resource = ulimit
            .resource()
            .ok_or_else(|| SetupError::MalformedRequest {
                detail: format!("unknown ulimit {:?}", ulimit.name),
            })?;
        // -1 (or any negative value) is RLIM_INFINITY, as in docker.
        let limit = |value: i64| u64::try_from(value).ok();
        let rlimit = rustix::process::Rlimit {
            current: limit(ulimit.soft),
            maximum: limit(ulimit.hard),
        };
        rustix::process::setrlimit(resource, rlimit)
            .map_err(|errno| SetupError::syscall(format!("setrlimit({})", ulimit.name), errno))?;
    }

    match sys::fork().map_err(|error| SetupError::io("fork command", &error))? {
        Forked::Child => {
            let error = command(spec, &identity, &env, &cwd);
            report(channel, &Report::Failed(error));
            // 127 is what a shell answers for a command it could not run.
            std::process::exit(127)
        }
        Forked::Parent(pid) => {
            let status = supervise(pid)?;
            report(channel, &Report::Exited(status));
            Ok(0)
        }
    }
}

/// Reads an identity file inside the (pivoted) root; None when missing or
/// not a regular file, as BuildKit's openUserFile.
fn read_user_file(path: &str) -> Result<Option<String>, SetupError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(_) => return Ok(None),
    };
    match file.metadata() {
        Ok(metadata) if metadata.is_file() => {}
        _ => return Ok(None),
    }
    let mut bytes = Vec::new();
    file.take(MAX_USER_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| SetupError::ReadUserFile {
            path: path.to_string(),
            errno: errno_of(&error),
        })?;
    if bytes.len() as u64 > MAX_USER_FILE_BYTES {
        return Err(SetupError::ReadUserFile {
            path: path.to_string(),
            errno: libc::EFBIG,
        });
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// BuildKit creates a missing working directory (and its missing parents)
/// 0755, owned by the user the command runs as.
fn ensure_workdir(cwd: &str, identity: &Identity) -> Result<(), SetupError> {
    let error = |error: std::io::Error| SetupError::Workdir {
        path: cwd.to_string(),
        errno: errno_of(&error),
    };
    let mut current = std::path::PathBuf::from("/");
    for component in Path::new(cwd).components().skip(1) {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(_) => continue,
            Err(missing) if missing.kind() == std::io::ErrorKind::NotFound => {}
            Err(other) => return Err(error(other)),
        }
        // A dangling symlink component is followed by create_dir_all-like
        // logic in BuildKit too; we simply create the missing directory.
        match std::fs::create_dir(&current) {
            Ok(()) => {}
            Err(exists) if exists.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(other) => return Err(error(other)),
        }
        std::os::unix::fs::chown(&current, Some(identity.uid), Some(identity.gid))
            .map_err(error)?;
        std::fs::set_permissions(
            &current,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .map_err(error)?;
    }
    Ok(())
}

/// pid 2: becomes the user and execs. Returns only on failure.
fn command(spec: &RunSpec, identity: &Identity, env: &[String], cwd: &str) -> SetupError {
    if let Err(error) = sys::reset_signals() {
        return SetupError::io("resetting signals", &error);
    }
    if let Err(error) = sys::close_fds_from(CHANNEL_FD as u32 + 1) {
        return SetupError::io("close_range", &error);
    }
    if spec.security == Security::Sandbox
        && let Err(error) = drop_capabilities()
    {
        return error;
    }
    let groups: Vec<rustix::process::Gid> = identity
        .groups
        .iter()
        .map(|gid| rustix::process::Gid::from_raw(*gid))
        .collect();
    if let Err(errno) = rustix::thread::set_thread_groups(&groups) {
        return SetupError::syscall("setgroups", errno);
    }
    if let Err(errno) = rustix::thread::set_thread_res_gid(
        rustix::process::Gid::from_raw(identity.gid),
        rustix::process::Gid::from_raw(identity.gid),
        rustix::process::Gid::from_raw(identity.gid),
    ) {
        return SetupError::syscall(format!("setgid {}", identity.gid), errno);
    }
    if let Err(errno) = rustix::thread::set_thread_res_uid(
        rustix::process::Uid::from_raw(identity.uid),
        rustix::process::Uid::from_raw(identity.uid),
        rustix::process::Uid::from_raw(identity.uid),
    ) {
        return SetupError::syscall(format!("setuid {}", identity.uid), errno);
    }
    if let Err(errno) = rustix::process::chdir(cwd) {
        return SetupError::Chdir {
            path: cwd.to_string(),
            errno: errno.raw_os_error(),
        };
    }
    // CVE-2024-21626: make sure the cwd is reachable from the new root.
    match rustix::process::getcwd(Vec::new()) {
        Ok(path) if path.as_bytes().starts_with(b"/") => {}
        _ => {
            return SetupError::WorkdirEscapes {
                path: cwd.to_string(),
            };
        }
    }

    let program = &spec.args[0];
    let mut probe = |candidate: &str| match rustix::fs::stat(candidate) {
        Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Directory => {
            Probe::NotExecutable
        }
        Ok(stat) if stat.st_mode & 0o111 != 0 => Probe::Executable,
        Ok(_) => Probe::NotExecutable,
        Err(errno) => Probe::Missing(errno.raw_os_error()),
    };
    let path = match environ::look_path(program, environ::path_value(env), &mut probe) {
        Ok(path) => path,
        Err(LookupError::NotFound) => {
            return SetupError::ExecutableNotFound {
                program: program.clone(),
            };
        }
        Err(LookupError::NotExecutable) => {
            return SetupError::NotExecutable {
                program: program.clone(),
            };
        }
        Err(LookupError::Missing(errno)) => {
            return SetupError::Exec {
                program: program.clone(),
                errno,
            };
        }
    };
    let to_c = |text: &str| {
        CString::new(text).map_err(|_| SetupError::Exec {
            program: program.clone(),
            errno: libc::EINVAL,
        })
    };
    let converted = (|| {
        let path = to_c(&path)?;
        let argv = spec
            .args
            .iter()
            .map(|arg| to_c(arg))
            .collect::<Result<Vec<_>, _>>()?;
        let envp = env
            .iter()
            .map(|var| to_c(var))
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, SetupError>((path, argv, envp))
    })();
    let (path, argv, envp) = match converted {
        Ok(converted) => converted,
        Err(error) => return error,
    };
    let error = sys::execve(&path, &argv, &envp);
    SetupError::Exec {
        program: program.clone(),
        errno: errno_of(&error),
    }
}

/// containerd's `defaultUnixCaps`, what BuildKit runs RUN with (the
/// bounding set Docker users know as 0xa80425fb).
const DEFAULT_CAPABILITIES: CapabilitySet = CapabilitySet::CHOWN
    .union(CapabilitySet::DAC_OVERRIDE)
    .union(CapabilitySet::FSETID)
    .union(CapabilitySet::FOWNER)
    .union(CapabilitySet::MKNOD)
    .union(CapabilitySet::NET_RAW)
    .union(CapabilitySet::SETGID)
    .union(CapabilitySet::SETUID)
    .union(CapabilitySet::SETFCAP)
    .union(CapabilitySet::SETPCAP)
    .union(CapabilitySet::NET_BIND_SERVICE)
    .union(CapabilitySet::SYS_CHROOT)
    .union(CapabilitySet::KILL)
    .union(CapabilitySet::AUDIT_WRITE);

/// Shrinks the bounding set to [`DEFAULT_CAPABILITIES`] and empties the
/// inheritable and ambient sets (CVE-2022-27651: non-empty inheritable
/// capabilities in buildah's RUN). A later setuid to a non-root user clears
/// the permitted and effective sets, as for any process.
fn drop_capabilities() -> Result<(), SetupError> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .unwrap_or(40)
        .min(63);
    for bit in 0..=last {
        let capability = CapabilitySet::from_bits_retain(1 << bit);
        if DEFAULT_CAPABILITIES.contains(capability) {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(capability) {
            // A capability this kernel does not know.
            Ok(()) | Err(Errno::INVAL) => {}
            Err(errno) => {
                return Err(SetupError::syscall(
                    format!("dropping capability {bit}"),
                    errno,
                ));
            }
        }
    }
    rustix::thread::clear_ambient_capability_set()
        .map_err(|errno| SetupError::syscall("clearing ambient capabilities", errno))?;
    let sets = CapabilitySets {
        effective: DEFAULT_CAPABILITIES,
        permitted: DEFAULT_CAPABILITIES,
        inheritable: CapabilitySet::empty(),
    };
    rustix::thread::set_capabilities(None, sets)
        .map_err(|errno| SetupError::syscall("capset", errno))?;
    Ok(())
}

/// Makes the mount namespace private, turns the rootfs into a mount point,
/// applies the plan and pivots into it.
fn setup_root(rootfs: &Path, steps: &[Step]) -> Result<(), SetupError> {
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|errno| SetupError::syscall("making mounts private", errno))?;
    rustix::mount::mount_bind_recursive(rootfs, rootfs).map_err(|errno| {
        SetupError::syscall(
            format!("bind-mounting the root {}", rootfs.display()),
            errno,
        )
    })?;
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| {
        SetupError::syscall(format!("opening the root {}", rootfs.display()), errno)
    })?;
    for step in steps {
        apply(root.as_fd(), step)?;
    }
    rustix::process::fchdir(&root)
        .map_err(|errno| SetupError::syscall("chdir to the root", errno))?;
    // pivot_root(".", ".") stacks the old root on top of the new one; the
    // detach below then drops it (runc's trick; no directory needed for it).
    rustix::process::pivot_root(".", ".")
        .map_err(|errno| SetupError::syscall("pivot_root", errno))?;
    rustix::mount::unmount(".", UnmountFlags::DETACH)
        .map_err(|errno| SetupError::syscall("detaching the old root", errno))?;
    rustix::process::chdir("/").map_err(|errno| SetupError::syscall("chdir /", errno))?;
    Ok(())
}

fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Resolves `path` inside the root without ever leaving it (symlinks and
/// ".." are resolved as if the root were "/"), as an O_PATH fd. Mounting
/// on `/proc/self/fd/N` of that fd then cannot be redirected outside the root
/// by a symlink in the image (runc's CVE-2021-30465 class).
fn open_in_root(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    loop {
        match rustix::fs::openat2(
            root,
            path,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            // openat2 asks to retry when a rename raced with the lookup.
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(index) => (&path[..index], &path[index + 1..]),
        None => ("/", path),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Directory,
    File,
}

/// Opens `path` in the root, creating it (and missing parent directories,
/// 0755) as `kind` when it does not exist.
fn ensure_in_root(root: BorrowedFd<'_>, path: &str, kind: Kind) -> Result<OwnedFd, Errno> {
    ensure_in_root_following(root, path, kind, 0)
}

/// Linux's own limit on symlinks followed in one lookup.
const MAX_SYMLINKS: u32 = 40;

fn ensure_in_root_following(
    root: BorrowedFd<'_>,
    path: &str,
    kind: Kind,
    followed: u32,
) -> Result<OwnedFd, Errno> {
    match open_in_root(root, path) {
        Err(Errno::NOENT) => {}
        other => return other,
    }
    let (parent_path, name) = split_parent(path);
    let parent = ensure_in_root_following(root, parent_path, Kind::Directory, followed)?;
    let created = match kind {
        Kind::Directory => rustix::fs::mkdirat(&parent, name, Mode::from_raw_mode(0o755)),
        Kind::File => rustix::fs::openat(
            &parent,
            name,
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map(drop),
    };
    match created {
        Ok(()) => open_in_root(root, path),
        Err(Errno::EXIST) => match open_in_root(root, path) {
            // A dangling symlink (Ubuntu's /etc/resolv.conf ->
            // ../run/systemd/resolve/stub-resolv.conf): create its target,
            // still inside the root, as runc's SecureJoin-based mkdir does.
            Err(Errno::NOENT) if followed < MAX_SYMLINKS => {
                let link = rustix::fs::readlinkat(&parent, name, Vec::new())?;
                let link = link.to_string_lossy();
                let next = if link.starts_with('/') {
                    link.into_owned()
                } else {
                    format!("{}/{link}", parent_path.trim_end_matches('/'))
                };
                ensure_in_root_following(root, &next, kind, followed + 1)
            }
            Err(Errno::NOENT) => Err(Errno::LOOP),
            other => other,
        },
        Err(errno) => Err(errno),
    }
}

fn is_directory(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    Ok(FileType::from_raw_mode(rustix::fs::fstat(fd)?.st_mode) == FileType::Directory)
}

/// Re-resolves `target` (now the top of its mount stack) and makes it,
/// with every mount below it, read-only; kernels without mount_setattr get
/// a remount of the top mount, keeping `keep` flags.
fn remount_readonly(root: BorrowedFd<'_>, target: &str, keep: MountFlags) -> Result<(), Errno> {
    let fd = open_in_root(root, target)?;
    match sys::make_readonly_recursive(fd.as_fd()) {
        Ok(()) => Ok(()),
        Err(error) if error.raw_os_error() == Some(libc::ENOSYS) => rustix::mount::mount_remount(
            fd_path(fd.as_fd()),
            MountFlags::BIND | MountFlags::RDONLY | keep,
            "",
        ),
        Err(error) => Err(Errno::from_io_error(&error).unwrap_or(Errno::IO)),
    }
}

fn apply(root: BorrowedFd<'_>, step: &Step) -> Result<(), SetupError> {
    let fail =
        |what: &str, errno: Errno| SetupError::syscall(format!("{what} {}", step.target()), errno);
    match step {
        Step::Filesystem {
            target,
            fstype,
            flags,
            data,
            on_failure,
        } => {
            let fd =
                ensure_in_root(root, target, Kind::Directory).map_err(|e| fail("creating", e))?;
            let data =
                CString::new(data.as_str()).map_err(|_| fail("mount options for", Errno::INVAL))?;
            let data = Some(data.as_c_str()).filter(|data| !data.is_empty());
            let mounted = rustix::mount::mount(*fstype, fd_path(fd.as_fd()), *fstype, *flags, data);
            match (mounted, on_failure) {
                (Ok(()), _) => {}
                (Err(_), OnFailure::Skip) => {}
                (Err(_), OnFailure::BindHost(host)) => {
                    rustix::mount::mount_bind_recursive(host.as_path(), fd_path(fd.as_fd()))
                        .map_err(|e| fail("bind-mounting host fallback on", e))?;
                    remount_readonly(
                        root,
                        target,
                        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                    )
                    .map_err(|e| fail("remounting read-only", e))?;
                }
                (Err(errno), OnFailure::Fail) => {
                    return Err(fail(&format!("mounting {fstype} on"), errno));
                }
            }
        }
        Step::Bind {
            source,
            target,
            readonly,
        } => {
            let metadata = std::fs::metadata(source).map_err(|error| {
                SetupError::io(format!("bind source {}", source.display()), &error)
            })?;
            let kind = if metadata.is_dir() {
                Kind::Directory
            } else {
                Kind::File
            };
            let fd = ensure_in_root(root, target, kind).map_err(|e| fail("creating", e))?;
            rustix::mount::mount_bind_recursive(source.as_path(), fd_path(fd.as_fd()))
                .map_err(|e| fail(&format!("bind-mounting {} on", source.display()), e))?;
            if *readonly {
                remount_readonly(root, target, MountFlags::empty())
                    .map_err(|e| fail("remounting read-only", e))?;
            }
        }
        Step::Symlink { path, link_to } => {
            let (parent, name) = split_parent(path);
            let parent = ensure_in_root(root, parent, Kind::Directory)
                .map_err(|e| fail("creating parent of", e))?;
            match rustix::fs::symlinkat(link_to.as_str(), &parent, name) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(errno) => return Err(fail("creating symlink", errno)),
            }
        }
        Step::File { target, contents } => {
            // Stage the file on the fresh /dev tmpfs (private to this mount
            // namespace), bind it, then unlink it: the bind keeps the inode
            // alive and nothing is left to see or to clean up.
            let dev = open_in_root(root, "/dev").map_err(|e| fail("opening /dev for", e))?;
            let (_, name) = split_parent(target);
            let staged_name = format!(".decant-staged-{name}");
            let staged = rustix::fs::openat(
                &dev,
                staged_name.as_str(),
                OFlags::CREATE | OFlags::EXCL | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )
            .map_err(|e| fail("staging", e))?;
            let mut file = File::from(staged);
            file.write_all(contents.as_bytes())
                .map_err(|error| SetupError::io(format!("writing {target}"), &error))?;
            let fd = ensure_in_root(root, target, Kind::File).map_err(|e| fail("creating", e))?;
            let bound = rustix::mount::mount_bind(fd_path(file.as_fd()), fd_path(fd.as_fd()));
            let unlinked = rustix::fs::unlinkat(&dev, staged_name.as_str(), AtFlags::empty());
            bound.map_err(|e| fail("bind-mounting", e))?;
            unlinked.map_err(|e| fail("unlinking the staged copy of", e))?;
            remount_readonly(root, target, MountFlags::empty())
                .map_err(|e| fail("remounting read-only", e))?;
        }
        Step::Mask { target } => {
            let fd = match open_in_root(root, target) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(()),
                Err(errno) => return Err(fail("opening", errno)),
            };
            if is_directory(fd.as_fd()).map_err(|e| fail("stat", e))? {
                rustix::mount::mount(
                    "tmpfs",
                    fd_path(fd.as_fd()),
                    "tmpfs",
                    MountFlags::RDONLY,
                    None,
                )
                .map_err(|e| fail("masking", e))?;
            } else {
                rustix::mount::mount_bind("/dev/null", fd_path(fd.as_fd()))
                    .map_err(|e| fail("masking", e))?;
            }
        }
        Step::Readonly { target } => {
            let fd = match open_in_root(root, target) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(()),
                Err(errno) => return Err(fail("opening", errno)),
            };
            rustix::mount::mount_bind_recursive(fd_path(fd.as_fd()), fd_path(fd.as_fd()))
                .map_err(|e| fail("binding", e))?;
            remount_readonly(
                root,
                target,
                MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            )
            .map_err(|e| fail("remounting read-only", e))?;
        }
    }
    Ok(())
}
