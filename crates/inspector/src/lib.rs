//! A headless client for the V8 inspector of Node.js processes.
//!
//! [`attach`] finds the target (by PID with SIGUSR1, by port or URL, or by
//! launching `node app.js` with the inspector on a free loopback port),
//! checks `process.pid`, and returns a [`Client`] with typed methods for the
//! Runtime, HeapProfiler and Debugger domains. Facts this relies on are in
//! `ARCHITECTURE.md` and were verified against Node 20.

mod attach;
pub mod capture;
mod cdp;
mod discovery;
mod error;
mod gcwatch;
mod protocol;

pub use attach::{attach, is_node_process, AttachOptions, Attached, TargetSpec};

pub use cdp::{Client, Event, WorkerInfo};
pub use discovery::{inspector_version, list_targets, listening_ports, TargetInfo};
pub use error::{InspectorError, Result};
pub use gcwatch::{GcReport, GcWatch};
pub use leakscope_progress::{Observer, Passing, Silent};
pub use protocol::{
    BindingCalled, Breakpoint, HeapUsage, LastSeenObjectId, RemoteObject, Script, SnapshotProgress,
};
