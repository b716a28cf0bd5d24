//! `leakscope sample --json`: a live process's sampled allocations and the
//! files written from them.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::SourceMaps;

/// The sampling heap profiler's result and where it was written. (Fields
/// are in alphabetical order, as this document has always printed them.)
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SampleReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// The flame graph (SVG) of live sampled bytes by allocation stack.
    pub flamegraph: PathBuf,
    /// V8's profile as it sent it (opens in DevTools).
    pub heapprofile: PathBuf,
    /// The gzipped pprof profile.
    pub pprof: PathBuf,
    /// Samples in the profile.
    pub samples: u64,
    /// Positions printed from source maps, and maps that could not be used.
    pub source_maps: SourceMaps,
    /// Functions by sampled bytes they allocated, most first (`--top` of
    /// them).
    pub top_functions: Vec<FunctionTotal>,
    /// Sampled bytes in the profile (still alive, unless
    /// `--include-collected`).
    pub total_size: u64,
}

impl crate::Document for SampleReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// One function's share of the sampled bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FunctionTotal {
    /// `name file:line:column`.
    pub function: String,
    /// Samples it allocated.
    pub samples: u64,
    /// Sampled bytes it allocated itself (not its callees).
    pub self_size: u64,
}
