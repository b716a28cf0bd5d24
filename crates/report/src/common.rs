//! Pieces several documents share: a finding (what leaks, who holds it,
//! what it costs) and its parts, for the hunt and find-leaks; an object, an
//! allocation frame and the heap's statistics, for the snapshot commands.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How sure a verdict or a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Big and steady: every round added a clear amount.
    High,
    Medium,
    Low,
}

/// One step of a retaining path: the edge into `node`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// The edge's name (a property, `[3]`, a variable); empty for the first.
    pub edge: String,
    /// The object, named as DevTools names it.
    pub node: String,
    /// Its heap snapshot id.
    pub id: u32,
}

/// What one round (or interval) added to a finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundGrowth {
    /// Leaked items and what they hold, V8's bookkeeping not counted.
    pub objects: u64,
    pub bytes: u64,
}

/// A class of leaked objects, and how fast it grows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeakedClass {
    pub name: String,
    pub count: u64,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_request: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_second: Option<f64>,
    /// One leaked object's value, when it is a string or a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// Where the leaked objects were allocated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AllocationSite {
    /// Innermost frame in the application's own code first.
    pub stack: Vec<String>,
    /// Leaked objects allocated there.
    pub objects: u64,
    /// How it was found: `closure definition`, `constructor`, `sampling
    /// heap profiler`, `allocation tracking`.
    pub source: String,
    /// The source line there, when the file was readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The part an unnamed function plays in a leak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnonymousRole {
    LeakedItems,
    RetainingPath,
    Scope,
}

/// An unnamed function taking part in a leak, and the advice to name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnonymousFunction {
    /// `file:line:column` of its definition.
    pub defined_at: String,
    pub role: AnonymousRole,
    pub advice: String,
    /// A heap snapshot id of one of its closures.
    pub id: u32,
}

/// What leaks: the objects one holder keeps adding, and what they cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// The thread whose heap holds it: `main`, or `worker N (file)`.
    pub thread: String,
    /// Who holds the leak, e.g. ``Array `pending` (module scope of server.js)``.
    pub holder: String,
    pub holder_id: u32,
    /// The npm package whose code defines the holder's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Other holders retaining the same growth.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_together_with: Vec<String>,
    /// From a GC root to the holder.
    pub path_to_holder: Vec<Step>,
    /// From the holder to one leaked item.
    pub path_to_leaked: Vec<Step>,
    pub leaked_items: LeakedClass,
    /// The items are links of one chain (each holds the next).
    pub chain: bool,
    pub classes: Vec<LeakedClass>,
    pub objects: u64,
    pub bytes: u64,
    /// Kept outside the V8 heap (backing stores, native memory).
    pub external_bytes: u64,
    /// Growth of the holder's own storage (elements, hash table).
    pub storage_bytes: u64,
    pub per_round: Vec<RoundGrowth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_per_request: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_request: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_per_second: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_second: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mb_per_hour: Option<f64>,
    /// The slowest round's rate over the fastest's (1 is perfectly steady).
    pub steadiness: f64,
    pub confidence: Confidence,
    pub evidence: String,
    pub allocation: Option<AllocationSite>,
    /// A heap snapshot id of one leaked item.
    pub example_id: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anonymous_functions: Vec<AnonymousFunction>,
}

impl Finding {
    /// The whole retaining path on one line, root first: `global → .cache
    /// Map → …`.
    pub fn path_text(&self) -> String {
        self.path_to_holder
            .iter()
            .chain(&self.path_to_leaked)
            .map(|s| {
                if s.edge.is_empty() {
                    s.node.clone()
                } else {
                    format!("{} {}", s.edge, s.node)
                }
            })
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// A class whose instances grew from the first snapshot to the last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClassGrowth {
    pub thread: String,
    pub name: String,
    /// Instances in each snapshot.
    pub counts: Vec<u64>,
    pub bytes: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_request: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_second: Option<f64>,
}

/// Requests and time of one round (or of one interval between snapshots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Round {
    /// Requests the hunt's own load sent; 0 when it did not count them.
    pub requests: u64,
    pub seconds: f64,
    pub connections: u64,
}

/// A compiled position shown as an original one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MappedPosition {
    /// As printed, e.g. `src/server.ts:17:3`.
    pub shown: String,
    /// As V8 reported it, e.g. `server.js:9:34`.
    pub generated: String,
}

/// Positions printed from source maps, and maps that could not be used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceMaps {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generated_positions: Vec<MappedPosition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl SourceMaps {
    pub fn is_empty(&self) -> bool {
        self.generated_positions.is_empty() && self.warnings.is_empty()
    }
}

/// Bytes the sampling heap profiler saw live under one application stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SampledStack {
    /// Innermost first, as `name file:line:col`.
    pub frames: Vec<String>,
    pub bytes: u64,
}

/// One object of a heap snapshot, as the Summary and Retainers views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Its heap snapshot id (the `@` number).
    pub id: u32,
    /// Its name as DevTools shows it (a string's text, a function's name).
    pub name: String,
    /// V8's node type: `object`, `closure`, `string`, `hidden`, …
    #[serde(rename = "type")]
    pub node_type: String,
    /// Its class (constructor) as the Summary view groups it.
    pub class_name: String,
    /// Its own size in bytes.
    pub shallow_size: u64,
    /// What freeing it would free, in bytes.
    pub retained_size: u64,
    /// Edges from the GC roots; 100000000 or more when unreachable.
    pub distance: i32,
}

/// One function of an allocation stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Frame {
    /// Empty when anonymous.
    pub function: String,
    /// The script's URL or path (a source's, when a source map was used).
    pub script: String,
    /// 1-based; 0 when unknown.
    pub line: u32,
    pub column: u32,
}

/// The Statistics view: where the heap's bytes go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HeapStatistics {
    /// The whole heap, in bytes: the V8 heap and native memory.
    pub total: u64,
    pub native: NativeStatistics,
    pub v8heap: V8HeapStatistics,
}

/// Memory outside the V8 heap that the snapshot accounts for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NativeStatistics {
    pub total: u64,
    /// Typed arrays' backing stores.
    pub typed_arrays: u64,
}

/// The V8 heap by category, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct V8HeapStatistics {
    pub total: u64,
    /// Compiled code and bytecode.
    pub code: u64,
    pub js_arrays: u64,
    pub strings: u64,
    /// V8's own objects (maps, descriptors, …).
    pub system: u64,
}
