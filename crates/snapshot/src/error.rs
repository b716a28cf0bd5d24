//! Errors a snapshot can fail with. Every message is one line that names the
//! problem, so the CLI can print it as is and exit with status 2.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not a V8 heap snapshot: {0}")]
    NotSnapshot(String),
    #[error("truncated heap snapshot: the file ends inside {0}")]
    Truncated(&'static str),
    #[error("malformed heap snapshot: {0}")]
    Malformed(String),
}

impl SnapshotError {
    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        SnapshotError::Malformed(msg.into())
    }
}

pub type Result<T, E = SnapshotError> = std::result::Result<T, E>;
