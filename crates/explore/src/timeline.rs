//! Allocations of a recorded `.heaptimeline`: what a time window allocated
//! that is still alive, by class and allocation stack, and how the live
//! objects spread over the recording (the Allocation timeline's bars).

use std::collections::HashMap;

use leakscope_snapshot::{AllocationTraces, Frame, HeapSnapshot};
use leakscope_sourcemap::Positions;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ClassAllocations {
    pub name: String,
    pub count: u64,
    pub shallow_size: u64,
    pub stacks: Vec<StackCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackCount {
    pub count: u64,
    pub shallow_size: u64,
    /// Innermost frame first.
    pub frames: Vec<Frame>,
}

/// Frames in the sources the developer edits, where the scripts have
/// source maps: `script` becomes the source's label (`src/server.ts`) and
/// the 1-based line and column its own; `positions` keeps the compiled ones
/// for the report.
pub fn map_positions(classes: &mut [ClassAllocations], positions: &Positions) {
    let frames = classes
        .iter_mut()
        .flat_map(|c| &mut c.stacks)
        .flat_map(|s| &mut s.frames);
    for frame in frames {
        if frame.line == 0 {
            continue;
        }
        let (line, column) = (frame.line - 1, frame.column.saturating_sub(1));
        if let Some(original) = positions.original(&frame.script, line, column) {
            let generated = format!(
                "{}:{}:{}",
                leakscope_sourcemap::script_label(&frame.script),
                frame.line,
                frame.column
            );
            positions.shown(&original, generated);
            frame.line = original.line + 1;
            frame.column = original.column + 1;
            frame.script = original.label;
        }
    }
}

/// Groups nodes by class and, within a class, by allocation stack (the top
/// `depth` frames), largest first.
pub fn allocations_by_class(
    s: &HeapSnapshot,
    traces: &AllocationTraces,
    nodes: impl Iterator<Item = u32>,
    depth: usize,
) -> Vec<ClassAllocations> {
    /// Count and bytes.
    type Tally = (u64, u64);
    let mut by_class: HashMap<u32, (u64, u64, HashMap<u32, Tally>)> = HashMap::new();
    for v in nodes {
        let size = s.graph.self_size[v as usize] as u64;
        if size == 0 {
            continue;
        }
        let trace = s.graph.trace_node_id.get(v as usize).copied().unwrap_or(0);
        let entry = by_class.entry(s.class_index[v as usize]).or_default();
        entry.0 += 1;
        entry.1 += size;
        let stack = entry.2.entry(trace).or_default();
        stack.0 += 1;
        stack.1 += size;
    }
    let mut classes: Vec<ClassAllocations> = by_class
        .into_iter()
        .map(|(class, (count, shallow_size, stacks))| {
            // Trace nodes with the same top frames are one stack here.
            let mut merged: HashMap<Vec<Frame>, (u64, u64)> = HashMap::new();
            for (trace, (n, bytes)) in stacks {
                let frames: Vec<Frame> = traces
                    .stack(trace)
                    .into_iter()
                    .take(depth)
                    .cloned()
                    .collect();
                let slot = merged.entry(frames).or_insert((0, 0));
                slot.0 += n;
                slot.1 += bytes;
            }
            let mut stacks: Vec<StackCount> = merged
                .into_iter()
                .map(|(frames, (count, shallow_size))| StackCount {
                    count,
                    shallow_size,
                    frames,
                })
                .collect();
            // Ties by their frames, so the same file always prints the same order.
            stacks.sort_by(|a, b| {
                b.shallow_size
                    .cmp(&a.shallow_size)
                    .then(b.count.cmp(&a.count))
                    .then_with(|| frame_order(&a.frames).cmp(&frame_order(&b.frames)))
            });
            ClassAllocations {
                name: s.strings.get(class).to_owned(),
                count,
                shallow_size,
                stacks,
            }
        })
        .collect();
    classes.sort_by(|a, b| {
        b.shallow_size
            .cmp(&a.shallow_size)
            .then(a.name.cmp(&b.name))
    });
    classes
}

/// One interval of the recording: the objects it allocated that are still
/// alive (the blue part of DevTools' allocation timeline bars).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveBar {
    pub from_seconds: f64,
    pub to_seconds: f64,
    pub count: u64,
    pub size: u64,
}

/// Live objects by the sampling interval that allocated them (the first
/// bar, up to the first tick, stays empty); empty when the snapshot has no
/// time samples (not a `.heaptimeline`).
pub fn live_bars(s: &HeapSnapshot) -> Vec<LiveBar> {
    let samples = &s.extras.samples;
    if samples.is_empty() {
        return Vec::new();
    }
    let mut bars: Vec<LiveBar> = samples
        .iter()
        .enumerate()
        .map(|(i, &(micros, _))| LiveBar {
            from_seconds: if i == 0 {
                0.0
            } else {
                samples[i - 1].0 as f64 / 1e6
            },
            to_seconds: micros as f64 / 1e6,
            count: 0,
            size: 0,
        })
        .collect();
    let g = &s.graph;
    for v in 0..g.node_count() {
        let size = g.self_size[v] as u64;
        if size == 0 {
            continue;
        }
        let id = g.node_id[v] as u64;
        // Objects from before the first tick predate the recording (Node's
        // own start-up): they would dwarf every bar.
        if id <= samples[0].1 {
            continue;
        }
        // The first tick whose last assigned id reaches this one; objects
        // after the last tick count in the last bar.
        let i = samples
            .partition_point(|&(_, last_id)| last_id < id)
            .min(samples.len() - 1);
        bars[i].count += 1;
        bars[i].size += size;
    }
    bars
}

/// A stack's frames as a sortable key.
fn frame_order(frames: &[Frame]) -> Vec<(&str, &str, u32, u32)> {
    frames
        .iter()
        .map(|f| (f.script.as_str(), f.function.as_str(), f.line, f.column))
        .collect()
}
