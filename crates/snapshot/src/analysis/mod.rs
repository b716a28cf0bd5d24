//! The analyses behind DevTools' Memory panel, run in DevTools' order
//! (later steps read what earlier ones rewrote):
//! DOM state → page flags → essential edges → shallow sizes → dominators and
//! retained sizes → distances → class names and interfaces → statistics.

pub mod allocation;
pub mod classes;
pub mod diff;
pub mod distances;
pub mod dom_state;
pub mod dominators;
pub mod ephemeron;
pub mod essential;
pub mod filters;
pub mod names;
pub mod retainers;
pub mod shallow;
pub mod summary;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bitset::BitSet;
use crate::column::Column;
use crate::graph::Graph;
use crate::reader::{Extras, RawSnapshot};
use crate::strings::StringTable;

pub use classes::InterfaceDefinition;
pub use dominators::RetainedSizes;
pub use retainers::RetainerIndex;

/// How much to compute: comparing snapshots needs only class names and
/// shallow sizes; everything else needs the dominator tree too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Classes,
    Full,
}

/// The Statistics view.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Statistics {
    pub total: u64,
    pub native: NativeStatistics,
    pub v8heap: V8HeapStatistics,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NativeStatistics {
    pub total: u64,
    pub typed_arrays: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct V8HeapStatistics {
    pub total: u64,
    pub code: u64,
    pub js_arrays: u64,
    pub strings: u64,
    pub system: u64,
}

impl Statistics {
    /// Sets the heap total (root retained size plus extra native bytes) and
    /// the V8 heap's share of it.
    fn set_total(&mut self, total: u64) {
        self.total = total;
        self.v8heap.total = total.saturating_sub(self.native.total);
    }
}

/// A fully analysed heap snapshot.
pub struct HeapSnapshot {
    pub graph: Graph,
    pub strings: StringTable,
    pub extras: Extras,
    /// Class name string index per node.
    pub class_index: Column<u32>,
    pub interfaces: Vec<InterfaceDefinition>,
    pub(crate) interface_names: HashMap<String, u32>,
    /// Distance from the roots per node (see [`distances`]); empty at [`Depth::Classes`].
    pub distances: Column<i32>,
    /// Immediate dominator per node; empty at [`Depth::Classes`].
    pub idom: Column<u32>,
    /// Retained size per node; empty at [`Depth::Classes`].
    pub retained: RetainedSizes,
    /// Dominator-tree children in CSR form: node `v`'s are
    /// `dominated[first_dominated[v]..first_dominated[v+1]]`.
    pub first_dominated: Column<u32>,
    pub dominated: Column<u32>,
    pub statistics: Statistics,
    /// Where this analysis is cached, if it is (for its retainer index).
    pub(crate) slot: Option<Arc<dyn RetainerStore>>,
}

/// Keeps a retainer index across runs (the analysis cache's entry), so the
/// analysis asks for one without knowing the cache.
pub(crate) trait RetainerStore: std::fmt::Debug + Send + Sync {
    /// The kept index, or one built now and kept for next time.
    fn retainer_index(&self, graph: &Graph) -> RetainerIndex;
}

impl HeapSnapshot {
    /// Runs DevTools' analysis on a read snapshot, telling `observer` each
    /// named step as it starts.
    pub fn analyze(
        raw: RawSnapshot,
        depth: Depth,
        observer: &mut dyn leakscope_progress::Observer,
    ) -> Self {
        let mut step = |name: &str| observer.progress(name);
        let RawSnapshot {
            mut graph,
            mut strings,
            extras,
        } = raw;
        step("Propagating DOM state");
        dom_state::propagate(&mut graph, &mut strings);
        graph.detachedness = Vec::new();
        let has_user_roots = !distances::user_roots(&graph, &strings).is_empty();
        let full = depth == Depth::Full;

        // Two cores: page flags beside shallow sizes, then essential edges in
        // halves; then the dominator tree (the long pole) on one core while
        // class names and statistics run on the other, and distances once the
        // dominator thread is past its memory peak.
        let mut self_size = std::mem::take(&mut graph.self_size);
        let page = std::thread::scope(|scope| {
            let (g, strs) = (&graph, &strings);
            let page = full.then(|| scope.spawn(move || essential::page_objects(g, strs)));
            step("Calculating shallow sizes");
            shallow::fold_owned_sizes(g, &mut self_size, strs, has_user_roots);
            page.map(|p| p.join().expect("page-objects thread"))
        });
        let essential = page.map(|page| {
            step("Computing essential edges");
            essential::essential_edges(&graph, &strings, &page)
        });
        let mut interface_names = HashMap::new();
        let (dominance, dist, class_index, interfaces, statistics) = std::thread::scope(|scope| {
            let (g, sizes) = (&graph, &self_size);
            // Distances wait until the dominator thread is past its memory peak.
            let (past_peak, peak_passed) = std::sync::mpsc::channel::<()>();
            let dominance = essential.map(|essential| {
                scope.spawn(move || {
                    let tree = dominators::dominator_tree(g, essential, move || {
                        let _ = past_peak.send(());
                    });
                    let retained = dominators::retained_sizes(&tree, sizes);
                    let dominators::DominatorTree { idom, preorder } = tree;
                    drop(preorder);
                    let (first, dominated) = dominated_children(&idom, g.root);
                    (idom, retained, first, dominated)
                })
            });
            step("Calculating class names");
            let (mut class_index, appended) = classes::class_indexes(g, &strings);
            for name in &appended {
                strings.push(name);
            }
            let interfaces = classes::infer_interfaces(g, &strings);
            classes::apply_interfaces(
                g,
                &mut strings,
                &mut class_index,
                &interfaces,
                &mut interface_names,
            );
            let statistics = full.then(|| {
                step("Calculating statistics");
                statistics(g, sizes, &strings, extras.extra_native_bytes)
            });
            if dominance.is_some() {
                step("Building the dominator tree");
                let _ = peak_passed.recv();
            }
            let dist = if full {
                step("Calculating distances");
                let mut ephemerons = ephemeron::EphemeronNames::new(strings.len());
                distances::distances(g, &strings, &mut ephemerons)
            } else {
                Vec::new()
            };

            let dominance = dominance.map(|d| d.join().expect("dominator thread"));
            (dominance, dist, class_index, interfaces, statistics)
        });
        graph.self_size = self_size;
        let (idom, retained, first_dominated, dominated) = dominance.unwrap_or_default();
        let mut statistics = statistics.unwrap_or_default();
        if let Some(root_retained) = retained.get(graph.root) {
            statistics.set_total(root_retained + extras.extra_native_bytes);
        }
        HeapSnapshot {
            graph,
            strings,
            extras,
            class_index: class_index.into(),
            interfaces,
            interface_names,
            distances: dist.into(),
            idom: idom.into(),
            retained,
            first_dominated: first_dominated.into(),
            dominated: dominated.into(),
            statistics,
            slot: None,
        }
    }

    pub(crate) fn with_slot(mut self, slot: Arc<dyn RetainerStore>) -> Self {
        self.slot = Some(slot);
        self
    }

    /// Every node's retainers: from the analysis cache when this snapshot
    /// came from or went into it (built once and kept beside it), else built.
    pub fn retainer_index(&self) -> RetainerIndex {
        match &self.slot {
            Some(slot) => slot.retainer_index(&self.graph),
            None => RetainerIndex::build(&self.graph),
        }
    }

    pub fn is_full(&self) -> bool {
        !self.retained.is_empty()
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn root(&self) -> u32 {
        self.graph.root
    }

    pub fn class_name(&self, v: u32) -> &str {
        self.strings.get(self.class_index[v as usize])
    }

    pub fn display_name(&self, v: u32) -> String {
        names::display_name(&self.graph, &self.strings, v)
    }

    /// The ordinal of the node with snapshot id `id`.
    pub fn node_by_id(&self, id: u32) -> Option<u32> {
        self.graph
            .node_id
            .iter()
            .position(|&i| i == id)
            .map(|v| v as u32)
    }

    /// Reclassifies plain objects by another snapshot's interfaces (for
    /// comparisons, so class keys line up), or by this one's own again.
    pub fn apply_interfaces(&mut self, definitions: &[InterfaceDefinition]) {
        classes::apply_interfaces(
            &self.graph,
            &mut self.strings,
            &mut self.class_index,
            definitions,
            &mut self.interface_names,
        );
    }

    /// The dominator-tree children of `v`.
    pub fn dominated_by(&self, v: u32) -> &[u32] {
        let v = v as usize;
        &self.dominated[self.first_dominated[v] as usize..self.first_dominated[v + 1] as usize]
    }
}

/// The dominator tree's children lists in CSR form (the root excluded),
/// each in node order.
fn dominated_children(idom: &[u32], root: u32) -> (Vec<u32>, Vec<u32>) {
    let n = idom.len();
    let root = root as usize;
    let mut first = vec![0u32; n + 1];
    for (v, &d) in idom.iter().enumerate() {
        if v != root {
            first[d as usize] += 1;
        }
    }
    // Running ends; filling backwards leaves `first` at each list's start.
    for i in 0..n {
        first[i + 1] += first[i];
    }
    let mut dominated = vec![0u32; n.saturating_sub(1)];
    for (v, &d) in idom.iter().enumerate().rev() {
        if v != root {
            first[d as usize] -= 1;
            dominated[first[d as usize] as usize] = v as u32;
        }
    }
    (first, dominated)
}

/// The Statistics view but for the totals, which need the root's retained
/// size: see [`Statistics::set_total`].
fn statistics(
    g: &Graph,
    self_size: &[u32],
    names: &StringTable,
    extra_native_bytes: u64,
) -> Statistics {
    let nt = g.node_types();
    let et = g.edge_types();
    let mut native = extra_native_bytes;
    let (mut typed_arrays, mut code, mut strings, mut js_arrays, mut system) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    // Which `elements` stores have exactly one retainer: count lazily,
    // only for the stores of arrays.
    let mut elements_of: Vec<(u32, u32)> = Vec::new();
    for v in 0..g.node_count() {
        let size = self_size[v] as u64;
        let t = g.node_type[v];
        if t == nt.hidden {
            system += size;
        } else if t == nt.native {
            native += size;
            if names.get(g.node_name[v]) == "system / JSArrayBufferData" {
                typed_arrays += size;
            }
        } else if t == nt.code {
            code += size;
        } else if t == nt.cons_string || t == nt.sliced_string || t == nt.string {
            strings += size;
        } else if names.get(g.node_name[v]) == "Array" {
            js_arrays += size;
            let store = g.edges(v as u32).find(|&e| {
                g.edge_type(e) == et.internal && names.get(g.edge_name[e]) == "elements"
            });
            if let Some(e) = store {
                elements_of.push((v as u32, g.edge_to(e)));
            }
        }
    }
    if !elements_of.is_empty() {
        let n = g.node_count();
        let mut store = BitSet::new(n);
        for &(_, s) in &elements_of {
            store.set(s as usize);
        }
        let (mut once, mut twice) = (BitSet::new(n), BitSet::new(n));
        for to in g.edge_targets() {
            let to = to as usize;
            if store.get(to) {
                if once.get(to) {
                    twice.set(to);
                }
                once.set(to);
            }
        }
        for (_, s) in elements_of {
            if !twice.get(s as usize) {
                js_arrays += self_size[s as usize] as u64;
            }
        }
    }
    Statistics {
        total: 0,
        native: NativeStatistics {
            total: native,
            typed_arrays,
        },
        v8heap: V8HeapStatistics {
            total: 0,
            code,
            js_arrays,
            strings,
            system,
        },
    }
}
