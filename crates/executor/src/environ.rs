//! The command's environment and argv[0] lookup. Pure: file probes come in
//! as a closure so the rules are tested without a root.

/// BuildKit's default PATH for Linux containers (util/system `DefaultPathEnvUnix`).
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn has_key(env: &[String], key: &str) -> bool {
    env.iter()
        .any(|entry| entry.split_once('=').is_some_and(|(k, _)| k == key))
}

/// The env the command gets: `env` as given, plus `PATH` (BuildKit adds its
/// default when the image has none) and `HOME` (runc sets it from the user's
/// passwd entry when unset) appended when absent.
pub(crate) fn process_env(env: &[String], home: &str) -> Vec<String> {
    let mut out = env.to_vec();
    if !has_key(env, "PATH") {
        out.push(format!("PATH={DEFAULT_PATH}"));
    }
    if !has_key(env, "HOME") {
        out.push(format!("HOME={home}"));
    }
    out
}

/// The value of `PATH` in an env. runc applies the env with os.Setenv in
/// order and then looks argv[0] up with os.Getenv, so the last entry wins.
pub(crate) fn path_value(env: &[String]) -> Option<&str> {
    env.iter()
        .rev()
        .find_map(|entry| entry.strip_prefix("PATH="))
}

/// What a probe found at a candidate path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// A non-directory with at least one execute bit.
    Executable,
    /// A directory, or a file without execute bits.
    NotExecutable,
    /// stat(2) failed with this errno.
    Missing(i32),
}

/// Why argv[0] could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LookupError {
    /// A bare name found in no `PATH` directory.
    NotFound,
    /// A name with a '/' that is not executable.
    NotExecutable,
    /// A name with a '/' that stat(2) rejected.
    Missing(i32),
}

/// Go's `exec.LookPath` as runc uses it: a name containing '/' is used as
/// is; otherwise each `PATH` element (empty meaning ".") is tried in order and
/// the first executable non-directory wins.
pub(crate) fn look_path(
    name: &str,
    path: Option<&str>,
    probe: &mut dyn FnMut(&str) -> Probe,
) -> Result<String, LookupError> {
    if name.contains('/') {
        return match probe(name) {
            Probe::Executable => Ok(name.to_string()),
            Probe::NotExecutable => Err(LookupError::NotExecutable),
            Probe::Missing(errno) => Err(LookupError::Missing(errno)),
        };
    }
    for dir in path.unwrap_or("").split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = if dir.ends_with('/') {
            format!("{dir}{name}")
        } else {
            format!("{dir}/{name}")
        };
        if probe(&candidate) == Probe::Executable {
            return Ok(candidate);
        }
    }
    Err(LookupError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn env_defaults() {
        let cases: &[(&[&str], &str, &[&str])] = &[
            (
                &[],
                "/root",
                &[
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME=/root",
                ],
            ),
            (&["PATH=/x", "A=1"], "/", &["PATH=/x", "A=1", "HOME=/"]),
            (
                &["HOME=/h", "PATHX=1"],
                "/root",
                &[
                    "HOME=/h",
                    "PATHX=1",
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                ],
            ),
            (&["PATH=", "HOME="], "/root", &["PATH=", "HOME="]),
        ];
        for (env, home, expected) in cases {
            assert_eq!(
                process_env(&strings(env), home),
                strings(expected),
                "env {env:?}"
            );
        }
    }

    #[test]
    fn look_path_like_go() {
        let files = [
            ("/bin/sh", Probe::Executable),
            ("/usr/bin/data", Probe::NotExecutable),
            ("/sbin/tool", Probe::Executable),
            ("./local", Probe::Executable),
        ];
        let mut probe = |candidate: &str| {
            files
                .iter()
                .find(|(p, _)| *p == candidate)
                .map(|(_, probe)| *probe)
                .unwrap_or(Probe::Missing(libc::ENOENT))
        };
        let cases: &[(&str, Option<&str>, Result<&str, LookupError>)] = &[
            ("sh", Some("/usr/bin:/bin"), Ok("/bin/sh")),
            ("sh", Some("/bin/"), Ok("/bin/sh")),
            ("data", Some("/usr/bin:/bin"), Err(LookupError::NotFound)),
            ("tool", Some(DEFAULT_PATH), Ok("/sbin/tool")),
            ("sh", None, Err(LookupError::NotFound)),
            ("local", Some("/bin::/sbin"), Ok("./local")),
            ("/bin/sh", Some(""), Ok("/bin/sh")),
            ("/usr/bin/data", None, Err(LookupError::NotExecutable)),
            ("/nope", None, Err(LookupError::Missing(libc::ENOENT))),
        ];
        for (name, path, expected) in cases {
            let got = look_path(name, *path, &mut probe);
            assert_eq!(
                got,
                expected.clone().map(str::to_string),
                "{name} in {path:?}"
            );
        }
    }

    #[test]
    fn last_path_entry_wins() {
        assert_eq!(
            path_value(&strings(&["PATH=/a", "X=1", "PATH=/b"])),
            Some("/b")
        );
        assert_eq!(path_value(&strings(&["X=1"])), None);
    }
}
