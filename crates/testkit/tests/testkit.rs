//! Tests of the test kit itself: the SKIP/CI rule, the registry, the busybox
//! image and the command runner. Each can fail: they check observable
//! behaviour of the real tools.

use std::process::Command;

use testkit::requirement::ci_value_means_ci;
use testkit::{Dir, Registry, TestCommand, busybox_layout, push_layout, run_ok};

/// Set in the child process of `require_skips_locally_and_panics_in_ci`.
const SELFTEST: &str = "TESTKIT_REQUIRE_SELFTEST";

#[test]
fn ci_values() {
    for (value, ci) in [
        (None, false),
        (Some(""), false),
        (Some("false"), false),
        (Some("true"), true),
        (Some("TRUE"), true),
        (Some("1"), true),
    ] {
        assert_eq!(ci_value_means_ci(value), ci, "{value:?}");
    }
}

/// Only does something in the child process started below.
#[test]
fn require_selftest_child() {
    if std::env::var_os(SELFTEST).is_none() {
        return;
    }
    testkit::require!(command "testkit-no-such-command");
    panic!("require! let the test continue past a missing command");
}

#[test]
fn require_skips_locally_and_panics_in_ci() {
    let run = |ci: Option<&str>| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "require_selftest_child", "--test-threads=1"])
            .env(SELFTEST, "1");
        match ci {
            Some(v) => cmd.env("CI", v),
            None => cmd.env_remove("CI"),
        };
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, text) = run(None);
    assert!(ok, "local run must pass (skip):\n{text}");
    assert!(
        text.contains(
            "SKIP: require_selftest_child: needs the command \"testkit-no-such-command\""
        ),
        "no loud SKIP line:\n{text}"
    );
    let (ok, text) = run(Some("true"));
    assert!(!ok, "CI run must fail:\n{text}");
    assert!(text.contains("requirement missing in CI"), "{text}");
}

#[test]
fn registry_starts_answers_and_stops() {
    testkit::require!(command "docker-registry");
    let registry = Registry::start();
    let (status, body) = registry.get("/v2/_catalog", false);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["repositories"],
        serde_json::json!([])
    );
    let addr = registry.addr().to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    drop(registry);
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "registry still listening after drop"
    );
}

#[test]
fn registry_with_auth_requires_credentials() {
    testkit::require!(command "docker-registry");
    testkit::require!(command "htpasswd");
    let registry = Registry::start_with_auth("tester", "s3cret");
    assert_eq!(registry.get("/v2/", false).0, 401);
    assert_eq!(registry.get("/v2/", true).0, 200);
}

/// The conformance suite's busybox has these exact /etc files (sha256).
const CONFORMANCE_PASSWD: &str = "e41fca6f9569512a62a2b3398c4524b962754765180a15f25b800bc50421bd0d";
const CONFORMANCE_GROUP: &str = "688771b6bf2b4ba3324e31d7b7b2c0091c7d4dbd66ad31be05c3c9bf2483858c";

#[test]
fn busybox_layout_is_deterministic_and_shaped_like_conformance_busybox() {
    testkit::require!(command "busybox");
    testkit::require!(command "python3");
    let temp = tempfile::tempdir().unwrap();
    let a = busybox_layout(&temp.path().join("a"));
    let b = busybox_layout(&temp.path().join("b"));
    assert_eq!(a.manifest_digest, b.manifest_digest);
    assert!(a.applets.iter().any(|x| x == "sh"), "{:?}", a.applets);

    let Some(shared) = testkit::shared_dir(env!("CARGO_MANIFEST_DIR")) else {
        testkit::require!(path "../shared/conformance/check.py");
        return;
    };
    let dump = run_ok(
        Command::new("python3")
            .arg(shared.join("conformance/check.py"))
            .arg("--dump")
            .arg(&a.layout),
    );
    let dump: serde_json::Value = serde_json::from_str(&dump).unwrap();
    assert_eq!(dump["problems"], serde_json::json!([]));
    let tree = &dump["tree"];
    let checks = [
        ("/tmp", "mode", serde_json::json!("1777")),
        ("/root", "type", serde_json::json!("dir")),
        ("/home", "type", serde_json::json!("dir")),
        ("/bin/busybox", "mode", serde_json::json!("0755")),
        ("/bin/sh", "target", serde_json::json!("busybox")),
        (
            "/etc/passwd",
            "sha256",
            serde_json::json!(CONFORMANCE_PASSWD),
        ),
        ("/etc/group", "sha256", serde_json::json!(CONFORMANCE_GROUP)),
    ];
    for (path, field, want) in checks {
        assert_eq!(tree[path][field], want, "{path} {field}");
    }
    assert_eq!(dump["config"]["layers"], 1);
}

#[test]
fn push_layout_puts_the_image_in_the_registry() {
    testkit::require!(command "busybox");
    testkit::require!(command "skopeo");
    testkit::require!(command "docker-registry");
    testkit::require!(command "htpasswd");
    let temp = tempfile::tempdir().unwrap();
    let image = busybox_layout(&temp.path().join("layout"));
    for registry in [Registry::start(), Registry::start_with_auth("u", "p")] {
        let digest = push_layout(&image.layout, &registry, "library/busybox:latest");
        assert_eq!(digest, image.manifest_digest, "digests must be preserved");
        let mut inspect = Command::new("skopeo");
        inspect.args(["inspect", "--tls-verify=false"]);
        if let Some((u, p)) = registry.credentials() {
            inspect.arg(format!("--creds={u}:{p}"));
        }
        inspect.arg(format!(
            "docker://{}/library/busybox:latest",
            registry.addr()
        ));
        let json: serde_json::Value = serde_json::from_str(&run_ok(&mut inspect)).unwrap();
        assert_eq!(json["Digest"], image.manifest_digest.to_string());
        assert_eq!(
            json["Layers"],
            serde_json::json!([image.layer_digest.to_string()])
        );
    }
}

/// umoci unpacks the layout into a runtime bundle and runc runs busybox in
/// it: the image is a real, runnable image.
#[test]
fn busybox_layout_runs_under_runc() {
    testkit::require!(root);
    testkit::require!(command "busybox");
    testkit::require!(command "umoci");
    testkit::require!(command "runc");
    let temp = tempfile::tempdir().unwrap();
    let image = busybox_layout(&temp.path().join("layout"));
    let bundle = temp.path().join("bundle");
    run_ok(
        Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:latest", image.layout.display()))
            .arg(&bundle),
    );
    // umoci's default config.json wants a terminal and runs `sh`; make the
    // process a plain, non-interactive echo.
    let config_path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["process"]["terminal"] = serde_json::json!(false);
    config["process"]["args"] = serde_json::json!(["/bin/sh", "-c", "echo hello from $(id -un)"]);
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let id = format!("testkit-{}", std::process::id());
    let out = run_ok(
        Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(std::process::Stdio::null()),
    );
    assert_eq!(out.trim(), "hello from root");
}

#[test]
fn test_command_runs_in_the_dir_with_a_private_root() {
    let temp = tempfile::tempdir().unwrap();
    // A stand-in for decant: prints its arguments, cwd, DECANT_ROOT and stdin,
    // and exits with $EXIT.
    let fake = temp.path().join("fake-decant");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"args=$*\"\necho \"cwd=$(pwd)\"\necho \"root=$DECANT_ROOT\"\necho \"stdin=$(cat)\"\nexit ${EXIT:-0}\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let dir = Dir::new(&fake, "selftest");
    dir.create("ctx/Dockerfile", "FROM scratch\n");
    assert_eq!(dir.read("ctx/Dockerfile"), b"FROM scratch\n");
    let out = dir.command().args(["build", "ctx"]).stdin("piped").stdout();
    let root = dir.store_root().display().to_string();
    let cwd = dir.path().display().to_string();
    assert_eq!(
        out,
        format!("args=--root {root} build ctx\ncwd={cwd}\nroot={root}\nstdin=piped\n")
    );
    assert_eq!(
        dir.redact(&format!("{out} sha256:{}", "ab".repeat(32))),
        "args=--root [TMP]/root build ctx\ncwd=[TMP]/work\nroot=[TMP]/root\nstdin=piped\n sha256:[DIGEST]"
    );
    dir.command().env("EXIT", "3").assert_exit_code(3);
    dir.command().env("EXIT", "1").assert_err();
    let failed = std::panic::catch_unwind(|| {
        TestCommand::new(&fake, temp.path())
            .env("EXIT", "2")
            .output();
    });
    assert!(failed.is_err(), "output() must panic on failure");
}
