//! Watching the GCs of live Node processes from outside, memwatch-style.
//!
//! [`watcher::watch`] follows one attached process: every GC through an
//! injected `PerformanceObserver`, the leak rules of `leakscope-gctrend`,
//! probe GCs when V8's own full GCs get rare, and a snapshot when a leak
//! event fires. [`fleet::run`] does that for many processes at once — given
//! PIDs, or every Node process this user can signal (`--all`), picking up
//! new ones and dropping exited ones — and reports to a sink the caller
//! supplies. [`metrics`] serves it all as OpenMetrics with `instance`,
//! `pid` and `command` labels for Prometheus. Whatever is put into a target
//! ([`watcher::remove_from`]) and an inspector opened for it come out again.

mod error;
pub mod fleet;
pub mod metrics;
pub mod processes;
pub mod snapshots;
pub mod watcher;

pub use error::{SinkError, WatchError};
pub use fleet::{Fleet, FleetEvent, Selection};
pub use metrics::{Metrics, ProcessLabels, ProcessMetrics};
pub use processes::NodeProcess;
pub use snapshots::{SnapshotPolicy, Snapshots};
pub use watcher::{Event, Settings, Summary};
