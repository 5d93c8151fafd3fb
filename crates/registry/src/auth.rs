//! Credentials and authentication challenges.
//!
//! Credentials come from, in order: the containers auth file
//! (`REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`), then
//! the Docker config (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`). In each file `credHelpers[host]` wins, then an
//! `auths` entry (repository-scoped keys like `quay.io/org/repo` beat the
//! bare host, as in containers-auth.json(5)), then `credsStore`. Helpers
//! speak the docker-credential-helpers protocol: `docker-credential-<name>
//! get`, server URL on stdin, `{"Username","Secret"}` JSON on stdout, and the
//! username `<token>` marks an identity (OAuth2 refresh) token.
//!
//! Secrets are held in [`Secret`], which never prints its content, so no
//! error or log line can leak one (research: reliability §1.9).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use crate::error::RegistryError;

/// A password or token. `Debug`/`Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret text, for building an `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What we can authenticate with at one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: Secret,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`).
    IdentityToken(Secret),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperOutput {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Where credentials are looked up. Holds paths and `PATH` only; files are
/// read on each lookup (they are small, and `docker login` may change them).
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    files: Vec<PathBuf>,
    /// `PATH` used to find `docker-credential-*` helpers.
    search_path: Option<String>,
}

/// `docker.io` and its aliases are one registry for credentials.
fn canonical_host(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io",
        other => other,
    }
}

/// A key of an `auths` map as (host, optional repository path). Keys with a
/// scheme are Docker's legacy URLs (`https://index.docker.io/v1/`), whose
/// path is not a repository.
fn parse_auth_key(key: &str) -> (String, Option<String>) {
    let (had_scheme, rest) = match key.split_once("://") {
        Some((_, rest)) => (true, rest),
        None => (false, key),
    };
    let (host, path) = match rest.split_once('/') {
        Some((h, p)) => (h, p.trim_end_matches('/')),
        None => (rest, ""),
    };
    let path = (!had_scheme && !path.is_empty()).then(|| path.to_string());
    (canonical_host(host).to_string(), path)
}

impl CredentialStore {
    /// The standard locations, resolved through `env`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> CredentialStore {
        let mut files = Vec::new();
        let non_empty = |k: &str| env(k).filter(|v| !v.is_empty());
        if let Some(p) = non_empty("REGISTRY_AUTH_FILE") {
            files.push(PathBuf::from(p));
        } else if let Some(dir) = non_empty("XDG_RUNTIME_DIR") {
            files.push(Path::new(&dir).join("containers/auth.json"));
        }
        if let Some(dir) = non_empty("DOCKER_CONFIG") {
            files.push(Path::new(&dir).join("config.json"));
        } else if let Some(home) = non_empty("HOME") {
            files.push(Path::new(&home).join(".docker/config.json"));
        }
        CredentialStore {
            files,
            search_path: non_empty("PATH"),
        }
    }

    /// Explicit files (first wins) and helper search path; for tests and
    /// embedding.
    pub fn with_files(files: Vec<PathBuf>, search_path: Option<String>) -> CredentialStore {
        CredentialStore { files, search_path }
    }

    /// No credentials at all.
    pub fn anonymous() -> CredentialStore {
        CredentialStore::default()
    }

    /// Credentials for `repository` at `host` (`host[:port]`), if any.
    pub fn lookup(
        &self,
        host: &str,
        repository: &str,
    ) -> Result<Option<Credential>, RegistryError> {
        let host = canonical_host(host);
        for path in &self.files {
            let text = match std::fs::read(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(RegistryError::AuthFileRead {
                        path: path.clone(),
                        source,
                    });
                }
            };
            let config: ConfigFile =
                serde_json::from_slice(&text).map_err(|source| RegistryError::AuthFileSyntax {
                    path: path.clone(),
                    source,
                })?;
            if let Some(helper) = config
                .cred_helpers
                .iter()
                .find(|(k, _)| parse_auth_key(k).0 == host)
                .map(|(_, v)| v)
                && let Some(cred) = self.run_helper(helper, host)?
            {
                return Ok(Some(cred));
            }
            if let Some(cred) = from_auths(&config, path, host, repository)? {
                return Ok(Some(cred));
            }
            if let Some(store) = &config.creds_store
                && let Some(cred) = self.run_helper(store, host)?
            {
                return Ok(Some(cred));
            }
        }
        Ok(None)
    }

    fn find_program(&self, name: &str) -> Option<PathBuf> {
        let search = self.search_path.as_deref()?;
        std::env::split_paths(search)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    }

    fn run_helper(&self, helper: &str, host: &str) -> Result<Option<Credential>, RegistryError> {
        let program = format!("docker-credential-{helper}");
        let Some(path) = self.find_program(&program) else {
            return Err(RegistryError::CredentialHelperSpawn {
                helper: program,
                host: host.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found in PATH"),
            });
        };
        // Docker stores Hub credentials under its legacy index URL.
        let server_url = if host == "docker.io" {
            "https://index.docker.io/v1/".to_string()
        } else {
            host.to_string()
        };
        let spawn_err = |source| RegistryError::CredentialHelperSpawn {
            helper: program.clone(),
            host: host.to_string(),
            source,
        };
        let mut child = Command::new(&path)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(server_url.as_bytes()).map_err(spawn_err)?;
        }
        let output = child.wait_with_output().map_err(spawn_err)?;
        if !output.status.success() {
            let stdout = String::from_utf8_lossy(&output.stdout);
            // The protocol's "no credentials" answer is an error exit with
            // this text; it means anonymous, not failure.
            if stdout.contains("credentials not found") {
                return Ok(None);
            }
            // stdout may echo secrets on some helpers' errors; only stderr,
            // truncated, goes into the message.
            let stderr: String = String::from_utf8_lossy(&output.stderr)
                .chars()
                .take(200)
                .collect();
            return Err(RegistryError::CredentialHelperFailed {
                helper: program,
                host: host.to_string(),
                status: output.status.to_string(),
                stderr: stderr.trim().to_string(),
            });
        }
        let parsed: HelperOutput = serde_json::from_slice(&output.stdout).map_err(|source| {
            RegistryError::CredentialHelperOutput {
                helper: program.clone(),
                host: host.to_string(),
                source,
            }
        })?;
        if parsed.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(if parsed.username == "<token>" {
            Credential::IdentityToken(Secret(parsed.secret))
        } else {
            Credential::Basic {
                username: parsed.username,
                password: Secret(parsed.secret),
            }
        }))
    }
}

fn from_auths(
    config: &ConfigFile,
    path: &Path,
    host: &str,
    repository: &str,
) -> Result<Option<Credential>, RegistryError> {
    // Most specific key first: a repository-scoped entry, then the host.
    let mut best: Option<(usize, &AuthEntry)> = None;
    for (key, entry) in &config.auths {
        let (key_host, key_path) = parse_auth_key(key);
        if key_host != host {
            continue;
        }
        let specificity = match &key_path {
            None => 0,
            Some(p) if repository == p || repository.starts_with(&format!("{p}/")) => p.len() + 1,
            Some(_) => continue,
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, entry));
        }
    }
    let Some((_, entry)) = best else {
        return Ok(None);
    };
    let invalid = |reason| RegistryError::AuthEntryInvalid {
        path: path.to_path_buf(),
        host: host.to_string(),
        reason,
    };
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::IdentityToken(Secret(token.to_string()))));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| invalid("\"auth\" is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid("\"auth\" is not utf-8"))?;
        let (user, pass) = decoded
            .split_once(':')
            .ok_or_else(|| invalid("\"auth\" is not user:password"))?;
        return Ok(Some(Credential::Basic {
            username: user.to_string(),
            password: Secret(pass.to_string()),
        }));
    }
    if let (Some(u), Some(p)) = (&entry.username, &entry.password)
        && !u.is_empty()
    {
        return Ok(Some(Credential::Basic {
            username: u.clone(),
            password: Secret(p.clone()),
        }));
    }
    // An empty entry is a placeholder written next to a credsStore.
    Ok(None)
}

/// One parsed `WWW-Authenticate` challenge (RFC 9110 §11.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercased scheme: `bearer`, `basic`, ...
    pub scheme: String,
    /// Lowercased parameter names to values.
    pub params: BTreeMap<String, String>,
}

/// Parses a `WWW-Authenticate` value; returns the first challenge (registries
/// send one). Quoted strings may contain commas and `\"` escapes.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = match header.find(char::is_whitespace) {
        Some(i) => (&header[..i], header[i..].trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' || c.is_whitespace() {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            // A token68 or a second challenge's scheme: stop at what we have.
            break;
        }
        chars.next();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => break,
                    other => value.push(other),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.insert(name.to_ascii_lowercase(), value);
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

pub(crate) fn basic_header(username: &str, password: &Secret) -> String {
    let raw = format!("{username}:{}", password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::type_complexity)]
    fn challenges() {
        // (header, scheme, params)
        let cases: &[(&str, &str, &[(&str, &str)])] = &[
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
                "bearer",
                &[
                    ("realm", "https://auth.docker.io/token"),
                    ("scope", "repository:library/busybox:pull"),
                    ("service", "registry.docker.io"),
                ],
            ),
            (
                r#"Basic realm="Registry Realm""#,
                "basic",
                &[("realm", "Registry Realm")],
            ),
            (
                r#"bearer Realm="a,b", service=plain"#,
                "bearer",
                &[("realm", "a,b"), ("service", "plain")],
            ),
            (
                r#"Bearer realm="q\"uote""#,
                "bearer",
                &[("realm", "q\"uote")],
            ),
            ("Basic", "basic", &[]),
        ];
        for (header, scheme, params) in cases {
            let c = parse_challenge(header).unwrap();
            assert_eq!(c.scheme, *scheme, "{header}");
            let expected: BTreeMap<String, String> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(c.params, expected, "{header}");
        }
        assert_eq!(parse_challenge("   "), None);
    }

    #[test]
    fn auth_keys_and_scoped_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        std::fs::write(
            &path,
            serde_json::json!({"auths": {
                "https://index.docker.io/v1/": {"auth": b64("hub:hubpw")},
                "quay.io": {"auth": b64("q:host")},
                "quay.io/org/repo": {"auth": b64("q:repo")},
                "ghcr.io": {"identitytoken": "refresh"},
                "bad.io": {"auth": "!!!"},
            }})
            .to_string(),
        )
        .unwrap();
        let store = CredentialStore::with_files(vec![path], None);
        let basic = |u: &str, p: &str| {
            Some(Credential::Basic {
                username: u.into(),
                password: Secret::new(p),
            })
        };
        // (host, repository, expected)
        let cases = [
            ("docker.io", "library/busybox", basic("hub", "hubpw")),
            ("quay.io", "org/repo", basic("q", "repo")),
            ("quay.io", "org/repo/sub", basic("q", "repo")),
            ("quay.io", "org/repository", basic("q", "host")),
            (
                "ghcr.io",
                "x",
                Some(Credential::IdentityToken(Secret::new("refresh"))),
            ),
            ("example.com", "x", None),
        ];
        for (host, repo, expected) in cases {
            assert_eq!(store.lookup(host, repo).unwrap(), expected, "{host}/{repo}");
        }
        let err = store.lookup("bad.io", "x").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let c = Credential::Basic {
            username: "u".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(Secret::new("x").to_string(), "<redacted>");
    }
}
