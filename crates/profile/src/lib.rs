//! V8 sampling heap profiles (`HeapProfiler.getSamplingProfile`, the
//! `.heapprofile` files DevTools and `node --heap-prof` write).
//!
//! A profile is a call tree whose nodes carry the bytes of sampled
//! allocations still alive, plus the samples themselves (size, node id).
//! From it this crate derives the views people read: top allocating
//! functions, folded stacks for flame graphs, and gzipped pprof.

mod pprof;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use pprof::to_pprof_gz;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFrame {
    pub function_name: String,
    #[serde(default)]
    pub script_id: serde_json::Value,
    #[serde(default)]
    pub url: String,
    /// 0-based; -1 when unknown.
    pub line_number: i64,
    pub column_number: i64,
}

impl CallFrame {
    /// `name file:line:col` with 1-based positions, the way editors count.
    pub fn label(&self) -> String {
        let name = if self.function_name.is_empty() {
            "(anonymous)"
        } else {
            &self.function_name
        };
        if self.url.is_empty() {
            name.to_owned()
        } else {
            format!(
                "{name} {}:{}:{}",
                short_url(&self.url),
                self.line_number + 1,
                self.column_number + 1
            )
        }
    }
}

/// `file:///srv/app/app.js` → `/srv/app/app.js`.
fn short_url(url: &str) -> &str {
    url.strip_prefix("file://").unwrap_or(url)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileNode {
    pub call_frame: CallFrame,
    pub self_size: u64,
    pub id: u64,
    #[serde(default)]
    pub children: Vec<ProfileNode>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub size: u64,
    pub node_id: u64,
    #[serde(default)]
    pub ordinal: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SamplingProfile {
    pub head: ProfileNode,
    #[serde(default)]
    pub samples: Vec<Sample>,
}

/// One function's share of the sampled bytes.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionTotal {
    pub function: String,
    pub self_size: u64,
    pub samples: u64,
}

/// A root-to-node path, as visited by [`SamplingProfile::walk`].
/// Bytes allocated under one application stack.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SampledStack {
    /// Innermost first, as `name file:line:col`.
    pub frames: Vec<String>,
    pub bytes: u64,
}

pub struct Visit<'a> {
    /// Frames from the root's first child down to this node.
    pub stack: &'a [&'a ProfileNode],
    pub node: &'a ProfileNode,
}

impl SamplingProfile {
    pub fn parse(json: &str) -> serde_json::Result<SamplingProfile> {
        serde_json::from_str(json)
    }

    /// Visits every node below the root with its stack, depth first,
    /// without recursion (profiles can be deep).
    pub fn walk(&self, mut visit: impl FnMut(Visit<'_>)) {
        let mut stack: Vec<&ProfileNode> = Vec::new();
        // (node, depth in `stack` of its parent)
        let mut pending: Vec<(&ProfileNode, usize)> =
            self.head.children.iter().rev().map(|c| (c, 0)).collect();
        while let Some((node, depth)) = pending.pop() {
            stack.truncate(depth);
            stack.push(node);
            visit(Visit {
                stack: &stack,
                node,
            });
            pending.extend(node.children.iter().rev().map(|c| (c, depth + 1)));
        }
    }

    /// Samples per tree node. A sample may name a node missing from the
    /// tree (seen once in 3,528 on Node 20); it is ignored.
    pub fn sample_counts(&self) -> HashMap<u64, u64> {
        let mut counts = HashMap::new();
        for s in &self.samples {
            *counts.entry(s.node_id).or_insert(0) += 1;
        }
        counts
    }

    /// Functions by the bytes they allocated that are still alive.
    pub fn top_functions(&self) -> Vec<FunctionTotal> {
        let counts = self.sample_counts();
        let mut totals: HashMap<String, FunctionTotal> = HashMap::new();
        self.walk(|visit| {
            let node = visit.node;
            if node.self_size == 0 {
                return;
            }
            let label = node.call_frame.label();
            let total = totals.entry(label.clone()).or_insert(FunctionTotal {
                function: label,
                self_size: 0,
                samples: 0,
            });
            total.self_size += node.self_size;
            total.samples += counts.get(&node.id).copied().unwrap_or(0);
        });
        let mut totals: Vec<FunctionTotal> = totals.into_values().collect();
        totals.sort_by(|a, b| {
            b.self_size
                .cmp(&a.self_size)
                .then(a.function.cmp(&b.function))
        });
        totals
    }

    /// Live sampled bytes by the application's part of the allocation
    /// stack (frames of scripts that are not Node's own `node:` modules),
    /// innermost first, at most `depth` frames; largest first.
    pub fn application_stacks(&self, depth: usize) -> Vec<SampledStack> {
        let mut totals: HashMap<Vec<String>, u64> = HashMap::new();
        self.walk(|visit| {
            if visit.node.self_size == 0 {
                return;
            }
            let frames: Vec<String> = visit
                .stack
                .iter()
                .rev()
                .map(|n| &n.call_frame)
                .filter(|f| !f.url.is_empty() && !f.url.starts_with("node:"))
                .take(depth)
                .map(CallFrame::label)
                .collect();
            if !frames.is_empty() {
                *totals.entry(frames).or_default() += visit.node.self_size;
            }
        });
        let mut stacks: Vec<SampledStack> = totals
            .into_iter()
            .map(|(frames, bytes)| SampledStack { frames, bytes })
            .collect();
        stacks.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.frames.cmp(&b.frames)));
        stacks
    }

    /// `root;caller;callee bytes` lines, the input of flame graph tools.
    pub fn folded_stacks(&self) -> Vec<String> {
        let mut lines = Vec::new();
        self.walk(|visit| {
            if visit.node.self_size == 0 {
                return;
            }
            let frames: Vec<String> = visit
                .stack
                .iter()
                // `;` separates frames in the folded format.
                .map(|n| n.call_frame.label().replace(';', ":"))
                .collect();
            lines.push(format!("{} {}", frames.join(";"), visit.node.self_size));
        });
        lines
    }

    pub fn total_size(&self) -> u64 {
        let mut total = 0;
        self.walk(|visit| total += visit.node.self_size);
        total
    }
}
