//! ADD's remote sources: `http(s)://` downloads, as BuildKit's HTTP source
//! (`source/http/source.go`) and the Dockerfile frontend's use of it
//! (`dockerfile2llb/convert_copy.go`) define them.
//!
//! - The file is named by the last component of the URL path, `__unnamed__`
//!   when the path has none. The frontend passes that name explicitly
//!   (`llb.Filename`), so a `Content-Disposition` header is never consulted
//!   for a Dockerfile ADD.
//! - It is written 0600, owned 0:0, with the mtime of `Last-Modified` (the
//!   Unix epoch without one); `--chown`/`--chmod` apply in the copy that
//!   follows, which also places it by the ordinary destination rules.
//! - It is not extracted unless `ADD --unpack=true`.
//! - `--checksum=sha256:<hex>` must match the downloaded bytes; a mismatch
//!   names the URL and both digests.
//! - Credentials in a URL never reach an error message (CVE-2023-26054).
//!
//! Git sources (`git@…`, `git://…`, `….git`) are recognised only to be
//! refused clearly.
//!
//! Must not know about layers, snapshots or the cache: it turns a URL into a
//! file in a private directory and reports what the cache key needs.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use oci::Digest;
use sha2::{Digest as _, Sha256};

/// What kind of source an ADD argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceKind {
    Local,
    Http,
    Git,
}

/// dfgitutil's classification, as far as decant needs it: anything git-like
/// is refused, plain `http(s)://` is downloaded, the rest is a path.
pub(crate) fn classify(source: &str) -> SourceKind {
    let http = source.starts_with("http://") || source.starts_with("https://");
    let git = source.starts_with("git@")
        || source.starts_with("git://")
        || source.starts_with("ssh://")
        || (http
            && (source.contains(".git#") || source.ends_with(".git") || source.contains(".git?")));
    if git {
        SourceKind::Git
    } else if http {
        SourceKind::Http
    } else {
        SourceKind::Local
    }
}

/// The file name BuildKit gives a download: `path.Base(url.Path)`, or
/// `__unnamed__` when that is `.` or `/` (or the URL does not parse).
pub(crate) fn file_name(url: &str) -> String {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return UNNAMED.to_string();
    };
    let path = parsed.path().trim_end_matches('/');
    match path.rsplit('/').next() {
        // Url::path() is percent-encoded; Go's URL.Path is decoded.
        Some(base) if !base.is_empty() && base != "." => {
            let decoded = percent_decode(base);
            // A decoded name must still be one path component.
            if decoded.contains('/') || decoded == ".." || decoded.is_empty() {
                UNNAMED.to_string()
            } else {
                decoded
            }
        }
        _ => UNNAMED.to_string(),
    }
}

const UNNAMED: &str = "__unnamed__";

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with any user info replaced, for messages (BuildKit's
/// `urlutil.RedactCredentials`).
pub(crate) fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("xxxxx");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Parses `--checksum` for an HTTP source: `sha256:<64 hex>` only, as
/// go-digest's `Parse` accepts for the algorithms BuildKit registers.
pub(crate) fn parse_checksum(value: &str) -> Result<Digest, RemoteError> {
    let Some((algorithm, hex)) = value.split_once(':') else {
        return Err(RemoteError::InvalidChecksum {
            value: value.to_string(),
        });
    };
    if algorithm != "sha256" {
        return Err(RemoteError::UnsupportedChecksum {
            value: value.to_string(),
        });
    }
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(RemoteError::InvalidChecksum {
            value: value.to_string(),
        });
    }
    value
        .parse::<Digest>()
        .map_err(|_| RemoteError::InvalidChecksum {
            value: value.to_string(),
        })
}

/// One downloaded URL.
#[derive(Debug)]
pub(crate) struct Downloaded {
    /// A directory holding only the file, for use as a copy source root.
    pub dir: PathBuf,
    /// The file's name inside `dir`.
    pub name: String,
    /// sha256 of the bytes.
    pub digest: Digest,
    /// `Last-Modified`, in seconds since the epoch, if the server sent one.
    pub last_modified: Option<i64>,
}

/// A remote source failure.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("invalid checksum digest format {value:?}: expected sha256:<64 hex digits>")]
    InvalidChecksum { value: String },
    #[error("unsupported digest algorithm in checksum {value:?}: only sha256 is supported")]
    UnsupportedChecksum { value: String },
    #[error("failed to download {url}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("failed to download {url}: invalid response status {status}")]
    Status { url: String, status: u16 },
    #[error("failed to save the download of {url} to {path}")]
    Save {
        url: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("digest mismatch for {url}: {actual} (expected: {expected})")]
    ChecksumMismatch {
        url: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("git sources are not supported yet: {url}")]
    GitUnsupported { url: String },
}

/// The downloads of one build: each URL is fetched at most once, into a
/// directory below `tmp` that lives as long as this value.
pub(crate) struct Downloads {
    tmp: PathBuf,
    dir: Mutex<Option<tempfile::TempDir>>,
    files: Mutex<HashMap<String, Arc<Downloaded>>>,
    client: Mutex<Option<reqwest::blocking::Client>>,
}

impl Downloads {
    /// Downloads go below `tmp` (the store's tmp dir, so the file lives on
    /// the same filesystem as the snapshots it is copied into).
    pub fn new(tmp: &Path) -> Downloads {
        Downloads {
            tmp: tmp.to_path_buf(),
            dir: Mutex::new(None),
            files: Mutex::new(HashMap::new()),
            client: Mutex::new(None),
        }
    }

    /// The download of `url`, fetching it on first use; with `expected` the
    /// bytes must have that digest.
    pub fn fetch(
        &self,
        url: &str,
        expected: Option<&Digest>,
    ) -> Result<Arc<Downloaded>, RemoteError> {
        if let Some(found) = lock(&self.files).get(url).cloned() {
            check(url, expected, &found.digest)?;
            return Ok(found);
        }
        let downloaded = Arc::new(self.download(url)?);
        check(url, expected, &downloaded.digest)?;
        lock(&self.files).insert(url.to_string(), downloaded.clone());
        Ok(downloaded)
    }

    fn client(&self) -> Result<reqwest::blocking::Client, RemoteError> {
        let mut client = lock(&self.client);
        if let Some(c) = client.as_ref() {
            return Ok(c.clone());
        }
        let built = reqwest::blocking::Client::builder()
            .user_agent(concat!("decant/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(30))
            // A download may be large; only a stalled connection fails.
            .timeout(None)
            .build()
            .map_err(|source| RemoteError::Request {
                url: String::new(),
                source,
            })?;
        *client = Some(built.clone());
        Ok(built)
    }

    fn target_dir(&self, url: &str) -> Result<PathBuf, RemoteError> {
        let save_error = |path: &Path, source| RemoteError::Save {
            url: redact(url),
            path: path.to_path_buf(),
            source,
        };
        let mut dir = lock(&self.dir);
        if dir.is_none() {
            fs::create_dir_all(&self.tmp).map_err(|e| save_error(&self.tmp, e))?;
            let created = tempfile::Builder::new()
                .prefix("add-")
                .tempdir_in(&self.tmp)
                .map_err(|e| save_error(&self.tmp, e))?;
            *dir = Some(created);
        }
        let base = dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        let index = lock(&self.files).len();
        let mut n = index;
        loop {
            let candidate = base.join(n.to_string());
            match fs::create_dir(&candidate) {
                Ok(()) => return Ok(candidate),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(save_error(&candidate, e)),
            }
        }
    }

    fn download(&self, url: &str) -> Result<Downloaded, RemoteError> {
        let shown = redact(url);
        let client = self.client()?;
        let mut response = client
            .get(url)
            .send()
            .map_err(|source| RemoteError::Request {
                url: shown.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        // BuildKit: anything outside 200..400 fails (redirects were followed).
        if !(200..400).contains(&status) {
            return Err(RemoteError::Status { url: shown, status });
        }
        let last_modified = response
            .headers()
            .get(reqwest::header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date);
        let dir = self.target_dir(url)?;
        let name = file_name(url);
        let path = dir.join(&name);
        let save_error = |source| RemoteError::Save {
            url: shown.clone(),
            path: path.clone(),
            source,
        };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode_0600()
            .open(&path)
            .map_err(save_error)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = match response.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(save_error(e)),
            };
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n]).map_err(save_error)?;
        }
        file.sync_all().map_err(save_error)?;
        drop(file);
        set_mtime(&path, last_modified.unwrap_or(0)).map_err(save_error)?;
        let digest = Digest::from_sha256_bytes(hasher.finalize().into());
        Ok(Downloaded {
            dir,
            name,
            digest,
            last_modified,
        })
    }
}

fn check(url: &str, expected: Option<&Digest>, actual: &Digest) -> Result<(), RemoteError> {
    match expected {
        Some(expected) if expected != actual => Err(RemoteError::ChecksumMismatch {
            url: redact(url),
            expected: expected.clone(),
            actual: actual.clone(),
        }),
        _ => Ok(()),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for fs::OpenOptions {
    /// BuildKit's HTTP source writes the file with `perm := 0600`.
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

fn set_mtime(path: &Path, seconds: i64) -> std::io::Result<()> {
    let ts = rustix::fs::Timespec {
        tv_sec: seconds,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &rustix::fs::Timestamps {
            last_access: ts,
            last_modification: ts,
        },
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(Into::into)
}

/// Go's `http.ParseTime`: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime
/// (`Sun Nov  6 08:49:37 1994`). `None` for anything else, which BuildKit
/// also ignores.
pub(crate) fn parse_http_date(text: &str) -> Option<i64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (day, month, year, time) = match words.as_slice() {
        [_, day, month, year, time, "GMT"] => (*day, *month, year.parse::<i64>().ok()?, *time),
        [_, date, time, "GMT"] => {
            let mut parts = date.split('-');
            let day = parts.next()?;
            let month = parts.next()?;
            let year: i64 = parts.next()?.parse().ok()?;
            // Go's two-digit year: 69..99 is 19xx, 00..68 is 20xx.
            let year = if year < 69 {
                2000 + year
            } else if year < 100 {
                1900 + year
            } else {
                year
            };
            (day, month, year, *time)
        }
        [_, month, day, time, year] => (*day, *month, year.parse::<i64>().ok()?, *time),
        _ => return None,
    };
    let day: i64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)? as i64
        + 1;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic
/// Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
