//! Fixture-driven tests: every `crates/engine/tests/copy/*.case` file builds a
//! context, a source stage and a destination root, runs COPY/ADD steps and
//! compares the destination's listing with the expectation (entries equal to
//! the initial destination are left out, as the conformance suite compares
//! against its base image).
//!
//! Case format (sections in `[brackets]`, `#` comments):
//! - `[context]`, `[stage]`, `[dest]`: one entry a line,
//!   `path file MODE UID:GID "text"`, `path dir MODE UID:GID`,
//!   `path symlink TARGET`, `path hardlink EXISTING [MODE UID:GID]` (the
//!   mode and owner are only used in tar members), `path socket`,
//!   `path tar[.gz|.bz2|.xz|.zst] MODE` followed by indented member lines in
//!   the same syntax (tar members).
//! - `[dockerignore]`: the `.dockerignore` text applied to the context.
//! - `[sentinel]`: a directory outside every root (`$SENTINEL` in the text is
//!   its host path); it must be unchanged afterwards, and nothing from it may
//!   appear in the destination.
//! - `[steps]`: `COPY|ADD [--from=stage] [--chown=..] [--chmod=..]
//!   [--exclude=..] [--parents] SRC... DEST` (double quotes for spaces).
//! - `[expect]`: `path type mode uid:gid [size=N|*] [nlink=N] [-> target]`
//!   lines, or `error: <substring>` when the last step must fail.
//!
//! Needs root (chown); without it the test prints SKIP, and fails under
//! `CI=true`.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use dockerfile::pattern::{PatternMatcher, parse_ignore_file};

use super::{CopyRequest, copy};

fn require_root(what: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} needs root (CI=true)");
    }
    eprintln!("SKIP: {what} needs root to chown");
    false
}

/// Splits a line into words; double quotes group, `\n` and `\"` are escapes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                quoted = true;
            }
            '\\' if in_quotes => match chars.next() {
                Some('n') => cur.push('\n'),
                Some(o) => cur.push(o),
                None => {}
            },
            c if c.is_whitespace() && !in_quotes => {
                if !cur.is_empty() || quoted {
                    out.push(std::mem::take(&mut cur));
                }
                quoted = false;
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || quoted {
        out.push(cur);
    }
    out
}

struct Entry {
    words: Vec<String>,
    members: Vec<Vec<String>>,
}

#[derive(Default)]
struct Case {
    sections: BTreeMap<String, Vec<String>>,
}

fn parse_case(text: &str) -> Case {
    let mut case = Case::default();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_string();
            case.sections.entry(current.clone()).or_default();
            continue;
        }
        case.sections
            .entry(current.clone())
            .or_default()
            .push(line.to_string());
    }
    case
}

fn entries(lines: &[String]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.members.push(words(line));
            }
        } else {
            out.push(Entry {
                words: words(line),
                members: Vec::new(),
            });
        }
    }
    out
}

fn mode_of(w: &[String], i: usize, default: u32) -> u32 {
    w.get(i)
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        .unwrap_or(default)
}

fn owner_of(w: &[String], i: usize) -> (u32, u32) {
    w.get(i)
        .and_then(|o| o.split_once(':'))
        .map(|(u, g)| (u.parse().expect("uid"), g.parse().expect("gid")))
        .unwrap_or((0, 0))
}

fn build_tree(root: &Path, lines: &[String]) {
    for entry in entries(lines) {
        let w = &entry.words;
        let path = root.join(&w[0]);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent");
        }
        match w[1].as_str() {
            "file" => {
                std::fs::write(&path, w.get(4).map(String::as_str).unwrap_or("")).expect("write");
                set_meta(&path, mode_of(w, 2, 0o644), owner_of(w, 3));
            }
            "dir" => {
                std::fs::create_dir_all(&path).expect("mkdir");
                set_meta(&path, mode_of(w, 2, 0o755), owner_of(w, 3));
            }
            "symlink" => std::os::unix::fs::symlink(&w[2], &path).expect("symlink"),
            "hardlink" => std::fs::hard_link(root.join(&w[2]), &path).expect("hardlink"),
            "socket" => {
                std::os::unix::net::UnixListener::bind(&path).expect("socket");
            }
            kind if kind.starts_with("tar") => {
                let bytes = compress(kind, &build_tar(&entry.members));
                std::fs::write(&path, bytes).expect("write tar");
                set_meta(&path, mode_of(w, 2, 0o644), (0, 0));
            }
            other => panic!("unknown entry type {other}"),
        }
    }
}

fn set_meta(path: &Path, mode: u32, (uid, gid): (u32, u32)) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).expect("chown");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .expect("chmod");
}

/// Tar members: `name file MODE UID:GID "text"`, `name dir MODE UID:GID`,
/// `name symlink TARGET`, `name hardlink TARGET`. Names are written raw, so
/// `../x` and `/abs` reach the extractor as attackers would write them.
fn build_tar(members: &[Vec<String>]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in members {
        let mut header = tar::Header::new_ustar();
        let data: &[u8] = match w[1].as_str() {
            "file" => w.get(4).map(|s| s.as_bytes()).unwrap_or(b""),
            _ => b"",
        };
        let (kind, mode) = match w[1].as_str() {
            "file" => (tar::EntryType::Regular, mode_of(w, 2, 0o644)),
            "dir" => (tar::EntryType::Directory, mode_of(w, 2, 0o755)),
            "symlink" => (tar::EntryType::Symlink, 0o777),
            // Real tars repeat the target's mode and owner on a hardlink
            // header, and go-archive applies them to the shared inode.
            "hardlink" => (tar::EntryType::Link, mode_of(w, 3, 0o644)),
            other => panic!("unknown tar member type {other}"),
        };
        header.set_entry_type(kind);
        header.set_mode(mode);
        let (uid, gid) = match w[1].as_str() {
            "file" | "dir" => owner_of(w, 3),
            "hardlink" => owner_of(w, 4),
            _ => (0, 0),
        };
        header.set_uid(uid.into());
        header.set_gid(gid.into());
        header.set_size(data.len() as u64);
        header.set_mtime(1_700_000_000);
        // Raw name bytes: tar::Header::set_path refuses `..`, which is the point.
        let name = w[0].as_bytes();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        if matches!(w[1].as_str(), "symlink" | "hardlink") {
            let link = w[2].as_bytes();
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        }
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn compress(kind: &str, tar: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match kind {
        "tar" => tar.to_vec(),
        "tar.gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(tar).expect("gz");
            e.finish().expect("gz")
        }
        "tar.bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(tar).expect("bz2");
            e.finish().expect("bz2")
        }
        "tar.xz" => {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(tar).expect("xz");
            e.finish().expect("xz")
        }
        "tar.zst" => zstd::encode_all(tar, 3).expect("zstd"),
        other => panic!("unknown archive kind {other}"),
    }
}

/// `path type mode uid:gid [size=N] [nlink=N] [-> target]` for every entry.
fn listing(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let rel = format!("/{}", path.strip_prefix(root).expect("prefix").display());
            let owner = format!("{}:{}", meta.uid(), meta.gid());
            let ft = meta.file_type();
            let line = if ft.is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                format!("symlink {owner} -> {}", target.display())
            } else if ft.is_dir() {
                format!("dir {:04o} {owner}", meta.mode() & 0o7777)
            } else if ft.is_file() {
                let nlink = if meta.nlink() > 1 {
                    format!(" nlink={}", meta.nlink())
                } else {
                    String::new()
                };
                format!(
                    "file {:04o} {owner} size={}{nlink}",
                    meta.mode() & 0o7777,
                    meta.len()
                )
            } else {
                format!("other {:04o} {owner}", meta.mode() & 0o7777)
            };
            out.insert(rel, line);
            if ft.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

struct Step {
    add: bool,
    from_stage: bool,
    chown: Option<String>,
    chmod: Option<String>,
    exclude: Vec<String>,
    parents: bool,
    sources: Vec<String>,
    dest: String,
}

fn parse_step(line: &str) -> Step {
    let w = words(line);
    let mut step = Step {
        add: w[0] == "ADD",
        from_stage: false,
        chown: None,
        chmod: None,
        exclude: Vec::new(),
        parents: false,
        sources: Vec::new(),
        dest: String::new(),
    };
    let mut rest = Vec::new();
    for word in &w[1..] {
        if let Some(v) = word.strip_prefix("--from=") {
            step.from_stage = v == "stage";
        } else if let Some(v) = word.strip_prefix("--chown=") {
            step.chown = Some(v.to_string());
        } else if let Some(v) = word.strip_prefix("--chmod=") {
            step.chmod = Some(v.to_string());
        } else if let Some(v) = word.strip_prefix("--exclude=") {
            step.exclude.push(v.to_string());
        } else if word == "--parents" {
            step.parents = true;
        } else {
            rest.push(word.clone());
        }
    }
    step.dest = rest.pop().expect("dest");
    step.sources = rest;
    step
}

fn run_case(name: &str, text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = text.replace("$SENTINEL", &dir.path().join("sentinel").to_string_lossy());
    let case = parse_case(&text);
    let context = dir.path().join("context");
    let stage = dir.path().join("stage");
    let dest = dir.path().join("dest");
    // A sentinel directory next to the roots: nothing may ever appear in it.
    let sentinel = dir.path().join("sentinel");
    for d in [&context, &stage, &dest, &sentinel] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let empty = Vec::new();
    let section = |n: &str| case.sections.get(n).unwrap_or(&empty).clone();
    build_tree(&context, &section("context"));
    build_tree(&stage, &section("stage"));
    build_tree(&dest, &section("dest"));
    build_tree(&sentinel, &section("sentinel"));
    let before = listing(&dest);
    let sentinel_before = listing(&sentinel);
    let ignore = case.sections.get("dockerignore").map(|lines| {
        PatternMatcher::new(&parse_ignore_file(&lines.join("\n"))).expect("ignore patterns")
    });

    let mut last_error = None;
    for line in section("steps") {
        let step = parse_step(&line);
        let request = CopyRequest {
            source_root: if step.from_stage { &stage } else { &context },
            source_is_context: !step.from_stage,
            ignore: if step.from_stage {
                None
            } else {
                ignore.as_ref()
            },
            sources: &step.sources,
            dest_root: &dest,
            dest: &step.dest,
            chown: step.chown.as_deref(),
            chmod: step.chmod.as_deref(),
            exclude: &step.exclude,
            parents: step.parents,
            add: step.add,
        };
        match copy(&request) {
            Ok(_) => last_error = None,
            Err(e) => {
                let mut msg = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(&format!(": {s}"));
                    src = s.source();
                }
                last_error = Some(msg);
                break;
            }
        }
    }
    if listing(&sentinel) != sentinel_before {
        return Err(format!(
            "{name}: something was written outside the destination root"
        ));
    }
    let expect = section("expect");
    if let Some(want) = expect.iter().find_map(|l| l.strip_prefix("error: ")) {
        return match last_error {
            Some(e) if e.contains(want) => Ok(()),
            Some(e) => Err(format!("{name}: error {e:?} does not contain {want:?}")),
            None => Err(format!(
                "{name}: expected an error containing {want:?}, got success"
            )),
        };
    }
    if let Some(e) = last_error {
        return Err(format!("{name}: unexpected error: {e}"));
    }
    let after = listing(&dest);
    // Directories leading to the sentinel's in-root twin (an absolute link
    // to it resolved inside the root) have unpredictable temp names.
    let sentinel_text = sentinel.to_string_lossy().into_owned();
    let mut want: Vec<String> = expect.iter().map(|l| words(l).join(" ")).collect();
    want.sort();
    let got: Vec<String> = after
        .iter()
        .filter(|(p, l)| before.get(*p) != Some(*l))
        .filter(|(p, _)| !sentinel_text.starts_with(&format!("{p}/")))
        .map(|(p, l)| {
            let line = format!("{p} {l}");
            let wildcard_size = want
                .iter()
                .any(|w| w.starts_with(&format!("{p} ")) && w.contains("size=*"));
            match (wildcard_size, line.find("size=")) {
                (true, Some(i)) => {
                    let end = line[i..].find(' ').map_or(line.len(), |e| i + e);
                    format!("{}size=*{}", &line[..i], &line[end..])
                }
                _ => line,
            }
        })
        .collect();
    if got != want {
        return Err(format!(
            "{name}: listing differs\n--- expected\n{}\n--- got\n{}",
            want.join("\n"),
            got.join("\n")
        ));
    }
    Ok(())
}

fn case_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/copy")
}

#[test]
fn fixture_cases() {
    if !require_root("copy fixture cases") {
        return;
    }
    let mut paths: Vec<_> = std::fs::read_dir(case_dir())
        .expect("tests/copy")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixture cases found");
    let mut failures = Vec::new();
    for path in &paths {
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(path).expect("read case");
        if let Err(e) = run_case(&name, &text) {
            failures.push(e);
        }
    }
    eprintln!(
        "{} copy fixture cases, {} failed",
        paths.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Large files are written by background workers after the walk has set
/// their metadata; what the write disturbs (mtime, setuid, xattrs) must
/// still end up as on the source, and every byte must arrive.
#[test]
fn large_files_written_in_the_background_keep_content_mode_times_and_xattrs() {
    if !require_root("background file writers") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let stage = dir.path().join("stage");
    let dest = dir.path().join("dest");
    std::fs::create_dir_all(stage.join("big")).expect("mkdir");
    std::fs::create_dir_all(&dest).expect("mkdir");
    let mut expected = Vec::new();
    for (i, size) in [0usize, 1, 255 * 1024, 256 * 1024, 3 * 1024 * 1024 + 7]
        .into_iter()
        .enumerate()
    {
        let path = stage.join(format!("big/f{i}"));
        let data: Vec<u8> = (0..size)
            .map(|j| (j as u32).wrapping_mul(2_654_435_761).rotate_left(i as u32) as u8)
            .collect();
        std::fs::write(&path, &data).expect("write");
        set_meta(
            &path,
            if i % 2 == 0 { 0o4755 } else { 0o640 },
            (1000 + i as u32, 7),
        );
        let _ = xattr::set(&path, "user.decant-test", format!("value {i}").as_bytes());
        let when = std::time::UNIX_EPOCH + std::time::Duration::new(1_000_000 + i as u64, 5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open")
            .set_modified(when)
            .expect("mtime");
        expected.push((format!("f{i}"), data, when));
    }
    let sources = ["/big".to_string()];
    let request = CopyRequest {
        source_root: &stage,
        source_is_context: false,
        ignore: None,
        sources: &sources,
        dest_root: &dest,
        dest: "/out/",
        chown: None,
        chmod: None,
        exclude: &[],
        parents: false,
        add: false,
    };
    let outcome = copy(&request).expect("copy");
    let total: usize = expected.iter().map(|(_, data, _)| data.len()).sum();
    assert_eq!(outcome.bytes_written, total as u64);
    for (name, data, when) in &expected {
        let source = stage.join("big").join(name);
        let copied = dest.join("out").join(name);
        assert_eq!(&std::fs::read(&copied).expect("read"), data, "{name}");
        let (want, got) = (
            std::fs::metadata(&source).expect("stat"),
            std::fs::metadata(&copied).expect("stat"),
        );
        assert_eq!(got.mode(), want.mode(), "{name} mode");
        assert_eq!((got.uid(), got.gid()), (want.uid(), want.gid()), "{name}");
        assert_eq!(got.modified().expect("mtime"), *when, "{name} mtime");
        assert_eq!(
            xattr::get(&copied, "user.decant-test").ok().flatten(),
            xattr::get(&source, "user.decant-test").ok().flatten(),
            "{name} xattr"
        );
    }
}
