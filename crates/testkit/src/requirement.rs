//! Declared test requirements and the SKIP/CI rule.
//!
//! A missing requirement prints `SKIP: <test>: <why>` straight to the
//! process's stderr, not through `eprintln!`, which libtest captures and
//! hides for passing tests: a skip must be seen. Under `CI=true` it panics
//! instead.

use std::io::Write;
use std::path::Path;

/// Whether we run in CI, where every requirement must be met.
pub fn in_ci() -> bool {
    ci_value_means_ci(std::env::var("CI").ok().as_deref())
}

/// CI systems set `CI=true`; `1` is accepted as well.
pub fn ci_value_means_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The running test's name: libtest names each test's thread after it.
pub fn current_test(module: &str) -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => module.to_string(),
    }
}

/// Applies the rule for a missing requirement: returns `true` (the caller
/// returns from the test) after a loud SKIP, or panics in CI.
pub fn skip(test: &str, why: &str) -> bool {
    if in_ci() {
        panic!("{test}: requirement missing in CI (CI=true): {why}");
    }
    let _ = writeln!(std::io::stderr().lock(), "SKIP: {test}: {why}");
    true
}

/// We are root (real root, not a user namespace, for mounts and chown).
pub fn root() -> Result<(), String> {
    if rustix::process::geteuid().is_root() {
        Ok(())
    } else {
        Err("needs root".to_string())
    }
}

/// `name` is an executable on PATH (or an executable path).
pub fn command(name: &str) -> Result<(), String> {
    find_command(name)
        .map(drop)
        .ok_or_else(|| format!("needs the command {name:?} on PATH"))
}

/// Finds `name` on PATH, as a shell would.
pub fn find_command(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = Path::new(name);
        return executable(p).then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

/// `path` exists.
pub fn path(path: &Path) -> Result<(), String> {
    if path.exists() {
        Ok(())
    } else {
        Err(format!("needs {}", path.display()))
    }
}

/// The kernel offers overlayfs (listed in /proc/filesystems).
pub fn overlayfs() -> Result<(), String> {
    let filesystems = std::fs::read_to_string("/proc/filesystems")
        .map_err(|e| format!("needs overlayfs; cannot read /proc/filesystems: {e}"))?;
    if filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"))
    {
        Ok(())
    } else {
        Err("needs overlayfs (not in /proc/filesystems)".to_string())
    }
}

/// Declares what a test needs; see the crate docs for the rule.
///
/// ```no_run
/// fn a_test_that_needs_tools(some_path: &std::path::Path) {
///     testkit::require!(root);
///     testkit::require!(command "skopeo");
///     testkit::require!(path some_path);
///     testkit::require!(overlayfs);
/// }
/// ```
#[macro_export]
macro_rules! require {
    (root) => {
        $crate::require!(@check $crate::requirement::root())
    };
    (overlayfs) => {
        $crate::require!(@check $crate::requirement::overlayfs())
    };
    (command $name:expr) => {
        $crate::require!(@check $crate::requirement::command($name))
    };
    (path $path:expr) => {
        $crate::require!(@check $crate::requirement::path(::std::path::Path::new($path)))
    };
    (@check $result:expr) => {
        if let ::std::result::Result::Err(why) = $result {
            if $crate::requirement::skip(
                &$crate::requirement::current_test(::std::module_path!()),
                &why,
            ) {
                return;
            }
        }
    };
}
