//! A throwaway OCI registry: Debian's `docker-registry` (distribution 2.8)
//! listening on 127.0.0.1 only, at a port the kernel picked, storing into a
//! temp dir, killed and cleaned up on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use oci::Digest;

use crate::requirement::find_command;

/// How long the registry may take to answer `/v2/` after starting.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running registry; dropping it stops it.
pub struct Registry {
    child: Child,
    addr: String,
    credentials: Option<(String, String)>,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry without authentication.
    pub fn start() -> Registry {
        Registry::launch(None)
    }

    /// Starts a registry that requires HTTP Basic auth with `user` and
    /// `password` (htpasswd file made with `htpasswd -B`: distribution only
    /// accepts bcrypt entries). Needs the `htpasswd` command.
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Registry::launch(Some((user.to_string(), password.to_string())))
    }

    fn launch(credentials: Option<(String, String)>) -> Registry {
        let binary = find_command("docker-registry")
            .or_else(|| {
                let p = PathBuf::from("/usr/bin/docker-registry");
                p.exists().then_some(p)
            })
            .unwrap_or_else(|| {
                panic!("docker-registry not found: apt-get install docker-registry")
            });
        let dir = tempfile::Builder::new()
            .prefix("testkit-registry-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create the registry's temp dir: {e}"));
        let auth = match &credentials {
            Some((user, password)) => {
                let htpasswd = dir.path().join("htpasswd");
                let line = crate::run_ok(Command::new("htpasswd").args(["-Bbn", user, password]));
                std::fs::write(&htpasswd, line.trim_end().to_string() + "\n")
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", htpasswd.display()));
                format!(
                    "auth:\n  htpasswd:\n    realm: testkit\n    path: {}\n",
                    htpasswd.display()
                )
            }
            None => String::new(),
        };
        // The port is picked by binding :0 and released for the registry; a
        // rare race with another process is caught by the readiness wait and
        // retried.
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            let data = dir.path().join("data");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\nhttp: {{addr: {addr}}}\n{auth}",
                    data.display()
                ),
            )
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
            let log_path = dir.path().join("registry.log");
            let log = std::fs::File::create(&log_path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
            let log_err = log
                .try_clone()
                .unwrap_or_else(|e| panic!("cannot dup the log fd: {e}"));
            let mut child = Command::new(&binary)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            if wait_ready(&mut child, &addr) {
                return Registry {
                    child,
                    addr,
                    credentials,
                    dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("docker-registry did not answer /v2/ in time; log:\n{last_log}");
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("bad registry address {}", self.addr))
    }

    /// The Basic auth user and password, if the registry requires them.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The registry's temp dir (config, log, storage).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// GETs `path` (e.g. `/v2/_catalog`), with the registry's credentials
    /// when `authenticated`; returns the status and body.
    pub fn get(&self, path: &str, authenticated: bool) -> (u16, Vec<u8>) {
        let creds = if authenticated {
            self.credentials()
        } else {
            None
        };
        http_get(&self.addr, path, creds)
            .unwrap_or_else(|e| panic!("GET http://{}{path}: {e}", self.addr))
    }

    /// Writes a containers-registries.conf (v2) at `path` that sends
    /// `docker.io` to this registry as a mirror and marks it insecure (plain
    /// HTTP), the way the conformance suite configures builders. Point
    /// `CONTAINERS_REGISTRIES_CONF` at it.
    pub fn write_registries_conf(&self, path: &Path) {
        let text = format!(
            "unqualified-search-registries = [\"docker.io\"]\n\
             [[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n\
             [[registry.mirror]]\nlocation = \"{addr}\"\ninsecure = true\n\
             [[registry]]\nlocation = \"{addr}\"\ninsecure = true\n",
            addr = self.addr
        );
        std::fs::write(path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `/v2/` until it answers (200, or 401 with auth), the process dies
/// or time runs out.
fn wait_ready(child: &mut Child, addr: &str) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok((status, _)) = http_get(addr, "/v2/", None)
            && (status == 200 || status == 401)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// A minimal HTTP/1.0 GET (the server closes the connection after the
/// response), enough to probe a registry without an HTTP client crate.
fn http_get(
    addr: &str,
    path: &str,
    credentials: Option<(&str, &str)>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some((user, password)) = credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, response[head_end + 4..].to_vec()))
}

/// Pushes the single image of the OCI layout `layout` to `registry` as
/// `reference` (`repo:tag`), blobs and manifest byte for byte
/// (`--preserve-digests`), and returns the manifest digest. Needs skopeo.
pub fn push_layout(layout: &Path, registry: &Registry, reference: &str) -> Digest {
    let digest_file = registry.dir().join(format!(
        "pushed-{}.digest",
        reference.replace(['/', ':'], "_")
    ));
    let mut cmd = Command::new("skopeo");
    // The host's policy.json is not ours to rely on; the images are our own.
    cmd.args(["--insecure-policy", "copy", "--quiet", "--preserve-digests"])
        .args(["--dest-tls-verify=false", "--digestfile"])
        .arg(&digest_file);
    if let Some((user, password)) = registry.credentials() {
        cmd.arg(format!("--dest-creds={user}:{password}"));
    }
    cmd.arg(format!("oci:{}", layout.display()))
        .arg(format!("docker://{}/{reference}", registry.addr()));
    crate::run_ok(&mut cmd);
    let text = std::fs::read_to_string(&digest_file)
        .unwrap_or_else(|e| panic!("skopeo wrote no digest file: {e}"));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("skopeo's digest {text:?}: {e}"))
}
