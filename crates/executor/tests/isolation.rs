//! Runs real containers over a busybox root (needs root; skips loudly
//! without, fails under CI=true).
//!
//! This test has its own `main` (`harness = false` in Cargo.toml) because
//! `executor::run` needs a helper program that dispatches
//! `executor::HELPER_ARG` to `executor::helper_main()`: the test binary
//! re-executes itself for that. A second private mode, `RUN_ARG`, makes it a
//! stand-in for decant that runs one spec, so a test can kill that "decant"
//! mid-run. Arguments that do not start with `--` filter cases by substring,
//! as with libtest.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use executor::{ExitStatus, MountSpec, Network, RunSpec, Security};
use support::{BusyboxRoot, Outcome, run};

/// `isolation __run-spec <json>`: run the spec as decant would (the tests
/// kill this process mid-run).
const RUN_ARG: &str = "__run-spec";

/// `isolation __isolate-and-mount <dir>`: call `isolate_mounts`, mount a
/// tmpfs on `<dir>`, say "mounted", wait for stdin to close.
const ISOLATE_ARG: &str = "__isolate-and-mount";

/// How a table case should end.
enum Expect {
    Status(ExitStatus),
    SetupError(&'static str),
}

/// One data-driven case: a command in a fresh busybox root.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    user: &'static str,
    env: &'static [&'static str],
    cwd: &'static str,
    network: Network,
    security: Security,
    stdout: &'static str,
    stderr: &'static str,
    expect: Expect,
}

const BASE: Case = Case {
    name: "",
    args: &[],
    user: "",
    env: &[],
    cwd: "/",
    network: Network::Host,
    security: Security::Sandbox,
    stdout: "",
    stderr: "",
    expect: Expect::Status(ExitStatus::Exited(0)),
};

fn table() -> Vec<Case> {
    vec![
        Case {
            name: "env_gets_default_path_and_home",
            args: &["env"],
            env: &["A=1"],
            stdout: "A=1\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOME=/root\n",
            ..BASE
        },
        Case {
            name: "env_keeps_given_path_and_home",
            args: &["/bin/env"],
            env: &["PATH=/bin", "HOME=/x", "B=two words"],
            stdout: "PATH=/bin\nHOME=/x\nB=two words\n",
            ..BASE
        },
        Case {
            // /proc/<pid>/stat field 41 is the scheduling policy; 3 is
            // SCHED_BATCH (sched(7)). The shell reads its own and its
            // child's, so the policy must be inherited too.
            name: "command_runs_with_batch_scheduling",
            args: &[
                "sh",
                "-c",
                "cut -d' ' -f41 /proc/$$/stat; cut -d' ' -f41 /proc/self/stat",
            ],
            stdout: "3\n3\n",
            ..BASE
        },
        Case {
            name: "id_root",
            args: &["id"],
            stdout: "uid=0(root) gid=0(root) groups=0(root)\n",
            ..BASE
        },
        Case {
            name: "id_app_has_supplementary_groups",
            args: &["id"],
            user: "app",
            stdout: "uid=1000(app) gid=1000(app) groups=50(staff),1000(app)\n",
            ..BASE
        },
        Case {
            name: "id_uid_gid_fast_path_has_no_supplementary_groups",
            args: &["id"],
            user: "1000:1000",
            stdout: "uid=1000(app) gid=1000(app) groups=1000(app)\n",
            ..BASE
        },
        Case {
            name: "id_nobody",
            args: &["id"],
            user: "nobody",
            stdout: "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n",
            ..BASE
        },
        Case {
            name: "id_numeric_uid_without_passwd_entry",
            args: &["sh", "-c", "id -u; id -g; id -G; echo $HOME"],
            user: "4242",
            stdout: "4242\n0\n0\n/\n",
            ..BASE
        },
        Case {
            name: "unknown_user_is_a_setup_error",
            args: &["id"],
            user: "ghost",
            expect: Expect::SetupError(
                "unable to find user ghost: no matching entries in passwd file",
            ),
            ..BASE
        },
        Case {
            name: "missing_workdir_is_created_owned_by_the_user",
            args: &["sh", "-c", "pwd; stat -c '%u:%g %a' /work /work/dir"],
            user: "app",
            cwd: "/work/dir",
            stdout: "/work/dir\n1000:1000 755\n1000:1000 755\n",
            ..BASE
        },
        Case {
            name: "exit_code_is_returned",
            args: &["sh", "-c", "exit 3"],
            expect: Expect::Status(ExitStatus::Exited(3)),
            ..BASE
        },
        Case {
            name: "signal_is_returned",
            args: &["sh", "-c", "kill -9 $$"],
            expect: Expect::Status(ExitStatus::Signaled(9)),
            ..BASE
        },
        Case {
            name: "stdout_and_stderr_are_separate",
            args: &["sh", "-c", "echo out; echo err >&2; echo out2"],
            stdout: "out\nout2\n",
            stderr: "err\n",
            ..BASE
        },
        Case {
            name: "sigpipe_is_default_in_the_command",
            args: &["sh", "-c", "yes | head -n 2"],
            stdout: "y\ny\n",
            ..BASE
        },
        Case {
            name: "executable_not_found",
            args: &["nosuch"],
            expect: Expect::SetupError("exec: \"nosuch\": executable file not found in $PATH"),
            ..BASE
        },
        Case {
            name: "absolute_program_missing",
            args: &["/nosuch"],
            expect: Expect::SetupError("exec: \"/nosuch\": no such file or directory"),
            ..BASE
        },
        Case {
            name: "command_is_pid_2_under_an_init",
            args: &[
                "sh",
                "-c",
                "echo $$; cat /proc/1/comm >/dev/null && echo init-visible",
            ],
            stdout: "2\ninit-visible\n",
            ..BASE
        },
        Case {
            name: "hostname_and_hosts_like_buildkit",
            args: &["sh", "-c", "hostname; cat /etc/hosts"],
            stdout: "buildkitsandbox\n127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n",
            ..BASE
        },
        Case {
            name: "network_none_has_only_lo_and_it_is_up",
            args: &["sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"],
            network: Network::None,
            stdout: "lo\n0x9\n",
            ..BASE
        },
        Case {
            name: "masked_and_readonly_proc_paths",
            args: &[
                "sh",
                "-c",
                "wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; \
                 (echo x > /proc/sys/kernel/hostname) 2>&1 | sed 's/.*: //'; \
                 grep ' /proc/sys ' /proc/mounts | cut -d' ' -f4 | cut -c1-2",
            ],
            stdout: "0\n0\n0\nRead-only file system\nro\n",
            ..BASE
        },
        Case {
            name: "dev_has_the_standard_nodes",
            args: &[
                "sh",
                "-c",
                "ls /dev | sort | tr '\\n' ' '; echo; readlink /dev/fd; readlink /dev/ptmx; \
                 head -c 4 /dev/zero | wc -c; echo hi > /dev/null && echo null-ok",
            ],
            stdout: "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \n\
                     /proc/self/fd\npts/ptmx\n4\nnull-ok\n",
            ..BASE
        },
        Case {
            name: "root_gets_buildkits_default_capabilities",
            args: &["grep", "^Cap", "/proc/self/status"],
            stdout: "CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n\
                     CapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n",
            ..BASE
        },
        Case {
            name: "non_root_user_has_no_effective_capabilities",
            args: &["grep", "^Cap", "/proc/self/status"],
            user: "app",
            stdout: "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
                     CapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n",
            ..BASE
        },
        Case {
            name: "insecure_keeps_capabilities_and_unmasks",
            args: &[
                "sh",
                "-c",
                "grep -c '^CapEff:.00000000a80425fb' /proc/self/status; \
                 head -c 1 /proc/timer_list | wc -c; \
                 grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -c1-2",
            ],
            security: Security::Insecure,
            stdout: "0\n1\nrw\n",
            expect: Expect::Status(ExitStatus::Exited(0)),
            ..BASE
        },
        Case {
            name: "cgroup_tree_is_mounted_read_only",
            args: &[
                "sh",
                "-c",
                "grep ' /sys/fs/cgroup ' /proc/mounts | cut -d' ' -f3,4 | cut -c1-10",
            ],
            stdout: "cgroup2 ro\n",
            ..BASE
        },
        Case {
            name: "stdin_is_dev_null",
            args: &["sh", "-c", "cat; readlink /proc/self/fd/0"],
            stdout: "/dev/null\n",
            ..BASE
        },
        Case {
            name: "orphans_are_reaped_by_init",
            args: &[
                "sh",
                "-c",
                "(sleep 0.1 &); sleep 0.6; ps -o stat,comm | grep -c '^Z'; true",
            ],
            stdout: "0\n",
            ..BASE
        },
        Case {
            name: "init_exe_is_not_reachable_cve_2019_5736",
            args: &[
                "sh",
                "-c",
                "(cat /proc/1/exe > /dev/null) 2>&1 | sed 's/.*: //'",
            ],
            stdout: "Permission denied\n",
            ..BASE
        },
        Case {
            name: "workdir_through_proc_self_fd_is_refused_cve_2024_21626",
            args: &["true"],
            cwd: "/proc/self/fd/3",
            expect: Expect::SetupError(
                "chdir to working directory /proc/self/fd/3: not a directory",
            ),
            ..BASE
        },
        Case {
            name: "sys_is_read_only",
            args: &["sh", "-c", "(touch /sys/x) 2>&1 | sed 's/.*: //'"],
            stdout: "Read-only file system\n",
            ..BASE
        },
    ]
}

fn check_case(case: &Case) {
    let root = BusyboxRoot::new();
    let mut spec = root.spec(case.args);
    spec.user = case.user.to_string();
    spec.env = case.env.iter().map(|s| s.to_string()).collect();
    spec.cwd = case.cwd.to_string();
    spec.network = case.network;
    spec.security = case.security;
    let outcome = run(&spec);
    match (&case.expect, &outcome.result) {
        (Expect::Status(expected), Ok(status)) => {
            assert_eq!(status, expected, "status; {outcome:?}")
        }
        (Expect::SetupError(expected), Err(error)) => assert_eq!(&error.to_string(), expected),
        _ => panic!("unexpected result {outcome:?}"),
    }
    assert_eq!(
        outcome.stdout, case.stdout,
        "stdout; stderr was {:?}",
        outcome.stderr
    );
    assert_eq!(outcome.stderr, case.stderr, "stderr");
    assert_no_mounts_under(root.path());
}

// ---------------------------------------------------------------------------
// cases that need more than a table row

fn mounts_under(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let prefix = path.to_string_lossy().into_owned();
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|mount_point| mount_point.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

fn assert_no_mounts_under(path: &Path) {
    assert_eq!(
        mounts_under(path),
        Vec::<String>::new(),
        "mounts left under {}",
        path.display()
    );
}

/// Pids of processes whose argv is exactly `argv`.
fn processes_with_argv(argv: &[&str]) -> Vec<i32> {
    let wanted: Vec<u8> = argv.iter().flat_map(|arg| arg.bytes().chain([0])).collect();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| cmdline == wanted) {
            pids.push(pid);
        }
    }
    pids
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tree(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let relative = path
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            out.insert(format!(
                "/{relative} {}",
                if meta.is_dir() {
                    "dir".to_string()
                } else {
                    meta.len().to_string()
                }
            ));
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

fn only_empty_mount_points_leak_into_the_rootfs() {
    let root = BusyboxRoot::new();
    let before = tree(root.path());
    let outcome = run(&root.spec(&[
        "sh",
        "-c",
        "echo data > /tmp/written; cat /etc/hosts /etc/resolv.conf > /dev/null",
    ]));
    assert_eq!(outcome.result.expect("ran"), ExitStatus::Exited(0));
    let after = tree(root.path());
    let added: Vec<&String> = after.difference(&before).collect();
    assert_eq!(
        added,
        [
            "/dev dir",
            "/etc/hosts 0",
            "/etc/resolv.conf 0",
            "/proc dir",
            "/sys dir",
            "/tmp/written 5"
        ],
        "only empty mount points and what the command wrote"
    );
    for dir in ["dev", "proc", "sys"] {
        assert_eq!(
            std::fs::read_dir(root.path().join(dir))
                .expect("dir")
                .count(),
            0,
            "/{dir} is empty"
        );
    }
    assert_no_mounts_under(root.path());
}

fn background_processes_die_with_the_command() {
    let root = BusyboxRoot::new();
    let outcome = run(&root.spec(&["sh", "-c", "sleep 4242 & echo started"]));
    assert_eq!(outcome.result.expect("ran"), ExitStatus::Exited(0));
    assert_eq!(outcome.stdout, "started\n");
    wait_until(
        "the background sleep to die",
        Duration::from_secs(5),
        || processes_with_argv(&["sleep", "4242"]).is_empty(),
    );
    assert_no_mounts_under(root.path());
}

fn setup_failure_leaves_no_mounts() {
    let root = BusyboxRoot::new();
    let mut spec = root.spec(&["true"]);
    spec.cwd = "/etc/passwd/sub".into();
    let outcome = run(&spec);
    let error = outcome
        .result
        .expect_err("cwd under a file cannot be created");
    assert_eq!(
        error.to_string(),
        "failed to create working directory /etc/passwd/sub: not a directory"
    );
    assert_no_mounts_under(root.path());
}

fn bind_and_tmpfs_mounts() {
    let root = BusyboxRoot::new();
    let host = tempfile::tempdir().expect("host dir");
    std::fs::write(host.path().join("in"), "from host\n").expect("write");
    let readonly = tempfile::tempdir().expect("ro dir");
    std::fs::write(readonly.path().join("ro"), "ro\n").expect("write");
    let mut spec = root.spec(&[
        "sh",
        "-c",
        "cat /mnt/rw/in; echo back > /mnt/rw/out; cat /mnt/ro/ro; \
         (touch /mnt/ro/x) 2>&1 | sed 's/.*: //'; \
         grep ' /scratch ' /proc/mounts | cut -d' ' -f3; \
         df -k /scratch | tail -n 1 | awk '{print $2}'; echo t > /scratch/t && cat /scratch/t",
    ]);
    spec.mounts = vec![
        MountSpec::Bind {
            source: host.path().to_path_buf(),
            target: "/mnt/rw".into(),
            readonly: false,
        },
        MountSpec::Bind {
            source: readonly.path().to_path_buf(),
            target: "/mnt/ro".into(),
            readonly: true,
        },
        MountSpec::Tmpfs {
            target: "/scratch".into(),
            size_bytes: Some(2 << 20),
        },
    ];
    let outcome = run(&spec);
    assert_eq!(
        outcome.result.expect("ran"),
        ExitStatus::Exited(0),
        "{}",
        outcome.stderr
    );
    assert_eq!(
        outcome.stdout,
        "from host\nro\nRead-only file system\ntmpfs\n2048\nt\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.path().join("out")).expect("written through"),
        "back\n"
    );
    assert!(
        !root.path().join("scratch/t").exists(),
        "tmpfs content does not reach the rootfs"
    );
    assert_no_mounts_under(root.path());
}

fn network_host_sees_the_host_interfaces() {
    let root = BusyboxRoot::new();
    let outcome = run(&root.spec(&["ls", "/sys/class/net"]));
    assert_eq!(outcome.result.expect("ran"), ExitStatus::Exited(0));
    let mut host: Vec<String> = std::fs::read_dir("/sys/class/net")
        .expect("host interfaces")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    host.sort();
    let seen: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(seen, host);
}

/// Starts a stand-in decant (this binary in RUN_ARG mode) running `sleep
/// <token>`, waits until the sleep runs, and returns the stand-in and the
/// helper's pid.
fn start_standin(root: &BusyboxRoot, token: &str) -> (std::process::Child, i32) {
    let spec = root.spec(&["sleep", token]);
    let mut standin = Command::new(support::helper_program())
        .arg(RUN_ARG)
        .arg(serde_json::to_string(&spec).expect("spec json"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn stand-in decant");
    wait_until("the sleep to start", Duration::from_secs(10), || {
        !processes_with_argv(&["sleep", token]).is_empty()
    });
    let helper = children_of(standin.id() as i32);
    assert_eq!(helper.len(), 1, "one helper under the stand-in");
    let _ = standin.stdout.take();
    (standin, helper[0])
}

fn children_of(parent: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let after_comm = stat.rsplit(')').next().unwrap_or("");
        if after_comm
            .split_whitespace()
            .nth(1)
            .and_then(|ppid| ppid.parse::<i32>().ok())
            == Some(parent)
        {
            out.push(pid);
        }
    }
    out
}

fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie no longer holds namespaces or mounts.
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next()
                == Some("Z")
        }
    }
}

fn killing_decant_kills_everything(signal: i32, token: &str) {
    let root = BusyboxRoot::new();
    let (mut standin, helper) = start_standin(&root, token);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(standin.id() as i32).expect("pid"),
        if signal == libc::SIGKILL {
            rustix::process::Signal::KILL
        } else {
            rustix::process::Signal::TERM
        },
    )
    .expect("kill stand-in");
    let _ = standin.wait();
    wait_until("the helper to die", Duration::from_secs(5), || {
        process_gone(helper)
    });
    wait_until("the sleep to die", Duration::from_secs(5), || {
        processes_with_argv(&["sleep", token]).is_empty()
    });
    assert_no_mounts_under(root.path());
}

fn sigkill_of_decant_kills_the_container() {
    killing_decant_kills_everything(libc::SIGKILL, "4243");
}

fn sigterm_of_decant_kills_the_container() {
    killing_decant_kills_everything(libc::SIGTERM, "4244");
}

fn sigterm_to_the_helper_reaches_the_command() {
    let root = BusyboxRoot::new();
    let spec = root.spec(&["sleep", "4245"]);
    let (sender, receiver) = std::sync::mpsc::channel();
    let runner = std::thread::spawn(move || {
        let outcome = run(&spec);
        let _ = sender.send(());
        outcome
    });
    wait_until("the sleep to start", Duration::from_secs(10), || {
        !processes_with_argv(&["sleep", "4245"]).is_empty()
    });
    let helpers = children_of(std::process::id() as i32);
    for helper in helpers {
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(helper).expect("pid"),
            rustix::process::Signal::TERM,
        )
        .expect("signal helper");
    }
    receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("run returns after SIGTERM");
    let outcome: Outcome = runner.join().expect("runner thread");
    assert_eq!(
        outcome.result.expect("ran"),
        ExitStatus::Signaled(libc::SIGTERM)
    );
}

/// Regression for mount targets that are symlinks in the image: a dangling
/// relative one (Ubuntu's /etc/resolv.conf) gets its target created inside
/// the root, and an absolute one climbing with ".." cannot reach the host.
fn symlinked_mount_targets_stay_inside_the_root() {
    let root = BusyboxRoot::new();
    let escape = format!("decant-exec-escape-{}", std::process::id());
    std::os::unix::fs::symlink("../run/resolv.conf", root.path().join("etc/resolv.conf"))
        .expect("link");
    std::os::unix::fs::symlink(
        format!("/../../../../../../tmp/{escape}"),
        root.path().join("etc/hosts"),
    )
    .expect("link");
    let outcome = run(&root.spec(&[
        "sh",
        "-c",
        "head -n 1 /etc/hosts; grep -c nameserver /etc/resolv.conf",
    ]));
    assert_eq!(
        outcome.result.expect("ran"),
        ExitStatus::Exited(0),
        "{}",
        outcome.stderr
    );
    assert_eq!(
        outcome.stdout.lines().next(),
        Some("127.0.0.1\tlocalhost buildkitsandbox")
    );
    assert!(
        !Path::new("/tmp").join(&escape).exists(),
        "nothing created on the host"
    );
    assert!(
        root.path().join("tmp").join(&escape).is_file(),
        "stub created inside the root"
    );
    assert!(
        root.path().join("run/resolv.conf").is_file(),
        "dangling link target created inside the root"
    );
    assert_no_mounts_under(root.path());
}

/// A host tmpfs mounted (privately) on `path`, lazily unmounted on drop.
struct HostMount(std::path::PathBuf);

impl Drop for HostMount {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

fn readonly_bind_is_read_only_recursively() {
    let root = BusyboxRoot::new();
    let host = tempfile::tempdir().expect("host dir");
    let sub = host.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    rustix::mount::mount(
        "tmpfs",
        &sub,
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        None,
    )
    .expect("host tmpfs");
    let _guard = HostMount(sub.clone());
    rustix::mount::mount_change(&sub, rustix::mount::MountPropagationFlags::PRIVATE)
        .expect("private");
    let mut spec = root.spec(&[
        "sh",
        "-c",
        "(touch /mnt/top) 2>&1 | sed 's/.*: //'; (touch /mnt/sub/x) 2>&1 | sed 's/.*: //'",
    ]);
    spec.mounts = vec![MountSpec::Bind {
        source: host.path().to_path_buf(),
        target: "/mnt".into(),
        readonly: true,
    }];
    let outcome = run(&spec);
    assert_eq!(outcome.result.expect("ran"), ExitStatus::Exited(0));
    assert_eq!(
        outcome.stdout,
        "Read-only file system\nRead-only file system\n"
    );
    assert!(!sub.join("x").exists());
}

fn killing_the_helper_is_reported() {
    let root = BusyboxRoot::new();
    let spec = root.spec(&["sleep", "4246"]);
    let runner = std::thread::spawn(move || run(&spec));
    wait_until("the sleep to start", Duration::from_secs(10), || {
        !processes_with_argv(&["sleep", "4246"]).is_empty()
    });
    for helper in children_of(std::process::id() as i32) {
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(helper).expect("pid"),
            rustix::process::Signal::KILL,
        )
        .expect("kill helper");
    }
    let outcome: Outcome = runner.join().expect("runner thread");
    let error = outcome.result.expect_err("a killed helper is an error");
    assert!(
        error
            .to_string()
            .starts_with("the executor helper ended (signal: 9 (SIGKILL))"),
        "{error}"
    );
    wait_until("the sleep to die", Duration::from_secs(5), || {
        processes_with_argv(&["sleep", "4246"]).is_empty()
    });
    assert_no_mounts_under(root.path());
}

fn cancelling_kills_the_container() {
    let root = BusyboxRoot::new();
    let spec = root.spec(&["sleep", "4247"]);
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let runner =
        std::thread::spawn(move || executor::run_cancellable(&spec, &mut |_, _| {}, &flag));
    wait_until("the sleep to start", Duration::from_secs(10), || {
        !processes_with_argv(&["sleep", "4247"]).is_empty()
    });
    let start = Instant::now();
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    let result = runner.join().expect("runner thread");
    assert!(
        matches!(result, Err(executor::ExecError::Cancelled)),
        "{result:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "cancelled promptly"
    );
    wait_until("the sleep to die", Duration::from_secs(5), || {
        processes_with_argv(&["sleep", "4247"]).is_empty()
    });
    assert_no_mounts_under(root.path());
}

fn isolate_main(dir: &str) -> ! {
    executor::isolate_mounts().expect("isolate_mounts");
    rustix::mount::mount(
        "tmpfs",
        dir,
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        None,
    )
    .expect("mount");
    println!("mounted");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut rest);
    std::process::exit(0)
}

/// What decant mounts after isolate_mounts() is invisible to the host and
/// gone when decant exits.
fn isolate_mounts_hides_decants_mounts_from_the_host() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(support::helper_program())
        .arg(ISOLATE_ARG)
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("read");
    assert_eq!(line, "mounted\n");
    let child_mounts = std::fs::read_to_string(format!("/proc/{}/mountinfo", child.id()))
        .expect("child mountinfo");
    assert!(
        child_mounts.contains(&dir.path().to_string_lossy().into_owned()),
        "the child sees its mount"
    );
    assert_no_mounts_under(dir.path());
    drop(child.stdin.take());
    assert!(child.wait().expect("wait").success());
    assert_no_mounts_under(dir.path());
}

fn standin_main(encoded: &str) -> ! {
    let spec: RunSpec = serde_json::from_str(encoded).expect("spec from the test");
    let outcome = run(&spec);
    println!("{outcome:?}");
    std::process::exit(0)
}

// ---------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(executor::HELPER_ARG) => executor::helper_main(),
        Some(RUN_ARG) => standin_main(args.get(2).map(String::as_str).unwrap_or("")),
        Some(ISOLATE_ARG) => isolate_main(args.get(2).map(String::as_str).unwrap_or("")),
        _ => {}
    }
    let filters: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    if args.iter().any(|arg| arg == "--list") {
        return;
    }
    if !support::require_root("executor isolation tests") {
        return;
    }

    let mut cases: Vec<(String, Box<dyn Fn()>)> = Vec::new();
    for case in table() {
        cases.push((case.name.to_string(), Box::new(move || check_case(&case))));
    }
    let named: [(&str, fn()); 15] = [
        (
            "isolate_mounts_hides_decants_mounts_from_the_host",
            isolate_mounts_hides_decants_mounts_from_the_host,
        ),
        (
            "cancelling_kills_the_container",
            cancelling_kills_the_container,
        ),
        (
            "symlinked_mount_targets_stay_inside_the_root",
            symlinked_mount_targets_stay_inside_the_root,
        ),
        (
            "readonly_bind_is_read_only_recursively",
            readonly_bind_is_read_only_recursively,
        ),
        (
            "killing_the_helper_is_reported",
            killing_the_helper_is_reported,
        ),
        (
            "only_empty_mount_points_leak_into_the_rootfs",
            only_empty_mount_points_leak_into_the_rootfs,
        ),
        (
            "background_processes_die_with_the_command",
            background_processes_die_with_the_command,
        ),
        (
            "setup_failure_leaves_no_mounts",
            setup_failure_leaves_no_mounts,
        ),
        ("bind_and_tmpfs_mounts", bind_and_tmpfs_mounts),
        (
            "network_host_sees_the_host_interfaces",
            network_host_sees_the_host_interfaces,
        ),
        (
            "sigkill_of_decant_kills_the_container",
            sigkill_of_decant_kills_the_container,
        ),
        (
            "sigterm_of_decant_kills_the_container",
            sigterm_of_decant_kills_the_container,
        ),
        (
            "sigterm_to_the_helper_reaches_the_command",
            sigterm_to_the_helper_reaches_the_command,
        ),
        ("no_mounts_left_after_a_normal_exit", || {
            let root = BusyboxRoot::new();
            assert_eq!(
                run(&root.spec(&["true"])).result.expect("ran"),
                ExitStatus::Exited(0)
            );
            assert_no_mounts_under(root.path());
        }),
        ("stdout_streams_before_exit", stdout_streams_before_exit),
    ];
    for (name, function) in named {
        cases.push((name.to_string(), Box::new(function)));
    }

    let selected: Vec<_> = cases
        .into_iter()
        .filter(|(name, _)| {
            filters.is_empty() || filters.iter().any(|filter| name.contains(filter.as_str()))
        })
        .collect();
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, case) in &selected {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(case));
        println!(
            "test {name} ... {}",
            if result.is_ok() { "ok" } else { "FAILED" }
        );
        if result.is_err() {
            failed.push(name.clone());
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        selected.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(1);
    }
}

/// Output arrives while the command still runs, not only at exit.
fn stdout_streams_before_exit() {
    let root = BusyboxRoot::new();
    let gate = tempfile::tempdir().expect("gate dir");
    let mut spec = root.spec(&[
        "sh",
        "-c",
        "echo first; while [ ! -e /gate/open ]; do sleep 0.05; done; echo second",
    ]);
    spec.mounts = vec![MountSpec::Bind {
        source: gate.path().to_path_buf(),
        target: "/gate".into(),
        readonly: true,
    }];
    let gate_path = gate.path().join("open");
    let mut seen = Vec::new();
    let result = executor::run(&spec, &mut |_, bytes| {
        seen.extend_from_slice(bytes);
        if seen.starts_with(b"first\n") {
            // Only reachable if "first" arrived while the command waits.
            let _ = std::fs::write(&gate_path, "");
        }
    });
    assert_eq!(result.expect("ran"), ExitStatus::Exited(0));
    assert_eq!(String::from_utf8_lossy(&seen), "first\nsecond\n");
}
