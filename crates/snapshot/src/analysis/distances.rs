//! Distances from the GC roots, as the Summary view's "Distance" column.
//!
//! Two breadth-first passes: first from the user roots (root children that
//! are not synthetic, plus `(Document DOM trees)`) at distance 1; then from
//! the root itself at [`BASE_SYSTEM_DISTANCE`] (0 when there are no user
//! roots), so nodes reachable only through system roots land at ≥ 10⁸.
//! Weak edges are never followed. A few edges are filtered: a NativeContext's
//! `sloppy_function_map`, descriptor links of `(map descriptors)` arrays,
//! and the first-met edge of each WeakMap ephemeron pair, so a WeakMap value
//! takes the larger of its key's and its table's distance.

use std::collections::{HashSet, VecDeque};

use crate::graph::Graph;
use crate::strings::StringTable;

use super::ephemeron::EphemeronNames;

pub const NO_DISTANCE: i32 = -5;
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;
pub const BASE_UNREACHABLE_DISTANCE: i32 = 200_000_000;

/// JavaScript `parseInt(s, 10)` for the non-negative case DevTools relies on:
/// leading whitespace, optional sign, then digits; None for NaN.
pub fn js_parse_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let v: i64 = t[..digits.min(18)].parse().ok()?;
    Some(if neg { -v } else { v })
}

pub fn user_roots(g: &Graph, strings: &StringTable) -> Vec<u32> {
    let nt = g.node_types();
    g.edges(g.root)
        .map(|e| g.edge_to(e))
        .filter(|&to| {
            g.node_type[to as usize] != nt.synthetic
                || strings.get(g.node_name[to as usize]) == "(Document DOM trees)"
        })
        .collect()
}

pub fn distances(g: &Graph, strings: &StringTable, ephemerons: &mut EphemeronNames) -> Vec<i32> {
    distances_avoiding(g, strings, ephemerons, |_| false)
}

/// Distances as the Retainers view shows them after "Ignore this retainer":
/// the same passes, never entering an `ignored` node; every node they no
/// longer reach (the ignored ones among them) gets its `original` distance
/// (at least 0) plus [`BASE_UNREACHABLE_DISTANCE`]. `ignored` holds node
/// ordinals, sorted.
pub fn distances_ignoring(
    g: &Graph,
    strings: &StringTable,
    original: &[i32],
    ignored: &[u32],
) -> Vec<i32> {
    let mut ephemerons = EphemeronNames::new(strings.len());
    let mut dist = distances_avoiding(g, strings, &mut ephemerons, |v| {
        ignored.binary_search(&v).is_ok()
    });
    for (d, &o) in dist.iter_mut().zip(original) {
        if *d == NO_DISTANCE {
            *d = o.max(0) + BASE_UNREACHABLE_DISTANCE;
        }
    }
    dist
}

fn distances_avoiding(
    g: &Graph,
    strings: &StringTable,
    ephemerons: &mut EphemeronNames,
    // Generic, not `dyn`: the plain distances' `|_| false` compiles away
    // from the per-edge loop.
    avoid: impl Fn(u32) -> bool,
) -> Vec<i32> {
    let nt = g.node_types();
    let et = g.edge_types();
    let n = g.node_count();
    let mut dist = vec![NO_DISTANCE; n];
    // FIFO holding only the frontier, not every node visited.
    let mut queue: VecDeque<u32> = VecDeque::new();
    // Shared by both passes, like DevTools' filter state.
    let mut pending: HashSet<&str> = HashSet::new();

    let mut bfs = |queue: &mut VecDeque<u32>, dist: &mut [i32], ephemerons: &mut EphemeronNames| {
        while let Some(v) = queue.pop_front() {
            let d = dist[v as usize] + 1;
            let vt = g.node_type[v as usize];
            let vname = strings.get(g.node_name[v as usize]);
            let native_context = vt == nt.hidden && vname == "system / NativeContext";
            let map_descriptors = vt == nt.array && vname == "(map descriptors)";
            for e in g.edges(v) {
                let t = g.edge_type(e);
                if t == et.weak {
                    continue;
                }
                let to = g.edge_to(e) as usize;
                if dist[to] != NO_DISTANCE || avoid(to as u32) {
                    continue;
                }
                let named = t != et.element && t != et.hidden;
                if native_context && named && strings.get(g.edge_name[e]) == "sloppy_function_map" {
                    continue;
                }
                if map_descriptors {
                    let index = if named {
                        js_parse_int(strings.get(g.edge_name[e]))
                    } else {
                        Some(g.edge_name[e] as i64)
                    };
                    // NaN compares false both ways in JavaScript: the edge is kept.
                    if let Some(i) = index {
                        if i >= 2 && i % 3 == 1 {
                            continue;
                        }
                    }
                } else if t == et.internal {
                    if let Some(p) = ephemerons.parse(g.edge_name[e], strings) {
                        let shared = &strings.get(g.edge_name[e])[p.shared_from..];
                        if !pending.remove(shared) {
                            pending.insert(shared);
                            continue;
                        }
                    }
                }
                dist[to] = d;
                queue.push_back(to as u32);
            }
        }
    };

    let roots: Vec<u32> = user_roots(g, strings)
        .into_iter()
        .filter(|&u| !avoid(u))
        .collect();
    for &u in &roots {
        dist[u as usize] = 1;
        queue.push_back(u);
    }
    bfs(&mut queue, &mut dist, ephemerons);
    dist[g.root as usize] = if roots.is_empty() {
        0
    } else {
        BASE_SYSTEM_DISTANCE
    };
    queue.clear();
    queue.push_back(g.root);
    bfs(&mut queue, &mut dist, ephemerons);
    dist
}
