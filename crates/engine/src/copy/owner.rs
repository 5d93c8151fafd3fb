//! `--chown` resolution: `user[:group]`, numeric or names looked up in the
//! destination root's `/etc/passwd` and `/etc/group` — read by us inside the
//! root (never through NSS, CVE-2019-14271), size-bounded and only when they
//! are regular files (CVE-2024-9676).
//!
//! Follows BuildKit exactly (client/llb/fileop.go `WithUser`,
//! solver/llbsolver/ops/user_linux.go `readUser`): `root` is id 0; a numeric
//! user alone gives gid = uid; a user name gives its primary gid; an unknown
//! user name gives uid 0 and gid 0 without error; a group name that is not
//! found leaves the gid the user part chose (no error either).
//! The entries are parsed by the executor's parser, which `USER` uses:
//! BuildKit reads both through moby/sys/user (`ParsePasswdFilter`,
//! `ParseGroupFilter`), where a malformed id reads as 0.

use std::io::Read;
use std::path::Path;

use super::CopyError;
use super::resolve::{is_missing, resolve_in_root};

/// Larger user databases than this are refused rather than read into memory.
const MAX_DB_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

enum Id<'a> {
    Number(u32),
    Name(&'a str),
}

fn parse_id(s: &str) -> Id<'_> {
    if s == "root" {
        return Id::Number(0);
    }
    // BuildKit parses with strconv.ParseInt(s, 10, 32); anything else is a name.
    match s.parse::<i32>() {
        Ok(n) if n >= 0 => Id::Number(n as u32),
        _ => Id::Name(s),
    }
}

/// Resolves a `--chown` value against `dest_root`.
pub fn resolve_chown(spec: &str, dest_root: &Path) -> Result<Owner, CopyError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let mut owner = Owner { uid: 0, gid: 0 };
    match parse_id(user) {
        Id::Number(n) => owner = Owner { uid: n, gid: n },
        Id::Name(name) => {
            if let Some(text) = read_db(dest_root, "/etc/passwd")?
                && let Some((uid, gid)) = executor::passwd_ids(&text, name)
            {
                owner = Owner { uid, gid };
            }
        }
    }
    if let Some(group) = group {
        match parse_id(group) {
            Id::Number(n) => owner.gid = n,
            Id::Name(name) => {
                if let Some(text) = read_db(dest_root, "/etc/group")?
                    && let Some(gid) = executor::group_id(&text, name)
                {
                    owner.gid = gid;
                }
            }
        }
    }
    Ok(owner)
}

/// The file's text, or None when it does not exist (BuildKit treats a missing
/// file as "name not found").
fn read_db(root: &Path, path: &str) -> Result<Option<String>, CopyError> {
    let resolved = resolve_in_root(root, Path::new(path), true)?;
    let meta = match std::fs::symlink_metadata(&resolved.host) {
        Ok(m) => m,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(source) => {
            return Err(CopyError::UserDatabase {
                path: resolved.rel,
                source,
            });
        }
    };
    if !meta.file_type().is_file() {
        return Err(CopyError::UserDatabaseNotAFile { path: resolved.rel });
    }
    let file = std::fs::File::open(&resolved.host).map_err(|source| CopyError::UserDatabase {
        path: resolved.rel.clone(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_DB_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| CopyError::UserDatabase {
            path: resolved.rel.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_DB_BYTES {
        return Err(CopyError::UserDatabaseTooLarge {
            path: resolved.rel,
            limit: MAX_DB_BYTES,
        });
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\nbroken:x:notanumber:1\n";
    const GROUP: &str = "root:x:0:\nnogroup:x:65534:\napp:x:1000:app\n";

    /// Rows from the conformance cases copy-chown-names, copy-chown-numeric,
    /// copy-chown-unknown-user and BuildKit's readUser.
    #[test]
    fn chown_table() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("mkdir");
        std::fs::write(dir.path().join("etc/passwd"), PASSWD).expect("write");
        std::fs::write(dir.path().join("etc/group"), GROUP).expect("write");
        let rows = [
            ("app:app", 1000, 1000),
            ("nobody", 65534, 65534),
            ("app:nogroup", 1000, 65534),
            ("root:app", 0, 1000),
            ("1000:nogroup", 1000, 65534),
            ("1000:1000", 1000, 1000),
            ("1234", 1234, 1234),
            ("42:43", 42, 43),
            ("ghost:app", 0, 1000),
            ("ghost", 0, 0),
            ("app:ghost", 1000, 1000),
            ("1000:ghost", 1000, 1000),
            // moby/sys/user reads `notanumber` as 0 and keeps the line,
            // so the gid is the entry's 1 (decant used to skip the line).
            ("broken", 0, 1),
            ("root", 0, 0),
        ];
        for (spec, uid, gid) in rows {
            let got = resolve_chown(spec, dir.path()).expect("resolve");
            assert_eq!(got, Owner { uid, gid }, "--chown={spec}");
        }
    }

    #[test]
    fn names_without_user_database_are_zero() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            resolve_chown("app:app", dir.path()).expect("resolve"),
            Owner { uid: 0, gid: 0 }
        );
    }

    /// CVE-2024-9676: an image's /etc/passwd that is a symlink to a host file
    /// is resolved inside the root, never on the host.
    #[test]
    fn passwd_symlink_to_host_file_stays_in_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("etc")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("real")).expect("mkdir");
        std::fs::write(dir.path().join("real/passwd"), "host:x:7:7::/:/bin/sh\n").expect("write");
        std::os::unix::fs::symlink("/real/passwd", dir.path().join("etc/passwd")).expect("link");
        assert_eq!(
            resolve_chown("host", dir.path()).expect("resolve"),
            Owner { uid: 7, gid: 7 }
        );
        // The host's own root user must not be found through a link to /etc/passwd.
        std::fs::remove_file(dir.path().join("etc/passwd")).expect("rm");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("etc/passwd")).expect("link");
        let err = resolve_chown("root2", dir.path()).unwrap_err();
        assert!(matches!(err, CopyError::SymlinkLoop { .. }), "{err}");
    }

    #[test]
    fn directory_as_user_database_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("etc/passwd")).expect("mkdir");
        let err = resolve_chown("app", dir.path()).unwrap_err();
        assert!(
            matches!(err, CopyError::UserDatabaseNotAFile { .. }),
            "{err}"
        );
    }
}
