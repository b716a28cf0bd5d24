use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use leakscope_inspector::InspectorError;

/// What a sink (the caller's printer) may fail with; it ends the watch.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Why a watch ended early or could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Inspector(#[from] InspectorError),
    /// The caller's sink failed (e.g. its output closed).
    #[error("{0}")]
    Sink(#[source] SinkError),
    #[error("no process with PID {pid}")]
    NoSuchProcess { pid: u32 },
    #[error("PID {pid} is not a Node.js process")]
    NotNode { pid: u32 },
    /// A given PID could not be attached (shared with its fleet event).
    #[error("PID {pid}: {source}")]
    Attach {
        pid: u32,
        #[source]
        source: Arc<InspectorError>,
    },
    #[error("the fleet stopped listening")]
    FleetGone,
    #[error("cannot create {}: {source}", .dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serve metrics on {addr}: {source}")]
    ServeMetrics {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
