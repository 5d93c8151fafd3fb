//! COPY/ADD through the real binary: ADD from a loopback HTTP server,
//! `--unpack`, `--checksum`, `COPY --link`, named contexts (a local
//! directory and an OCI layout), and the confinement of every path a
//! Dockerfile or a context can make decant touch.
//!
//! Needs root (RUN, chown, overlayfs) and busybox-static for the base image;
//! without them each test prints `SKIP:` and returns (fails under `CI=true`).
//! The HTTP server listens on 127.0.0.1 only.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use testkit::{Dir, busybox_layout, output_text, require};

const BIN: &str = env!("CARGO_BIN_EXE_decant");

/// A marker that lives only in host files outside every context; it must
/// never appear in an output.
const MARKER: &str = "DECANT-HOST-MARKER-5f1c9e";

/// One canned response: path, headers, body.
type Route = (String, Vec<(String, String)>, Vec<u8>);

/// One expected file: path, mode, uid, gid, content, mtime.
type Expected<'a> = (&'a str, u32, u32, u32, &'a [u8], Option<i64>);

/// Serves `routes` on 127.0.0.1; 404 otherwise.
fn serve(routes: Vec<Route>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let found = routes.iter().find(|r| r.0 == path);
            let (status, headers, body) = match found {
                Some((_, h, b)) => (200, h.clone(), b.clone()),
                None => (404, Vec::new(), b"not found".to_vec()),
            };
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

/// One ustar member: name, type flag, link target, content, mode.
fn tar_member(out: &mut Vec<u8>, name: &str, kind: u8, link: &str, data: &[u8], mode: u32) {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let text = format!("{:0width$o}\0", value, width = field.len() - 1);
        field.copy_from_slice(text.as_bytes());
    };
    octal(&mut header[100..108], u64::from(mode));
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], data.len() as u64);
    octal(&mut header[136..148], 1_000_000_000);
    header[156] = kind;
    header[157..157 + link.len()].copy_from_slice(link.as_bytes());
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(text.as_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn tar_of(members: &[(&str, u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, link, data) in members {
        tar_member(&mut out, name, *kind, link, data, 0o644);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("gzip output");
    writer.join().expect("join").expect("write");
    out.stdout
}

/// Every file below `dir`, recursively (symlinks not followed).
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out
}

fn assert_no_marker(dir: &Path) {
    for file in files_below(dir) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "host content leaked into {}",
            file.display()
        );
    }
}

fn build(dir: &Dir, dockerfile: &str, extra: &[String], out: &Path) -> std::process::Output {
    let file = dir.outside().join("Dockerfile");
    std::fs::write(&file, dockerfile).expect("write Dockerfile");
    dir.command()
        .args(["build", "--progress", "plain", "-f"])
        .arg(&file)
        .args(extra)
        .arg("--output")
        .arg(format!("type=local,dest={}", out.display()))
        .arg(dir.path())
        .run()
}

fn ok(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "build failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn stat(path: &Path) -> std::fs::Metadata {
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn add_from_url_places_names_and_pins_downloads() {
    require!(root);
    let dir = Dir::new(BIN, "add-url");
    let archive = gzip(&tar_of(&[("inside.txt", b'0', "", b"from the archive\n")]));
    let date = (
        "Last-Modified".to_string(),
        "Sun, 06 Nov 1994 08:49:37 GMT".to_string(),
    );
    let base = serve(vec![
        (
            "/files/hello.txt".into(),
            vec![date.clone()],
            b"hello\n".to_vec(),
        ),
        ("/t.tar.gz".into(), vec![], archive),
        ("/".into(), vec![date], b"root\n".to_vec()),
    ]);
    let out = dir.outside().join("out");
    let dockerfile = format!(
        "FROM scratch\n\
         ADD {base}/files/hello.txt /dest/\n\
         ADD --chown=7:8 --chmod=755 {base}/files/hello.txt /renamed\n\
         ADD {base}/ /unnamed/\n\
         ADD {base}/t.tar.gz /kept/\n\
         ADD --unpack=true {base}/t.tar.gz /unpacked/\n"
    );
    ok(&build(&dir, &dockerfile, &[], &out));
    let rows: &[Expected] = &[
        ("dest/hello.txt", 0o600, 0, 0, b"hello\n", Some(784_111_777)),
        ("renamed", 0o755, 7, 8, b"hello\n", Some(784_111_777)),
        (
            "unnamed/__unnamed__",
            0o600,
            0,
            0,
            b"root\n",
            Some(784_111_777),
        ),
        (
            "unpacked/inside.txt",
            0o644,
            0,
            0,
            b"from the archive\n",
            None,
        ),
    ];
    for (path, mode, uid, gid, content, mtime) in rows {
        let full = out.join(path);
        let meta = stat(&full);
        assert_eq!(meta.mode() & 0o7777, *mode, "{path} mode");
        assert_eq!((meta.uid(), meta.gid()), (*uid, *gid), "{path} owner");
        assert_eq!(std::fs::read(&full).expect("read"), *content, "{path}");
        if let Some(mtime) = mtime {
            assert_eq!(meta.mtime(), *mtime, "{path} mtime");
        }
    }
    // A remote archive is a file unless --unpack=true.
    assert!(stat(&out.join("kept/t.tar.gz")).is_file());
    assert!(!out.join("kept/inside.txt").exists());

    // --checksum: the right one builds, a wrong one names the URL and both
    // digests.
    let hello_digest = format!(
        "sha256:{}",
        String::from_utf8(
            std::process::Command::new("sha256sum")
                .arg(out.join("dest/hello.txt"))
                .output()
                .expect("sha256sum")
                .stdout
        )
        .expect("utf8")
        .split_whitespace()
        .next()
        .expect("digest")
    );
    let pinned = format!("FROM scratch\nADD --checksum={hello_digest} {base}/files/hello.txt /\n");
    ok(&build(&dir, &pinned, &[], &dir.outside().join("pinned")));
    let wrong = format!("sha256:{}", "0".repeat(64));
    let bad = format!("FROM scratch\nADD --checksum={wrong} {base}/files/hello.txt /\n");
    let output = build(&dir, &bad, &[], &dir.outside().join("bad"));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        format!("{base}/files/hello.txt"),
        wrong.clone(),
        hello_digest.clone(),
    ] {
        assert!(stderr.contains(&needle), "{needle} missing in:\n{stderr}");
    }
    let git = "FROM scratch\nADD https://example.invalid/repo.git /src\n";
    let output = build(&dir, git, &[], &dir.outside().join("git"));
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("git sources are not supported yet"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A busybox layout to use as `--build-context busybox=oci-layout://…`.
fn busybox_context(dir: &Dir) -> Vec<String> {
    let layout = dir.outside().join("busybox-layout");
    busybox_layout(&layout);
    vec![
        "--build-context".to_string(),
        format!("busybox=oci-layout://{}:latest", layout.display()),
    ]
}

#[test]
fn named_contexts_local_dir_and_oci_layout() {
    require!(root);
    require!(command "busybox");
    let dir = Dir::new(BIN, "named-contexts");
    let mut extra = busybox_context(&dir);
    let other = dir.outside().join("other");
    std::fs::create_dir_all(other.join("sub")).expect("mkdir");
    std::fs::write(other.join("out"), "out\n").expect("write");
    std::fs::write(other.join("out2"), "excluded\n").expect("write");
    std::fs::write(other.join("sub/f"), "f\n").expect("write");
    std::fs::write(other.join(".dockerignore"), "out2\n").expect("write");
    std::os::unix::fs::lchown(other.join("out"), Some(1234), Some(1234)).expect("chown");
    extra.extend([
        "--build-context".to_string(),
        format!("base={}", other.display()),
    ]);
    let out = dir.outside().join("out");
    let dockerfile = "FROM busybox AS tools\n\
         RUN echo from-busybox > /proof\n\
         FROM base AS files\n\
         FROM tools\n\
         COPY --from=base /o* /copied/\n\
         COPY --from=files / /whole/\n";
    ok(&build(&dir, dockerfile, &extra, &out));
    assert_eq!(
        std::fs::read(out.join("proof")).expect("proof"),
        b"from-busybox\n"
    );
    assert!(stat(&out.join("bin/busybox")).is_file());
    // The named context's own .dockerignore hides out2, for COPY --from and
    // as a stage base alike; its files are owned 0:0 like the main context's.
    let rows = [
        ("copied/out", true),
        ("copied/out2", false),
        ("whole/out", true),
        ("whole/out2", false),
        ("whole/sub/f", true),
    ];
    for (path, present) in rows {
        assert_eq!(out.join(path).exists(), present, "{path}");
    }
    let meta = stat(&out.join("copied/out"));
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    let meta = stat(&out.join("whole/out"));
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
}

/// `decant build link` where `link` is a symlink to the context directory
/// walked the link itself: `COPY . /c/` failed ("cannot replace to
/// directory") and the cache key covered none of the files. fsutil resolves
/// the context directory first; so does decant now.
#[test]
fn context_given_as_a_symlink_is_followed() {
    require!(root);
    let dir = Dir::new(BIN, "symlink-context");
    dir.create("real/f", "one\n");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("real", &link).expect("symlink");
    let build = |context: &str, out: &str| {
        let file = dir.outside().join("Dockerfile");
        std::fs::write(&file, "FROM scratch\nCOPY . /c/\n").expect("write Dockerfile");
        dir.command()
            .args(["build", "--progress", "plain", "-f"])
            .arg(&file)
            .arg("--output")
            .arg(format!(
                "type=local,dest={}",
                dir.outside().join(out).display()
            ))
            .arg(dir.path().join(context))
            .run()
    };
    ok(&build("link", "out1"));
    assert_eq!(
        std::fs::read(dir.outside().join("out1/c/f")).expect("f"),
        b"one\n"
    );
    dir.create("real/f", "two, longer\n");
    ok(&build("link", "out2"));
    assert_eq!(
        std::fs::read(dir.outside().join("out2/c/f")).expect("f"),
        b"two, longer\n",
        "an edit behind the link invalidates the cache"
    );
    let output = build("real", "out3");
    ok(&output);
    let log = output_text(&output);
    assert!(
        log.contains("CACHED"),
        "the directory and the link to it share the cache:\n{log}"
    );
}

#[test]
fn copy_link_ignores_the_destination() {
    require!(root);
    require!(command "busybox");
    let dir = Dir::new(BIN, "copy-link");
    let extra = busybox_context(&dir);
    dir.create("f", "linked\n");
    let out = dir.outside().join("out");
    // /app is a symlink in the base: a plain COPY writes through it, a
    // --link copy makes /app a real directory in its own layer, which hides
    // the link in the stacked image (BuildKit's MergeOp).
    let dockerfile = "FROM busybox\n\
         RUN mkdir -p /real /real2 /tmp && ln -s /real /app && ln -s /real2 /app2 && chmod 1777 /tmp\n\
         COPY --link f /app/x\n\
         COPY f /app2/x\n\
         COPY --link f /tmp/x\n";
    ok(&build(&dir, dockerfile, &extra, &out));
    assert!(stat(&out.join("app")).is_dir(), "/app became a directory");
    assert_eq!(std::fs::read(out.join("app/x")).expect("x"), b"linked\n");
    assert!(!out.join("real/x").exists());
    assert!(stat(&out.join("app2")).file_type().is_symlink());
    assert!(stat(&out.join("real2/x")).is_file());
    // The directories a --link copy creates are its own (0755), as in
    // BuildKit's "Incompatibilities with --link=false".
    assert_eq!(stat(&out.join("tmp")).mode() & 0o7777, 0o755);

    // The --link layer is keyed without its parent: changing a step below
    // it still finds it in the cache.
    let changed = dockerfile.replace("chmod 1777 /tmp", "chmod 1777 /tmp && true");
    let output = build(&dir, &changed, &extra, &dir.outside().join("out2"));
    ok(&output);
    let stdout = output_text(&output);
    let cached_lines = stdout.lines().filter(|l| l.contains("CACHED")).count();
    assert!(
        cached_lines >= 2,
        "the two --link steps are cached:\n{stdout}"
    );
}

#[test]
fn nothing_leaves_the_root_and_no_host_file_reaches_an_image() {
    require!(root);
    require!(command "busybox");
    let dir = Dir::new(BIN, "confinement");
    let extra = busybox_context(&dir);
    // Host files outside the context, holding the marker.
    let sentinel = dir.outside().join("sentinel");
    std::fs::create_dir_all(&sentinel).expect("mkdir");
    std::fs::write(sentinel.join("secret"), MARKER).expect("write");
    let before = files_below(&sentinel);
    // A context with links out of it: absolute, relative, to /etc.
    dir.create("f", "context file\n");
    dir.create_symlink(sentinel.join("secret"), "abs-secret");
    dir.create_symlink("../sentinel/secret", "rel-secret");
    dir.create_symlink("/etc", "etc-link");
    dir.create_symlink("/etc/passwd", "passwd-link");
    // ADD archives with escaping members, one archive each so every one is
    // exercised whether or not the others are refused.
    let secret = sentinel.join("secret").display().to_string();
    let archives: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot.tar",
            tar_of(&[("../../../../escaped", b'0', "", b"x")]),
        ),
        ("abs.tar", tar_of(&[("/abs-escaped", b'0', "", b"x")])),
        ("hardlink.tar", tar_of(&[("h", b'1', "/etc/shadow", b"")])),
        ("hardlink-host.tar", tar_of(&[("h2", b'1', &secret, b"")])),
        (
            "symlink-then-file.tar",
            tar_of(&[
                ("l", b'2', "/", b""),
                ("l/escaped-through-link", b'0', "", b"x"),
            ]),
        ),
    ];
    for (name, bytes) in &archives {
        dir.create(name, bytes);
    }
    let main = "FROM busybox AS stage\n\
         RUN rm -rf /app && ln -s /etc /app\n\
         COPY f /app/x\n\
         FROM busybox\n\
         COPY --from=stage /app/passwd /x\n\
         COPY --from=stage /app/x /from-stage-x\n\
         COPY . /ctx/\n\
         ADD abs.tar /unpacked/abs/\n\
         ADD symlink-then-file.tar /unpacked/stf/\n";
    let out = dir.outside().join("out");
    ok(&build(&dir, main, &extra, &out));
    // COPY through /app -> /etc stayed in the stage's root.
    assert_eq!(
        std::fs::read(out.join("from-stage-x")).expect("x"),
        b"context file\n"
    );
    // /app/passwd is the stage's /etc/passwd (busybox's), not the host's.
    let passwd = std::fs::read(out.join("x")).expect("passwd");
    assert_eq!(
        passwd,
        std::fs::read(out.join("etc/passwd")).expect("image passwd")
    );
    assert_ne!(passwd, std::fs::read("/etc/passwd").unwrap_or_default());
    // Context symlinks inside a copied tree stay links.
    for link in ["abs-secret", "rel-secret", "etc-link", "passwd-link"] {
        assert!(
            stat(&out.join("ctx").join(link)).file_type().is_symlink(),
            "{link}"
        );
    }
    // Absolute member names and members below a member symlink to / land
    // inside the destination.
    assert!(stat(&out.join("unpacked/abs/abs-escaped")).is_file());
    assert!(stat(&out.join("unpacked/stf/escaped-through-link")).is_file());

    // Each hostile source on its own: refused or confined, never outside.
    let mut outputs = vec![out];
    let hostile = [
        "COPY abs-secret /followed/".to_string(),
        "COPY rel-secret /followed/".to_string(),
        "COPY passwd-link /followed/".to_string(),
        "COPY etc-link/passwd /followed/".to_string(),
        "ADD dotdot.tar /unpacked/".to_string(),
        "ADD hardlink.tar /unpacked/".to_string(),
        "ADD hardlink-host.tar /unpacked/".to_string(),
    ];
    for (i, line) in hostile.iter().enumerate() {
        let out = dir.outside().join(format!("hostile-{i}"));
        let _ = build(&dir, &format!("FROM busybox\n{line}\n"), &extra, &out);
        outputs.push(out);
    }
    assert_eq!(files_below(&sentinel), before, "sentinel dir changed");
    assert_eq!(
        std::fs::read(sentinel.join("secret")).expect("secret"),
        MARKER.as_bytes()
    );
    for escaped in ["escaped", "abs-escaped", "escaped-through-link"] {
        for base in [dir.outside(), dir.path(), Path::new("/")] {
            assert!(!base.join(escaped).exists(), "{escaped} escaped");
        }
    }
    for out in &outputs {
        assert_no_marker(out);
    }
    // And through every layer blob of the main image, uncompressed.
    let oci = dir.outside().join("oci");
    let file = dir.outside().join("Dockerfile");
    std::fs::write(&file, main).expect("write Dockerfile");
    let output = dir
        .command()
        .args(["build", "--progress", "plain", "-f"])
        .arg(&file)
        .args(&extra)
        .arg("--output")
        .arg(format!(
            "type=oci,dest={},tar=false,compression=uncompressed",
            oci.display()
        ))
        .arg(dir.path())
        .run();
    ok(&output);
    assert!(files_below(&oci.join("blobs")).len() >= 3);
    assert_no_marker(&oci);
}
