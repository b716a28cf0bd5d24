//! `leakscope watch --json`: one JSON document per line, as events happen.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::gc_log;

/// One line of `watch --json`: an event of a watched process (`pid` names
/// it when several are watched) or of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WatchLine {
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// The process, in fleet mode (`--pid A --pid B`, `--all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(flatten)]
    pub event: WatchEvent,
}

impl crate::Document for WatchLine {
    const SCHEMA_VERSION: u32 = 1;
}

impl WatchLine {
    /// A line of this version.
    pub fn new(pid: Option<u32>, event: WatchEvent) -> WatchLine {
        WatchLine {
            schema_version: 1,
            pid,
            event,
        }
    }
}

/// What happened, by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WatchEvent {
    /// One GC, as the target's GC observer saw it.
    Gc {
        /// Since the process started.
        at_ms: f64,
        /// `minor`, `major`, `incremental` or `weakcb`.
        kind: String,
        pause_ms: f64,
        heap_used: u64,
        heap_total: u64,
        heap_limit: u64,
        external: u64,
        spaces: Vec<Space>,
        /// The event loop's p99 delay since the previous GC.
        eventloop_delay_p99_ms: f64,
    },
    /// memwatch's `stats`, after every full GC.
    Stats {
        #[serde(flatten)]
        stats: Stats,
        growth: Option<Growth>,
        /// Share of the time spent in GC pauses.
        gc_time_ratio: f64,
    },
    /// memwatch's `leak`, and which rule raised it.
    Leak {
        /// `consecutive-growth`, `trend` or `rate`.
        rule: String,
        start_ms: f64,
        end_ms: f64,
        /// Bytes the heap after full GC grew over the evidence.
        growth: i64,
        mb_per_hour: f64,
        reason: String,
    },
    /// A leak snapshot is about to be taken: what it costs the process.
    SnapshotStarting {
        heap_used: u64,
        pause_secs: f64,
        extra_memory: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        available_memory: Option<u64>,
    },
    /// A leak snapshot was written (and older ones deleted to fit the cap).
    Snapshot {
        path: PathBuf,
        bytes: u64,
        deleted: Vec<PathBuf>,
    },
    SnapshotSkipped {
        reason: String,
    },
    /// The last line of one process's watch.
    Summary {
        stats: Stats,
        growth: Option<Growth>,
        leak_events: u64,
    },
    /// A launched app's `--trace-gc` log, analysed at the end.
    GcLog {
        process: gc_log::ProcessReport,
    },
    /// Fleet mode: a process is watched from now on.
    Attached {
        command: String,
        cmdline: String,
        /// leakscope opened its inspector (and closes it at the end).
        opened_inspector: bool,
    },
    /// Fleet mode: a process could not be watched.
    AttachFailed {
        command: String,
        reason: String,
    },
    /// Fleet mode: a process is no longer watched (it exited, or the watch
    /// ended), with its summary.
    Detached {
        reason: Option<String>,
        summary: Option<Box<WatchEvent>>,
    },
    /// Fleet mode: the last line.
    FleetSummary {
        processes: u64,
        leaking: u64,
        leak_events: u64,
    },
}

/// One V8 heap space after a GC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Space {
    pub space: String,
    pub used: u64,
    pub size: u64,
}

/// memwatch's `stats` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    pub num_full_gc: u64,
    pub num_inc_gc: u64,
    pub heap_compactions: u64,
    /// `estimated_base` minus the long-run base: positive while growing.
    pub usage_trend: f64,
    /// Heap after full GC, averaged over the later full GCs so far.
    pub estimated_base: f64,
    /// Heap after the latest full GC.
    pub current_base: u64,
    pub min: u64,
    pub max: u64,
}

/// How the heap after full GC moved over the watch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Growth {
    pub start_ms: f64,
    pub end_ms: f64,
    pub start_heap: u64,
    pub end_heap: u64,
    pub bytes: i64,
    pub mb_per_hour: f64,
}
