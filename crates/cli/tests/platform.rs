//! `--platform`: a build for the platform decant runs on (named in any
//! spelling docker accepts, or `local`) is an ordinary build; any other
//! platform is refused with a hint, never built for the wrong one. Needs
//! neither root nor a registry: the stages start `FROM scratch`.

use testkit::Dir;

const BIN: &str = env!("CARGO_BIN_EXE_decant");

const DOCKERFILE: &str = "\
FROM scratch
ARG TARGETPLATFORM
LABEL built-for=$TARGETPLATFORM
";

/// The host's architecture in the OCI (Go) spelling.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[test]
fn platform_flag_builds_for_the_host_and_refuses_others() {
    let host = format!("linux/{}", host_arch());
    let foreign = if host_arch() == "amd64" {
        "linux/arm64"
    } else {
        "linux/amd64"
    };
    let planned = format!("platform {host}");
    let refused = format!("--platform {foreign}: decant builds for {host}");
    let both = format!("{host},{foreign}");
    // (extra arguments, succeeds, text expected in stdout + stderr)
    let cases: Vec<(Vec<&str>, bool, &str)> = vec![
        (vec!["--print-plan"], true, &planned),
        (vec!["--print-plan", "--platform", "local"], true, &planned),
        (vec!["--print-plan", "--platform", &host], true, &planned),
        (
            vec!["--print-plan", "--platform", host_arch()],
            true,
            &planned,
        ),
        (vec!["--print-plan", "--platform", foreign], false, &refused),
        (vec!["--print-plan", "--platform", &both], false, &refused),
        (
            vec!["--print-plan", "--platform", "windows/amd64"],
            false,
            "hint: leave out --platform",
        ),
        (
            vec!["--print-plan", "--platform", "linux//"],
            false,
            "invalid platform \"linux//\"",
        ),
        (
            vec!["-o", "type=oci,tar=false,dest=out", "--platform", &host],
            true,
            "",
        ),
        (
            vec!["-o", "type=oci,tar=false,dest=out", "--platform", foreign],
            false,
            &refused,
        ),
    ];
    for (n, (extra, succeeds, expected)) in cases.iter().enumerate() {
        let dir = Dir::new(BIN, &format!("platform-{n}"));
        dir.create("Dockerfile", DOCKERFILE);
        let output = dir.command().arg("build").args(extra).arg(".").run();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.success(), *succeeds, "{extra:?}:\n{text}");
        assert!(
            text.contains(expected),
            "{extra:?}: {expected:?} not in\n{text}"
        );
        if *succeeds && extra.contains(&"-o") {
            assert!(
                dir.path().join("out/index.json").exists(),
                "{extra:?}: no image written"
            );
        }
        if !*succeeds {
            assert!(
                !dir.path().join("out").exists(),
                "{extra:?}: a refused build wrote an output"
            );
        }
    }
}
