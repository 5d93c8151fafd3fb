//! `decant build`: turns the arguments into an [`engine::BuildRequest`],
//! runs it and reports the outcome.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::args::{BuildArgs, GlobalArgs, PlanFormat, Progress};
use crate::progress::Renderer;
use crate::report;

/// A command-line value decant cannot use, with what to do instead.
#[derive(Debug)]
pub struct UsageError {
    pub message: String,
    pub hint: Option<String>,
}

fn usage(message: impl Into<String>, hint: Option<&str>) -> UsageError {
    UsageError {
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

pub fn run(global: &GlobalArgs, args: BuildArgs) -> ExitCode {
    let (request, settings) = match request_from(global, &args) {
        Ok(parsed) => parsed,
        Err(error) => {
            report::usage_error(&error);
            return ExitCode::from(2);
        }
    };
    if let Some(format) = args.print_plan {
        return match engine::plan_only(&request) {
            Ok(graph) => {
                match format {
                    PlanFormat::Text => print!("{}", plan::dump_text(&graph)),
                    PlanFormat::Json => {
                        let json = plan::dump_json(&graph);
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&json).unwrap_or_default()
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                report::build_error(&error);
                ExitCode::FAILURE
            }
        };
    }
    // Mounts made for snapshots must die with this process, whatever ends it.
    if let Err(error) = engine::helper::isolate_mounts() {
        report::message(&format!("cannot set up a private mount namespace: {error}"));
        return ExitCode::FAILURE;
    }
    // The first SIGINT/SIGTERM asks the engine to stop (it kills the running
    // step and unmounts); a second one exits at once.
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let registered = signal_hook::flag::register_conditional_shutdown(
            signal,
            EXIT_CANCELLED as i32,
            Arc::clone(&request.cancel),
        )
        .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&request.cancel)));
        if let Err(error) = registered {
            report::message(&format!("cannot install a signal handler: {error}"));
            return ExitCode::FAILURE;
        }
    }
    let renderer = Renderer::new(settings.progress);
    let outcome = engine::build(&request, &|event| renderer.event(event));
    renderer.finish();
    match outcome {
        Ok(outcome) => {
            let id = outcome.config_digest.to_string();
            if let Some(path) = &args.iidfile
                && let Err(error) = std::fs::write(path, &id)
            {
                report::message(&format!(
                    "cannot write --iidfile {}: {error}",
                    path.display()
                ));
                return ExitCode::FAILURE;
            }
            if let Some(path) = &args.metadata_file {
                let metadata = serde_json::json!({
                    "containerimage.config.digest": id,
                    "containerimage.digest": outcome.manifest_digest.to_string(),
                    "image.name": request.tags.join(","),
                });
                let text = serde_json::to_string_pretty(&metadata).unwrap_or_default();
                if let Err(error) = std::fs::write(path, text) {
                    report::message(&format!(
                        "cannot write --metadata-file {}: {error}",
                        path.display()
                    ));
                    return ExitCode::FAILURE;
                }
            }
            renderer.summary(&outcome);
            for name in &settings.push {
                let view = crate::transfer::TransferView::new(
                    settings.progress == Progress::Quiet,
                    "push",
                );
                let pushed = engine::ops::push(&request.store_root, name, None, &|e| view.event(e));
                view.finish();
                match pushed {
                    Ok(pushed) => {
                        if settings.progress != Progress::Quiet {
                            eprintln!("pushed {} {}", pushed.reference, pushed.manifest_digest);
                        }
                    }
                    Err(error) => {
                        report::message(&format!(
                            "the image was built but pushing {name} failed: {error}"
                        ));
                        let mut source = std::error::Error::source(&error);
                        while let Some(cause) = source {
                            eprintln!("  caused by: {cause}");
                            source = cause.source();
                        }
                        return ExitCode::FAILURE;
                    }
                }
            }
            // An archive on stdout is all that goes there: not even -q's ID.
            if let Some(output) = &settings.stdout_output {
                if let Err(error) = output.send() {
                    report::message(&format!("cannot write the output to stdout: {error}"));
                    return ExitCode::FAILURE;
                }
            } else if settings.progress == Progress::Quiet {
                println!("{id}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            report::build_error(&error);
            if matches!(error, engine::BuildError::Cancelled) {
                ExitCode::from(EXIT_CANCELLED)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// What a shell reports for a process ended by SIGINT (128 + 2), as docker
/// build exits when interrupted.
const EXIT_CANCELLED: u8 = 130;

/// `--secret` values, as buildx parses them: `id=ID` with `src=PATH`
/// (`source=`) or `env=VAR`, `type=file|env` optional; with neither source,
/// the environment variable named like the id.
/// `--ssh ID[=SOCKET]`, as buildx writes it: without a path the id
/// forwards the agent at `SSH_AUTH_SOCK`. buildx also takes private key
/// files, serving them from an agent of its own; decant forwards agents
/// only, so a key file is refused with the way to load it into one.
fn parse_ssh(
    values: &[String],
    auth_sock: Option<std::ffi::OsString>,
) -> Result<BTreeMap<String, PathBuf>, UsageError> {
    use std::os::unix::fs::FileTypeExt;
    let mut agents = BTreeMap::new();
    for value in values {
        let (id, paths) = match value.split_once('=') {
            Some((id, paths)) => (id, Some(paths)),
            None => (value.as_str(), None),
        };
        if id.is_empty() {
            return Err(usage(
                format!("invalid --ssh {value:?}: no id"),
                Some("write --ssh default, or --ssh ID=SOCKET"),
            ));
        }
        let socket = match paths {
            Some(paths) if paths.contains(',') => {
                return Err(usage(
                    format!(
                        "--ssh {value}: several sockets or keys for one id are not supported by decant yet"
                    ),
                    Some("load the keys into one ssh-agent (ssh-add) and forward it"),
                ));
            }
            Some(path) => PathBuf::from(path),
            None => match auth_sock.as_ref().filter(|sock| !sock.is_empty()) {
                Some(sock) => PathBuf::from(sock),
                None => {
                    return Err(usage(
                        format!(
                            "--ssh {id} forwards the ssh-agent at SSH_AUTH_SOCK, which is not set"
                        ),
                        Some(
                            "start one (eval $(ssh-agent); ssh-add), or give the socket: --ssh ID=SOCKET",
                        ),
                    ));
                }
            },
        };
        let kind = std::fs::metadata(&socket).map(|meta| meta.file_type());
        match kind {
            Ok(kind) if kind.is_socket() => {}
            Ok(_) => {
                return Err(usage(
                    format!(
                        "--ssh {value}: {} is not an ssh-agent socket; key files are not supported by decant yet",
                        socket.display()
                    ),
                    Some(
                        "load the key into an agent (eval $(ssh-agent); ssh-add KEY) and pass --ssh ID",
                    ),
                ));
            }
            Err(e) => {
                return Err(usage(
                    format!("--ssh {value}: cannot use {}: {e}", socket.display()),
                    Some("check SSH_AUTH_SOCK, or the socket given as --ssh ID=SOCKET"),
                ));
            }
        }
        agents.insert(id.to_string(), socket);
    }
    Ok(agents)
}

fn parse_secrets(values: &[String]) -> Result<BTreeMap<String, engine::SecretSource>, UsageError> {
    let mut secrets = BTreeMap::new();
    for value in values {
        let invalid = |why: &str| {
            usage(
                format!("invalid --secret {value:?}: {why}"),
                Some("write it as id=ID,src=PATH or id=ID,env=VAR"),
            )
        };
        let (mut id, mut kind, mut src, mut env) = (None, None, None, None);
        for field in value.split(',') {
            let (key, val) = field
                .split_once('=')
                .ok_or_else(|| invalid(&format!("field {field:?} is not KEY=VALUE")))?;
            match key.trim().to_ascii_lowercase().as_str() {
                "id" => id = Some(val.to_string()),
                "type" => kind = Some(val.to_string()),
                "src" | "source" => src = Some(val.to_string()),
                "env" => env = Some(val.to_string()),
                other => return Err(invalid(&format!("unknown key {other:?}"))),
            }
        }
        let id = match (id, &src) {
            (Some(id), _) if !id.is_empty() => id,
            (_, Some(src)) => std::path::Path::new(src)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| invalid("no id"))?,
            _ => return Err(invalid("no id")),
        };
        let source = match (kind.as_deref(), src, env) {
            (Some("file") | None, Some(src), None) => engine::SecretSource::File(src.into()),
            (Some("env") | None, None, Some(env)) => engine::SecretSource::Env(env),
            (Some("env"), Some(var), None) => engine::SecretSource::Env(var),
            (Some("file"), None, None) => engine::SecretSource::File(id.clone().into()),
            (Some("env") | None, None, None) => engine::SecretSource::Env(id.clone()),
            (Some(other), _, _) if other != "file" && other != "env" => {
                return Err(invalid(&format!("unknown type {other:?}")));
            }
            _ => return Err(invalid("give either src= or env=")),
        };
        secrets.insert(id, source);
    }
    Ok(secrets)
}

pub struct Settings {
    pub progress: Progress,
    /// The output written to standard output (`-o -`, `dest=-`): built
    /// into this file, then copied out once the build succeeded.
    pub stdout_output: Option<StdoutOutput>,
    /// Names to push after a successful build (`--push`, `type=registry`).
    pub push: Vec<String>,
    /// The context of `decant build -`, removed when the build ends.
    pub _stdin_context: Option<StdinContext>,
}

/// A private temporary directory (tempfile: a random name made with
/// O_EXCL semantics, removed with its contents on drop).
fn temporary_dir(what: &str) -> Result<tempfile::TempDir, UsageError> {
    tempfile::Builder::new()
        .prefix("decant-")
        .tempdir()
        .map_err(|e| {
            usage(
                format!("cannot create a temporary directory for {what}: {e}"),
                Some("set TMPDIR to a writable directory"),
            )
        })
}

/// A file standing in for standard output as an output's `dest`, removed
/// when the build ends. The exporters write files (atomically, named by
/// path); the archive is copied to stdout only after the build succeeded,
/// so a failed build never leaves half an archive in a pipe.
pub struct StdoutOutput {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl StdoutOutput {
    fn create() -> Result<StdoutOutput, UsageError> {
        use std::io::IsTerminal;
        // buildx refuses too: an archive on a terminal is noise.
        if std::io::stdout().is_terminal() {
            return Err(usage(
                "refusing to write an archive to a terminal",
                Some("redirect standard output (> image.tar, | tar x), or give dest=FILE"),
            ));
        }
        let dir = temporary_dir("the output to stdout")?;
        let path = dir.path().join("output.tar");
        Ok(StdoutOutput { _dir: dir, path })
    }

    /// Copies the archive to standard output.
    pub fn send(&self) -> std::io::Result<()> {
        let mut file = std::fs::File::open(&self.path)?;
        let mut stdout = std::io::stdout().lock();
        std::io::copy(&mut file, &mut stdout)?;
        std::io::Write::flush(&mut stdout)
    }
}

/// The context directory of `decant build -`, as `docker build -` takes
/// standard input: an archive (tar, or gzip'd tar) is unpacked into it,
/// and a Dockerfile alone gets it empty.
pub struct StdinContext(tempfile::TempDir);

impl StdinContext {
    fn create() -> Result<StdinContext, UsageError> {
        Ok(StdinContext(temporary_dir("the context from stdin")?))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Unpacks a context archive. The tar crate's `unpack` writes nothing
    /// outside the directory: it skips entries with `..`, strips a leading
    /// `/`, and checks that each entry's parent, symlinks resolved, is still
    /// inside. Modes and mtimes are kept, as the context's files had them.
    fn unpack(&self, archive: &[u8], gzip: bool) -> Result<(), UsageError> {
        let reader: Box<dyn std::io::Read + '_> = if gzip {
            Box::new(flate2::read::GzDecoder::new(archive))
        } else {
            Box::new(archive)
        };
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_permissions(true);
        archive.set_preserve_mtime(true);
        archive.unpack(self.path()).map_err(|e| {
            usage(
                format!("cannot unpack the context archive from standard input: {e}"),
                Some("check the archive with tar -t, or pass a directory: decant build DIR"),
            )
        })
    }
}

/// What standard input holds, told by its magic bytes: gzip's in the first
/// two, ustar's at offset 257, bzip2's and xz's at the start.
enum StdinKind {
    Tar,
    Gzip,
    OtherArchive(&'static str),
    Text,
}

fn stdin_kind(bytes: &[u8]) -> StdinKind {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        StdinKind::Gzip
    } else if bytes.get(257..262) == Some(b"ustar") {
        StdinKind::Tar
    } else if bytes.starts_with(b"BZh") {
        StdinKind::OtherArchive("bzip2")
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        StdinKind::OtherArchive("xz")
    } else {
        StdinKind::Text
    }
}

fn read_stdin() -> Result<Vec<u8>, UsageError> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
        .map_err(|e| usage(format!("cannot read standard input: {e}"), None))?;
    Ok(bytes)
}

fn dockerfile_text(bytes: Vec<u8>) -> Result<String, UsageError> {
    String::from_utf8(bytes)
        .map_err(|_| usage("the Dockerfile on standard input is not UTF-8 text", None))
}

fn key_values(values: &[String], what: &str) -> Result<BTreeMap<String, String>, UsageError> {
    let mut map = BTreeMap::new();
    for value in values {
        match value.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                map.insert(k.to_string(), v.to_string());
            }
            // `--build-arg NAME` takes the value from the environment, as
            // docker does; a name not in the environment is left unset.
            None if what == "--build-arg" && !value.is_empty() => {
                if let Ok(v) = std::env::var(value) {
                    map.insert(value.clone(), v);
                }
            }
            _ => {
                return Err(usage(
                    format!("invalid {what} {value:?}"),
                    Some("write it as KEY=VALUE"),
                ));
            }
        }
    }
    Ok(map)
}

fn parse_output(
    spec: &str,
    compression: &mut Option<layer::Compression>,
    push: &mut Vec<String>,
) -> Result<engine::Output, UsageError> {
    if !spec.contains('=') {
        // docker: `-o DIR` is type=local,dest=DIR; `-o -` is the final
        // root filesystem as a tar on stdout.
        if spec == "-" {
            return Ok(engine::Output::Tar {
                dest: PathBuf::from("-"),
            });
        }
        return Ok(engine::Output::Local {
            dest: PathBuf::from(spec),
        });
    }
    let mut fields = BTreeMap::new();
    for part in spec.split(',') {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            usage(
                format!("invalid --output field {part:?} in {spec:?}"),
                Some("fields are KEY=VALUE, separated by commas"),
            )
        })?;
        fields.insert(k.trim().to_string(), v.trim().to_string());
    }
    let kind = fields.remove("type").unwrap_or_else(|| "local".to_string());
    let dest = fields.remove("dest").map(PathBuf::from);
    let tar = match fields.remove("tar").as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(usage(
                format!("invalid tar={other} in --output"),
                Some("use tar=true or tar=false"),
            ));
        }
    };
    if let Some(value) = fields.remove("compression") {
        *compression = Some(match value.as_str() {
            "gzip" => layer::Compression::Gzip,
            "zstd" => layer::Compression::Zstd,
            "uncompressed" => layer::Compression::Uncompressed,
            other => {
                return Err(usage(
                    format!("unknown compression {other:?}"),
                    Some("use gzip, zstd or uncompressed"),
                ));
            }
        });
    }
    // buildx: type=registry is type=image,push=true; `name` names the image.
    let names: Vec<String> = fields
        .remove("name")
        .map(|n| n.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let wants_push = kind == "registry" || fields.remove("push").as_deref() == Some("true");
    if wants_push {
        if names.is_empty() {
            return Err(usage(
                format!("--output type={kind} with push needs name=REF"),
                Some("for example: --output type=registry,name=registry.example.com/app:1"),
            ));
        }
        push.extend(names);
        if kind == "registry" {
            return Ok(engine::Output::Image);
        }
    }
    for key in ["oci-mediatypes", "force-compression", "compression-level"] {
        fields.remove(key);
    }
    if let Some(key) = fields.keys().next() {
        return Err(usage(
            format!("--output option {key:?} is not supported"),
            None,
        ));
    }
    let need_dest = |kind: &str| {
        dest.clone().ok_or_else(|| {
            usage(
                format!("--output type={kind} needs dest=PATH"),
                Some("for example: --output type=oci,dest=image.tar"),
            )
        })
    };
    match kind.as_str() {
        "oci" => Ok(engine::Output::Oci {
            dest: need_dest("oci")?,
            tar,
        }),
        "docker" => Ok(engine::Output::Docker {
            dest: need_dest("docker")?,
        }),
        "image" => Ok(engine::Output::Image),
        "local" => Ok(engine::Output::Local {
            dest: need_dest("local")?,
        }),
        "tar" => Ok(engine::Output::Tar {
            dest: need_dest("tar")?,
        }),
        other => Err(usage(
            format!("unknown output type {other:?}"),
            Some("use oci, docker, image, registry, local or tar"),
        )),
    }
}

/// `--add-host HOST:IP` (or `HOST=IP`, as docker 25 also takes), as the
/// docker CLI's `ValidateExtraHost` reads it: the name ends at the first
/// `=` or else the first `:`, so an IPv6 address needs no brackets (they
/// are allowed). `host-gateway` names the docker daemon's bridge gateway,
/// which a daemonless build has no equivalent of.
fn parse_extra_host(value: &str) -> Result<(String, std::net::IpAddr), UsageError> {
    let invalid = |why: &str| {
        usage(
            format!("invalid --add-host {value:?}: {why}"),
            Some("write --add-host NAME:IP, such as --add-host db:10.0.0.5"),
        )
    };
    let (name, address) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .ok_or_else(|| invalid("no address"))?;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(invalid("the name is empty or holds a space"));
    }
    if address == "host-gateway" {
        return Err(invalid(
            "host-gateway is the docker daemon's bridge gateway; decant runs without one",
        ));
    }
    let bare = address
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(address);
    let address = bare
        .parse()
        .map_err(|_| invalid("the address is not an IP address"))?;
    Ok((name.to_string(), address))
}

fn request_from(
    global: &GlobalArgs,
    args: &BuildArgs,
) -> Result<(engine::BuildRequest, Settings), UsageError> {
    if let Some(flag) = args.docker.refused() {
        let hint = if flag == "--sbom" || flag == "--provenance" {
            "decant writes no attestations: leave the flag out, or give it =false"
        } else {
            "see `decant build --help` for the flags decant supports"
        };
        return Err(usage(
            format!("{flag} is not supported by decant yet"),
            Some(hint),
        ));
    }
    for flag in args.docker.ignored() {
        report::warning(&format!(
            "{flag} has no effect with BuildKit or decant (the legacy builder's flag); ignored"
        ));
    }
    let stdin = Path::new("-");
    let from_stdin = args.file.as_deref() == Some(stdin);
    // A Dockerfile from stdin is named so in messages (`<stdin>:3:1`);
    // there is no file to read.
    let stdin_name = || PathBuf::from("<stdin>");
    let mut stdin_context = None;
    let (context, dockerfile, dockerfile_text) = if args.context == stdin {
        if from_stdin {
            return Err(usage(
                "-f - and the context - both read standard input",
                Some("give the context as a directory: decant build -f - DIR"),
            ));
        }
        let bytes = read_stdin()?;
        let dir = StdinContext::create()?;
        let context = dir.path().to_path_buf();
        let found = match stdin_kind(&bytes) {
            kind @ (StdinKind::Tar | StdinKind::Gzip) => {
                dir.unpack(&bytes, matches!(kind, StdinKind::Gzip))?;
                // -f names a file inside the archive, as docker reads it.
                let file = args.file.clone().unwrap_or_else(|| "Dockerfile".into());
                (context.clone(), context.join(file), None)
            }
            StdinKind::OtherArchive(format) => {
                return Err(usage(
                    format!(
                        "a {format} context archive on standard input is not supported by decant yet"
                    ),
                    Some("pipe a tar or a gzip'd tar, or pass a directory: decant build DIR"),
                ));
            }
            StdinKind::Text => (context, stdin_name(), Some(dockerfile_text(bytes)?)),
        };
        stdin_context = Some(dir);
        found
    } else if from_stdin {
        let bytes = read_stdin()?;
        if !matches!(stdin_kind(&bytes), StdinKind::Text) {
            return Err(usage(
                "-f - takes a Dockerfile on standard input, not an archive",
                Some("pipe a context archive as the context instead: decant build - < context.tar"),
            ));
        }
        (
            args.context.clone(),
            stdin_name(),
            Some(dockerfile_text(bytes)?),
        )
    } else {
        let file = args
            .file
            .clone()
            .unwrap_or_else(|| args.context.join("Dockerfile"));
        (args.context.clone(), file, None)
    };
    let mut compression = None;
    let mut push = Vec::new();
    let mut outputs = args
        .outputs
        .iter()
        .map(|spec| parse_output(spec, &mut compression, &mut push))
        .collect::<Result<Vec<_>, _>>()?;
    let mut stdout_output = None;
    for output in &mut outputs {
        let dest = match output {
            engine::Output::Tar { dest }
            | engine::Output::Docker { dest }
            | engine::Output::Oci { dest, tar: true } => dest,
            engine::Output::Oci { dest, tar: false } | engine::Output::Local { dest }
                if dest.as_path() == Path::new("-") =>
            {
                return Err(usage(
                    "a directory output cannot go to standard output",
                    Some("use type=tar, type=oci or type=docker for -, or give dest=DIR"),
                ));
            }
            _ => continue,
        };
        if dest.as_path() != Path::new("-") {
            continue;
        }
        if stdout_output.is_some() {
            return Err(usage(
                "only one output can go to standard output",
                Some("give the others dest=FILE"),
            ));
        }
        let stand_in = StdoutOutput::create()?;
        *dest = stand_in.path.clone();
        stdout_output = Some(stand_in);
    }
    if args.push {
        if args.tags.is_empty() {
            return Err(usage(
                "--push needs a name to push",
                Some("add -t REGISTRY/NAME:TAG"),
            ));
        }
        push.extend(args.tags.iter().cloned());
    }
    // What is pushed is first tagged in the store, then pushed from there.
    let mut tags = args.tags.clone();
    for name in &push {
        if !tags.contains(name) {
            tags.push(name.clone());
        }
    }
    // buildx's --load puts the image in docker's store. decant's store
    // holds every image built with -t, whatever the other outputs, and
    // keeps images by name only: an untagged one would be unreachable.
    if args.load && args.tags.is_empty() {
        report::warning(
            "--load stores nothing without a name: decant's store keeps images by their -t names",
        );
    }
    if outputs.is_empty() && !args.tags.is_empty() {
        outputs.push(engine::Output::Image);
    }
    // An image that stays in the store keeps its new layers uncompressed,
    // as docker's image store does: nothing reads them compressed until a
    // push or an export, and those compress then (`decant push` gzips
    // such layers). Gzip (docker's default) for everything else.
    let store_only = push.is_empty() && outputs.iter().all(|o| *o == engine::Output::Image);
    let compression = compression.unwrap_or(if store_only {
        layer::Compression::Uncompressed
    } else {
        layer::Compression::Gzip
    });
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.is_empty() => Some(value.parse::<i64>().map_err(|_| {
            usage(
                format!("SOURCE_DATE_EPOCH={value:?} is not a number of seconds"),
                Some("unset it or give an integer"),
            )
        })?),
        _ => None,
    };
    let helper_program = std::env::current_exe()
        .map_err(|e| usage(format!("cannot find the decant executable: {e}"), None))?;
    let progress = if args.quiet {
        Progress::Quiet
    } else {
        args.progress
    };
    let request = engine::BuildRequest {
        dockerfile,
        dockerfile_text,
        ephemeral_context: stdin_context.is_some(),
        context,
        build_args: key_values(&args.build_args, "--build-arg")?,
        target: args.target.clone(),
        platforms: args.platform.clone(),
        ulimits: args
            .ulimit
            .iter()
            .map(|value| {
                engine::Ulimit::parse(value).map_err(|why| {
                    usage(
                        format!("invalid --ulimit {value:?}: {why}"),
                        Some("write NAME=SOFT[:HARD], such as nofile=1024:2048"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        shm_size: args
            .shm_size
            .as_deref()
            .map(|value| {
                dockerfile::mount::ram_in_bytes(value)
                    .and_then(|bytes| u64::try_from(bytes).ok())
                    .filter(|bytes| *bytes > 0)
                    .ok_or_else(|| {
                        usage(
                            format!("invalid --shm-size {value:?}"),
                            Some("give a size such as 256m or 1g"),
                        )
                    })
            })
            .transpose()?,
        extra_hosts: args
            .add_host
            .iter()
            .map(|value| parse_extra_host(value))
            .collect::<Result<_, _>>()?,
        network: match args.network {
            crate::args::NetworkMode::Default => engine::NetworkMode::Default,
            crate::args::NetworkMode::None => engine::NetworkMode::None,
            crate::args::NetworkMode::Host => engine::NetworkMode::Host,
        },
        named_contexts: key_values(&args.build_contexts, "--build-context")?,
        tags,
        outputs,
        labels: key_values(&args.labels, "--label")?,
        no_cache: args.no_cache,
        no_cache_filter: args.no_cache_filter.clone(),
        pull: args.pull,
        allow_insecure: args.allow.iter().any(|a| a == "security.insecure"),
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        store_root: global
            .root
            .clone()
            .unwrap_or_else(engine::default_store_root),
        helper_program,
        compression,
        source_date_epoch,
        snapshotter: args.snapshotter.clone(),
        secrets: parse_secrets(&args.secret)?,
        ssh: parse_ssh(&args.ssh, std::env::var_os("SSH_AUTH_SOCK"))?,
        cancel: Arc::new(AtomicBool::new(false)),
    };
    let settings = Settings {
        progress,
        stdout_output,
        push,
        _stdin_context: stdin_context,
    };
    Ok((request, settings))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    /// The name and address a value gives, or a piece of its error.
    type Parsed = Result<(&'static str, &'static str), &'static str>;

    /// `--add-host` values and what they give.
    const EXTRA_HOSTS: &[(&str, Parsed)] = &[
        ("db:10.0.0.5", Ok(("db", "10.0.0.5"))),
        ("db=10.0.0.5", Ok(("db", "10.0.0.5"))),
        ("v6:2001:db8::1", Ok(("v6", "2001:db8::1"))),
        ("v6=[2001:db8::1]", Ok(("v6", "2001:db8::1"))),
        ("v6:[::1]", Ok(("v6", "::1"))),
        ("db", Err("no address")),
        (":10.0.0.5", Err("the name is empty")),
        ("db:example.com", Err("not an IP address")),
        ("db:", Err("not an IP address")),
        ("gw:host-gateway", Err("host-gateway")),
    ];

    #[test]
    fn add_host_values_read_as_the_docker_cli_reads_them() {
        for (value, expected) in EXTRA_HOSTS {
            let parsed = super::parse_extra_host(value);
            match (expected, parsed) {
                (Ok((name, address)), Ok(parsed)) => {
                    let address: IpAddr = address.parse().expect("test address");
                    assert_eq!(parsed, (name.to_string(), address), "{value}");
                }
                (Err(piece), Err(error)) => {
                    assert!(error.message.contains(piece), "{value}: {}", error.message)
                }
                (expected, parsed) => panic!("{value}: expected {expected:?}, got {parsed:?}"),
            }
        }
    }

    /// The id and socket an `--ssh` value forwards, or a piece of its error.
    type Forwarded<'a> = Result<(&'a str, &'a str), &'a str>;

    #[test]
    fn ssh_values_forward_agent_sockets_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("agent.sock");
        let _agent = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        let key = dir.path().join("id_ed25519");
        std::fs::write(&key, "-----BEGIN OPENSSH PRIVATE KEY-----\n").expect("key");
        let socket_text = socket.display().to_string();
        let with = |id: &str, path: &std::path::Path| format!("{id}={}", path.display());
        // (value, SSH_AUTH_SOCK, the id and socket it gives, or a piece of
        // the error)
        let cases: Vec<(String, Option<&str>, Forwarded<'_>)> = vec![
            (
                "default".into(),
                Some(&socket_text),
                Ok(("default", &socket_text)),
            ),
            (with("git", &socket), None, Ok(("git", &socket_text))),
            (
                "default".into(),
                None,
                Err("SSH_AUTH_SOCK, which is not set"),
            ),
            (
                "default".into(),
                Some(""),
                Err("SSH_AUTH_SOCK, which is not set"),
            ),
            (
                with("default", &key),
                None,
                Err("key files are not supported"),
            ),
            (
                with("default", &dir.path().join("missing")),
                None,
                Err("cannot use"),
            ),
            (
                format!("default={socket_text},{socket_text}"),
                None,
                Err("several sockets or keys"),
            ),
            (with("", &socket), None, Err("no id")),
        ];
        for (value, auth_sock, expected) in cases {
            let parsed = super::parse_ssh(std::slice::from_ref(&value), auth_sock.map(Into::into));
            match (expected, parsed) {
                (Ok((id, path)), Ok(agents)) => {
                    let found: Vec<(&str, &std::path::Path)> = agents
                        .iter()
                        .map(|(id, path)| (id.as_str(), path.as_path()))
                        .collect();
                    assert_eq!(found, [(id, std::path::Path::new(path))], "{value}");
                }
                (Err(piece), Err(error)) => {
                    assert!(error.message.contains(piece), "{value}: {}", error.message)
                }
                (expected, parsed) => panic!("{value}: expected {expected:?}, got {parsed:?}"),
            }
        }
    }
}
