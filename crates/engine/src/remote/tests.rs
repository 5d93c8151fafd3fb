//! Remote sources against a loopback HTTP server started by the test
//! (127.0.0.1 only, never another address).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;

use super::*;

/// One canned response: path, status, extra headers, body.
type Route = (
    &'static str,
    u16,
    &'static [(&'static str, &'static str)],
    &'static [u8],
);

/// Serves `routes` on 127.0.0.1 until the test process ends; returns the
/// base URL.
pub(crate) fn serve(routes: &'static [Route]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let (status, headers, body) = routes
                .iter()
                .find(|r| r.0 == path)
                .map(|r| (r.1, r.2, r.3))
                .unwrap_or((404, &[], b"not found"));
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn file_names_follow_buildkit() {
    let rows = [
        ("http://h/foo", "foo"),
        ("http://h/dir/foo.tar.gz?x=1#frag", "foo.tar.gz"),
        ("http://h/", "__unnamed__"),
        ("http://h", "__unnamed__"),
        ("http://h/dir/", "dir"),
        ("http://h/a%20b", "a b"),
        ("http://h/a%2Fb", "__unnamed__"),
        ("http://h/..", "__unnamed__"),
    ];
    for (url, want) in rows {
        assert_eq!(file_name(url), want, "{url}");
    }
}

#[test]
fn http_dates_parse_as_go_does() {
    let rows = [
        ("Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
        ("Sunday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
        ("Sun Nov  6 08:49:37 1994", Some(784_111_777)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", Some(0)),
        ("yesterday", None),
        ("Sun, 06 Foo 1994 08:49:37 GMT", None),
    ];
    for (text, want) in rows {
        assert_eq!(parse_http_date(text), want, "{text}");
    }
}

#[test]
fn checksums_are_sha256_only() {
    let hex = "a".repeat(64);
    assert!(parse_checksum(&format!("sha256:{hex}")).is_ok());
    let rows = [
        (format!("md5:{hex}"), "unsupported"),
        (format!("unknown:{hex}"), "unsupported"),
        (hex.clone(), "invalid"),
        ("sha256:abc".to_string(), "invalid"),
        (format!("sha256:{}", "A".repeat(64)), "invalid"),
    ];
    for (value, want) in rows {
        let err = parse_checksum(&value).expect_err(&value).to_string();
        assert!(err.contains(want), "{value}: {err}");
    }
}

#[test]
fn classify_sources() {
    let rows = [
        ("foo", SourceKind::Local),
        ("http://h/x", SourceKind::Http),
        ("https://h/x.tar.gz", SourceKind::Http),
        ("https://github.com/o/r.git", SourceKind::Git),
        ("https://github.com/o/r.git#v1", SourceKind::Git),
        ("git@github.com:o/r.git", SourceKind::Git),
        ("git://h/r", SourceKind::Git),
    ];
    for (source, want) in rows {
        assert_eq!(classify(source), want, "{source}");
    }
}

#[test]
fn credentials_are_redacted() {
    assert_eq!(redact("https://user:secret@h/x"), "https://xxxxx@h/x");
    assert_eq!(redact("https://h/x"), "https://h/x");
}

static ROUTES: &[Route] = &[
    (
        "/files/hello.txt",
        200,
        &[
            ("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("Content-Disposition", "attachment; filename=\"other-name\""),
        ],
        b"hello from http\n",
    ),
    ("/plain", 200, &[], b"no date"),
    ("/missing", 404, &[], b"nope"),
];

#[test]
fn download_names_modes_and_dates_the_file() {
    let base = serve(ROUTES);
    let tmp = tempfile::tempdir().expect("tmp");
    let downloads = Downloads::new(tmp.path());
    let got = downloads
        .fetch(&format!("{base}/files/hello.txt"), None)
        .expect("download");
    // Content-Disposition is ignored: the frontend names the file.
    assert_eq!(got.name, "hello.txt");
    let path = got.dir.join(&got.name);
    assert_eq!(fs::read(&path).expect("read"), b"hello from http\n");
    let meta = fs::metadata(&path).expect("stat");
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert_eq!(meta.mtime(), 784_111_777);
    assert_eq!(got.last_modified, Some(784_111_777));
    let want: [u8; 32] = Sha256::digest(b"hello from http\n").into();
    assert_eq!(got.digest, Digest::from_sha256_bytes(want));

    let plain = downloads
        .fetch(&format!("{base}/plain"), None)
        .expect("plain");
    let meta = fs::metadata(plain.dir.join("plain")).expect("stat");
    assert_eq!(meta.mtime(), 0, "no Last-Modified: the epoch, as BuildKit");
}

#[test]
fn checksum_mismatch_names_url_and_both_digests() {
    let base = serve(ROUTES);
    let tmp = tempfile::tempdir().expect("tmp");
    let downloads = Downloads::new(tmp.path());
    let wrong = parse_checksum(&format!("sha256:{}", "0".repeat(64))).expect("digest");
    let url = format!("{base}/files/hello.txt");
    let err = downloads
        .fetch(&url, Some(&wrong))
        .expect_err("mismatch")
        .to_string();
    let actual: [u8; 32] = Sha256::digest(b"hello from http\n").into();
    assert!(err.contains(&url), "{err}");
    assert!(err.contains(&wrong.to_string()), "{err}");
    assert!(
        err.contains(&Digest::from_sha256_bytes(actual).to_string()),
        "{err}"
    );
    // The right checksum passes, from the same download.
    let right = Digest::from_sha256_bytes(actual);
    downloads.fetch(&url, Some(&right)).expect("verified");
}

#[test]
fn error_status_fails() {
    let base = serve(ROUTES);
    let tmp = tempfile::tempdir().expect("tmp");
    let err = Downloads::new(tmp.path())
        .fetch(&format!("{base}/missing"), None)
        .expect_err("404")
        .to_string();
    assert!(err.contains("404"), "{err}");
}
