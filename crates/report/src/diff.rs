//! `leakscope diff --json`: DevTools' Comparison view of two snapshots of
//! one process.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Per class, the objects new in the later snapshot and those gone since
/// the baseline, matched by snapshot id.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DiffReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// Classes that changed, largest size delta first (`--top` of them).
    pub classes: Vec<ClassDiff>,
}

impl crate::Document for DiffReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// One class's change between the two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassDiff {
    /// `,Name` or `scriptId,line,column,Name`, as DevTools keys classes.
    pub key: String,
    pub name: String,
    /// Objects in the later snapshot only.
    pub added_count: u64,
    /// Objects in the baseline only.
    pub removed_count: u64,
    /// `addedCount − removedCount`.
    pub count_delta: i64,
    /// Own sizes of the added objects, in bytes.
    pub added_size: u64,
    /// Own sizes of the removed objects, in bytes.
    pub removed_size: u64,
    /// `addedSize − removedSize`.
    pub size_delta: i64,
}
