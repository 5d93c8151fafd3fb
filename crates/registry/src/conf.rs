//! `containers-registries.conf(5)` version 2: which hosts serve a reference
//! (mirrors first, then the registry's own location), which may use plain
//! HTTP, and which are blocked.
//!
//! Parsing and matching are pure; [`RegistriesConf::load`] is the only IO.
//! Semantics follow containers/image `pkg/sysregistriesv2`: the longest
//! matching `prefix` wins (a `*.example.com` prefix matches any subdomain
//! host); the matched prefix of the reference is replaced by the mirror's or
//! the registry's `location`. Short names are normalised the way Docker and
//! BuildKit do it (`busybox` is `docker.io/library/busybox`), so
//! `unqualified-search-registries` is read but only reported.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::RegistryError;

/// Which references a mirror may serve (`pull-from-mirror`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullFromMirror {
    #[default]
    All,
    DigestOnly,
    TagOnly,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MirrorToml {
    location: String,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    pull_from_mirror: Option<PullFromMirror>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RegistryToml {
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    mirror: Vec<MirrorToml>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ConfToml {
    #[serde(default)]
    unqualified_search_registries: Vec<String>,
    #[serde(default)]
    registry: Vec<RegistryToml>,
}

/// A parsed registries.conf.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistriesConf {
    /// Where it was read from, for error messages (`None` = defaults).
    pub path: Option<PathBuf>,
    pub unqualified_search_registries: Vec<String>,
    registries: Vec<RegistryToml>,
}

/// One place to talk to for a reference: a host, the repository name there,
/// and whether plain HTTP / unverified TLS is allowed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// `host[:port]` as written in the configuration (or the reference).
    pub host: String,
    /// The repository path at this host.
    pub repository: String,
    /// `insecure = true`: TLS is not verified and plain HTTP is allowed.
    pub insecure: bool,
    /// Whether this endpoint is a mirror rather than the registry itself.
    pub mirror: bool,
}

impl Endpoint {
    /// The host to connect to: Docker Hub's API is not served on `docker.io`.
    pub fn api_host(&self) -> &str {
        if self.host == "docker.io" || self.host == "index.docker.io" {
            "registry-1.docker.io"
        } else {
            &self.host
        }
    }

    /// Whether plain HTTP may be tried: `insecure`, or a loopback host
    /// (Docker treats `localhost` and 127.0.0.0/8 registries as insecure too).
    pub fn allows_http(&self) -> bool {
        self.insecure || is_loopback(&self.host)
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
pub fn is_loopback(host: &str) -> bool {
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    if bare == "localhost" || bare == "::1" {
        return true;
    }
    bare.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.octets()[0] == 127)
}

/// Where the registries.conf comes from: `CONTAINERS_REGISTRIES_CONF`, else
/// `$HOME/.config/containers/registries.conf`, else
/// `/etc/containers/registries.conf`. `None`: no file, defaults apply.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = env("CONTAINERS_REGISTRIES_CONF").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(home) = env("HOME").filter(|h| !h.is_empty()) {
        let p = Path::new(&home).join(".config/containers/registries.conf");
        if p.is_file() {
            return Some(p);
        }
    }
    let system = PathBuf::from("/etc/containers/registries.conf");
    system.is_file().then_some(system)
}

impl RegistriesConf {
    pub fn parse(text: &str, path: Option<&Path>) -> Result<RegistriesConf, RegistryError> {
        let display = path.map_or_else(|| PathBuf::from("<registries.conf>"), Path::to_path_buf);
        let parsed: ConfToml =
            toml::from_str(text).map_err(|source| RegistryError::ConfSyntax {
                path: display.clone(),
                source: Box::new(source),
            })?;
        for reg in &parsed.registry {
            let prefix = reg
                .prefix
                .as_deref()
                .or(reg.location.as_deref())
                .unwrap_or("");
            let invalid = |reason: &'static str| RegistryError::ConfInvalid {
                path: display.clone(),
                prefix: prefix.to_string(),
                reason,
            };
            if prefix.is_empty() {
                return Err(invalid("a [[registry]] needs a prefix or a location"));
            }
            if prefix.starts_with("*.") && reg.location.as_deref().is_some_and(|l| !l.is_empty()) {
                return Err(invalid("a wildcard prefix must not have a location"));
            }
            if prefix.contains('*') && !prefix.starts_with("*.") {
                return Err(invalid("a wildcard is only allowed as a leading \"*.\""));
            }
            if reg.mirror.iter().any(|m| m.location.is_empty()) {
                return Err(invalid("a mirror needs a location"));
            }
        }
        Ok(RegistriesConf {
            path: path.map(Path::to_path_buf),
            unqualified_search_registries: parsed.unqualified_search_registries,
            registries: parsed.registry,
        })
    }

    /// Reads `path`; a missing file means the defaults.
    pub fn load(path: Option<&Path>) -> Result<RegistriesConf, RegistryError> {
        let Some(path) = path else {
            return Ok(RegistriesConf::default());
        };
        match std::fs::read_to_string(path) {
            Ok(text) => RegistriesConf::parse(&text, Some(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RegistriesConf::default()),
            Err(source) => Err(RegistryError::ConfRead {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The entry whose prefix matches `name` (`registry/repository`) longest,
    /// with the matched prefix text (for wildcards: the reference's host).
    fn find<'a>(&'a self, name: &'a str) -> Option<(&'a RegistryToml, &'a str)> {
        let mut best: Option<(&RegistryToml, &str, usize)> = None;
        for reg in &self.registries {
            let prefix = reg
                .prefix
                .as_deref()
                .or(reg.location.as_deref())
                .unwrap_or("");
            let matched: Option<&str> = if let Some(domain) = prefix.strip_prefix('*') {
                // "*.example.com" matches the host "a.example.com" (not
                // "example.com" itself); the host is what gets rewritten.
                let host = name.split('/').next().unwrap_or("");
                host.ends_with(domain).then_some(host)
            } else if name == prefix
                || (name.starts_with(prefix) && name[prefix.len()..].starts_with(['/', ':', '@']))
            {
                Some(&name[..prefix.len()])
            } else {
                None
            };
            if matched.is_some() && best.is_none_or(|(_, _, len)| prefix.len() > len) {
                best = Some((reg, matched.unwrap_or(""), prefix.len()));
            }
        }
        best.map(|(r, m, _)| (r, m))
    }

    /// The endpoints to try for pulling `reference`, in order: eligible
    /// mirrors, then the registry's location.
    pub fn pull_endpoints(
        &self,
        reference: &oci::Reference,
    ) -> Result<Vec<Endpoint>, RegistryError> {
        let name = reference.name();
        let Some((reg, matched)) = self.find(&name) else {
            return Ok(vec![direct(reference, false)]);
        };
        if reg.blocked {
            return Err(RegistryError::Blocked {
                reference: reference.to_string(),
            });
        }
        let remainder = &name[matched.len()..];
        let by_digest = reference.digest.is_some();
        let mut out = Vec::new();
        for mirror in &reg.mirror {
            let policy = mirror
                .pull_from_mirror
                .unwrap_or(if reg.mirror_by_digest_only {
                    PullFromMirror::DigestOnly
                } else {
                    PullFromMirror::All
                });
            let eligible = match policy {
                PullFromMirror::All => true,
                PullFromMirror::DigestOnly => by_digest,
                PullFromMirror::TagOnly => !by_digest,
            };
            if eligible {
                out.push(rewrite(&mirror.location, remainder, mirror.insecure, true));
            }
        }
        let location = reg
            .location
            .as_deref()
            .filter(|l| !l.is_empty())
            .unwrap_or(matched);
        out.push(rewrite(location, remainder, reg.insecure, false));
        Ok(out)
    }

    /// The endpoint to push `reference` to: never a mirror.
    pub fn push_endpoint(&self, reference: &oci::Reference) -> Result<Endpoint, RegistryError> {
        let name = reference.name();
        let Some((reg, matched)) = self.find(&name) else {
            return Ok(direct(reference, false));
        };
        if reg.blocked {
            return Err(RegistryError::Blocked {
                reference: reference.to_string(),
            });
        }
        let location = reg
            .location
            .as_deref()
            .filter(|l| !l.is_empty())
            .unwrap_or(matched);
        Ok(rewrite(
            location,
            &name[matched.len()..],
            reg.insecure,
            false,
        ))
    }
}

fn direct(reference: &oci::Reference, insecure: bool) -> Endpoint {
    Endpoint {
        host: reference.registry.clone(),
        repository: reference.repository.clone(),
        insecure,
        mirror: false,
    }
}

/// `location` + `remainder`, split back into host and repository path.
fn rewrite(location: &str, remainder: &str, insecure: bool, mirror: bool) -> Endpoint {
    let full = format!("{location}{remainder}");
    let (host, repository) = match full.split_once('/') {
        Some((h, r)) => (h.to_string(), r.to_string()),
        None => (full.clone(), String::new()),
    };
    // Docker Hub's official images live under library/ even when a rewrite
    // produced a bare name (e.g. prefix "docker.io/library" -> mirror).
    let repository =
        if (host == "docker.io" || host == "index.docker.io") && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
    Endpoint {
        host,
        repository,
        insecure,
        mirror,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
unqualified-search-registries = ["docker.io"]
[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "127.0.0.1:5000"
insecure = true
[[registry.mirror]]
location = "mirror.example.com/hub"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "docker.io/library/special"
location = "special.example.com/lib/special"

[[registry]]
prefix = "*.corp.example"
[[registry.mirror]]
location = "cache.corp.example/proxy"

[[registry]]
location = "quay.io"
blocked = true

[[registry]]
location = "insecure.example:8080"
insecure = true
"#;

    /// (reference, expected endpoints as "host/repository[!insecure][~mirror]"
    /// in order, or "blocked")
    const CASES: &[(&str, &[&str])] = &[
        (
            "busybox",
            &[
                "127.0.0.1:5000/library/busybox!~",
                "docker.io/library/busybox",
            ],
        ),
        (
            "busybox@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            &[
                "127.0.0.1:5000/library/busybox!~",
                "mirror.example.com/hub/library/busybox~",
                "docker.io/library/busybox",
            ],
        ),
        (
            "docker.io/library/special:1",
            &["special.example.com/lib/special"],
        ),
        (
            "docker.io/library/specialist",
            &[
                "127.0.0.1:5000/library/specialist!~",
                "docker.io/library/specialist",
            ],
        ),
        (
            "a.corp.example/team/app",
            &[
                "cache.corp.example/proxy/team/app~",
                "a.corp.example/team/app",
            ],
        ),
        ("corp.example/x", &["corp.example/x"]),
        ("quay.io/org/repo", &["blocked"]),
        ("insecure.example:8080/x/y", &["insecure.example:8080/x/y!"]),
        ("ghcr.io/o/r", &["ghcr.io/o/r"]),
    ];

    fn show(e: &Endpoint) -> String {
        format!(
            "{}/{}{}{}",
            e.host,
            e.repository,
            if e.insecure { "!" } else { "" },
            if e.mirror { "~" } else { "" }
        )
    }

    #[test]
    fn endpoints_per_reference() {
        let conf = RegistriesConf::parse(CONF, None).unwrap();
        assert_eq!(conf.unqualified_search_registries, ["docker.io"]);
        for (text, expected) in CASES {
            let reference = oci::Reference::parse(text).unwrap();
            let got: Vec<String> = match conf.pull_endpoints(&reference) {
                Ok(endpoints) => endpoints.iter().map(show).collect(),
                Err(RegistryError::Blocked { .. }) => vec!["blocked".into()],
                Err(e) => panic!("{text}: {e}"),
            };
            assert_eq!(got, *expected, "{text}");
            // Push never goes to a mirror.
            if let Ok(push) = conf.push_endpoint(&reference) {
                assert_eq!(Some(&show(&push)), got.last(), "{text}");
            }
        }
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let cases = [
            (
                "[[registry]]\ninsecure = true\n",
                "needs a prefix or a location",
            ),
            (
                "[[registry]]\nprefix = \"*.x.com\"\nlocation = \"y\"\n",
                "wildcard prefix must not have a location",
            ),
            ("[[registry]]\nprefix = \"a*.x.com\"\n", "leading"),
            (
                "[[registry]]\nlocation = \"x\"\n[[registry.mirror]]\ninsecure = true\n",
                "",
            ),
            ("unqualified-search-registries = 3\n", ""),
        ];
        for (text, needle) in cases {
            let err = RegistriesConf::parse(text, None).unwrap_err();
            assert!(err.to_string().contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn loopback_hosts() {
        let cases = [
            ("localhost:5000", true),
            ("127.0.0.1", true),
            ("127.9.9.9:80", true),
            ("[::1]:5000", true),
            ("128.0.0.1", false),
            ("localhost.example.com", false),
            ("docker.io", false),
        ];
        for (host, expected) in cases {
            assert_eq!(is_loopback(host), expected, "{host}");
        }
    }
}
