//! Immediate dominators of the heap graph, by the simple Lengauer–Tarjan
//! algorithm (path compression, no balancing): O(m log n), and iterative
//! throughout, so a million-node linked list is neither quadratic nor a stack
//! overflow.
//!
//! The graph is the snapshot's *essential* edges (see [`super::essential`]).
//! To equal DevTools on heaps with unreachable parts, vertices are numbered
//! exactly as DevTools numbers them:
//! 1. a depth-first search from the root, following edges in edge order;
//! 2. then, scanning nodes by ordinal, every unvisited node without any
//!    essential retainer is given the root as DFS parent and searched from;
//! 3. any node still unvisited (a cycle retained only by itself) is numbered
//!    alone, with the root as parent.
//!
//! A node without essential retainers takes the root's semidominator. The
//! root dominates itself.
//!
//! Invariants: vertices are 1-based DFS numbers internally (0 = none);
//! `semi[v]` holds v's DFS number until v is processed and its semidominator
//! number after; the `ancestor` forest only links processed vertices.

use crate::bitset::BitSet;
use crate::graph::Graph;

pub struct DominatorTree {
    /// Immediate dominator of each node (by ordinal); the root's is itself.
    pub idom: Vec<u32>,
    /// Node ordinals in DFS preorder; a node's dominator always comes earlier.
    pub preorder: Vec<u32>,
}

/// Predecessors over essential edges, in CSR form.
struct Predecessors {
    first: Vec<u32>,
    sources: Vec<u32>,
}

impl Predecessors {
    fn build(g: &Graph, essential: &BitSet) -> Self {
        let n = g.node_count();
        let mut first = vec![0u32; n + 1];
        for (e, &to) in g.edge_to.iter().enumerate() {
            if essential.get(e) {
                first[to as usize + 1] += 1;
            }
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut fill = first.clone();
        let mut sources = vec![0u32; first[n] as usize];
        for v in 0..n as u32 {
            for e in g.edges(v) {
                if essential.get(e) {
                    let to = g.edge_to[e] as usize;
                    sources[fill[to] as usize] = v;
                    fill[to] += 1;
                }
            }
        }
        Predecessors { first, sources }
    }

    #[inline]
    fn of(&self, node: usize) -> &[u32] {
        &self.sources[self.first[node] as usize..self.first[node + 1] as usize]
    }
}

pub fn dominator_tree(g: &Graph, essential: &BitSet) -> DominatorTree {
    let n = g.node_count();
    let preds = Predecessors::build(g, essential);
    let len = n + 1;
    let mut parent = vec![0u32; len];
    let mut semi = vec![0u32; len];
    let mut vertex = vec![0u32; len];
    let mut label = vec![0u32; len];
    let mut count = 0u32;

    // Depth-first search over essential edges in edge order; vertices are ordinal + 1.
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut dfs = |start: u32,
                   parent: &mut [u32],
                   semi: &mut [u32],
                   vertex: &mut [u32],
                   label: &mut [u32],
                   count: &mut u32| {
        let mut visit = |v: u32, semi: &mut [u32], vertex: &mut [u32], label: &mut [u32]| {
            *count += 1;
            semi[v as usize] = *count;
            vertex[*count as usize] = v;
            label[v as usize] = v;
        };
        visit(start, semi, vertex, label);
        stack.push((start, g.first_edge[start as usize - 1]));
        while let Some(top) = stack.last_mut() {
            let (v, cursor) = *top;
            let end = g.first_edge[v as usize];
            let mut e = cursor;
            let mut next = 0;
            while e < end {
                let edge = e as usize;
                e += 1;
                if !essential.get(edge) {
                    continue;
                }
                let w = g.edge_to[edge] + 1;
                if semi[w as usize] == 0 {
                    next = w;
                    break;
                }
            }
            top.1 = e;
            if next == 0 {
                stack.pop();
            } else {
                parent[next as usize] = v;
                visit(next, semi, vertex, label);
                stack.push((next, g.first_edge[next as usize - 1]));
            }
        }
    };

    let r = g.root + 1;
    dfs(
        r,
        &mut parent,
        &mut semi,
        &mut vertex,
        &mut label,
        &mut count,
    );
    if (count as usize) < n {
        for v in 1..=n as u32 {
            if semi[v as usize] == 0 && preds.of(v as usize - 1).is_empty() {
                parent[v as usize] = r;
                dfs(
                    v,
                    &mut parent,
                    &mut semi,
                    &mut vertex,
                    &mut label,
                    &mut count,
                );
            }
        }
    }
    if (count as usize) < n {
        for v in 1..=n as u32 {
            if semi[v as usize] == 0 {
                parent[v as usize] = r;
                count += 1;
                semi[v as usize] = count;
                vertex[count as usize] = v;
                label[v as usize] = v;
            }
        }
    }
    drop(stack);

    let mut ancestor = vec![0u32; len];
    let mut dom = vec![0u32; len];
    // Buckets as intrusive singly-linked lists: each vertex joins exactly one.
    let mut bucket_head = vec![0u32; len];
    let mut bucket_next = vec![0u32; len];
    let mut path: Vec<u32> = Vec::new();

    // eval(v): the vertex of minimum semi on v's ancestor path, compressing it.
    let mut eval = |v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
        if ancestor[v as usize] == 0 {
            return v;
        }
        let mut x = v;
        while ancestor[ancestor[x as usize] as usize] != 0 {
            path.push(x);
            x = ancestor[x as usize];
        }
        while let Some(w) = path.pop() {
            let a = ancestor[w as usize] as usize;
            if semi[label[a] as usize] < semi[label[w as usize] as usize] {
                label[w as usize] = label[a];
            }
            ancestor[w as usize] = ancestor[a];
        }
        label[v as usize]
    };

    for i in (2..=count).rev() {
        let w = vertex[i as usize];
        let wp = preds.of(w as usize - 1);
        if wp.is_empty() {
            semi[w as usize] = semi[r as usize];
        }
        for &p in wp {
            let u = eval(p + 1, &mut ancestor, &mut label, &semi);
            if semi[u as usize] < semi[w as usize] {
                semi[w as usize] = semi[u as usize];
            }
        }
        let s = vertex[semi[w as usize] as usize] as usize;
        bucket_next[w as usize] = bucket_head[s];
        bucket_head[s] = w;
        let pw = parent[w as usize];
        ancestor[w as usize] = pw;
        let mut v = std::mem::take(&mut bucket_head[pw as usize]);
        while v != 0 {
            let u = eval(v, &mut ancestor, &mut label, &semi);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                pw
            };
            v = bucket_next[v as usize];
        }
    }
    drop((ancestor, label, bucket_head, bucket_next, parent, preds));

    // dom[0] = root: vertices whose bucket was never processed end at the root.
    dom[0] = r;
    dom[r as usize] = r;
    for i in 2..=count {
        let w = vertex[i as usize] as usize;
        if dom[w] != vertex[semi[w] as usize] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    drop(semi);

    let idom = (1..len).map(|v| dom[v] - 1).collect();
    let preorder = vertex[1..=count as usize].iter().map(|v| v - 1).collect();
    DominatorTree { idom, preorder }
}

/// Retained size of every node: its shallow size plus that of every node it
/// dominates, summed bottom-up in reverse preorder.
pub fn retained_sizes(tree: &DominatorTree, self_size: &[u32]) -> Vec<u64> {
    let mut retained: Vec<u64> = self_size.iter().map(|&s| s as u64).collect();
    for &v in tree.preorder.iter().skip(1).rev() {
        let d = tree.idom[v as usize] as usize;
        retained[d] += retained[v as usize];
    }
    retained
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A graph with the given edges (all essential), root 0.
    fn graph(n: usize, edges: &[(u32, u32)]) -> (Graph, BitSet) {
        let mut sorted = edges.to_vec();
        sorted.sort_by_key(|e| e.0);
        let mut g = Graph {
            node_type: vec![0; n],
            first_edge: vec![0; n + 1],
            ..Graph::default()
        };
        for &(from, to) in &sorted {
            g.first_edge[from as usize + 1] += 1;
            g.edge_to.push(to);
        }
        for i in 0..n {
            g.first_edge[i + 1] += g.first_edge[i];
        }
        let mut all = BitSet::new(sorted.len());
        (0..sorted.len()).for_each(|e| all.set(e));
        (g, all)
    }

    fn reachable(g: &Graph, removed: Option<u32>) -> Vec<bool> {
        let mut seen = vec![false; g.node_count()];
        if removed == Some(0) {
            return seen;
        }
        let mut stack = vec![0u32];
        seen[0] = true;
        while let Some(v) = stack.pop() {
            for e in g.edges(v) {
                let to = g.edge_to[e];
                if Some(to) != removed && !seen[to as usize] {
                    seen[to as usize] = true;
                    stack.push(to);
                }
            }
        }
        seen
    }

    /// Immediate dominators by definition: d dominates v if v is unreachable
    /// without d; the immediate one is the strict dominator dominated by all others.
    fn naive_idoms(g: &Graph) -> Vec<Option<u32>> {
        let n = g.node_count();
        let base = reachable(g, None);
        let mut doms: Vec<Vec<u32>> = vec![Vec::new(); n];
        for d in 0..n as u32 {
            let without = reachable(g, Some(d));
            for v in 0..n {
                if base[v] && !without[v] && v as u32 != d {
                    doms[v].push(d);
                }
            }
        }
        (0..n)
            .map(|v| {
                if v == 0 || !base[v] {
                    return None;
                }
                doms[v]
                    .iter()
                    .copied()
                    .max_by_key(|&d| doms[d as usize].len())
            })
            .collect()
    }

    proptest! {
        #[test]
        fn matches_the_definition_on_random_graphs(
            n in 2usize..40,
            raw in proptest::collection::vec((0u32..40, 0u32..40), 0..120),
        ) {
            let edges: Vec<(u32, u32)> = raw.into_iter()
                .map(|(a, b)| (a % n as u32, b % n as u32))
                .collect();
            let (g, essential) = graph(n, &edges);
            let tree = dominator_tree(&g, &essential);
            // DevTools hangs nodes without any retainer off the root.
            let mut augmented = edges.clone();
            augmented.extend((1..n as u32).filter(|&v| !edges.iter().any(|e| e.1 == v)).map(|v| (0, v)));
            let (naive_graph, _) = graph(n, &augmented);
            let reach = reachable(&naive_graph, None);
            for (v, expected) in naive_idoms(&naive_graph).into_iter().enumerate() {
                if let Some(d) = expected {
                    prop_assert_eq!(tree.idom[v], d, "idom of {}", v);
                } else if !reach[v] {
                    // Unreachable nodes hang off the root, as in DevTools.
                    prop_assert!(tree.idom[v] != v as u32 || v == 0);
                }
            }
            prop_assert_eq!(tree.idom[0], 0);
        }
    }

    #[test]
    fn a_million_node_list_is_handled_iteratively() {
        // root -> 1 -> 2 -> ... -> n-1, each node also pointing back to the root.
        let n = 1_000_000u32;
        let mut edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        edges.extend((1..n).map(|i| (i, 0)));
        let (g, essential) = graph(n as usize, &edges);
        let tree = dominator_tree(&g, &essential);
        assert!((1..n).all(|i| tree.idom[i as usize] == i - 1));
        let retained = retained_sizes(&tree, &vec![1; n as usize]);
        assert_eq!(retained[0], n as u64);
        assert_eq!(retained[1], n as u64 - 1);
        assert_eq!(retained[n as usize - 1], 1);
    }

    #[test]
    fn orphans_and_self_retained_cycles_hang_off_the_root() {
        // 0 -> 1; 2 has no retainer; 3 <-> 4 retain only each other.
        let (g, essential) = graph(5, &[(0, 1), (3, 4), (4, 3), (2, 1)]);
        let tree = dominator_tree(&g, &essential);
        assert_eq!(tree.idom, vec![0, 0, 0, 0, 0]);
    }
}
