//! `leakscope dominators --json`: the top of a heap snapshot's dominator
//! tree.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::Node;

/// The objects retaining most, and (with `--depth`) what they retain.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DominatorsReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// The GC roots' children in the dominator tree, largest retained size
    /// first (`--top` of them).
    pub dominators: Vec<Dominator>,
}

impl crate::Document for DominatorsReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// An object and the objects only it keeps alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Dominator {
    #[serde(flatten)]
    pub node: Node,
    /// Its children in the dominator tree, largest retained size first;
    /// absent at the last level `--depth` expands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dominates: Vec<Dominator>,
}
