//! Running one process isolated in Linux namespaces over a prepared root, in a
//! re-exec'd single-threaded helper. All `unsafe` in decant lives here.
//!
//! # Shape
//!
//! The engine is multi-threaded, and forking a multi-threaded process is only
//! safe if the child does nothing but `execve` (glibc's locks may be held by
//! threads that do not exist in the child). So [`run`] never forks by itself:
//! it spawns `spec.helper_program HELPER_ARG` through [`std::process::Command`]
//! (whose fork/exec path is async-signal-safe) and the decant binary, seeing
//! [`HELPER_ARG`], calls [`helper_main`] before it starts any thread. Three
//! processes then exist:
//!
//! ```text
//! decant (run)                      helper (helper_main)           init (pid 1)        command (pid 2)
//!   │ socketpair on fd 3 ──spec──▶    unshare(ns|pid|uts|ipc[|net])
//!   │                                 fork ─────────────────────▶  mounts, pivot_root,
//!   │                                                              hostname, user, cwd
//!   │                                                              fork ─────────────▶ setgroups/gid/uid,
//!   │ ◀── stdout/stderr pipes (inherited all the way down) ─────────────────────────── chdir, execve
//!   │ ◀── reports on fd 3: Failed(SetupError) | Exited(ExitStatus)
//! ```
//!
//! * The helper sets `PR_SET_PDEATHSIG(SIGKILL)` and checks that its parent is
//!   still the caller, so it dies with decant; init does the same towards the
//!   helper, and when init (pid 1 of the new pid namespace) dies the kernel
//!   SIGKILLs everything else in the namespace. Every mount lives only in the
//!   helper's private mount namespace, which disappears with its last process:
//!   nothing can leak, whatever way decant exits.
//! * Init reaps zombies (orphans of the command are reparented to it) and
//!   forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT to the command.
//! * Errors before `execve` travel back as a structured [`SetupError`], so the
//!   user sees `exec: "foo": executable file not found in $PATH`, not a bare
//!   exit code.
//!
//! # Modules
//!
//! Pure (unit-tested without root): `user` (USER against passwd/group text,
//! moby/sys/user semantics), `environ` (env defaults, `$PATH` lookup),
//! `netconf` (/etc/hosts and /etc/resolv.conf contents), `mount_plan` (the
//! ordered list of mounts a run needs). IO: `parent` (spawning, streaming),
//! `helper` (the namespaced side), `sys` (the thin `unsafe` syscall layer),
//! `isolate` ([`isolate_mounts`]).
//!
//! Architecture Invariant: knows nothing of images, layers or Dockerfiles: it
//! gets a root directory, argv, env, user text, cwd and mounts.

// The executor is the one place decant talks to the kernel below what rustix
// wraps safely: fork, execve, sigprocmask/sigwaitinfo, capabilities, ioctls.
// Each `unsafe` block carries a `// SAFETY:` comment naming the contract.
#![allow(unsafe_code)]

mod environ;
mod error;
mod helper;
mod isolate;
mod mount_plan;
mod netconf;
mod parent;
mod protocol;
mod spec;
mod sys;
mod user;

pub use error::{ExecError, SetupError};
pub use helper::helper_main;
pub use isolate::isolate_mounts;
pub use parent::{CANCEL_POLL, run, run_cancellable};
pub use spec::{ExitStatus, MountSpec, Network, OutputStream, RunSpec, Security, Ulimit};
pub use user::{group_id, passwd_ids};

/// The argument with which decant re-invokes itself as the executor helper:
/// `decant __decant-executor`. The cli must call [`helper_main`] when it sees
/// it as the first argument, before doing anything else (in particular before
/// starting threads).
pub const HELPER_ARG: &str = "__decant-executor";

/// The hostname BuildKit gives RUN containers when none is requested
/// (moby/buildkit executor/oci/hosts.go `defaultHostname`).
pub const DEFAULT_HOSTNAME: &str = "buildkitsandbox";
