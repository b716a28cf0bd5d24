//! DevTools' shallow-size re-attribution: a hidden or array node (or a
//! native `system / ExternalStringData`) owned by exactly one other node
//! through non-weak edges has its size moved into that owner, so a JS array
//! shows the size of its backing store and `(system)` shrinks to what is
//! truly shared. Skipped when the snapshot has no user roots (internals
//! exposed), where raw sizes are the honest answer.

use crate::graph::Graph;
use crate::strings::StringTable;

const UNVISITED: u32 = u32::MAX;
const MULTIPLE_OWNERS: u32 = u32::MAX - 1;

/// `self_size` is passed apart from the graph so the graph can be shared
/// with the dominator thread meanwhile.
pub fn fold_owned_sizes(
    g: &Graph,
    self_size: &mut [u32],
    strings: &StringTable,
    has_user_roots: bool,
) {
    if !has_user_roots {
        return;
    }
    let nt = g.node_types();
    let et = g.edge_types();
    let n = g.node_count();
    let mut owner = vec![UNVISITED; n];
    let mut work: Vec<u32> = Vec::new();
    for v in 0..n {
        let t = g.node_type[v];
        let owned_kind = t == nt.hidden
            || t == nt.array
            || (t == nt.native && strings.get(g.node_name[v]) == "system / ExternalStringData");
        if !owned_kind {
            owner[v] = v as u32;
            work.push(v as u32);
        }
    }
    while let Some(v) = work.pop() {
        let o = owner[v as usize];
        for e in g.edges(v) {
            if g.edge_type(e) == et.weak {
                continue;
            }
            let to = g.edge_to(e);
            let current = owner[to as usize];
            if current == UNVISITED {
                owner[to as usize] = o;
                work.push(to);
            } else if current != to && current != o && current != MULTIPLE_OWNERS {
                owner[to as usize] = MULTIPLE_OWNERS;
                work.push(to);
            }
        }
    }
    for v in 0..n {
        let o = owner[v];
        if o == UNVISITED || o == MULTIPLE_OWNERS || o as usize == v {
            continue;
        }
        if g.node_type[o as usize] == nt.synthetic || o == g.root {
            continue;
        }
        let size = std::mem::take(&mut self_size[v]);
        self_size[o as usize] = self_size[o as usize].wrapping_add(size);
    }
}
