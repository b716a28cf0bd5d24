//! A `--trace-gc` log, analysed per process and isolate (the GC-log section
//! of a hunt with `--trace-gc`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One isolate's GCs and the verdict on its heap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessReport {
    pub pid: u32,
    /// V8's isolate address, as the log prints it.
    pub isolate: String,
    /// The first and the last GC, ms since the process started.
    pub first_ms: f64,
    pub last_ms: f64,
    pub gcs: u64,
    pub kinds: Vec<KindReport>,
    /// Share of the span spent in GC pauses.
    pub gc_time_share: f64,
    /// 1 − `gc_time_share`.
    pub mutator_utilization: f64,
    pub verdict: SeriesVerdict,
    /// GCs by kind and reason, most first.
    pub reasons: Vec<ReasonCount>,
}

/// What collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Scavenge,
    MinorMarkCompact,
    MarkCompact,
    MarkSweep,
}

impl Kind {
    /// As `--trace-gc` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scavenge => "Scavenge",
            Kind::MinorMarkCompact => "Minor Mark-Compact",
            Kind::MarkCompact => "Mark-Compact",
            Kind::MarkSweep => "Mark-sweep",
        }
    }
}

/// The GCs of one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KindReport {
    pub kind: Kind,
    pub count: u64,
    pub pause_total_ms: f64,
    pub pause_p50_ms: f64,
    pub pause_p99_ms: f64,
    pub pause_max_ms: f64,
    pub heap_before_mean: u64,
    pub heap_after_mean: u64,
    pub heap_after_first: u64,
    pub heap_after_last: u64,
}

/// GCs of one kind for one reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReasonCount {
    pub kind: Kind,
    pub reason: String,
    pub count: u64,
}

/// The verdict on the heap after GC over the log's span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesVerdict {
    pub leak_suspected: bool,
    /// One line, e.g. "leak suspected: heap after GC grows 21.5 MB/min …".
    pub summary: String,
    pub start_heap: u64,
    pub end_heap: u64,
    pub growth: i64,
    /// In V8's megabytes (2^20 bytes), as the log prints them.
    pub mb_per_hour: f64,
    pub span_ms: f64,
    pub fit_r2: Option<f64>,
    /// Mann–Kendall's one-sided p-value that the heap does not rise.
    pub trend_p: Option<f64>,
    /// Longest full-GC pause of the last third over that of the first.
    pub pause_growth: Option<f64>,
    pub gcs_judged: u64,
}

/// `leakscope gc-log --json`: a `--trace-gc` log, analysed per process.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GcLogReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// The log read, `-` for standard input.
    pub file: std::path::PathBuf,
    /// Bytes read.
    pub bytes: u64,
    /// Lines that were GC lines.
    pub gc_lines: u64,
    /// Lines skipped (the app's own output).
    pub other_lines: u64,
    /// Whether any process's heap after GC keeps growing.
    pub leak_suspected: bool,
    /// One per process and isolate (only `--pid`'s, with it).
    pub processes: Vec<ProcessReport>,
}

impl crate::Document for GcLogReport {
    const SCHEMA_VERSION: u32 = 1;
}
