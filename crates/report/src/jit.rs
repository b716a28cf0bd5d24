//! The JIT section of a hunt (`hunt --jit`): hot functions V8 cannot keep
//! fast, from the CPU profile and V8's log.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Hot functions during the profiled load, and what V8 says about them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JitReport {
    /// Profiled CPU time (idle excluded), in milliseconds.
    pub busy_ms: f64,
    /// Share of that time in the garbage collector.
    pub gc_share: f64,
    /// The app's hot functions (not Node's own), most self time first.
    pub hot: Vec<HotFunction>,
    /// Whether V8's log was read (only for an app leakscope launched).
    pub v8_log: bool,
    /// The V8 version the log names.
    pub v8_version: Option<String>,
    /// What this run could not tell, and why.
    pub notes: Vec<String>,
    /// Every deoptimization in the app's code, most frequent first.
    pub deopts: Vec<DeoptSite>,
    /// The CPU profile's length.
    pub profile_seconds: f64,
    /// Samples taken while busy.
    pub busy_samples: u64,
}

/// One hot function and what V8 says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HotFunction {
    /// Empty when anonymous.
    pub name: String,
    pub url: String,
    /// Where the function starts, 1-based.
    pub line: u32,
    pub column: u32,
    /// Where V8 saw it start, when `url`, `line` and `column` come from a
    /// source map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    pub self_share: f64,
    pub total_share: f64,
    pub self_ms: f64,
    /// Whether Maglev or TurboFan compiled it; absent without V8's log.
    pub optimized: Option<bool>,
    /// Optimized callers it ran inlined in, as `name url:line:column`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inlined_into: Vec<String>,
    pub compilations: Option<Compilations>,
    pub deopts: Vec<DeoptSite>,
    /// Inline caches in it that saw more than one shape.
    pub ic_sites: Vec<IcProblem>,
    /// Sampled bytes it allocated, and their share of all sampled bytes.
    pub allocated_bytes: Option<u64>,
    pub allocation_share: Option<f64>,
    /// Each problem in one sentence, worst first.
    pub problems: Vec<String>,
    /// V8 cannot keep it fast: a megamorphic access, a deoptimization about
    /// the values it saw, or no optimization at all.
    #[serde(default)]
    pub jit_problem: bool,
}

impl HotFunction {
    /// `name file:line:column`, `(anonymous)` for a nameless function and
    /// `(top level)` for a script's own code (a CommonJS module's wrapper
    /// starts at 1:1 and has no name).
    pub fn label(&self) -> String {
        let name = if self.name.is_empty() && self.line == 1 && self.column == 1 {
            "(top level)"
        } else if self.name.is_empty() {
            "(anonymous)"
        } else {
            &self.name
        };
        format!("{name} {}:{}:{}", self.url, self.line, self.column)
    }
}

/// How many times a function's code was made by each compiler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Compilations {
    pub interpreted: u32,
    pub baseline: u32,
    pub maglev: u32,
    pub turbofan: u32,
}

/// A place where optimized code bailed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeoptSite {
    /// `file:line:column` of the bailout.
    pub position: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// V8's words, e.g. `not a Smi`.
    pub reason: String,
    pub kind: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The function whose code bailed out (the innermost, when inlined).
    pub function: FunctionRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inlined_into: Option<FunctionRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inlined_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimized_in: Option<FunctionRef>,
    /// What to change, in a sentence.
    pub advice: String,
    /// The whole problem in one sentence: where, in which function, when,
    /// V8's reason and what to change.
    #[serde(default)]
    pub sentence: String,
    /// `start-up`, `warm-up`, `load`, several joined by `, `, or `unknown`.
    pub when: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhaseCounts>,
    /// Seconds since the process started, of the first and the last.
    pub first_seconds: f64,
    pub last_seconds: f64,
}

/// A function as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionRef {
    /// Empty when anonymous.
    pub name: String,
    pub url: String,
    pub line: u32,
    pub column: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
}

/// Deoptimizations per phase of the recording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhaseCounts {
    pub start_up: u32,
    pub warm_up: u32,
    pub load: u32,
}

/// An inline cache that saw more than one shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IcProblem {
    /// `file:line:column` of the access.
    pub position: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// `LoadIC`, `KeyedStoreIC`, …
    pub kind: String,
    pub key: String,
    pub state: IcState,
    /// Distinct shapes (maps) it saw.
    pub maps: u32,
}

/// An inline cache's state, from uninitialized to megamorphic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IcState {
    NoFeedback,
    Uninitialized,
    Premonomorphic,
    Monomorphic,
    RecomputeHandler,
    Polymorphic,
    Megadom,
    Megamorphic,
    Generic,
}

/// `leakscope jit --json`: the load that was profiled, and the JIT's
/// findings during it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JitRunReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(rename = "schema_version", default = "crate::version_one")]
    pub schema_version: u32,
    /// Where the load went.
    pub url: String,
    /// Requests completed during the profile.
    pub requests: u64,
    pub requests_per_second: f64,
    #[serde(flatten)]
    pub findings: JitReport,
    #[serde(default, skip_serializing_if = "crate::common::SourceMaps::is_empty")]
    pub source_maps: crate::common::SourceMaps,
}

impl crate::Document for JitRunReport {
    const SCHEMA_VERSION: u32 = 1;
}
