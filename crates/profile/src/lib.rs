//! V8 sampling heap profiles (`HeapProfiler.getSamplingProfile`, the
//! `.heapprofile` files DevTools and `node --heap-prof` write), and CPU
//! profiles ([`cpu`]).
//!
//! A profile is a call tree whose nodes carry the bytes of sampled
//! allocations still alive, plus the samples themselves (size, node id).
//! From it this crate derives the views people read: top allocating
//! functions, folded stacks for flame graphs, and gzipped pprof.

pub mod cpu;
mod pprof;

use std::collections::HashMap;

use leakscope_sourcemap::Positions;
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
    /// Where the function is in the source the developer edits, when a
    /// source map says so ([`SamplingProfile::map_positions`]); not part of
    /// V8's format, so never written back.
    #[serde(skip)]
    pub original: Option<OriginalFrame>,
}

/// A frame's function in its original source (see [`CallFrame::original`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalFrame {
    /// The source as the map resolves it (a path, or the bundler's URL).
    pub source: String,
    /// As printed, e.g. `src/server.ts:17:3`.
    pub shown: String,
    /// 0-based, as V8 counts.
    pub line: u32,
    pub column: u32,
}

impl CallFrame {
    /// Looks the frame's position up in the source maps of `positions`.
    pub fn map_position(&mut self, positions: &Positions) {
        if self.url.is_empty() || self.line_number < 0 || self.column_number < 0 {
            return;
        }
        let (line, column) = (self.line_number as u32, self.column_number as u32);
        if let Some(original) = positions.original(&self.url, line, column) {
            // A minified bundle's `a` is `recordAudit` again.
            if let Some(name) =
                positions.original_function_name(&self.url, line, column, &self.function_name)
            {
                self.function_name = name;
            }
            let generated = format!(
                "{}:{}:{}",
                leakscope_sourcemap::script_label(&self.url),
                line + 1,
                column + 1
            );
            self.original = Some(OriginalFrame {
                shown: positions.shown(&original, generated),
                source: original.source,
                line: original.line,
                column: original.column,
            });
        }
    }
}

impl CallFrame {
    /// `name file:line:col` with 1-based positions, the way editors count.
    pub fn label(&self) -> String {
        let name = if self.function_name.is_empty() {
            "(anonymous)"
        } else {
            &self.function_name
        };
        if let Some(original) = &self.original {
            format!("{name} {}", original.shown)
        } else if self.url.is_empty() {
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

    /// Every frame's original position, where the script has a source map
    /// (labels, folded stacks and pprof then show it).
    pub fn map_positions(&mut self, positions: &Positions) {
        let mut stack = vec![&mut self.head];
        while let Some(node) = stack.pop() {
            node.call_frame.map_position(positions);
            stack.extend(node.children.iter_mut());
        }
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

    /// Each tree node's application stack as [`application_stacks`]
    /// groups it (innermost first, at most `depth` frames; Node's own
    /// frames when the stack has no other), by node id.
    ///
    /// [`application_stacks`]: SamplingProfile::application_stacks
    pub fn node_stacks(&self, depth: usize) -> HashMap<u64, Vec<String>> {
        let mut stacks = HashMap::new();
        self.walk(|visit| {
            let frames = visit.stack.iter().rev().map(|n| &n.call_frame);
            let mut own: Vec<String> = frames
                .clone()
                .filter(|f| !f.url.is_empty() && !f.url.starts_with("node:"))
                .take(depth)
                .map(CallFrame::label)
                .collect();
            if own.is_empty() {
                own = frames.take(depth).map(CallFrame::label).collect();
            }
            stacks.insert(visit.node.id, own);
        });
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

/// A flame graph's tree: each frame with the bytes it allocated itself and
/// with everything it called. Children with the same label are merged, so a
/// function called from one place shows once however V8 split its nodes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlameNode {
    pub name: String,
    #[serde(rename = "self")]
    pub self_size: u64,
    pub total: u64,
    pub children: Vec<FlameNode>,
}

impl SamplingProfile {
    /// The profile as a flame graph tree under a `(root)` of all bytes,
    /// widest children first.
    pub fn flame_tree(&self) -> FlameNode {
        fn build(node: &ProfileNode) -> FlameNode {
            let mut merged: Vec<FlameNode> = Vec::new();
            for child in &node.children {
                let built = build(child);
                match merged.iter_mut().find(|m| m.name == built.name) {
                    Some(m) => merge(m, built),
                    None => merged.push(built),
                }
            }
            finish(node.call_frame.label(), node.self_size, merged)
        }
        fn merge(into: &mut FlameNode, other: FlameNode) {
            into.self_size += other.self_size;
            into.total += other.total;
            for child in other.children {
                match into.children.iter_mut().find(|m| m.name == child.name) {
                    Some(m) => merge(m, child),
                    None => into.children.push(child),
                }
            }
            into.children
                .sort_by(|a, b| b.total.cmp(&a.total).then(a.name.cmp(&b.name)));
        }
        fn finish(name: String, self_size: u64, mut children: Vec<FlameNode>) -> FlameNode {
            children.sort_by(|a, b| b.total.cmp(&a.total).then(a.name.cmp(&b.name)));
            let total = self_size + children.iter().map(|c| c.total).sum::<u64>();
            FlameNode {
                name,
                self_size,
                total,
                children,
            }
        }
        let mut root = build(&self.head);
        root.name = "(root)".to_owned();
        root
    }
}

#[cfg(test)]
mod flame_tests {
    use super::*;

    #[test]
    fn same_named_children_merge_and_totals_add_up() {
        let json = r#"{"head":{"callFrame":{"functionName":"(root)","url":"","lineNumber":-1,"columnNumber":-1},"selfSize":0,"id":1,"children":[
            {"callFrame":{"functionName":"a","url":"file:///x.js","lineNumber":0,"columnNumber":0},"selfSize":10,"id":2,"children":[
                {"callFrame":{"functionName":"b","url":"file:///x.js","lineNumber":4,"columnNumber":2},"selfSize":5,"id":3,"children":[]}]},
            {"callFrame":{"functionName":"a","url":"file:///x.js","lineNumber":0,"columnNumber":0},"selfSize":1,"id":4,"children":[
                {"callFrame":{"functionName":"b","url":"file:///x.js","lineNumber":4,"columnNumber":2},"selfSize":7,"id":5,"children":[]}]},
            {"callFrame":{"functionName":"c","url":"","lineNumber":-1,"columnNumber":-1},"selfSize":30,"id":6,"children":[]}]},"samples":[]}"#;
        let tree = SamplingProfile::parse(json).unwrap().flame_tree();
        assert_eq!(tree.total, 53);
        assert_eq!(tree.children.len(), 2);
        assert_eq!(
            (tree.children[0].name.as_str(), tree.children[0].total),
            ("c", 30)
        );
        let a = &tree.children[1];
        assert_eq!(
            (a.name.as_str(), a.self_size, a.total),
            ("a /x.js:1:1", 11, 23)
        );
        assert_eq!(a.children.len(), 1);
        assert_eq!((a.children[0].self_size, a.children[0].total), (12, 12));
    }
}
