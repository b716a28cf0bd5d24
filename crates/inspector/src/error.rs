use thiserror::Error;

/// Everything that can go wrong between leakscope and a target's inspector.
/// Each message is one line that says what happened and what to do.
#[derive(Debug, Error)]
pub enum InspectorError {
    #[error("{0}")]
    Target(String),
    #[error("cannot reach the inspector at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the target closed the inspector connection (did the process exit?)")]
    Closed,
    #[error("{method} failed: {message}")]
    Protocol { method: String, message: String },
    #[error("the target threw: {0}")]
    Exception(String),
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout { what: String, secs: u64 },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("a snapshot now would need {}: the target could run out of memory and be killed, so it was not taken", .0.describe())]
    SnapshotUnaffordable(crate::capture::SnapshotEstimate),
}

pub type Result<T, E = InspectorError> = std::result::Result<T, E>;
