//! `leakscope summary --json`: the Summary view of a heap snapshot (objects
//! by class), or with `--class` that class's instances.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Frame, HeapStatistics, Node};

/// What `summary --json` prints: the class table, or with `--class` the
/// instances of one class.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SummaryReport {
    /// Without `--class`: objects grouped by class.
    Classes(ClassTable),
    /// With `--class NAME`: that class's objects.
    Instances(InstanceList),
}

impl crate::Document for SummaryReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// A heap snapshot's objects grouped by class, largest retained size first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassTable {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(rename = "schema_version", default = "crate::version_one")]
    pub schema_version: u32,
    /// Objects (nodes) in the snapshot.
    pub node_count: u64,
    /// References (edges) in the snapshot.
    pub edge_count: u64,
    /// What the GC roots retain: the whole reachable heap, in bytes.
    pub root_retained_size: u64,
    /// All objects' own sizes added up, in bytes.
    pub total_shallow_size: u64,
    pub statistics: HeapStatistics,
    /// The classes, largest retained size first (`--top` of them).
    pub classes: Vec<ClassRow>,
    /// The objects retaining most, largest first (`--nodes` of them).
    pub top: Vec<Node>,
}

/// One row of the Summary view: one class's objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassRow {
    /// `,Name`, or `scriptId,line,column,Name` for a class DevTools tells
    /// apart by where it is defined.
    pub key: String,
    pub name: String,
    /// Its objects.
    pub count: u64,
    /// Their own sizes added up, in bytes.
    pub shallow_size: u64,
    /// What freeing them all would free, in bytes.
    pub retained_size: u64,
    /// The shortest distance from the GC roots of any of them.
    pub distance: i32,
}

/// The objects of one class, largest retained size first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InstanceList {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// `--top` of them.
    pub instances: Vec<Instance>,
}

/// One object, with the stack that allocated it when the file has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Instance {
    #[serde(flatten)]
    pub node: Node,
    /// Innermost frame first, at most 8; only in a `.heaptimeline`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocation_stack: Vec<Frame>,
}
