//! The Retainers view: who holds a node, sorted as DevTools sorts them, and
//! the retaining path DevTools expands by default (the first retainer,
//! repeatedly, until a user root).

use std::cmp::Ordering;

use crate::column::Column;
use crate::graph::Graph;

use super::classes::utf16_cmp;
use super::distances::{js_parse_int, BASE_UNREACHABLE_DISTANCE};
use super::HeapSnapshot;

/// Incoming edges of every node, built on demand (the summary never needs
/// them). A node's retainers are in reverse edge order, as in DevTools.
pub struct RetainerIndex {
    first: Column<u32>,
    edges: Column<u32>,
}

impl RetainerIndex {
    pub fn build(g: &Graph) -> Self {
        let n = g.node_count();
        let mut first = vec![0u32; n + 1];
        for to in g.edge_targets() {
            first[to as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut fill: Vec<u32> = first[1..].to_vec();
        let mut edges = vec![0u32; g.edge_count()];
        for (e, to) in g.edge_targets().enumerate() {
            let slot = &mut fill[to as usize];
            *slot -= 1;
            edges[*slot as usize] = e as u32;
        }
        RetainerIndex {
            first: first.into(),
            edges: edges.into(),
        }
    }

    /// The CSR offsets and edge lists, for the analysis cache.
    pub(crate) fn columns(&self) -> (&[u32], &[u32]) {
        (&self.first, &self.edges)
    }

    pub(crate) fn from_columns(first: Column<u32>, edges: Column<u32>) -> Self {
        RetainerIndex { first, edges }
    }

    pub fn of(&self, v: u32) -> &[u32] {
        &self.edges[self.first[v as usize] as usize..self.first[v as usize + 1] as usize]
    }
}

/// One step of a retaining path: `from` holds the next node through `edge`.
#[derive(Debug, Clone, Copy)]
pub struct Retainer {
    pub edge: usize,
    pub from: u32,
}

impl HeapSnapshot {
    fn edge_name_is_string(&self, edge: usize) -> bool {
        let et = self.graph.edge_types();
        let t = self.graph.edge_type(edge);
        if t == et.shortcut {
            js_parse_int(self.strings.get(self.graph.edge_name[edge])).is_none()
        } else {
            t != et.element && t != et.hidden
        }
    }

    fn edge_display_name(&self, edge: usize) -> String {
        let g = &self.graph;
        if g.edge_type(edge) == g.edge_types().shortcut {
            let s = self.strings.get(g.edge_name[edge]);
            return js_parse_int(s).map_or_else(|| s.to_owned(), |v| v.to_string());
        }
        g.edge_name_text(edge, &self.strings)
    }

    /// DevTools' edge-name order: `__proto__` last, named before numbered,
    /// then by text.
    fn compare_edge_names(&self, a: usize, b: usize) -> Ordering {
        let (na, nb) = (self.edge_display_name(a), self.edge_display_name(b));
        if nb == "__proto__" {
            return Ordering::Less;
        }
        if na == "__proto__" {
            return Ordering::Greater;
        }
        match (self.edge_name_is_string(a), self.edge_name_is_string(b)) {
            (x, y) if x == y => utf16_cmp(&na, &nb),
            (true, _) => Ordering::Less,
            _ => Ordering::Greater,
        }
    }

    /// Retainers of `v` as the Retainers view lists them: no weak edges, no
    /// edges from the root; sorted by the retainer's distance, then edge name.
    pub fn retainers(&self, index: &RetainerIndex, v: u32) -> Vec<Retainer> {
        self.retainers_by(index, v, &self.distances)
    }

    /// As [`HeapSnapshot::retainers`], sorted by other `distances` (those
    /// of [`HeapSnapshot::distances_ignoring`]).
    pub fn retainers_by(&self, index: &RetainerIndex, v: u32, distances: &[i32]) -> Vec<Retainer> {
        let g = &self.graph;
        let weak = g.edge_types().weak;
        let mut out: Vec<(usize, Retainer)> = index
            .of(v)
            .iter()
            .enumerate()
            .map(|(raw, &e)| {
                let e = e as usize;
                (
                    raw,
                    Retainer {
                        edge: e,
                        from: g.edge_source(e),
                    },
                )
            })
            .filter(|(_, r)| g.edge_type(r.edge) != weak && r.from != g.root)
            .collect();
        out.sort_by(|(ra, a), (rb, b)| {
            let da = distances[a.from as usize];
            let db = distances[b.from as usize];
            da.cmp(&db)
                .then_with(|| self.compare_edge_names(a.edge, b.edge))
                .then(ra.cmp(rb))
        });
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// Distances once the Retainers view ignores the nodes `ignored`
    /// (ordinals, sorted): see [`super::distances::distances_ignoring`].
    pub fn distances_ignoring(&self, ignored: &[u32]) -> Vec<i32> {
        super::distances::distances_ignoring(&self.graph, &self.strings, &self.distances, ignored)
    }

    /// The path DevTools opens for `v`: its first retainer, that one's first
    /// retainer, and so on until a user root (distance 1), an unreachable
    /// node, a cycle, or `max_len` steps. Returned from `v` upwards.
    pub fn retaining_path(&self, index: &RetainerIndex, v: u32, max_len: usize) -> Vec<Retainer> {
        let mut path: Vec<Retainer> = Vec::new();
        let mut seen = std::collections::HashSet::from([v]);
        let mut current = v;
        while path.len() < max_len {
            let Some(&first) = self.retainers(index, current).first() else {
                break;
            };
            path.push(first);
            let d = self.distances[first.from as usize];
            if d <= 1 || d >= BASE_UNREACHABLE_DISTANCE || !seen.insert(first.from) {
                break;
            }
            current = first.from;
        }
        path
    }

    /// The edge as DevTools prints it in a path: `.name`, `[index]`,
    /// `{internal}`, `->context`.
    pub fn edge_label(&self, edge: usize) -> String {
        let name = self.edge_display_name(edge);
        match self.graph.edge_type_name(edge) {
            "context" => format!("->{name}"),
            "element" => format!("[{name}]"),
            "weak" => format!("[[{name}]]"),
            "property" | "shortcut" if name.contains(' ') => format!("[\"{name}\"]"),
            "property" | "shortcut" => format!(".{name}"),
            "internal" | "hidden" | "invisible" => format!("{{{name}}}"),
            _ => format!("?{name}?"),
        }
    }
}
