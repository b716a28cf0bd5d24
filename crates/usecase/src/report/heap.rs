//! The heap-snapshot commands' documents (`summary`, `dominators`,
//! `retainers`, `diff`, `stats`, `timeline`), from the snapshot engine's
//! types.

use std::path::Path;

use leakscope_explore::timeline as explore;
use leakscope_report::{
    common, diff, dominators, retainers, stats, summary, timeline, DiffReport, Document,
    DominatorsReport, RetainersReport, StatsReport, SummaryReport, TimelineReport,
};
use leakscope_snapshot::{self as snapshot, AllocationTraces, HeapSnapshot};
use leakscope_sourcemap::SourceMapReport;

/// One object as the documents show it.
pub fn node(n: &snapshot::NodeInfo) -> common::Node {
    common::Node {
        id: n.id,
        name: n.name.clone(),
        node_type: n.node_type.clone(),
        class_name: n.class_name.clone(),
        shallow_size: n.shallow_size,
        retained_size: n.retained_size,
        distance: n.distance,
    }
}

/// One allocation frame as the documents show it.
pub fn frame(f: &snapshot::Frame) -> common::Frame {
    common::Frame {
        function: f.function.clone(),
        script: f.script.clone(),
        line: f.line,
        column: f.column,
    }
}

/// The Statistics view as the documents show it.
pub fn statistics(s: &snapshot::Statistics) -> common::HeapStatistics {
    common::HeapStatistics {
        total: s.total,
        native: common::NativeStatistics {
            total: s.native.total,
            typed_arrays: s.native.typed_arrays,
        },
        v8heap: common::V8HeapStatistics {
            total: s.v8heap.total,
            code: s.v8heap.code,
            js_arrays: s.v8heap.js_arrays,
            strings: s.v8heap.strings,
            system: s.v8heap.system,
        },
    }
}

/// `summary`'s class table: `rows` as sorted and cut, and the `largest`
/// objects retaining most.
pub fn class_table(s: &HeapSnapshot, rows: &[snapshot::ClassRow], largest: usize) -> SummaryReport {
    let g = &s.graph;
    SummaryReport::Classes(summary::ClassTable {
        schema_version: SummaryReport::SCHEMA_VERSION,
        node_count: g.node_count() as u64,
        edge_count: g.edge_count() as u64,
        root_retained_size: s.retained.of(s.root()),
        total_shallow_size: g.self_size.iter().map(|&x| u64::from(x)).sum(),
        statistics: statistics(&s.statistics),
        classes: rows
            .iter()
            .map(|r| summary::ClassRow {
                key: r.key.clone(),
                name: r.name.clone(),
                count: r.count,
                shallow_size: r.shallow_size,
                retained_size: r.retained_size,
                distance: r.distance,
            })
            .collect(),
        top: s
            .largest_nodes(largest)
            .into_iter()
            .map(|v| node(&s.node_info(v)))
            .collect(),
    })
}

/// `summary --class`'s instances (node ordinals, in the order shown), with
/// their allocation stacks when `traces` has them.
pub fn instance_list(
    s: &HeapSnapshot,
    nodes: &[u32],
    traces: Option<&AllocationTraces>,
) -> SummaryReport {
    let stack_of = |v: u32| -> Vec<common::Frame> {
        let trace = s.graph.trace_node_id.get(v as usize).copied().unwrap_or(0);
        traces
            .map(|t| t.stack(trace).into_iter().take(8).map(frame).collect())
            .unwrap_or_default()
    };
    SummaryReport::Instances(summary::InstanceList {
        schema_version: SummaryReport::SCHEMA_VERSION,
        instances: nodes
            .iter()
            .map(|&v| summary::Instance {
                node: node(&s.node_info(v)),
                allocation_stack: stack_of(v),
            })
            .collect(),
    })
}

/// The top of the dominator tree: the `top` largest children per level,
/// `depth` levels (at least one).
pub fn dominators_report(s: &HeapSnapshot, top: usize, depth: usize) -> DominatorsReport {
    fn children(s: &HeapSnapshot, v: u32, top: usize, depth: usize) -> Vec<dominators::Dominator> {
        if depth == 0 {
            return Vec::new();
        }
        let mut kids = s.dominated_by(v).to_vec();
        kids.sort_by(|&a, &b| s.retained.of(b).cmp(&s.retained.of(a)).then(a.cmp(&b)));
        kids.truncate(top);
        kids.into_iter()
            .map(|k| dominators::Dominator {
                node: node(&s.node_info(k)),
                dominates: children(s, k, top, depth - 1),
            })
            .collect()
    }
    DominatorsReport {
        schema_version: DominatorsReport::SCHEMA_VERSION,
        dominators: children(s, s.root(), top, depth.max(1)),
    }
}

/// `Class name` for an object, or just the class when the name adds nothing
/// (a long name shortened to 40 characters), as a retaining chain names it.
pub fn describe(s: &HeapSnapshot, v: u32) -> String {
    let class = s.class_name(v);
    let name = s.display_name(v);
    if name.is_empty() || name == class {
        class.to_owned()
    } else {
        format!("{class} {}", ellipsize(&name, 40))
    }
}

/// On one line, at most `max` characters, `…` ending a shortened one
/// (strings can be 1 KiB): for names in reports and table cells alike.
pub fn ellipsize(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The retaining path of each of `targets` (node ordinals), at most `depth`
/// references long, as DevTools' Retainers pane expands it.
pub fn retainers_report(s: &HeapSnapshot, targets: &[u32], depth: usize) -> RetainersReport {
    let index = s.retainer_index();
    let paths = targets
        .iter()
        .map(|&v| {
            let path = s.retaining_path(&index, v, depth);
            let start = path.last().map_or(v, |r| r.from);
            let from_roots = s.distances[start as usize] == 1;
            let mut hops = Vec::new();
            let mut chain = String::from(if from_roots {
                "(GC roots) → "
            } else {
                "… → "
            });
            chain.push_str(&describe(s, start));
            for r in path.iter().rev() {
                let to = s.graph.edge_to(r.edge);
                let label = s.edge_label(r.edge);
                chain.push_str(&format!(" {label} → {}", describe(s, to)));
                hops.push(retainers::Hop {
                    edge: label,
                    edge_type: s.graph.edge_type_name(r.edge).to_owned(),
                    to: node(&s.node_info(to)),
                });
            }
            retainers::RetainingPath {
                target: node(&s.node_info(v)),
                start: node(&s.node_info(start)),
                from_roots,
                hops,
                chain,
            }
        })
        .collect();
    RetainersReport {
        schema_version: RetainersReport::SCHEMA_VERSION,
        paths,
    }
}

/// The Comparison view's rows as their document.
pub fn diff_report(rows: &[snapshot::ClassDiff]) -> DiffReport {
    DiffReport {
        schema_version: DiffReport::SCHEMA_VERSION,
        classes: rows
            .iter()
            .map(|r| diff::ClassDiff {
                key: r.key.clone(),
                name: r.name.clone(),
                added_count: r.added_count,
                removed_count: r.removed_count,
                count_delta: r.count_delta,
                added_size: r.added_size,
                removed_size: r.removed_size,
                size_delta: r.size_delta,
            })
            .collect(),
    }
}

/// The Statistics view and the duplicated strings (as cut) as their
/// document.
pub fn stats_report(
    st: &snapshot::Statistics,
    duplicated: &[snapshot::analysis::summary::DuplicateString],
) -> StatsReport {
    StatsReport {
        schema_version: StatsReport::SCHEMA_VERSION,
        statistics: statistics(st),
        duplicated_strings: duplicated
            .iter()
            .map(|d| stats::DuplicateString {
                text: d.text.clone(),
                count: d.count,
                total_size: d.total_size,
                wasted_size: d.wasted_size,
            })
            .collect(),
    }
}

/// What a window of a recording still holds: totals over all `classes`,
/// the first `top` of them listed.
pub fn timeline_report(
    file: &Path,
    recording_seconds: f64,
    (from_seconds, to_seconds): (f64, f64),
    classes: &[explore::ClassAllocations],
    top: usize,
    source_maps: &SourceMapReport,
) -> TimelineReport {
    TimelineReport {
        schema_version: TimelineReport::SCHEMA_VERSION,
        file: file.to_owned(),
        recording_seconds,
        from_seconds,
        to_seconds,
        objects: classes.iter().map(|c| c.count).sum(),
        shallow_size: classes.iter().map(|c| c.shallow_size).sum(),
        classes: classes
            .iter()
            .take(top)
            .map(|c| timeline::ClassAllocations {
                name: c.name.clone(),
                count: c.count,
                shallow_size: c.shallow_size,
                stacks: c
                    .stacks
                    .iter()
                    .map(|st| timeline::StackCount {
                        count: st.count,
                        shallow_size: st.shallow_size,
                        frames: st.frames.iter().map(frame).collect(),
                    })
                    .collect(),
            })
            .collect(),
        source_maps: super::source_maps(source_maps),
    }
}
