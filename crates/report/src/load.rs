//! `leakscope load --json`: what an HTTP load run sent and got back.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The requests sent, the responses and errors, and their latency.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LoadReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// Requests that got a complete response, whatever its status.
    pub completed: u64,
    /// Requests that got no complete response, by cause.
    pub errors: BTreeMap<String, u64>,
    /// All of them.
    pub error_count: u64,
    /// Responses by HTTP status.
    pub status_counts: BTreeMap<u16, u64>,
    /// Responses with a status of 400 or more.
    pub non_2xx_3xx: u64,
    /// The run's length.
    pub seconds: f64,
    /// Completed requests per second.
    pub requests_per_second: f64,
    /// Response bodies received, in bytes.
    pub body_bytes: u64,
    pub connections_opened: u64,
    pub latency: Latency,
}

impl crate::Document for LoadReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// Latency of the completed requests, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Latency {
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}
