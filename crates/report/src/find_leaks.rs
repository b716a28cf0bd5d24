//! `leakscope find-leaks --json`: the verdict on heap snapshots already
//! taken of one process.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{ClassGrowth, Confidence, Finding, Round, SourceMaps};

/// The verdict on a series of snapshots of one process, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FindLeaksReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// `leak`, or `no leak: …` with the reason.
    pub verdict: String,
    pub confidence: Confidence,
    pub confidence_reason: String,
    /// Whose heap: `main`, or `worker N` (from a `Heap.…` file name).
    pub thread: String,
    pub snapshots: Vec<SnapshotSummary>,
    /// Between consecutive snapshots: no requests, and seconds when the
    /// snapshots' times are known.
    pub intervals: Vec<Round>,
    pub findings: Vec<Finding>,
    pub growing_classes: Vec<ClassGrowth>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "SourceMaps::is_empty")]
    pub source_maps: SourceMaps,
    /// How long the judging took.
    pub seconds: f64,
}

impl crate::Document for FindLeaksReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// One snapshot file judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotSummary {
    pub path: PathBuf,
    /// When it was written, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken: Option<f64>,
    /// The V8 heap in it, as DevTools' Statistics view totals it.
    pub heap_bytes: u64,
    pub nodes: u64,
    /// The largest object id in it.
    pub max_id: u32,
}
