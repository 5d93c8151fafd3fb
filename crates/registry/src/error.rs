//! The registry client's failures. URLs in messages never carry query
//! strings or userinfo (upload state, tokens), and no variant holds a
//! credential: secrets live only in [`crate::auth::Secret`], whose `Debug`
//! and `Display` redact.

use std::io;
use std::path::PathBuf;

use oci::Digest;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read registries configuration {path}")]
    ConfRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid registries configuration {path}")]
    ConfSyntax {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("invalid registries configuration {path}: registry {prefix:?}: {reason}")]
    ConfInvalid {
        path: PathBuf,
        prefix: String,
        reason: &'static str,
    },
    #[error("pulling {reference} is blocked by the registries configuration")]
    Blocked { reference: String },
    #[error("cannot read credentials file {path}")]
    AuthFileRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid credentials file {path}")]
    AuthFileSyntax {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid credentials for {host} in {path}: {reason}")]
    AuthEntryInvalid {
        path: PathBuf,
        host: String,
        reason: &'static str,
    },
    #[error("cannot run credential helper {helper} for {host}")]
    CredentialHelperSpawn {
        helper: String,
        host: String,
        #[source]
        source: io::Error,
    },
    #[error("credential helper {helper} failed for {host} ({status}): {stderr}")]
    CredentialHelperFailed {
        helper: String,
        host: String,
        status: String,
        stderr: String,
    },
    #[error("credential helper {helper} returned invalid output for {host}")]
    CredentialHelperOutput {
        helper: String,
        host: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot build the http client")]
    HttpClient {
        #[source]
        source: reqwest::Error,
    },
    #[error("request to {url} failed")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("invalid url {url:?} from {host}")]
    BadUrl { url: String, host: String },
    #[error("too many redirects from {url}")]
    TooManyRedirects { url: String },
    #[error("refusing redirect from {from} to plain http {to}")]
    InsecureRedirect { from: String, to: String },
    #[error("authentication to {host} failed for {scope} ({status}): {message}")]
    Unauthorized {
        host: String,
        scope: String,
        status: u16,
        message: String,
    },
    #[error("unsupported authentication challenge from {host}: {challenge:?}")]
    UnsupportedChallenge { host: String, challenge: String },
    #[error("token request to {realm} failed ({status}): {message}")]
    TokenStatus {
        realm: String,
        status: u16,
        message: String,
    },
    #[error("invalid token response from {realm}")]
    TokenResponse {
        realm: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what} not found at {url}")]
    NotFound { what: String, url: String },
    #[error("{what}: {method} {url} returned {status}: {message}")]
    Status {
        what: String,
        method: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("reading {what} from {url} failed")]
    Body {
        what: String,
        url: String,
        #[source]
        source: io::Error,
    },
    #[error("manifest of {reference} is larger than {limit} bytes")]
    ManifestTooLarge { reference: String, limit: u64 },
    #[error("manifest of {reference} has digest {actual}, expected {expected}")]
    ManifestDigestMismatch {
        reference: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("manifest of {reference} is not valid json")]
    ManifestJson {
        reference: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("manifest of {reference} has unsupported media type {media_type:?}")]
    UnsupportedMediaType {
        reference: String,
        media_type: String,
    },
    #[error(
        "manifest of {reference} is ambiguous: it has both index and image manifest fields (CVE-2021-41190)"
    )]
    AmbiguousManifest { reference: String },
    #[error("manifest of {reference} says media type {body:?} but was served as {header:?}")]
    MediaTypeMismatch {
        reference: String,
        body: String,
        header: String,
    },
    #[error("{reference} has no image for platform {platform} (available: {available})")]
    NoMatchingPlatform {
        reference: String,
        platform: String,
        available: String,
    },
    #[error("image config {digest} of {reference} is not valid json")]
    ConfigJson {
        reference: String,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("blob {digest} of {reference} does not match its digest (got {actual})")]
    BlobDigestMismatch {
        reference: String,
        digest: Digest,
        actual: Digest,
    },
    #[error("blob {digest} of {reference} is larger than its descriptor's {expected} bytes")]
    BlobTooLarge {
        reference: String,
        digest: Digest,
        expected: u64,
    },
    #[error(
        "blob {digest} of {reference} is truncated: got {actual} of {expected} bytes after retries"
    )]
    BlobTruncated {
        reference: String,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("blob {digest} of {reference}: server answered a range request with {content_range:?}")]
    BadContentRange {
        reference: String,
        digest: Digest,
        content_range: String,
    },
    #[error("cannot write blob {digest} of {reference}")]
    Write {
        reference: String,
        digest: Digest,
        #[source]
        source: io::Error,
    },
    #[error("cannot read blob {digest} to push to {reference}")]
    SourceRead {
        reference: String,
        digest: Digest,
        #[source]
        source: io::Error,
    },
    #[error("registry {url} gave no upload location")]
    NoUploadLocation { url: String },
    #[error("registry stored the manifest of {reference} as {actual}, expected {expected}")]
    PushedDigestMismatch {
        reference: String,
        expected: Digest,
        actual: String,
    },
    #[error("every endpoint failed for {reference}: {summary}")]
    AllEndpointsFailed {
        reference: String,
        summary: String,
        #[source]
        last: Box<RegistryError>,
    },
}
