//! Robustness against a misbehaving network or registry, through the
//! fault-injecting proxy in front of a real registry: retries on resets,
//! 5xx and 429 (honouring Retry-After), resuming truncated blobs with
//! Range, refusing corrupt blobs; and the Bearer token flow.

mod support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use oci::{Digest, Platform, Reference};
use registry::{Client, ClientOptions, CredentialStore, RegistriesConf, RegistryError};
use support::Registry;
use support::faults::{Bearer, Fault, Proxy, Rule};

fn options() -> ClientOptions {
    ClientOptions {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..ClientOptions::default()
    }
}

fn amd64() -> Platform {
    Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
        os_version: None,
    }
}

fn rule(method: &'static str, path: &str, times: usize, fault: Fault) -> Rule {
    Rule {
        method,
        path_contains: path.to_string(),
        times,
        fault,
    }
}

enum Expect {
    Ok,
    /// Fails with an error whose text contains all of these.
    Err(Vec<String>),
}

#[test]
fn faults_are_retried_or_reported() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let layout = support::busybox_layout();
    registry.push_layouts(std::slice::from_ref(&layout));
    let index: oci::Index =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest: oci::Manifest = serde_json::from_slice(
        &std::fs::read(
            layout
                .join("blobs/sha256")
                .join(index.manifests[0].digest.hex()),
        )
        .unwrap(),
    )
    .unwrap();
    let layer = manifest.layers[0].clone();
    let layer_path = format!("/blobs/{}", layer.digest);
    assert!(
        layer.size > 2000,
        "the busybox layer is large enough to truncate"
    );

    struct Case {
        name: &'static str,
        rules: Vec<Rule>,
        expect: Expect,
        min_elapsed: Duration,
    }
    let quick = Duration::ZERO;
    let cases = vec![
        Case {
            name: "reset on manifest",
            rules: vec![rule("GET", "/manifests/", 1, Fault::Reset)],
            expect: Expect::Ok,
            min_elapsed: quick,
        },
        Case {
            name: "500 twice on manifest",
            rules: vec![rule("GET", "/manifests/", 2, Fault::Status(500, vec![]))],
            expect: Expect::Ok,
            min_elapsed: quick,
        },
        Case {
            name: "503 on blob",
            rules: vec![rule("GET", &layer_path, 1, Fault::Status(503, vec![]))],
            expect: Expect::Ok,
            min_elapsed: quick,
        },
        Case {
            name: "reset on blob",
            rules: vec![rule("GET", &layer_path, 2, Fault::Reset)],
            expect: Expect::Ok,
            min_elapsed: quick,
        },
        Case {
            name: "429 with Retry-After",
            rules: vec![rule(
                "GET",
                "/manifests/",
                1,
                Fault::Status(429, vec![("Retry-After", "1".into())]),
            )],
            expect: Expect::Ok,
            min_elapsed: Duration::from_secs(1),
        },
        Case {
            name: "truncated blob",
            rules: vec![rule("GET", &layer_path, 1, Fault::Truncate(1500))],
            expect: Expect::Ok,
            min_elapsed: quick,
        },
        Case {
            name: "corrupt blob",
            rules: vec![rule("GET", &layer_path, 99, Fault::Corrupt)],
            expect: Expect::Err(vec![
                "does not match its digest".into(),
                layer.digest.to_string(),
                "library/busybox:latest".into(),
            ]),
            min_elapsed: quick,
        },
        Case {
            name: "500 forever",
            rules: vec![rule("GET", "/manifests/", 99, Fault::Status(500, vec![]))],
            expect: Expect::Err(vec!["returned 500".into()]),
            min_elapsed: quick,
        },
        Case {
            name: "truncated forever",
            rules: vec![rule("GET", &layer_path, 99, Fault::Truncate(10))],
            expect: Expect::Err(vec!["truncated".into(), layer.digest.to_string()]),
            min_elapsed: quick,
        },
    ];
    for case in cases {
        let proxy = Proxy::start(&registry.addr, case.rules, None);
        let client = Client::new(
            RegistriesConf::default(),
            CredentialStore::anonymous(),
            options(),
        )
        .unwrap();
        let reference =
            Reference::parse(&format!("{}/library/busybox:latest", proxy.addr)).unwrap();
        let start = Instant::now();
        let result = client.resolve(&reference, &amd64()).and_then(|image| {
            let mut bytes = Vec::new();
            client.fetch_blob(&image, &layer, &mut bytes)?;
            assert_eq!(Digest::of(&bytes), layer.digest, "{}", case.name);
            Ok(bytes)
        });
        let elapsed = start.elapsed();
        match (&case.expect, result) {
            (Expect::Ok, Ok(_)) => assert!(
                elapsed >= case.min_elapsed,
                "{}: retried after {elapsed:?}",
                case.name
            ),
            (Expect::Err(needles), Err(e)) => {
                let text = e.to_string();
                for needle in needles {
                    assert!(
                        text.contains(needle.as_str()),
                        "{}: {needle:?} not in {text:?}",
                        case.name
                    );
                }
            }
            (_, other) => panic!("{}: unexpected {:?}", case.name, other.map(|b| b.len())),
        }
        let log = proxy.log();
        if case.name == "truncated blob" {
            let ranged = log
                .iter()
                .filter(|l| l.target.contains(&layer_path))
                .filter_map(|l| l.header("range"))
                .collect::<Vec<_>>();
            assert_eq!(ranged, ["bytes=1500-"], "resume asks for the rest");
        }
        if case.name == "500 forever" {
            let tries = log
                .iter()
                .filter(|l| l.target.contains("/manifests/"))
                .count();
            assert_eq!(tries, 4, "bounded attempts");
        }
    }
}

#[test]
fn bearer_token_flow_keeps_credentials_at_the_realm() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let layout = support::busybox_layout();
    registry.push_layouts(std::slice::from_ref(&layout));
    let bearer = Bearer {
        user: "tokenuser".into(),
        password: "tokenpass-XYZ".into(),
        token: "the-token-123".into(),
    };
    let proxy = Proxy::start(&registry.addr, vec![], Some(bearer.clone()));
    let dir = tempfile::tempdir().unwrap();
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", bearer.user, bearer.password));
    let config = dir.path().join("auth.json");
    std::fs::write(
        &config,
        serde_json::json!({"auths": {proxy.addr.clone(): {"auth": encoded}}}).to_string(),
    )
    .unwrap();
    let client = Client::new(
        RegistriesConf::default(),
        CredentialStore::with_files(vec![config], None),
        options(),
    )
    .unwrap();
    let reference = Reference::parse(&format!("{}/library/busybox:latest", proxy.addr)).unwrap();
    let image = client.resolve(&reference, &amd64()).unwrap();
    let mut bytes = Vec::new();
    client
        .fetch_blob(&image, &image.manifest.layers[0], &mut bytes)
        .unwrap();

    let log = proxy.log();
    let token_requests: Vec<_> = log
        .iter()
        .filter(|l| l.target.starts_with("/token"))
        .collect();
    assert!(!token_requests.is_empty());
    assert!(
        token_requests[0]
            .target
            .contains("scope=repository%3Alibrary%2Fbusybox%3Apull"),
        "{}",
        token_requests[0].target
    );
    assert!(token_requests[0].target.contains("service=fault-proxy"));
    for entry in &log {
        let auth = entry.header("authorization").unwrap_or("");
        if entry.target.starts_with("/v2/") {
            assert!(
                !auth.starts_with("Basic"),
                "credentials sent to the registry: {}",
                entry.target
            );
        }
    }
    // One token serves the whole pull (cached per scope).
    assert_eq!(
        token_requests.len(),
        1,
        "{:?}",
        token_requests.iter().map(|l| &l.target).collect::<Vec<_>>()
    );

    // Without credentials the token endpoint refuses; the error says so
    // and leaks nothing.
    let anonymous = Client::new(
        RegistriesConf::default(),
        CredentialStore::anonymous(),
        options(),
    )
    .unwrap();
    let err = anonymous.resolve(&reference, &amd64()).unwrap_err();
    assert!(
        matches!(err, RegistryError::TokenStatus { status: 401, .. }),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains("tokenpass"));
}
