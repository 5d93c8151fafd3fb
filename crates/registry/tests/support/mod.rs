//! Test support: a real registry (Debian's `docker-registry`, distribution
//! 2.8) on 127.0.0.1 with a random port and a temp storage dir, optionally
//! behind htpasswd Basic auth; pushing the conformance base images into it;
//! and the loud-skip rule (skip locally, fail when `CI=true`).
#![allow(dead_code)]

pub mod faults;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Prints a loud SKIP and returns false, or panics under `CI=true`.
pub fn require(ok: bool, why: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("required in CI: {why}");
    }
    eprintln!("SKIP: {why}");
    false
}

pub fn have_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(name).is_file()))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Answers a bare `GET /v2/` with any HTTP status (401 counts).
fn answers(addr: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

pub struct Registry {
    pub addr: String,
    pub dir: tempfile::TempDir,
    child: Child,
    pub auth: Option<(String, String)>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const USER: &str = "decant";
pub const PASSWORD: &str = "s3cret-Pa55";

impl Registry {
    /// Starts a registry, or returns `None` after a loud skip when
    /// `docker-registry` is not installed.
    pub fn start(with_auth: bool) -> Option<Registry> {
        if !require(
            have_program("docker-registry"),
            "docker-registry is not installed (apt-get install docker-registry)",
        ) {
            return None;
        }
        if with_auth
            && !require(
                have_program("htpasswd"),
                "htpasswd is not installed (apt-get install apache2-utils)",
            )
        {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let mut auth_yaml = String::new();
        let auth = if with_auth {
            let htpasswd = dir.path().join("htpasswd");
            let status = Command::new("htpasswd")
                .args(["-Bbc"])
                .arg(&htpasswd)
                .args([USER, PASSWORD])
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
            auth_yaml = format!(
                "auth:\n  htpasswd:\n    realm: decant-test\n    path: {}\n",
                htpasswd.display()
            );
            Some((USER.to_string(), PASSWORD.to_string()))
        } else {
            None
        };
        for _ in 0..5 {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\nhttp: {{addr: {addr}}}\n{auth_yaml}",
                    data.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if answers(&addr) {
                    return Some(Registry {
                        addr,
                        dir,
                        child,
                        auth,
                    });
                }
                if child.try_wait().unwrap().is_some() {
                    break; // port taken in between: try another
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start");
    }

    /// Pushes OCI layout dirs with the conformance suite's pusher (only
    /// for registries without auth; it speaks none).
    pub fn push_layouts(&self, layouts: &[PathBuf]) {
        let script = conformance_dir().join("push_images.py");
        let status = Command::new("python3")
            .arg(script)
            .args(["--registry", &self.addr, "push"])
            .args(layouts)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "push_images.py failed");
    }

    /// A registries.conf like the conformance harness writes: docker.io
    /// mirrored to this registry, which is insecure.
    pub fn mirror_conf(&self, dir: &Path) -> PathBuf {
        let path = dir.join("registries.conf");
        std::fs::write(
            &path,
            format!(
                "unqualified-search-registries = [\"docker.io\"]\n\
                 [[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n\
                 [[registry.mirror]]\nlocation = \"{0}\"\ninsecure = true\n\
                 [[registry]]\nlocation = \"{0}\"\ninsecure = true\n",
                self.addr
            ),
        )
        .unwrap();
        path
    }
}

pub fn conformance_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for candidate in [
        manifest_dir.join("../../../shared/conformance"),
        PathBuf::from("/work/shared/conformance"),
    ] {
        if candidate.join("push_images.py").is_file() {
            return candidate;
        }
    }
    panic!("conformance suite not found next to the workspace or in /work/shared");
}

pub fn busybox_layout() -> PathBuf {
    conformance_dir().join("images/busybox")
}

/// `skopeo inspect --raw` of a reference at the registry, when skopeo exists.
pub fn skopeo_raw(addr: &str, repo_tag: &str, creds: Option<(&str, &str)>) -> Option<Vec<u8>> {
    if !require(
        have_program("skopeo"),
        "skopeo is not installed (apt-get install skopeo)",
    ) {
        return None;
    }
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some((u, p)) = creds {
        cmd.arg(format!("--creds={u}:{p}"));
    }
    let out = cmd
        .arg(format!("docker://{addr}/{repo_tag}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}
