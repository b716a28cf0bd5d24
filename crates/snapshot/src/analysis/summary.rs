//! The Summary view: one row per class key with count, shallow size,
//! retained size and distance; and per-node descriptions.
//!
//! A class key is the class name, qualified by the constructor's source
//! location for objects that have one (two `Request` classes from different
//! files are different rows). A class's retained size adds up the retained
//! sizes of its instances that are not dominated by another instance of the
//! same class, so nested instances are not counted twice.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use serde::Serialize;

use super::HeapSnapshot;
use crate::bitset::BitSet;

/// One row of the Summary view.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassRow {
    /// `,Name` or `scriptId,line,column,Name`, as DevTools keys classes.
    pub key: String,
    pub name: String,
    pub count: u64,
    pub shallow_size: u64,
    pub retained_size: u64,
    pub distance: i32,
    /// Instances (node ordinals), in node order; see [`HeapSnapshot::sort_by_id`].
    #[serde(skip)]
    pub instances: Vec<u32>,
}

/// One node, described as the Summary and Retainers views show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub id: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub node_type: String,
    pub class_name: String,
    pub shallow_size: u64,
    pub retained_size: u64,
    pub distance: i32,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum ClassKey {
    Name(u32),
    Located {
        script_id: u32,
        line: u32,
        column: u32,
        name: u32,
    },
}

impl HeapSnapshot {
    fn public_key(&self, key: ClassKey) -> String {
        match key {
            ClassKey::Name(i) => format!(",{}", self.strings.get(i)),
            ClassKey::Located {
                script_id,
                line,
                column,
                name,
            } => format!("{script_id},{line},{column},{}", self.strings.get(name)),
        }
    }

    /// The Summary view's rows (only nodes with a non-zero shallow size
    /// count), unsorted, each with its instances.
    pub fn class_rows(&self) -> Vec<ClassRow> {
        self.rows(true, None)
    }

    /// [`HeapSnapshot::class_rows`] of the nodes in `keep` alone (a Summary
    /// filter): counts, sizes and distances of the kept instances, and a
    /// class's retained size adds those not dominated by another kept
    /// instance of the class, as DevTools filters.
    pub fn class_rows_of(&self, keep: &BitSet) -> Vec<ClassRow> {
        self.rows(true, Some(keep))
    }

    /// [`HeapSnapshot::class_rows`] without instance lists: the totals
    /// alone, without a word per node.
    pub fn class_totals(&self) -> Vec<ClassRow> {
        self.rows(false, None)
    }

    fn rows(&self, with_instances: bool, keep: Option<&BitSet>) -> Vec<ClassRow> {
        let g = &self.graph;
        let nt = g.node_types();
        let n = g.node_count();
        // Pass 1: each counted node's dense class, and each class's totals.
        let mut dense_by_name = vec![u32::MAX; self.strings.len()];
        let mut dense_located: FxHashMap<ClassKey, u32> = FxHashMap::default();
        let mut keys: Vec<ClassKey> = Vec::new();
        let mut rows: Vec<ClassRow> = Vec::new();
        let mut class_of = vec![u32::MAX; n];
        let mut locations = g.locations.iter().peekable();
        for v in 0..n {
            let size = g.self_size[v];
            if size == 0 || keep.is_some_and(|k| !k.get(v)) {
                continue;
            }
            let name = self.class_index[v];
            let mut location = None;
            if g.node_type[v] == nt.object {
                while locations.next_if(|l| (l.node as usize) < v).is_some() {}
                location = locations.next_if(|l| l.node as usize == v);
            }
            let dense = match location {
                None => {
                    let slot = &mut dense_by_name[name as usize];
                    if *slot == u32::MAX {
                        *slot = keys.len() as u32;
                        keys.push(ClassKey::Name(name));
                    }
                    *slot
                }
                Some(l) => {
                    let key = ClassKey::Located {
                        script_id: l.script_id,
                        line: l.line,
                        column: l.column,
                        name,
                    };
                    *dense_located.entry(key).or_insert_with(|| {
                        keys.push(key);
                        keys.len() as u32 - 1
                    })
                }
            };
            if dense as usize == rows.len() {
                rows.push(ClassRow {
                    key: String::new(),
                    name: self.strings.get(name).to_owned(),
                    count: 0,
                    shallow_size: 0,
                    retained_size: 0,
                    distance: i32::MAX,
                    instances: Vec::new(),
                });
            }
            class_of[v] = dense;
            let row = &mut rows[dense as usize];
            row.count += 1;
            row.shallow_size += size as u64;
            row.distance = row
                .distance
                .min(self.distances.get(v).copied().unwrap_or(0));
        }
        // Pass 2: instance lists allocated once at their final size.
        if with_instances {
            for row in &mut rows {
                row.instances.reserve_exact(row.count as usize);
            }
            for (v, &c) in class_of.iter().enumerate() {
                if c != u32::MAX {
                    rows[c as usize].instances.push(v as u32);
                }
            }
        }
        if self.is_full() {
            self.add_class_retained_sizes(&class_of, &mut rows);
        }
        for (row, key) in rows.iter_mut().zip(&keys) {
            row.key = self.public_key(*key);
        }
        // Distinct internal keys can share a public key (two string entries
        // with the same text); as in DevTools, the later class wins.
        let mut by_key: FxHashMap<&str, usize> = FxHashMap::default();
        for (i, row) in rows.iter().enumerate() {
            by_key.insert(&row.key, i);
        }
        let mut keep = vec![false; rows.len()];
        for &i in by_key.values() {
            keep[i] = true;
        }
        rows.into_iter()
            .zip(keep)
            .filter_map(|(r, k)| k.then_some(r))
            .collect()
    }

    /// Depth-first walk of the dominator tree, counting how many ancestors of
    /// each class are on the current path. The stack holds each open node
    /// with the range of its children still to visit, so a step reads the
    /// CSR offsets once per node.
    fn add_class_retained_sizes(&self, class_of: &[u32], rows: &mut [ClassRow]) {
        let mut on_path = vec![0u32; rows.len()];
        let (first, dominated) = (&self.first_dominated, &self.dominated);
        let children = |v: u32| first[v as usize]..first[v as usize + 1];
        let root = self.root();
        let mut enter = |v: u32, on_path: &mut [u32]| {
            let c = class_of[v as usize];
            if c != u32::MAX {
                if on_path[c as usize] == 0 {
                    rows[c as usize].retained_size += self.retained.of(v);
                }
                on_path[c as usize] += 1;
            }
        };
        enter(root, &mut on_path);
        let mut stack: Vec<(u32, std::ops::Range<u32>)> = vec![(root, children(root))];
        while let Some((v, next)) = stack.last_mut() {
            if let Some(i) = next.next() {
                let child = dominated[i as usize];
                enter(child, &mut on_path);
                stack.push((child, children(child)));
            } else {
                let c = class_of[*v as usize];
                if c != u32::MAX {
                    on_path[c as usize] -= 1;
                }
                stack.pop();
            }
        }
    }

    /// Sorts node ordinals by snapshot id (the order comparisons walk in).
    pub fn sort_by_id(&self, nodes: &mut [u32]) {
        let ids = &self.graph.node_id;
        nodes.sort_unstable_by_key(|&v| ids[v as usize]);
    }

    pub fn node_info(&self, v: u32) -> NodeInfo {
        let i = v as usize;
        NodeInfo {
            id: self.graph.node_id[i],
            name: self.display_name(v),
            node_type: self.graph.type_name(v).to_owned(),
            class_name: self.class_name(v).to_owned(),
            shallow_size: self.graph.self_size[i] as u64,
            retained_size: self.retained.get(v).unwrap_or(0),
            distance: self.distances.get(i).copied().unwrap_or(0),
        }
    }

    /// The `count` nodes with the largest retained sizes (root excluded),
    /// largest first, ties by ordinal. A heap of the best so far (worst on
    /// top) rather than an array of every node: this runs at the end of an
    /// analysis, when its memory is at a peak.
    pub fn largest_nodes(&self, count: usize) -> Vec<u32> {
        let root = self.root();
        let mut best: BinaryHeap<(Reverse<u64>, u32)> = BinaryHeap::with_capacity(count + 1);
        for v in (0..self.node_count() as u32).filter(|&v| v != root) {
            let key = (Reverse(self.retained.of(v)), v);
            if best.len() < count {
                best.push(key);
            } else if best.peek().is_some_and(|worst| key < *worst) {
                best.pop();
                best.push(key);
            }
        }
        best.into_sorted_vec().into_iter().map(|(_, v)| v).collect()
    }
}

/// Strings whose text occurs more than once: memory spent on copies.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateString {
    pub text: String,
    pub count: u64,
    pub total_size: u64,
    /// Bytes held by all copies but the smallest.
    pub wasted_size: u64,
    /// The copies (node ordinals), in node order: who holds each string.
    #[serde(skip)]
    pub copies: Vec<u32>,
}

impl HeapSnapshot {
    /// The "Duplicated strings" filter: string and (non-flat) concatenated
    /// string nodes of non-zero size, grouped by text; most waste first.
    pub fn duplicate_strings(&self) -> Vec<DuplicateString> {
        let g = &self.graph;
        let nt = g.node_types();
        // text -> group; a group is (copies, total size, smallest copy). A
        // plain string's text is borrowed from the string table: only
        // concatenated ones are built. Sized up front: growing would hash
        // every text again. Each text node's group is kept (a word per
        // string) so the copies are listed without hashing twice.
        let is_text = |v: usize| g.node_type[v] == nt.string || g.node_type[v] == nt.cons_string;
        let texts = (0..g.node_count()).filter(|&v| is_text(v)).count();
        let mut by_text: FxHashMap<Cow<str>, u32> =
            FxHashMap::with_capacity_and_hasher(texts, Default::default());
        let mut groups: Vec<(u64, u64, u64)> = Vec::new();
        let mut group_of: Vec<(u32, u32)> = Vec::with_capacity(texts);
        let (mut text, mut stack) = (String::new(), Vec::new());
        for v in 0..g.node_count() as u32 {
            let t = g.node_type[v as usize];
            let size = g.self_size[v as usize] as u64;
            if !is_text(v as usize) || size == 0 || self.is_flat_cons_string(v) {
                continue;
            }
            let fresh = groups.len() as u32;
            let group = if t == nt.string {
                let text = self.strings.get(g.node_name[v as usize]);
                *by_text.entry(Cow::Borrowed(text)).or_insert(fresh)
            } else {
                super::names::cons_string_text_into(g, &self.strings, v, &mut text, &mut stack);
                // Allocated only for a text not seen before.
                match by_text.get(text.as_str()) {
                    Some(&group) => group,
                    None => {
                        by_text.insert(Cow::Owned(text.clone()), fresh);
                        fresh
                    }
                }
            };
            if group == fresh {
                groups.push((0, 0, u64::MAX));
            }
            let e = &mut groups[group as usize];
            e.0 += 1;
            e.1 += size;
            e.2 = e.2.min(size);
            group_of.push((v, group));
        }
        // Output slots for the duplicated groups only.
        let mut slot = vec![u32::MAX; groups.len()];
        let mut out: Vec<DuplicateString> = Vec::new();
        for (text, group) in by_text {
            let (count, total, smallest) = groups[group as usize];
            if count > 1 {
                slot[group as usize] = out.len() as u32;
                out.push(DuplicateString {
                    text: text.into_owned(),
                    count,
                    total_size: total,
                    wasted_size: total - smallest,
                    copies: Vec::with_capacity(count as usize),
                });
            }
        }
        for (v, group) in group_of {
            if let Some(d) = out.get_mut(slot[group as usize] as usize) {
                d.copies.push(v);
            }
        }
        out.sort_by(|a, b| {
            b.wasted_size
                .cmp(&a.wasted_size)
                .then_with(|| a.text.cmp(&b.text))
        });
        out
    }

    fn is_flat_cons_string(&self, v: u32) -> bool {
        let g = &self.graph;
        let et = g.edge_types();
        g.node_type[v as usize] == g.node_types().cons_string
            && g.edges(v).any(|e| {
                g.edge_type(e) == et.internal
                    && matches!(self.strings.get(g.edge_name[e]), "first" | "second")
                    && super::names::has_empty_name(g, &self.strings, g.edge_to(e))
            })
    }
}
