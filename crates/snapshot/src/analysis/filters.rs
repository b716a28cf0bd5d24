//! DevTools' Summary filters: which objects a Summary counts.
//!
//! - *Allocated before S1 / between S(k−1) and S(k)*: an id range. V8 gives
//!   each new object a larger id than any before it, and keeps an object's
//!   id from snapshot to snapshot, so the ids above the largest JS id of an
//!   earlier snapshot of the same process are exactly the objects allocated
//!   since it. Only odd ids count: V8 numbers heap objects with odd ids in
//!   allocation order, but embedder (native) nodes with even ids that are
//!   not (DevTools compares every id, and so lists native objects present
//!   in both snapshots as "allocated between" them; the Comparison view and
//!   this filter agree here).
//! - *Retained by detached DOM nodes* and *by event handlers*: the objects
//!   reachable from the root but no longer reachable once the walk avoids
//!   edges into those holders (DevTools' named filters).

use std::collections::VecDeque;

use crate::bitset::BitSet;

use super::HeapSnapshot;

/// Which objects a Summary shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeFilter {
    /// JavaScript heap objects (odd ids) whose id is in `(after, up_to]`.
    Ids { after: u32, up_to: u32 },
    /// Objects kept alive only through detached DOM nodes (native nodes
    /// named `Detached …`).
    RetainedByDetachedDom,
    /// Objects kept alive only through event listeners: Node's
    /// `EventEmitter` (`_events`), `EventTarget` (`Symbol(kEvents)`), and
    /// native `…EventListener` nodes.
    RetainedByEventHandlers,
}

impl HeapSnapshot {
    /// The largest odd (JavaScript object) id: the boundary DevTools uses
    /// for "allocated before / between snapshots".
    pub fn max_js_id(&self) -> u32 {
        self.graph
            .node_id
            .iter()
            .copied()
            .filter(|id| id % 2 == 1)
            .max()
            .unwrap_or(0)
    }

    /// The nodes `filter` keeps.
    pub fn nodes_matching(&self, filter: NodeFilter) -> BitSet {
        let g = &self.graph;
        let n = g.node_count();
        match filter {
            NodeFilter::Ids { after, up_to } => {
                let mut keep = BitSet::new(n);
                for (v, &id) in g.node_id.iter().enumerate() {
                    if id % 2 == 1 && id > after && id <= up_to {
                        keep.set(v);
                    }
                }
                keep
            }
            NodeFilter::RetainedByDetachedDom => {
                let native = g.node_types().native;
                self.retained_only_through(|_, to| {
                    g.node_type[to as usize] == native
                        && self
                            .strings
                            .get(g.node_name[to as usize])
                            .starts_with("Detached ")
                })
            }
            NodeFilter::RetainedByEventHandlers => {
                let native = g.node_types().native;
                let property = g.edge_types().property;
                self.retained_only_through(|e, to| {
                    (g.edge_type(e) == property && {
                        let name = self.strings.get(g.edge_name[e]);
                        name == "_events" || name == "Symbol(kEvents)"
                    }) || (g.node_type[to as usize] == native
                        && self
                            .strings
                            .get(g.node_name[to as usize])
                            .contains("EventListener"))
                })
            }
        }
    }

    /// Nodes reachable from the root (no weak edges) that are not reachable
    /// once every edge `avoid(edge, target)` says is skipped.
    fn retained_only_through(&self, avoid: impl Fn(usize, u32) -> bool) -> BitSet {
        let all = self.reachable(|_, _| false);
        let without = self.reachable(avoid);
        let mut only = BitSet::new(self.graph.node_count());
        for v in 0..self.graph.node_count() {
            if all.get(v) && !without.get(v) {
                only.set(v);
            }
        }
        only
    }

    fn reachable(&self, avoid: impl Fn(usize, u32) -> bool) -> BitSet {
        let g = &self.graph;
        let weak = g.edge_types().weak;
        let mut seen = BitSet::new(g.node_count());
        let mut queue = VecDeque::from([g.root]);
        seen.set(g.root as usize);
        while let Some(v) = queue.pop_front() {
            for e in g.edges(v) {
                let to = g.edge_to(e);
                if g.edge_type(e) == weak || seen.get(to as usize) || avoid(e, to) {
                    continue;
                }
                seen.set(to as usize);
                queue.push_back(to);
            }
        }
        seen
    }
}
