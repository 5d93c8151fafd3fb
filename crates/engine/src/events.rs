//! Progress events, sent from whichever thread builds a stage. The CLI turns
//! them into tty, plain or JSON progress.

use std::time::Duration;

/// One thing that happened during a build.
#[derive(Clone, Debug)]
pub enum Event {
    /// A base image is being resolved in a registry.
    Resolving { reference: String },
    /// A step started: `stage` is the stage's name or index, `text` the
    /// instruction as written.
    StepStarted {
        stage: String,
        step: usize,
        steps: usize,
        line: usize,
        text: String,
    },
    /// A step's result came from the cache.
    StepCached {
        stage: String,
        step: usize,
        text: String,
    },
    /// A step finished running; `reason` says why it was not cached.
    StepFinished {
        stage: String,
        step: usize,
        elapsed: Duration,
        reason: String,
    },
    /// A line of RUN output.
    Output {
        stage: String,
        step: usize,
        line: String,
    },
    /// A blob is being downloaded.
    Pulling {
        reference: String,
        digest: oci::Digest,
        size: u64,
    },
    /// A layer a step made is being compressed into a blob, because an
    /// image manifest needs it (once per layer and compression).
    Compressing {
        diff_id: oci::DiffId,
        compression: &'static str,
    },
    /// An output was written.
    Exported { description: String },
}

/// Where events go.
pub type EventSink<'a> = &'a (dyn Fn(Event) + Sync);
