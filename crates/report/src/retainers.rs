//! `leakscope retainers --json`: what keeps objects alive, as DevTools'
//! Retainers pane expands it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::Node;

/// A retaining path per object asked for (`--id`, or the largest of
/// `--class` or `--string`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RetainersReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// One per object, largest retained size first.
    pub paths: Vec<RetainingPath>,
}

impl crate::Document for RetainersReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// From the GC roots (or as far back as the path goes) to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetainingPath {
    /// The object asked about.
    pub target: Node,
    /// The first object on the path, held directly by the GC roots when
    /// `fromRoots` is true.
    pub start: Node,
    /// Whether the path starts at the GC roots (else it stopped at
    /// `--depth` or found no path from a user root).
    #[serde(rename = "fromRoots")]
    pub from_roots: bool,
    /// The references from `start` to `target`, in order.
    pub hops: Vec<Hop>,
    /// The whole path on one line: `(GC roots) → Class name .edge → …`.
    pub chain: String,
}

/// One reference of a retaining path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Hop {
    /// The edge as DevTools prints it (`.name`, `[3]`, `->ctx`, `{internal}`).
    pub edge: String,
    /// V8's edge type: `property`, `element`, `context`, `internal`, …
    #[serde(rename = "edgeType")]
    pub edge_type: String,
    /// The object the edge points to.
    pub to: Node,
}
