//! Page-object flags and the essential edges the dominator tree is built on.

use crate::bitset::BitSet;
use crate::graph::Graph;
use crate::strings::StringTable;

use super::ephemeron::EphemeronNames;

/// Nodes reachable, through non-weak edges, from the root's `shortcut`
/// children (the global objects) and from `(Document DOM trees)`: the objects
/// the program owns, as opposed to those only the runtime or a debugger holds.
pub fn page_objects(g: &Graph, strings: &StringTable) -> BitSet {
    let nt = g.node_types();
    let et = g.edge_types();
    let mut page = BitSet::new(g.node_count());
    let mut stack: Vec<u32> = Vec::new();
    for e in g.edges(g.root) {
        let to = g.edge_to(e);
        let t = g.edge_type(e);
        let seed = if t == et.element {
            g.node_type[to as usize] == nt.synthetic
                && strings.get(g.node_name[to as usize]) == "(Document DOM trees)"
        } else {
            t == et.shortcut
        };
        if seed {
            page.set(to as usize);
            stack.push(to);
        }
    }
    while let Some(v) = stack.pop() {
        for e in g.edges(v) {
            let to = g.edge_to(e) as usize;
            if page.get(to) || g.edge_type(e) == et.weak {
                continue;
            }
            page.set(to);
            stack.push(to as u32);
        }
    }
    page
}

/// An edge is essential (retains its target for dominator purposes) unless it
/// is weak, a self edge, the table's half of a WeakMap ephemeron pair (the
/// key's half is kept), or — from a node other than the root — a `shortcut`
/// or an edge from a non-page object into a page object.
pub fn essential_edges(g: &Graph, strings: &StringTable, page: &BitSet) -> BitSet {
    // Two halves by edge count, one per core, each with its own name cache.
    let middle = g.first_edge[g.node_count()] / 2;
    let split = g
        .first_edge
        .partition_point(|&f| f < middle)
        .min(g.node_count()) as u32;
    let (mut first, second) = std::thread::scope(|scope| {
        let other =
            scope.spawn(|| essential_edges_of(g, strings, page, split..g.node_count() as u32));
        let mine = essential_edges_of(g, strings, page, 0..split);
        (mine, other.join().expect("essential-edges thread"))
    });
    first.union_with(&second);
    first
}

fn essential_edges_of(
    g: &Graph,
    strings: &StringTable,
    page: &BitSet,
    nodes: std::ops::Range<u32>,
) -> BitSet {
    let et = g.edge_types();
    let mut ephemerons = EphemeronNames::new(strings.len());
    let mut essential = BitSet::new(g.edge_count());
    for v in nodes {
        let id = g.node_id[v as usize] as u64;
        let is_root = v == g.root;
        let v_page = page.get(v as usize);
        for e in g.edges(v) {
            let t = g.edge_type(e);
            if t == et.internal {
                if let Some(p) = ephemerons.parse(g.edge_name[e], strings) {
                    if p.table_id == id {
                        continue;
                    }
                }
            }
            if t == et.weak {
                continue;
            }
            let to = g.edge_to(e);
            if to == v {
                continue;
            }
            if !is_root && (t == et.shortcut || (page.get(to as usize) && !v_page)) {
                continue;
            }
            essential.set(e);
        }
    }
    essential
}
