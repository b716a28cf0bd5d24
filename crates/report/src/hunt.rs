//! `leakscope hunt --json` and the `hunt.json` kept beside a hunt's
//! snapshots (the web explorer reads it back).

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{ClassGrowth, Confidence, Finding, Round, SampledStack, SourceMaps};
use crate::{gc_log, jit};

/// A finished hunt: the verdict, how sure it is, and everything it rests on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HuntReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// What was hunted in: a PID, a port, a command line.
    pub target: String,
    /// `leak`, or `no leak: …` with the reason.
    pub verdict: String,
    pub confidence: Confidence,
    pub confidence_reason: String,
    /// Over all rounds, when the hunt's own load counted requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// What drove the app.
    pub load: LoadMode,
    /// Where the HTTP load went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// HTTP connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    /// The user's load command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_command: Option<String>,
    pub pid: u32,
    pub warmup: Warmup,
    pub baseline_memory: Memory,
    pub baseline_snapshot_seconds: f64,
    pub rounds: Vec<RoundReport>,
    pub findings: Vec<Finding>,
    pub growing_classes: Vec<ClassGrowth>,
    /// The sampling heap profiler's live allocations at the end, by stack.
    pub sampled_allocations: Vec<SampledStack>,
    /// The main thread's GCs during the hunt.
    pub gcs: Vec<GcPoint>,
    /// The baseline snapshot's time in the target's clock (ms since start).
    pub baseline_ms: f64,
    pub tracking: Tracking,
    /// Each worker thread's heap (absent without workers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<ThreadHeap>,
    /// Why the rounds were judged by sampling, not snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_because: Option<String>,
    pub notes: Vec<String>,
    /// What makes the verdict less sure.
    pub warnings: Vec<String>,
    /// What ended the hunt before it was sure, if anything.
    pub stopped_by: Option<String>,
    pub timeline: Vec<Phase>,
    /// The snapshots, when kept.
    pub snapshots: Vec<PathBuf>,
    /// The whole hunt.
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "SourceMaps::is_empty")]
    pub source_maps: SourceMaps,
    pub snapshots_kept: bool,
    /// The launched app's `--trace-gc` log, analysed (with `--trace-gc`).
    pub gc_log: Option<Vec<gc_log::ProcessReport>>,
    /// Hot functions during the first round (with `--jit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit: Option<jit::JitReport>,
}

impl crate::Document for HuntReport {
    const SCHEMA_VERSION: u32 = 1;
}

impl HuntReport {
    /// Whether `json` is meant as a hunt report (it may still be of another
    /// version, or broken): a verdict, findings and rounds.
    pub fn looks_like(json: &serde_json::Value) -> bool {
        json["verdict"].is_string() && json["findings"].is_array() && json["rounds"].is_array()
    }
}

/// What drove the app during the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    /// The hunt's own HTTP load.
    Http,
    /// The user's load command.
    Command,
    /// Nothing: the process's own work.
    None,
}

/// The target's memory as `process.memoryUsage()` gives it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Memory {
    pub rss: u64,
    pub heap_used: u64,
    pub heap_total: u64,
    /// Outside the V8 heap (C++ objects bound to JS ones).
    pub external: u64,
    pub array_buffers: u64,
}

/// One round of load and its snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundReport {
    #[serde(flatten)]
    pub round: Round,
    pub errors: u64,
    /// Responses by HTTP status.
    pub status_counts: BTreeMap<u16, u64>,
    pub requests_per_second: f64,
    pub p99_ms: f64,
    /// The heap after the round's forced GC.
    pub heap_used: u64,
    pub memory: Memory,
    /// `requests`, `time`, `heap growth`, `budget`, `load command`, …
    pub ended_by: String,
    /// Allocation stacks were recorded during it.
    pub tracked: bool,
    /// Its snapshot's pause.
    pub snapshot_seconds: f64,
    /// How the user's load command ended, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_command: Option<CommandRun>,
}

/// How one run of the user's load command ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandRun {
    /// `exit status 0`, `killed by signal 9`, `stopped at the round's end`.
    pub status: String,
    /// It exited on its own with a non-zero status or a signal.
    pub failed: bool,
    /// The hunt stopped it (time was up, or the heap grew enough).
    pub stopped: bool,
    pub seconds: f64,
    /// Its last lines of output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tail: Vec<String>,
}

/// The warm-up before the baseline snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Warmup {
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub ended_by: String,
}

/// One GC of the target's main thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GcPoint {
    /// Since the hunt attached.
    pub seconds: f64,
    /// As Node's `perf_hooks` names it: `scavenge`, `mark-sweep-compact`, …
    pub kind: String,
    pub pause_ms: f64,
    /// Heap used just after it.
    pub heap_used: u64,
}

/// A phase of the hunt and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Phase {
    pub what: String,
    pub seconds: f64,
}

/// Whether allocation stacks were recorded, and why (not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tracking {
    pub used: bool,
    pub why: String,
}

/// One thread's heap across the rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThreadHeap {
    /// `main`, or `worker N (file)`.
    pub thread: String,
    /// After each snapshot's GC.
    pub heap_used: Vec<u64>,
    /// Its snapshots were judged.
    pub judged: bool,
    /// Why not, or what limited it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<PathBuf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sampled_allocations: Vec<SampledStack>,
}
