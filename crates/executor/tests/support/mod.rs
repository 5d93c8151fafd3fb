//! Shared by the isolation tests and the bench: a busybox root filesystem in
//! a temp dir, a spec builder, and the root requirement check.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use executor::{ExecError, ExitStatus, Network, OutputStream, RunSpec, Security};

/// Where Debian's busybox-static lives.
pub const BUSYBOX: &str = "/bin/busybox";

/// Root is required; locally the tests skip loudly, with CI=true they fail.
pub fn require_root(what: &str) -> bool {
    if rustix::process::geteuid().is_root() && Path::new(BUSYBOX).exists() {
        return true;
    }
    let why = format!("{what} needs root and {BUSYBOX} (apt-get install -y busybox-static)");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but cannot run: {why}");
    }
    eprintln!("SKIP: {why}");
    false
}

/// A throwaway busybox root: /bin/busybox plus one symlink per applet,
/// /etc/passwd with root, app (1000, also in group staff) and nobody,
/// /etc/group, /tmp 1777. No /etc/hosts, /dev, /proc or /sys on purpose,
/// so the tests see which mount points a run creates.
pub struct BusyboxRoot {
    pub dir: tempfile::TempDir,
}

impl BusyboxRoot {
    pub fn new() -> BusyboxRoot {
        let dir = tempfile::Builder::new()
            .prefix("decant-exec-root-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path();
        for sub in ["bin", "etc", "tmp", "root", "home/app"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        std::fs::copy(BUSYBOX, root.join("bin/busybox")).expect("copy busybox");
        let list = Command::new(BUSYBOX)
            .arg("--list")
            .output()
            .expect("busybox --list");
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" {
                std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
                    .expect("applet link");
            }
        }
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\n\
             app:x:1000:1000:app:/home/app:/bin/sh\n\
             nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        .expect("passwd");
        std::fs::write(
            root.join("etc/group"),
            "root:x:0:\nstaff:x:50:app\napp:x:1000:\nnogroup:x:65534:\n",
        )
        .expect("group");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .expect("chmod");
        std::os::unix::fs::chown(root.join("home/app"), Some(1000), Some(1000)).expect("chown");
        BusyboxRoot { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn spec(&self, args: &[&str]) -> RunSpec {
        RunSpec {
            rootfs: self.path().to_path_buf(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            env: vec![],
            cwd: "/".into(),
            user: String::new(),
            hostname: String::new(),
            extra_hosts: vec![],
            ulimits: vec![],
            network: Network::Host,
            security: Security::Sandbox,
            mounts: vec![],
            helper_program: helper_program(),
        }
    }
}

/// The test binary itself: its `main` dispatches HELPER_ARG to helper_main.
pub fn helper_program() -> PathBuf {
    std::env::current_exe().expect("current exe")
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub result: Result<ExitStatus, ExecError>,
}

pub fn run(spec: &RunSpec) -> Outcome {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let result = executor::run(spec, &mut |stream, bytes| match stream {
        OutputStream::Stdout => stdout.extend_from_slice(bytes),
        OutputStream::Stderr => stderr.extend_from_slice(bytes),
    });
    Outcome {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        result,
    }
}
