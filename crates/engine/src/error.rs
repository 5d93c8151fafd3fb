//! Why a build failed. Every variant names the file, reference, digest or
//! Dockerfile line involved, so the user can act on it.

use std::path::PathBuf;

/// A failed build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read the Dockerfile {path}")]
    ReadDockerfile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", in_file(path, &diagnostic.to_string()))]
    Parse {
        path: PathBuf,
        /// The Dockerfile text, for rendering a snippet.
        text: String,
        diagnostic: dockerfile::Diagnostic,
    },
    #[error("{}", in_file(path, &source.to_string()))]
    Plan {
        path: PathBuf,
        text: String,
        #[source]
        source: plan::PlanError,
    },
    #[error("cannot read {path}")]
    ReadContext {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid pattern in {path}")]
    Ignore {
        path: PathBuf,
        #[source]
        source: dockerfile::pattern::PatternError,
    },
    #[error("cannot open the store at {path}")]
    Store {
        path: PathBuf,
        #[source]
        source: store::StoreError,
    },
    #[error("store operation failed for {what}")]
    StoreOp {
        what: String,
        #[source]
        source: store::StoreError,
    },
    #[error("registry configuration")]
    RegistryConfig(#[source] registry::RegistryError),
    #[error("invalid platform {spec:?}: {reason}")]
    Platform { spec: String, reason: String },
    #[error(
        "--platform {requested}: decant builds for {host}, the platform it runs on, and cannot emulate another"
    )]
    ForeignPlatform { requested: String, host: String },
    #[error("invalid image reference {reference:?}")]
    Reference {
        reference: String,
        #[source]
        source: oci::ReferenceError,
    },
    #[error("failed to resolve image {reference}")]
    Resolve {
        reference: String,
        #[source]
        source: registry::RegistryError,
    },
    #[error("failed to fetch layer {digest} of {reference}")]
    FetchLayer {
        reference: String,
        digest: oci::Digest,
        #[source]
        source: registry::RegistryError,
    },
    #[error("layer {digest} is not in the store and no registry is known for it")]
    MissingLayer { digest: oci::Digest },
    #[error("cannot unpack layer {digest}")]
    Unpack {
        digest: oci::Digest,
        #[source]
        source: layer::LayerError,
    },
    #[error(
        "layer {diff_id} has neither a blob nor an unpacked directory ({chain_id}) in the store; rebuild with --no-cache"
    )]
    MissingLayerDir {
        diff_id: oci::DiffId,
        chain_id: oci::Digest,
    },
    #[error(
        "the unpacked layer {chain_id} no longer matches its diff ID {expected} (it now archives to {actual}); something changed the store: run `decant prune` and rebuild"
    )]
    LayerDirChanged {
        chain_id: oci::Digest,
        expected: oci::DiffId,
        actual: oci::DiffId,
    },
    #[error("cannot compress layer {diff_id}")]
    CompressLayer {
        diff_id: oci::DiffId,
        #[source]
        source: layer::LayerError,
    },
    #[error("layer {digest} unpacked to diff ID {actual}, but the image config says {expected}")]
    DiffIdMismatch {
        digest: oci::Digest,
        expected: oci::DiffId,
        actual: oci::DiffId,
    },
    #[error("{location}: {instruction}: cannot prepare the root filesystem")]
    Snapshot {
        location: String,
        instruction: String,
        #[source]
        source: snapshot::SnapshotError,
    },
    #[error("cannot choose a snapshot driver")]
    SnapshotDetect(#[source] snapshot::SnapshotError),
    #[error("{location}: {instruction}: cannot write the layer")]
    WriteLayer {
        location: String,
        instruction: String,
        #[source]
        source: layer::LayerError,
    },
    #[error("{location}: {instruction}")]
    Copy {
        location: String,
        instruction: String,
        #[source]
        source: crate::copy::CopyError,
    },
    #[error("{location}: {instruction}: cannot run the command")]
    Exec {
        location: String,
        instruction: String,
        #[source]
        source: executor::ExecError,
    },
    #[error(
        "{location}: {instruction}: did not complete successfully: {status}{}",
        if tail.is_empty() { String::new() } else { format!("\n--- last lines of output ---\n{tail}") }
    )]
    RunFailed {
        location: String,
        instruction: String,
        status: String,
        tail: String,
    },
    #[error("{location}: {instruction}: {message}")]
    Unsupported {
        location: String,
        instruction: String,
        message: String,
    },
    #[error("{location}: {instruction}")]
    Mount {
        location: String,
        instruction: String,
        #[source]
        source: crate::mounts::MountError,
    },
    #[error("{location}: {instruction}: cannot create {path}")]
    Workdir {
        location: String,
        instruction: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use {path} as a build directory")]
    WorkDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the output {dest}")]
    Export {
        dest: PathBuf,
        #[source]
        source: export::ExportError,
    },
    #[error("cannot start a thread for {what}")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: {instruction}")]
    Remote {
        location: String,
        instruction: String,
        #[source]
        source: crate::remote::RemoteError,
    },
    #[error("build context {name:?}: {value:?} is not supported ({reason})")]
    NamedContextUnsupported {
        name: String,
        value: String,
        reason: &'static str,
    },
    #[error("build context {name:?}: {path} is not a directory")]
    NamedContextDir {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("build context {name:?} is used but was not given with --build-context")]
    NamedContextMissing { name: String },
    #[error("cannot load the OCI layout {spec}")]
    OciLayout {
        spec: String,
        #[source]
        source: crate::oci_layout::OciLayoutError,
    },
    #[error("build cancelled")]
    Cancelled,
    #[error(
        "the planned stages do not form a graph the solver can run (stages {stages:?}): this is a bug in decant"
    )]
    StageGraph { stages: Vec<usize> },
    #[error("cannot encode the image {what} as JSON")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{location}: the layer writer finished without a layer: this is a bug in decant")]
    LayerMissing { location: String },
    #[error("{location}: {instruction}: no download was made for {url}: this is a bug in decant")]
    DownloadMissing {
        location: String,
        instruction: String,
        url: String,
    },
}

/// Diagnostics name their place as `Dockerfile:LINE:COL`; shown to the user
/// that becomes the Dockerfile's actual path, so `-f ci/Dockerfile.prod`
/// errors point at the right file.
fn in_file(path: &std::path::Path, message: &str) -> String {
    match message.strip_prefix("Dockerfile:") {
        Some(rest) => format!("{}:{rest}", path.display()),
        None => format!("{}: {message}", path.display()),
    }
}
