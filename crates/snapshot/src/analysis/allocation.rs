//! Allocation stacks and time ranges of a `.heaptimeline` (a snapshot taken
//! with allocation tracking on, "Record Heap Allocations" in DevTools).
//!
//! Each node's `trace_node_id` names a node of `trace_tree`, a call tree of
//! the functions that allocated; each trace node points at one entry of
//! `trace_function_infos` (name, script, 1-based line and column). The
//! `samples` ticks pair a time with the last object id assigned by then, so
//! an object's id tells when it was allocated, to within one tick (~50 ms).

use std::collections::HashMap;

use serde::Serialize;

use super::HeapSnapshot;

/// One function of an allocation stack.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    pub function: String,
    pub script: String,
    /// 1-based, as in the file; 0 when unknown.
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let function = if self.function.is_empty() {
            "(anonymous)"
        } else {
            &self.function
        };
        if self.script.is_empty() {
            write!(f, "{function}")
        } else {
            write!(
                f,
                "{function} {}:{}:{}",
                self.script, self.line, self.column
            )
        }
    }
}

/// The allocation call tree, flattened: parent and function per trace node.
#[derive(Debug, Default)]
pub struct AllocationTraces {
    index_of_id: HashMap<u32, u32>,
    parent: Vec<u32>,
    function: Vec<u32>,
    frames: Vec<Frame>,
}

const NO_PARENT: u32 = u32::MAX;

impl AllocationTraces {
    /// `None` when the snapshot was taken without allocation tracking.
    pub fn of(snapshot: &HeapSnapshot) -> Option<AllocationTraces> {
        let extras = &snapshot.extras;
        if extras.trace_function_infos.is_empty() || extras.trace_tree_json.is_empty() {
            return None;
        }
        let fields = &extras.trace_function_info_fields;
        let at = |name: &str| fields.iter().position(|f| f == name);
        let (name, script, line, column) =
            (at("name")?, at("script_name")?, at("line")?, at("column")?);
        let frames = extras
            .trace_function_infos
            .chunks_exact(fields.len())
            .map(|info| Frame {
                function: snapshot.strings.get(info[name]).to_owned(),
                script: snapshot.strings.get(info[script]).to_owned(),
                line: info[line],
                column: info[column],
            })
            .collect();
        let tree: serde_json::Value = serde_json::from_slice(&extras.trace_tree_json).ok()?;
        let mut traces = AllocationTraces {
            frames,
            ..AllocationTraces::default()
        };
        // Each node is [id, function_info_index, count, size, [children…]].
        let mut pending: Vec<(&serde_json::Value, u32)> = vec![(&tree, NO_PARENT)];
        while let Some((list, parent)) = pending.pop() {
            let items = list.as_array()?;
            for node in items.chunks_exact(5) {
                let id = node[0].as_u64()? as u32;
                let function = node[1].as_u64()? as u32;
                let index = traces.parent.len() as u32;
                traces.index_of_id.insert(id, index);
                traces.parent.push(parent);
                traces.function.push(function);
                pending.push((&node[4], index));
            }
        }
        Some(traces)
    }

    /// The stack that allocated a node, innermost frame first, without the
    /// synthetic `(root)`.
    pub fn stack(&self, trace_node_id: u32) -> Vec<&Frame> {
        let mut stack = Vec::new();
        let mut at = self.index_of_id.get(&trace_node_id).copied();
        while let Some(index) = at.filter(|&i| i != NO_PARENT) {
            if let Some(frame) = self.frames.get(self.function[index as usize] as usize) {
                if frame.function != "(root)" {
                    stack.push(frame);
                }
            }
            at = Some(self.parent[index as usize]);
        }
        stack
    }
}

/// Time span of a recording and the object ids allocated in a window.
impl HeapSnapshot {
    /// Seconds covered by the recording's sample ticks.
    pub fn recording_seconds(&self) -> Option<f64> {
        let last = self.extras.samples.last()?;
        Some(last.0 as f64 / 1e6)
    }

    /// Object ids allocated between `from` and `to` seconds into the
    /// recording, as `(first, last)` inclusive; `None` without samples.
    pub fn ids_allocated_between(&self, from: f64, to: f64) -> Option<(u64, u64)> {
        let samples = &self.extras.samples;
        if samples.is_empty() {
            return None;
        }
        let micros = |s: f64| (s * 1e6).max(0.0) as u64;
        let (from, to) = (micros(from), micros(to));
        // Ids up to the last tick at or before `from` existed before the window.
        let before = samples
            .iter()
            .take_while(|s| s.0 <= from)
            .last()
            .map_or(0, |s| s.1);
        // The first tick at or after `to` closes it.
        let until = samples
            .iter()
            .find(|s| s.0 >= to)
            .unwrap_or(samples.last().expect("non-empty"))
            .1;
        Some((before + 1, until))
    }

    /// Live nodes whose id falls in `ids` (inclusive).
    pub fn nodes_with_ids(&self, ids: (u64, u64)) -> impl Iterator<Item = u32> + '_ {
        let g = &self.graph;
        (0..g.node_count() as u32).filter(move |&v| {
            let id = g.node_id[v as usize] as u64;
            id >= ids.0 && id <= ids.1
        })
    }
}
