//! `RUN --mount` (bind, cache, tmpfs, secret, ssh), the build's
//! `--network` and `--add-host`, RUN heredoc scripts and cancellation, through the real `decant` binary over a busybox base from a
//! local registry.
//!
//! The mount cases are a table: a Dockerfile, context files, extra flags,
//! and either the files expected in the built root filesystem (plus the
//! mount points that must not be left in it) or an error message.
//!
//! Needs root (RUN and overlayfs), Debian's docker-registry, busybox-static
//! and skopeo; without them each test prints `SKIP:` and returns, and with
//! `CI=true` it fails instead.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{Dir, Registry, busybox_layout, push_layout, require, run_ok};

const BIN: &str = env!("CARGO_BIN_EXE_decant");

/// A registry with busybox as docker.io/library/busybox:latest, and a
/// registries.conf pointing at it.
fn registry_with_busybox(dir: &Dir) -> (Registry, PathBuf) {
    let registry = Registry::start();
    let image = busybox_layout(&dir.outside().join("busybox-layout"));
    push_layout(&image.layout, &registry, "library/busybox:latest");
    let conf = dir.outside().join("registries.conf");
    registry.write_registries_conf(&conf);
    (registry, conf)
}

/// Returns from the calling test (SKIP), or fails it in CI, when root,
/// overlayfs or a tool is missing.
macro_rules! requirements {
    () => {
        require!(root);
        require!(overlayfs);
        for tool in ["docker-registry", "busybox", "skopeo"] {
            require!(command tool);
        }
    };
}

enum Expect {
    /// Files (path in the root, exact content) and paths that must be absent.
    Tree {
        files: &'static [(&'static str, &'static str)],
        absent: &'static [&'static str],
    },
    /// The build fails with a message containing this.
    Error(&'static str),
}

struct Case {
    name: &'static str,
    dockerfile: &'static str,
    /// Context files (path, content); `->` in the content makes a symlink.
    files: &'static [(&'static str, &'static str)],
    /// Extra `decant build` flags; `{dir}` is the test's working directory.
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    expect: Expect,
}

const CASES: &[Case] = &[
    Case {
        // docker build --ulimit: runc's process.rlimits for every RUN.
        name: "ulimit-sets-every-run-limits",
        dockerfile: "FROM busybox\nRUN sh -c 'ulimit -n > /soft; ulimit -Hn > /hard'\n",
        files: &[],
        args: &["--ulimit", "nofile=512:1024"],
        env: &[],
        expect: Expect::Tree {
            files: &[("soft", "512\n"), ("hard", "1024\n")],
            absent: &[],
        },
    },
    Case {
        name: "dev-shm-is-64m-by-default",
        dockerfile: "FROM busybox\nRUN df -k /dev/shm | tail -n 1 | awk '{print $2}' > /shm\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("shm", "65536\n")],
            absent: &[],
        },
    },
    Case {
        // docker build --shm-size: a tmpfs of that size at every RUN's
        // /dev/shm (BuildKit's dispatchRun).
        name: "shm-size-sizes-every-run-dev-shm",
        dockerfile: "FROM busybox\nRUN df -k /dev/shm | tail -n 1 | awk '{print $2}' > /shm\n",
        files: &[],
        args: &["--shm-size", "256m"],
        env: &[],
        expect: Expect::Tree {
            files: &[("shm", "262144\n")],
            absent: &[],
        },
    },
    Case {
        // docker build --add-host: BuildKit's makeHostsFile appends
        // `address<TAB>name` lines after the standard ones.
        name: "add-host-lines-reach-every-run",
        dockerfile: "FROM busybox\nRUN cat /etc/hosts > /hosts\n",
        files: &[],
        args: &[
            "--add-host",
            "db:10.0.0.5",
            "--add-host",
            "v6=[2001:db8::1]",
        ],
        env: &[],
        expect: Expect::Tree {
            files: &[(
                "hosts",
                "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n\
                 10.0.0.5\tdb\n2001:db8::1\tv6\n",
            )],
            absent: &[],
        },
    },
    Case {
        name: "add-host-host-gateway-is-refused",
        dockerfile: "FROM busybox\nRUN true\n",
        files: &[],
        args: &["--add-host", "host.docker.internal:host-gateway"],
        env: &[],
        expect: Expect::Error("host-gateway is the docker daemon's bridge gateway"),
    },
    Case {
        // docker build --network=none: every RUN without its own --network
        // sees only a loopback device; RUN --network=host still has the
        // host's (which have more than `lo`).
        name: "build-network-none-is-every-run-default",
        dockerfile: "FROM busybox\n\
            RUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /default-net\n\
            RUN --network=default tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /also-none\n\
            RUN --network=host sh -c 'test $(tail -n +3 /proc/net/dev | wc -l) -gt 1 && echo more > /host-net'\n",
        files: &[],
        args: &["--network", "none"],
        env: &[],
        expect: Expect::Tree {
            files: &[
                ("default-net", "lo\n"),
                ("also-none", "lo\n"),
                ("host-net", "more\n"),
            ],
            absent: &[],
        },
    },
    Case {
        name: "tmpfs-is-a-fresh-tmpfs-and-leaves-no-mount-point",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=tmpfs,target=/t,size=1m sh -c 'grep \" /t \" /proc/mounts | cut -d\" \" -f1,3,4 > /result; touch /t/gone'\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "tmpfs tmpfs rw,nosuid,size=1024k\n")],
            absent: &["t"],
        },
    },
    Case {
        name: "bind-context-source-dir",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=bind,source=data,target=/mnt cat /mnt/hello.txt > /result\n",
        files: &[("data/hello.txt", "hello\n")],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "hello\n")],
            absent: &["mnt"],
        },
    },
    Case {
        name: "bind-is-read-only-by-default",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=bind,target=/mnt sh -c 'touch /mnt/new 2>/dev/null && echo writable || echo read-only' > /result\n",
        files: &[("data/hello.txt", "hello\n")],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "read-only\n")],
            absent: &["mnt"],
        },
    },
    Case {
        name: "bind-rw-writes-are-discarded",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=bind,target=/mnt,rw sh -c 'echo changed > /mnt/data/hello.txt && touch /mnt/new && cat /mnt/data/hello.txt' > /result\n\
            RUN --mount=type=bind,target=/mnt sh -c 'cat /mnt/data/hello.txt; ls /mnt' > /after\n",
        files: &[("data/hello.txt", "hello\n")],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[
                ("result", "changed\n"),
                ("after", "hello\nDockerfile\ndata\n"),
            ],
            absent: &["mnt"],
        },
    },
    Case {
        name: "bind-rw-single-file-is-discarded",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=bind,source=data/hello.txt,target=/etc/hello.txt,rw sh -c 'echo changed > /etc/hello.txt'\n\
            RUN --mount=type=bind,source=data/hello.txt,target=/h cat /h > /result\n",
        files: &[("data/hello.txt", "hello\n")],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "hello\n")],
            absent: &["etc/hello.txt", "h"],
        },
    },
    Case {
        name: "bind-from-stage",
        dockerfile: "FROM busybox AS src\n\
            RUN mkdir /out && echo staged > /out/f\n\
            FROM busybox\n\
            RUN --mount=from=src,source=/out,target=/m cat /m/f > /result\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "staged\n")],
            absent: &["m", "out"],
        },
    },
    Case {
        name: "bind-from-image",
        dockerfile: "FROM busybox\n\
            RUN --mount=from=busybox,source=/etc,target=/img-etc cat /img-etc/group > /result\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "root:x:0:\nnogroup:x:65534:\napp:x:1000:\n")],
            absent: &["img-etc"],
        },
    },
    Case {
        name: "bind-source-symlink-cannot-leave-the-context",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=bind,source=escape/passwd,target=/p cat /p\n",
        files: &[("escape", "->../../../../../../etc")],
        args: &[],
        env: &[],
        expect: Expect::Error("mount source escape/passwd not found in the build context"),
    },
    Case {
        name: "bind-source-dotdot-is-clamped-to-the-context",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=bind,source=../../../../etc/passwd,target=/p cat /p\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Error("not found in the build context"),
    },
    Case {
        name: "bind-context-honours-dockerignore",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=bind,source=data,target=/mnt ls /mnt > /result\n",
        files: &[
            (".dockerignore", "data/ignored.txt\n"),
            ("data/hello.txt", "hello\n"),
            ("data/ignored.txt", "must not be seen\n"),
        ],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "hello.txt\n")],
            absent: &["mnt"],
        },
    },
    Case {
        name: "cache-mode-and-owner-apply-on-creation",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=cache,target=/c,uid=1000,gid=1000,mode=0700 stat -c '%u %g %a' /c > /result\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "1000 1000 700\n")],
            absent: &["c"],
        },
    },
    Case {
        name: "cache-from-stage-seeds-a-new-cache",
        dockerfile: "FROM busybox AS seed\n\
            RUN mkdir /s && echo seeded > /s/f\n\
            FROM busybox\n\
            RUN --mount=type=cache,target=/c,from=seed,source=/s cat /c/f > /result\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "seeded\n")],
            absent: &["c", "s"],
        },
    },
    Case {
        name: "cache-readonly",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=cache,target=/c,id=ro-case,readonly sh -c 'touch /c/x 2>/dev/null && echo writable || echo read-only' > /result\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "read-only\n")],
            absent: &["c"],
        },
    },
    Case {
        name: "secret-file-target-mode-owner-and-no-stub",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=secret,id=s,target=/etc/app/token,mode=0440,uid=1,gid=2 sh -c 'stat -c \"%a %u %g\" /etc/app/token; wc -c < /etc/app/token' > /result\n",
        files: &[],
        args: &["--secret", "id=s,src={dir}/secret-file"],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "440 1 2\n6\n")],
            absent: &["etc/app"],
        },
    },
    Case {
        name: "secret-default-target-under-run-secrets",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=secret,id=s cat /run/secrets/s > /dev/null && echo mounted > /result\n",
        files: &[],
        args: &["--secret", "id=s,src={dir}/secret-file"],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "mounted\n")],
            absent: &["run"],
        },
    },
    Case {
        name: "secret-as-env",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=secret,id=tok,env=TOKEN sh -c 'test \"$TOKEN\" = s3cr3t && test ! -e /run/secrets/tok && echo ok' > /result\n",
        files: &[],
        args: &["--secret", "id=tok,env=DECANT_TEST_TOKEN"],
        env: &[("DECANT_TEST_TOKEN", "s3cr3t")],
        expect: Expect::Tree {
            files: &[("result", "ok\n")],
            absent: &["run"],
        },
    },
    Case {
        name: "secret-missing-is-skipped",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=secret,id=nope sh -c 'test -e /run/secrets/nope && echo mounted || echo skipped' > /result\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "skipped\n")],
            absent: &["run"],
        },
    },
    Case {
        name: "secret-required-and-missing-fails",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=secret,id=nope,required true\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Error("secret nope is required but was not provided"),
    },
    Case {
        // `agent.sock` is a listening unix socket the test makes.
        name: "ssh-agent-socket-is-bound-and-named-in-ssh-auth-sock",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=ssh sh -c 'stat -c %F \"$SSH_AUTH_SOCK\" > /kind; echo \"$SSH_AUTH_SOCK\" > /sock'\n\
            RUN --mount=type=ssh,id=other,target=/tmp/agent,required sh -c 'stat -c %F /tmp/agent > /kind2; echo \"$SSH_AUTH_SOCK\" > /sock2'\n",
        files: &[],
        args: &[
            "--ssh",
            "default={dir}/agent.sock",
            "--ssh",
            "other={dir}/agent.sock",
        ],
        env: &[],
        expect: Expect::Tree {
            files: &[
                ("kind", "socket\n"),
                ("sock", "/run/buildkit/ssh_agent.0\n"),
                ("kind2", "socket\n"),
                ("sock2", "/tmp/agent\n"),
            ],
            absent: &["run/buildkit/ssh_agent.0", "tmp/agent"],
        },
    },
    Case {
        // BuildKit's llb sets SSH_AUTH_SOCK whether or not the optional
        // agent was forwarded.
        name: "ssh-optional-without-an-agent-is-skipped",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=ssh sh -c 'test ! -e /run/buildkit/ssh_agent.0 && echo \"$SSH_AUTH_SOCK\" > /sock'\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("sock", "/run/buildkit/ssh_agent.0\n")],
            absent: &[],
        },
    },
    Case {
        name: "ssh-required-without-an-agent-fails-naming-the-line",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=ssh,required true\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Error("Dockerfile:2: RUN --mount=type=ssh,required true"),
    },
    Case {
        name: "ssh-required-without-an-agent-says-how-to-forward-one",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=ssh,required true\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Error("ssh agent default is required but was not forwarded"),
    },
    Case {
        name: "ssh-socket-owner-cannot-be-changed",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=ssh,uid=1000 true\n",
        files: &[],
        args: &["--ssh", "default={dir}/agent.sock"],
        env: &[],
        expect: Expect::Error("uid, gid or mode is not supported yet"),
    },
    Case {
        name: "ssh-key-file-is-refused",
        dockerfile: "FROM busybox\n\
            RUN --mount=type=ssh true\n",
        files: &[],
        args: &["--ssh", "default={dir}/secret-file"],
        env: &[],
        expect: Expect::Error("is not an ssh-agent socket; key files are not supported"),
    },
    Case {
        name: "heredoc-script-with-shebang",
        dockerfile: "FROM busybox\n\
            RUN <<EOF\n\
            #!/bin/sh\n\
            echo \"from $0\" > /result\n\
            EOF\n",
        files: &[],
        args: &[],
        env: &[],
        expect: Expect::Tree {
            files: &[("result", "from /dev/pipes/EOF\n")],
            absent: &["dev/pipes"],
        },
    },
];

fn build_args(dir: &Dir, conf: &Path, case_args: &[&str]) -> testkit::TestCommand {
    let mut command = dir.command();
    command
        .env("CONTAINERS_REGISTRIES_CONF", conf)
        .args(["build", "--progress", "plain"]);
    for arg in case_args {
        command.arg(arg.replace("{dir}", &dir.path().display().to_string()));
    }
    command
}

#[test]
fn run_mount_cases() {
    requirements!();
    let dir = Dir::new(BIN, "run-mounts");
    let (_registry, conf) = registry_with_busybox(&dir);
    dir.create("secret-file", "abcdef");
    // An ssh-agent stand-in: the cases only stat the socket they are given.
    let _agent = std::os::unix::net::UnixListener::bind(dir.path().join("agent.sock"))
        .expect("bind the agent socket");
    let mut failures = Vec::new();
    for case in CASES {
        let context = dir.path().join(case.name);
        for (path, content) in case.files {
            match content.strip_prefix("->") {
                Some(target) => {
                    let link = dir.create_dir(case.name).join(path);
                    std::os::unix::fs::symlink(target, link).unwrap();
                }
                None => {
                    dir.create(Path::new(case.name).join(path), content);
                }
            }
        }
        dir.create(Path::new(case.name).join("Dockerfile"), case.dockerfile);
        let out = dir.outside().join(format!("out-{}", case.name));
        let mut command = build_args(&dir, &conf, case.args);
        for (key, value) in case.env {
            command.env(key, value);
        }
        let output = command
            .arg("--output")
            .arg(format!("type=local,dest={}", out.display()))
            .arg(&context)
            .run();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let problem = match &case.expect {
            Expect::Error(needle) => {
                if output.status.success() {
                    Some(format!("expected an error containing {needle:?}"))
                } else if !stderr.contains(needle) {
                    Some(format!("error lacks {needle:?}"))
                } else {
                    None
                }
            }
            Expect::Tree { files, absent } => {
                if !output.status.success() {
                    Some("build failed".to_string())
                } else {
                    let mut problems = Vec::new();
                    for (path, want) in *files {
                        let got = std::fs::read_to_string(out.join(path)).unwrap_or_default();
                        if got != *want {
                            problems.push(format!("/{path}: want {want:?}, got {got:?}"));
                        }
                    }
                    for path in *absent {
                        if out.join(path).symlink_metadata().is_ok() {
                            problems.push(format!("/{path} must not be in the image"));
                        }
                    }
                    (!problems.is_empty()).then(|| problems.join("; "))
                }
            }
        };
        // Whatever the RUN did, the context it mounted must be unchanged.
        let mut problem = problem;
        for (path, content) in case.files {
            if !content.starts_with("->")
                && std::fs::read_to_string(context.join(path)).ok().as_deref() != Some(content)
            {
                problem = Some(format!("context file {path} changed"));
            }
        }
        if case.name.starts_with("bind-rw") && context.join("data/new").exists() {
            problem = Some("a rw bind mount wrote into the context".to_string());
        }
        if let Some(problem) = problem {
            failures.push(format!("{}: {problem}\n{stderr}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

/// Every regular file under `root`.
fn files_under(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The files under `roots` whose bytes contain `needle`.
fn files_containing(roots: &[&Path], needle: &[u8]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for root in roots {
        files_under(root, &mut files);
    }
    files
        .into_iter()
        .filter(|f| std::fs::read(f).is_ok_and(|bytes| contains(&bytes, needle)))
        .collect()
}

#[test]
fn secret_bytes_never_reach_a_blob_the_store_or_the_log() {
    requirements!();
    let dir = Dir::new(BIN, "secret-leak");
    let (_registry, conf) = registry_with_busybox(&dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let secret = format!("decant-secret-{}-{nanos}", std::process::id());
    let secret_file = dir.outside().join("token.txt");
    std::fs::write(&secret_file, &secret).unwrap();
    let hash = run_ok(Command::new("sha256sum").arg(&secret_file));
    let hash = hash.split_whitespace().next().unwrap().to_string();
    dir.create(
        "ctx/Dockerfile",
        "FROM busybox\n\
         RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -d' ' -f1 > /file-hash\n\
         RUN --mount=type=secret,id=token,env=TOKEN sh -c 'printf %s \"$TOKEN\" | sha256sum | cut -d\" \" -f1' > /env-hash\n",
    );
    let out = dir.outside().join("image.tar");
    // Uncompressed layers, so that a leak would show in the blobs' bytes.
    let output = build_args(&dir, &conf, &[])
        .args(["-t", "secret-test:latest", "--secret"])
        .arg(format!("id=token,src={}", secret_file.display()))
        .arg("--output")
        .arg(format!(
            "type=oci,dest={},compression=uncompressed",
            out.display()
        ))
        .arg(dir.path().join("ctx"))
        .output();
    let layout = dir.outside().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xf")
            .arg(&out)
            .arg("-C")
            .arg(&layout),
    );
    let roots = [layout.as_path(), dir.store_root()];
    // The control: the RUNs did see the secret, and their output (its
    // hash, in both layers) is found by the same search.
    let with_hash = files_containing(&roots, format!("{hash}\n").as_bytes());
    assert!(
        with_hash.len() >= 2,
        "the secret's hash should be in the layers: {with_hash:?}"
    );
    let leaks = files_containing(&roots, secret.as_bytes());
    assert!(leaks.is_empty(), "the secret leaked into {leaks:?}");
    for (name, stream) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(
            !contains(stream, secret.as_bytes()),
            "the secret is in the {name}"
        );
    }
}

#[test]
fn cache_mount_persists_between_builds_and_stays_out_of_the_key() {
    requirements!();
    let dir = Dir::new(BIN, "cache-persists");
    let (_registry, conf) = registry_with_busybox(&dir);
    dir.create(
        "ctx/Dockerfile",
        "FROM busybox\n\
         RUN --mount=type=cache,target=/var/cache/app,sharing=locked sh -c 'echo run >> /var/cache/app/runs; wc -l < /var/cache/app/runs' > /result\n",
    );
    let build = |extra: &[&str], n: usize| {
        let out = dir.outside().join(format!("out-{n}"));
        let output = build_args(&dir, &conf, extra)
            .arg("--output")
            .arg(format!("type=local,dest={}", out.display()))
            .arg(dir.path().join("ctx"))
            .output();
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        let result = std::fs::read_to_string(out.join("result")).unwrap_or_default();
        assert!(
            !out.join("var/cache/app").exists(),
            "the cache mount point is left in the image"
        );
        (result, log)
    };
    let (first, _) = build(&[], 1);
    assert_eq!(first, "1\n");
    let (second, _) = build(&["--no-cache"], 2);
    assert_eq!(second, "2\n", "the cache mount did not persist");
    // The cache's contents changed, but its definition did not: cached.
    let (third, log) = build(&[], 3);
    assert!(log.contains("(0 steps run,"), "{log}");
    assert_eq!(third, second, "the last layer built for the key is reused");
}

fn processes_with_args(args: &[&str]) -> Vec<u32> {
    let wanted: Vec<u8> = args
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| cmdline == wanted)
        })
        .collect()
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

#[test]
fn sigterm_during_run_kills_the_step_and_leaves_nothing() {
    requirements!();
    let dir = Dir::new(BIN, "cancel");
    let (_registry, conf) = registry_with_busybox(&dir);
    // A duration no other test uses, to find exactly this step's process.
    let seconds = format!("{}", 100_000 + std::process::id());
    dir.create(
        "ctx/Dockerfile",
        format!(
            "FROM busybox\n\
             RUN --mount=type=cache,target=/c --mount=type=bind,target=/m,rw --mount=type=tmpfs,target=/t sleep {seconds}\n"
        ),
    );
    let log_path = dir.outside().join("cancel.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .arg("--root")
        .arg(dir.store_root())
        .env("CONTAINERS_REGISTRIES_CONF", &conf)
        .args(["build", "--progress", "plain"])
        .arg(dir.path().join("ctx"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let started = wait_until(Duration::from_secs(120), || {
        !processes_with_args(&["sleep", &seconds]).is_empty()
    });
    assert!(started, "the RUN never started");
    run_ok(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null()),
    );
    let mut status = None;
    wait_until(Duration::from_secs(30), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    let Some(status) = status else {
        let _ = child.kill();
        panic!("decant did not exit after SIGTERM");
    };
    let mut text = String::new();
    std::fs::File::open(&log_path)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(text.contains("build cancelled"), "{text}");
    assert!(
        wait_until(Duration::from_secs(5), || processes_with_args(&[
            "sleep", &seconds
        ])
        .is_empty()),
        "the step's process survived"
    );
    let store = dir.store_root().display().to_string();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&store),
        "a mount under the store is left:\n{mountinfo}"
    );
    // Work dirs live in the store's per-process scratch dirs under tmp/
    // (which the next open reclaims); the build itself must have removed
    // every step, view and secrets dir it made.
    let mut leftovers = Vec::new();
    for scratch in std::fs::read_dir(dir.store_root().join("tmp"))
        .unwrap()
        .flatten()
    {
        if scratch.path().is_dir() {
            for entry in std::fs::read_dir(scratch.path()).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if ["step-", "secrets-"].iter().any(|p| name.starts_with(p)) {
                    leftovers.push(entry.path().display().to_string());
                }
            }
        } else if !scratch.file_name().to_string_lossy().ends_with(".lock") {
            leftovers.push(scratch.path().display().to_string());
        }
    }
    assert!(
        leftovers.is_empty(),
        "left in the store's tmp: {leftovers:?}"
    );
    // The store is usable: a build in it works.
    dir.create("ctx/Dockerfile", "FROM busybox\nRUN true\n");
    build_args(&dir, &conf, &[])
        .arg(dir.path().join("ctx"))
        .output();
}
