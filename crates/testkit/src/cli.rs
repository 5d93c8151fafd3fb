//! Running the `decant` binary in tests, in the spirit of ripgrep's
//! `tests/util.rs`: a [`Dir`] is a temp working directory (the build context)
//! plus a private store root, and [`TestCommand`] runs the binary there and
//! asserts on how it exited.
//!
//! The binary's path comes from the caller (`env!("CARGO_BIN_EXE_decant")`
//! in the cli crate's tests), because only the crate that owns a binary
//! target gets that variable.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temp dir holding a working directory and a private store root; both
/// are removed on drop.
pub struct Dir {
    temp: tempfile::TempDir,
    work: PathBuf,
    store_root: PathBuf,
    bin: PathBuf,
}

impl Dir {
    /// A fresh dir for running `bin`; `name` (the test's name) prefixes the
    /// temp dir so leftovers of a `--keep`-style debug session are findable.
    pub fn new(bin: impl AsRef<Path>, name: &str) -> Dir {
        let temp = tempfile::Builder::new()
            .prefix(&format!("decant-test-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let work = temp.path().join("work");
        let store_root = temp.path().join("root");
        for d in [&work, &store_root] {
            std::fs::create_dir(d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        }
        Dir {
            temp,
            work,
            store_root,
            bin: bin.as_ref().to_path_buf(),
        }
    }

    /// The working directory; commands run here.
    pub fn path(&self) -> &Path {
        &self.work
    }

    /// The private store root passed as `--root`.
    pub fn store_root(&self) -> &Path {
        &self.store_root
    }

    /// The temp dir holding both, for files that must stay out of the
    /// working directory (a Dockerfile outside the context, outputs).
    pub fn outside(&self) -> &Path {
        self.temp.path()
    }

    /// Writes `contents` to `name` under the working directory, creating
    /// parent directories.
    pub fn create(&self, name: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.work.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("mkdir -p {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    pub fn create_dir(&self, name: impl AsRef<Path>) -> PathBuf {
        let path = self.work.join(name);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("mkdir -p {}: {e}", path.display()));
        path
    }

    pub fn create_symlink(&self, target: impl AsRef<Path>, name: impl AsRef<Path>) -> PathBuf {
        let path = self.work.join(name);
        std::os::unix::fs::symlink(target.as_ref(), &path)
            .unwrap_or_else(|e| panic!("ln -s {}: {e}", path.display()));
        path
    }

    pub fn set_mode(&self, name: impl AsRef<Path>, mode: u32) {
        let path = self.work.join(name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    }

    pub fn read(&self, name: impl AsRef<Path>) -> Vec<u8> {
        let path = self.work.join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// `decant --root <store root>` in the working directory. `DECANT_ROOT`
    /// is set too, so a subcommand that reads only the environment agrees.
    pub fn command(&self) -> TestCommand {
        let mut command = TestCommand::new(&self.bin, &self.work);
        command
            .arg("--root")
            .arg(&self.store_root)
            .env("DECANT_ROOT", &self.store_root);
        command
    }

    /// Replaces this dir's temp paths and every `sha256:<hex>` in `text`
    /// with stable placeholders, for snapshots.
    pub fn redact(&self, text: &str) -> String {
        let text = text.replace(&self.temp.path().display().to_string(), "[TMP]");
        redact_digests(&text)
    }
}

/// What a run printed, stdout then stderr, decoded lossily: the text tests
/// search for a message that may land on either.
pub fn output_text(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

/// Replaces `sha256:` followed by 64 hex characters with `sha256:[DIGEST]`.
pub fn redact_digests(text: &str) -> String {
    const PREFIX: &str = "sha256:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(PREFIX) {
        let after = &rest[i + PREFIX.len()..];
        let hex_len = after.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
        out.push_str(&rest[..i + PREFIX.len()]);
        if hex_len == 64 {
            out.push_str("[DIGEST]");
            rest = &after[64..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A command to run, with assertions on its exit.
pub struct TestCommand {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl TestCommand {
    /// `bin` run in `cwd`, with nothing added.
    pub fn new(bin: impl AsRef<OsStr>, cwd: impl AsRef<Path>) -> TestCommand {
        let mut cmd = Command::new(bin);
        cmd.current_dir(cwd);
        TestCommand { cmd, stdin: None }
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut TestCommand {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, A>(&mut self, args: I) -> &mut TestCommand
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut TestCommand {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut TestCommand {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut TestCommand {
        self.cmd.current_dir(dir);
        self
    }

    /// Bytes fed to the command's stdin (otherwise stdin is empty).
    pub fn stdin(&mut self, bytes: impl Into<Vec<u8>>) -> &mut TestCommand {
        self.stdin = Some(bytes.into());
        self
    }

    /// The underlying command, for anything not wrapped here.
    pub fn cmd(&mut self) -> &mut Command {
        &mut self.cmd
    }

    /// Runs the command and returns its output, whatever the exit.
    pub fn run(&mut self) -> Output {
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", self.cmd));
        let input = self.stdin.clone().unwrap_or_default();
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // A writer thread: a command that fills its stdout pipe before
        // reading all of stdin would deadlock a sequential write-then-read.
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let output = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("cannot wait for {:?}: {e}", self.cmd));
        let _ = writer.join();
        output
    }

    /// Runs the command, asserting it succeeds.
    pub fn output(&mut self) -> Output {
        let output = self.run();
        if !output.status.success() {
            panic!("{}", self.describe("expected success", &output));
        }
        output
    }

    /// Runs the command, asserting it succeeds; returns stdout as text.
    pub fn stdout(&mut self) -> String {
        String::from_utf8_lossy(&self.output().stdout).into_owned()
    }

    /// Runs the command, asserting it fails (non-zero exit).
    pub fn assert_err(&mut self) -> Output {
        let output = self.run();
        if output.status.success() {
            panic!("{}", self.describe("expected failure", &output));
        }
        output
    }

    /// Runs the command, asserting its exit code.
    pub fn assert_exit_code(&mut self, expected: i32) -> Output {
        let output = self.run();
        if output.status.code() != Some(expected) {
            panic!(
                "{}",
                self.describe(&format!("expected exit code {expected}"), &output)
            );
        }
        output
    }

    fn describe(&self, expectation: &str, output: &Output) -> String {
        format!(
            "{expectation}, got {}\ncommand: {:?}\nstdout:\n{}\nstderr:\n{}",
            output.status,
            self.cmd,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }
}
