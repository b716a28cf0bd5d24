//! `leakscope stats --json`: DevTools' Statistics view and the duplicated
//! strings of a heap snapshot.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::HeapStatistics;

/// Where a heap's bytes go, and the strings kept in several copies.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(rename = "schema_version", default = "crate::version_one")]
    pub schema_version: u32,
    pub statistics: HeapStatistics,
    /// Texts held by more than one string, most bytes wasted first (`--top`
    /// of them).
    pub duplicated_strings: Vec<DuplicateString>,
}

impl crate::Document for StatsReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// A text held by several string objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateString {
    pub text: String,
    /// Strings holding it.
    pub count: u64,
    /// Their sizes added up, in bytes.
    pub total_size: u64,
    /// Bytes held by all copies but the smallest.
    pub wasted_size: u64,
}
