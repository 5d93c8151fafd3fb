//! Resolving Dockerfile `USER` text against the root's /etc/passwd and
//! /etc/group contents, exactly as BuildKit does: `oci.GetUser`
//! (executor/oci/user.go) with its uid:gid fast path, moby/sys/user
//! `GetExecUser` otherwise, then `ensureAdditionalGids` (the primary gid is
//! always among the supplementary groups). Pure: takes the file texts.

use crate::error::SetupError;

/// Who the command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// setgroups(2) list; the primary gid is always included (first unless
    /// /etc/group already listed it).
    pub(crate) groups: Vec<u32>,
    /// For `HOME` when the env lacks it (runc falls back to "/").
    pub(crate) home: String,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: i64,
    gid: i64,
    home: &'a str,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: i64,
    members: Vec<&'a str>,
}

/// Go's `strconv.Atoi` with errors mapped to 0, as moby/sys/user's
/// `parseLine` does for misbehaving files.
fn lenient_number(text: &str) -> i64 {
    text.parse().unwrap_or(0)
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut fields = line.split(':');
            let name = fields.next().unwrap_or("");
            let _password = fields.next();
            let uid = lenient_number(fields.next().unwrap_or(""));
            let gid = lenient_number(fields.next().unwrap_or(""));
            let _gecos = fields.next();
            let home = fields.next().unwrap_or("");
            PasswdEntry {
                name,
                uid,
                gid,
                home,
            }
        })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut fields = line.split(':');
            let name = fields.next().unwrap_or("");
            let _password = fields.next();
            let gid = lenient_number(fields.next().unwrap_or(""));
            let members = match fields.next() {
                Some("") | None => Vec::new(),
                Some(list) => list.split(',').collect(),
            };
            GroupEntry { name, gid, members }
        })
}

const MAX_ID: i64 = i32::MAX as i64;

/// moby/sys/user `parseNumeric`: Ok(None) for a name, Ok(Some) for an id in
/// range, Err for a number out of range (CVE-2024-40635: `USER 2147483648`
/// must not wrap around to root).
fn parse_numeric(text: &str, spec: &str) -> Result<Option<u32>, SetupError> {
    if text.is_empty() {
        return Ok(None);
    }
    let looks_numeric = {
        let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if !looks_numeric {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(id) if (0..=MAX_ID).contains(&id) => Ok(Some(id as u32)),
        _ => Err(SetupError::IdOutOfRange {
            value: spec.to_string(),
        }),
    }
}

/// BuildKit's `ParseUIDGID` fast path: "uid:gid" where both sides are numbers
/// (or "root") skips /etc/passwd entirely, hence no supplementary groups.
fn fast_path(spec: &str) -> Option<Result<(u32, u32), SetupError>> {
    let (user, group) = spec.split_once(':')?;
    let parse = |part: &str| -> Option<Result<u32, SetupError>> {
        if part == "root" {
            return Some(Ok(0));
        }
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(match part.parse::<i64>() {
            Ok(id) if id <= MAX_ID => Ok(id as u32),
            _ => Err(SetupError::IdOutOfRange {
                value: spec.to_string(),
            }),
        })
    };
    let uid = parse(user)?;
    let gid = parse(group)?;
    Some(uid.and_then(|uid| gid.map(|gid| (uid, gid))))
}

fn home_of(uid: u32, passwd: Option<&str>) -> String {
    passwd
        .and_then(|text| passwd_entries(text).find(|entry| entry.uid == i64::from(uid)))
        .map(|entry| entry.home.to_string())
        .filter(|home| !home.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

/// Resolve `spec` (Dockerfile USER text). `passwd`/`group` are the files'
/// contents, None when missing or unreadable (as moby/sys/user treats them).
pub(crate) fn resolve(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<Identity, SetupError> {
    let (uid, gid, mut groups, home) = if let Some(ids) = fast_path(spec) {
        let (uid, gid) = ids?;
        (uid, gid, Vec::new(), home_of(uid, passwd))
    } else if spec.is_empty() {
        // BuildKit resolves "" as "0" but ignores any failure (root, gid 0).
        match exec_user("0", passwd, group) {
            Ok(found) => found,
            Err(_) => (0, 0, Vec::new(), home_of(0, passwd)),
        }
    } else {
        exec_user(spec, passwd, group)?
    };
    // ensureAdditionalGids: the primary gid goes first unless already listed.
    if !groups.contains(&gid) {
        groups.insert(0, gid);
    }
    Ok(Identity {
        uid,
        gid,
        groups,
        home,
    })
}

/// The uid and gid of the first passwd entry named `name`, read as
/// moby/sys/user reads them (a malformed id is 0). BuildKit's `COPY
/// --chown` (`readUser`) uses the same parser as `USER`, so decant's does
/// too.
pub fn passwd_ids(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd_entries(passwd)
        .find(|entry| entry.name == name)
        .map(|entry| (clamp_id(entry.uid), clamp_id(entry.gid)))
}

/// The gid of the first group entry named `name`, read as [`passwd_ids`].
pub fn group_id(group: &str, name: &str) -> Option<u32> {
    group_entries(group)
        .find(|entry| entry.name == name)
        .map(|entry| clamp_id(entry.gid))
}

type Resolved = (u32, u32, Vec<u32>, String);

/// moby/sys/user `GetExecUser` with zero defaults.
fn exec_user(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<Resolved, SetupError> {
    let mut parts = spec.split(':');
    let user_arg = parts.next().unwrap_or("");
    let group_arg = parts.next().unwrap_or("");
    let uid_arg = parse_numeric(user_arg, spec)?;
    let gid_arg = parse_numeric(group_arg, spec)?;

    let matched = passwd.and_then(|text| {
        passwd_entries(text).find(|entry| match (user_arg, uid_arg) {
            ("", _) => entry.uid == 0,
            (_, Some(uid)) => entry.uid == i64::from(uid),
            (name, None) => entry.name == name,
        })
    });

    let (uid, mut gid, home, matched_name) = match (&matched, uid_arg) {
        (Some(entry), _) => (
            clamp_id(entry.uid),
            clamp_id(entry.gid),
            if entry.home.is_empty() {
                "/".to_string()
            } else {
                entry.home.to_string()
            },
            Some(entry.name),
        ),
        (None, Some(uid)) => (uid, 0, "/".to_string(), None),
        (None, None) if user_arg.is_empty() => (0, 0, "/".to_string(), None),
        (None, None) => {
            return Err(SetupError::UserNotFound {
                user: user_arg.to_string(),
            });
        }
    };

    let mut supplementary = Vec::new();
    if !group_arg.is_empty() {
        let found = group.and_then(|text| {
            group_entries(text).find(|entry| match gid_arg {
                Some(gid) => entry.gid == i64::from(gid),
                None => entry.name == group_arg,
            })
        });
        gid = match (found, gid_arg) {
            (Some(entry), _) => clamp_id(entry.gid),
            (None, Some(gid)) => gid,
            (None, None) => {
                return Err(SetupError::GroupNotFound {
                    group: group_arg.to_string(),
                });
            }
        };
    } else if let (Some(name), Some(text)) = (matched_name, group) {
        // Supplementary groups only in the implicit form, as GetExecUser.
        supplementary = group_entries(text)
            .filter(|entry| entry.members.contains(&name))
            .map(|entry| clamp_id(entry.gid))
            .collect();
    }
    Ok((uid, gid, supplementary, home))
}

/// Ids read from a file are not range-checked by moby/sys/user; a negative
/// or oversized one would wrap, so map it to the "nobody" overflow id instead
/// of ever producing 0 by accident.
fn clamp_id(id: i64) -> u32 {
    u32::try_from(id)
        .ok()
        .filter(|id| i64::from(*id) <= MAX_ID)
        .unwrap_or(65534)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        app:x:1000:1000:app:/home/app:/bin/sh\n\
        twin:x:1000:1001::/home/twin:/bin/sh\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        \n  \n";
    const GROUP: &str = "root:x:0:\n\
        wheel:x:10:root,app\n\
        app:x:1000:\n\
        devs:x:2000:app,other\n\
        nogroup:x:65534:\n";

    /// (USER text, passwd present, expected uid, gid, groups, home) or an error text.
    #[test]
    fn resolves_like_buildkit() {
        type Case = (
            &'static str,
            bool,
            Result<(u32, u32, &'static [u32], &'static str), &'static str>,
        );
        let cases: &[Case] = &[
            ("", true, Ok((0, 0, &[0, 10], "/root"))),
            ("", false, Ok((0, 0, &[0], "/"))),
            ("root", true, Ok((0, 0, &[0, 10], "/root"))),
            ("0", true, Ok((0, 0, &[0, 10], "/root"))),
            (
                "app",
                true,
                Ok((1000, 1000, &[1000, 10, 2000], "/home/app")),
            ),
            (
                "1000",
                true,
                Ok((1000, 1000, &[1000, 10, 2000], "/home/app")),
            ),
            // fast path: no passwd lookup for groups, but HOME still by uid
            ("1000:1000", true, Ok((1000, 1000, &[1000], "/home/app"))),
            ("root:root", true, Ok((0, 0, &[0], "/root"))),
            ("1234:5678", false, Ok((1234, 5678, &[5678], "/"))),
            // explicit group: no supplementary groups
            ("app:devs", true, Ok((1000, 2000, &[2000], "/home/app"))),
            ("app:3000", true, Ok((1000, 3000, &[3000], "/home/app"))),
            ("1000:devs", true, Ok((1000, 2000, &[2000], "/home/app"))),
            ("nobody", true, Ok((65534, 65534, &[65534], "/nonexistent"))),
            // numeric uid without an entry is fine, with gid 0
            ("4242", true, Ok((4242, 0, &[0], "/"))),
            ("4242", false, Ok((4242, 0, &[0], "/"))),
            (
                "bob",
                true,
                Err("unable to find user bob: no matching entries in passwd file"),
            ),
            (
                "bob",
                false,
                Err("unable to find user bob: no matching entries in passwd file"),
            ),
            (
                "app:nosuch",
                true,
                Err("unable to find group nosuch: no matching entries in group file"),
            ),
            (
                "2147483648",
                true,
                Err("invalid user \"2147483648\": uids and gids must be in range 0-2147483647"),
            ),
            (
                "2147483648:0",
                true,
                Err("invalid user \"2147483648:0\": uids and gids must be in range 0-2147483647"),
            ),
            (
                "-1",
                true,
                Err("invalid user \"-1\": uids and gids must be in range 0-2147483647"),
            ),
        ];
        for (spec, with_passwd, expected) in cases {
            let (passwd, group) = if *with_passwd {
                (Some(PASSWD), Some(GROUP))
            } else {
                (None, None)
            };
            let got = resolve(spec, passwd, group)
                .map(|id| (id.uid, id.gid, id.groups, id.home))
                .map_err(|error| error.to_string());
            let expected = expected
                .map(|(uid, gid, groups, home)| (uid, gid, groups.to_vec(), home.to_string()))
                .map_err(str::to_string);
            assert_eq!(
                got, expected,
                "USER {spec:?} (passwd present: {with_passwd})"
            );
        }
    }
}
