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
//! Invariants: after numbering, all work happens in preorder space
//! (vertex `i` is the i-th node visited, 1-based, 0 = none), which makes the
//! predecessor lists sequential and parents close by. `semi[i]` starts as
//! `i` and becomes i's semidominator once processed. `parent` doubles as
//! the link-eval forest (`linked` marks the vertices in it). Buckets are
//! intrusive lists: `label[s]` is only read once `s` is linked, so until then
//! it holds the head of s's bucket (`label[s] == s` means empty), and while
//! `w` waits in a bucket, `dom[w]` holds the next entry. There is no
//! preorder→node array during the main loop (it runs at the analysis'
//! memory peak): w's node ordinal waits in `dom[w]` until w is processed,
//! then in a slot of the predecessor lists already read. Predecessor lists
//! have no offsets array either, nor DFS tree edges (see [`Predecessors`]).

use rustc_hash::FxHashMap;

use crate::bitset::BitSet;
use crate::column::Column;
use crate::graph::Graph;

pub struct DominatorTree {
    /// Immediate dominator of each node (by ordinal); the root's is itself.
    pub idom: Vec<u32>,
    /// Node ordinals in DFS preorder; a node's dominator always comes earlier.
    pub preorder: Vec<u32>,
}

/// DFS numbering of the graph as DevTools numbers it.
struct Numbering {
    /// Node ordinal of each preorder number; `vertex[0]` is unused.
    vertex: Vec<u32>,
    /// Preorder number of each vertex's DFS parent.
    parent: Vec<u32>,
    /// Preorder number of each node (by ordinal).
    pre: Vec<u32>,
    /// Vertices given the root as parent without an edge from it (steps 2
    /// and 3 above), by preorder number; every other vertex was reached
    /// over an edge from its parent.
    adopted: BitSet,
}

fn number(g: &Graph, essential: &BitSet) -> Numbering {
    let n = g.node_count();
    let mut has_retainer = BitSet::new(n);
    for (e, to) in g.edge_targets().enumerate() {
        if essential.get(e) {
            has_retainer.set(to as usize);
        }
    }
    let mut pre = vec![0u32; n];
    let mut vertex = vec![0u32; n + 1];
    let mut parent = vec![0u32; n + 1];
    let mut adopted = BitSet::new(n + 1);
    let mut count = 0u32;
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut visit = |v: u32, parent_pre: u32, pre: &mut [u32], count: &mut u32| {
        *count += 1;
        pre[v as usize] = *count;
        vertex[*count as usize] = v;
        parent[*count as usize] = parent_pre;
    };
    let mut dfs = |start: u32, parent_pre: u32, pre: &mut [u32], count: &mut u32| {
        visit(start, parent_pre, pre, count);
        stack.push((start, g.first_edge[start as usize]));
        while let Some(top) = stack.last_mut() {
            let (v, cursor) = *top;
            let end = g.first_edge[v as usize + 1];
            let mut e = cursor;
            let mut next = None;
            while e < end {
                let edge = e as usize;
                e += 1;
                if essential.get(edge) && pre[g.edge_to(edge) as usize] == 0 {
                    next = Some(g.edge_to(edge));
                    break;
                }
            }
            top.1 = e;
            match next {
                None => {
                    stack.pop();
                }
                Some(w) => {
                    let pv = pre[v as usize];
                    visit(w, pv, pre, count);
                    stack.push((w, g.first_edge[w as usize]));
                }
            }
        }
    };
    dfs(g.root, 0, &mut pre, &mut count);
    if (count as usize) < n {
        for v in 0..n as u32 {
            if pre[v as usize] == 0 && !has_retainer.get(v as usize) {
                dfs(v, 1, &mut pre, &mut count);
                adopted.set(pre[v as usize] as usize);
            }
        }
    }
    if (count as usize) < n {
        for v in 0..n as u32 {
            if pre[v as usize] == 0 {
                visit(v, 1, &mut pre, &mut count);
                adopted.set(pre[v as usize] as usize);
            }
        }
    }
    Numbering {
        vertex,
        parent,
        pre,
        adopted,
    }
}

/// Predecessors over essential edges by preorder number: all lists in one
/// array, in preorder. The main loop visits vertices in reverse preorder, so
/// it reads the lists backwards from the end with one cursor, and two bit
/// sets replace an offsets array (a word per node fewer at the memory peak).
///
/// A vertex's DFS parent is left out of its list: when the vertex is
/// processed its parent is not yet linked and still has its own number as
/// semidominator, so the parent's only contribution is the parent itself,
/// which the main loop takes from `parent`. The slots a list frees once read
/// hold node ordinals (see [`dominator_tree`]); where a vertex would find
/// none free, the list keeps the parent once, so it frees the slot its own
/// vertex takes.
struct Predecessors {
    sources: Vec<u32>,
    /// Which vertices have any predecessor.
    has_any: BitSet,
    /// Which positions of `sources` start a list.
    starts: BitSet,
}

impl Predecessors {
    fn build(g: &Graph, essential: &BitSet, numbering: &Numbering) -> Self {
        let n = g.node_count();
        let Numbering {
            pre,
            parent,
            adopted,
            ..
        } = numbering;
        let from_parent = |pv: u32, w: u32| parent[w as usize] == pv && !adopted.get(w as usize);
        let mut first = vec![0u32; n + 2];
        for v in 0..n as u32 {
            let pv = pre[v as usize];
            for e in g.edges(v) {
                let w = pre[g.edge_to(e) as usize];
                if essential.get(e) && !from_parent(pv, w) {
                    first[w as usize] += 1;
                }
            }
        }
        // The main loop's slot keeping, ahead of time: `free` slots are read
        // and not yet holding an ordinal.
        let mut parent_only = BitSet::new(n + 1);
        let mut free = 0u32;
        for w in (2..=n).rev() {
            if free == 0 && first[w] == 0 && !adopted.get(w) {
                parent_only.set(w);
                first[w] = 1;
            }
            free = (free + first[w]).saturating_sub(1);
        }
        // Running ends; filling backwards leaves `first` at each list's start.
        let mut total = 0u32;
        for f in &mut first {
            total += *f;
            *f = total;
        }
        let mut sources = vec![0u32; total as usize];
        for v in 0..n as u32 {
            let pv = pre[v as usize];
            for e in g.edges(v) {
                let w = pre[g.edge_to(e) as usize];
                if essential.get(e) && !from_parent(pv, w) {
                    let slot = &mut first[w as usize];
                    *slot -= 1;
                    sources[*slot as usize] = pv;
                }
            }
        }
        for w in 2..=n {
            if parent_only.get(w) {
                first[w] -= 1;
                sources[first[w] as usize] = parent[w];
            }
        }
        let mut has_any = BitSet::new(n + 1);
        let mut starts = BitSet::new(sources.len());
        for w in 1..=n {
            if first[w] < first[w + 1] {
                has_any.set(w);
                starts.set(first[w] as usize);
            }
        }
        Predecessors {
            sources,
            has_any,
            starts,
        }
    }

    /// The list of vertex `w`, which ends at `*cursor`; moves the cursor to
    /// its start, ready for vertex `w - 1`.
    #[inline]
    fn take_back(&self, w: u32, cursor: &mut usize) -> std::ops::Range<usize> {
        let end = *cursor;
        if self.has_any.get(w as usize) {
            *cursor -= 1;
            while !self.starts.get(*cursor) {
                *cursor -= 1;
            }
        }
        *cursor..end
    }
}

/// Takes `essential` by value to free it as soon as the predecessor lists
/// are built (this runs at the analysis' memory peak). `past_peak` is called
/// once the main loop's arrays are freed, so a caller can start allocating.
pub fn dominator_tree(g: &Graph, essential: BitSet, past_peak: impl FnOnce()) -> DominatorTree {
    let n = g.node_count();
    let numbering = number(g, &essential);
    let mut preds = Predecessors::build(g, &essential, &numbering);
    drop(essential);
    let Numbering {
        vertex,
        mut parent,
        adopted,
        pre,
    } = numbering;
    drop(pre);

    let len = n + 1;
    let mut semi: Vec<u32> = (0..len as u32).collect();
    let mut label: Vec<u32> = (0..len as u32).collect();
    // No `vertex` array during the main loop: a vertex's node ordinal waits
    // in its `dom` slot (unused until the vertex is processed) and then moves
    // to the predecessor lists already read, filled from the end. Only a
    // vertex without any predecessor can find no slot free; it is `spilled`.
    let mut dom = vertex;
    let mut spilled: Vec<u32> = Vec::new();
    let store = |cursor: usize, out: &mut usize| (*out > cursor).then(|| *out -= 1);
    let mut linked = BitSet::new(len);
    let mut path: Vec<u32> = Vec::new();

    // eval(v): the vertex of minimum semi on v's forest path, compressing it.
    let mut eval =
        |v: u32, linked: &BitSet, forest: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
            if !linked.get(v as usize) {
                return v;
            }
            let mut x = v;
            while linked.get(forest[x as usize] as usize) {
                path.push(x);
                x = forest[x as usize];
            }
            while let Some(w) = path.pop() {
                let a = forest[w as usize] as usize;
                if semi[label[a] as usize] < semi[label[w as usize] as usize] {
                    label[w as usize] = label[a];
                }
                forest[w as usize] = forest[a];
            }
            label[v as usize]
        };

    let (mut cursor, mut out) = (preds.sources.len(), preds.sources.len());
    for w in (2..=n as u32).rev() {
        let node = std::mem::take(&mut dom[w as usize]);
        let wp = preds.take_back(w, &mut cursor);
        if !adopted.get(w as usize) {
            semi[w as usize] = parent[w as usize];
        } else if wp.is_empty() {
            semi[w as usize] = semi[1];
        }
        for &p in &preds.sources[wp] {
            let u = eval(p, &linked, &mut parent, &mut label, &semi);
            if semi[u as usize] < semi[w as usize] {
                semi[w as usize] = semi[u as usize];
            }
        }
        match store(cursor, &mut out) {
            Some(()) => preds.sources[out] = node,
            None => spilled.push(node),
        }
        let s = semi[w as usize];
        if s != w {
            dom[w as usize] = take_bucket(&mut label, s);
            label[s as usize] = w;
        }
        // w's own bucket can no longer be drained (its children are done):
        // those vertices keep no dominator, and label[w] becomes a label again.
        let mut v = take_bucket(&mut label, w);
        while v != 0 {
            let next = dom[v as usize];
            dom[v as usize] = 0;
            v = next;
        }
        // Not linked yet, so parent[w] still holds w's DFS parent.
        let pw = parent[w as usize];
        linked.set(w as usize);
        let mut v = take_bucket(&mut label, pw);
        while v != 0 {
            let next = dom[v as usize];
            let u = eval(v, &linked, &mut parent, &mut label, &semi);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                pw
            };
            v = next;
        }
    }
    // Vertices left in the root's bucket never got a dominator: unset, like DevTools.
    let mut v = take_bucket(&mut label, 1);
    while v != 0 {
        let next = dom[v as usize];
        dom[v as usize] = 0;
        v = next;
    }
    drop((parent, label));
    // Collect the node ordinals again, making the loop's moves again.
    let mut vertex = vec![0u32; len];
    vertex[1] = g.root;
    let (mut cursor, mut out) = (preds.sources.len(), preds.sources.len());
    let mut spilled = spilled.into_iter();
    for w in (2..=n as u32).rev() {
        preds.take_back(w, &mut cursor);
        vertex[w as usize] = match store(cursor, &mut out) {
            Some(()) => preds.sources[out],
            None => spilled
                .next()
                .expect("a spilled ordinal per vertex without room"),
        };
    }
    drop(preds);
    past_peak();

    // dom[0] = root: vertices whose dominator was never set end at the root.
    dom[0] = 1;
    dom[1] = 1;
    for w in 2..len {
        if dom[w] != semi[w] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    drop(semi);

    let mut idom = vec![0u32; n];
    for i in 1..len {
        idom[vertex[i] as usize] = vertex[dom[i] as usize];
    }
    let mut preorder = vertex;
    preorder.remove(0);
    DominatorTree { idom, preorder }
}

/// Empties the bucket of unlinked vertex `s`, returning its first entry (0 if none).
#[inline]
fn take_bucket(label: &mut [u32], s: u32) -> u32 {
    let head = std::mem::replace(&mut label[s as usize], s);
    if head == s {
        0
    } else {
        head
    }
}

/// Retained size of every node: its shallow size plus that of every node it
/// dominates, summed bottom-up in reverse preorder.
pub fn retained_sizes(tree: &DominatorTree, self_size: &[u32]) -> RetainedSizes {
    let mut small: Vec<u32> = self_size.to_vec();
    let mut large: FxHashMap<u32, u64> = FxHashMap::default();
    for &v in tree.preorder.iter().skip(1).rev() {
        let size = match small[v as usize] {
            LARGE => large[&v],
            s => s as u64,
        };
        let d = tree.idom[v as usize];
        match small[d as usize] {
            LARGE => *large.get_mut(&d).expect("a large size is in the table") += size,
            s => {
                let sum = s as u64 + size;
                if sum >= LARGE as u64 {
                    small[d as usize] = LARGE;
                    large.insert(d, sum);
                } else {
                    small[d as usize] = sum as u32;
                }
            }
        }
    }
    let mut large: Vec<(u32, u64)> = large.into_iter().collect();
    large.sort_unstable();
    RetainedSizes {
        small: small.into(),
        large: large
            .into_iter()
            .flat_map(|(v, s)| [v as u64, s])
            .collect::<Vec<_>>()
            .into(),
    }
}

/// Marks a retained size kept in [`RetainedSizes::large`].
const LARGE: u32 = u32::MAX;

/// Retained size per node in four bytes: the few nodes that retain 4 GiB or
/// more (the root, the holders of most of a big heap) are kept aside. Half
/// the memory of a `u64` per node, and the analysis' end state is its
/// second memory peak.
#[derive(Debug, Default, Clone)]
pub struct RetainedSizes {
    /// The size, or [`LARGE`] when it is in `large`.
    pub(crate) small: Column<u32>,
    /// `(node, size)` pairs flattened, sorted by node.
    pub(crate) large: Column<u64>,
}

impl RetainedSizes {
    /// Sizes from cached columns, or `None` unless every marked node has
    /// its pair, in order.
    pub(crate) fn from_columns(small: Column<u32>, large: Column<u64>) -> Option<Self> {
        let pairs: &[[u64; 2]] = bytemuck::try_cast_slice(&large).ok()?;
        let marked = small.iter().filter(|&&s| s == LARGE).count();
        let sound = pairs.len() == marked
            && pairs.windows(2).all(|w| w[0][0] < w[1][0])
            && pairs
                .iter()
                .all(|p| small.get(p[0] as usize) == Some(&LARGE));
        sound.then_some(RetainedSizes { small, large })
    }

    pub fn len(&self) -> usize {
        self.small.len()
    }

    pub fn is_empty(&self) -> bool {
        self.small.is_empty()
    }

    /// The retained size of node `v`; panics when `v` is out of range.
    #[inline]
    pub fn of(&self, v: u32) -> u64 {
        match self.small[v as usize] {
            LARGE => {
                let pairs: &[[u64; 2]] = bytemuck::cast_slice(&self.large);
                let i = pairs
                    .binary_search_by_key(&(v as u64), |p| p[0])
                    .expect("a large size is in the table");
                pairs[i][1]
            }
            s => s as u64,
        }
    }

    /// The retained size of node `v`, `None` out of range (or at
    /// [`super::Depth::Classes`], where there are none).
    pub fn get(&self, v: u32) -> Option<u64> {
        ((v as usize) < self.len()).then(|| self.of(v))
    }
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
            node_type: vec![0; n].into(),
            first_edge: vec![0; n + 1].into(),
            ..Graph::default()
        };
        for &(from, to) in &sorted {
            g.first_edge[from as usize + 1] += 1;
            g.edge_target.to_mut().push(to);
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
                let to = g.edge_to(e);
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
            let tree = dominator_tree(&g, essential, || {});
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
        let tree = dominator_tree(&g, essential, || {});
        assert!((1..n).all(|i| tree.idom[i as usize] == i - 1));
        let retained = retained_sizes(&tree, &vec![1; n as usize]);
        assert_eq!(retained.of(0), n as u64);
        assert_eq!(retained.of(1), n as u64 - 1);
        assert_eq!(retained.of(n - 1), 1);
    }

    #[test]
    fn retained_sizes_past_four_gib_are_exact() {
        // root -> 1 -> 2 -> 3, and root -> 4; nodes of almost 4 GiB each.
        let (g, essential) = graph(5, &[(0, 1), (1, 2), (2, 3), (0, 4)]);
        let tree = dominator_tree(&g, essential, || {});
        let big = u32::MAX - 1;
        let retained = retained_sizes(&tree, &[1, big, big, 7, big]);
        let big = big as u64;
        assert_eq!(retained.of(0), 1 + 3 * big + 7);
        assert_eq!(retained.of(1), 2 * big + 7);
        assert_eq!(retained.of(2), big + 7);
        assert_eq!(retained.of(3), 7);
        assert_eq!(retained.of(4), big);
        assert_eq!(retained.get(5), None);
        // The cache's columns are checked: a marked node without its pair is refused.
        let RetainedSizes { small, large } = retained.clone();
        assert!(RetainedSizes::from_columns(small.clone(), large).is_some());
        assert!(RetainedSizes::from_columns(small, Vec::new().into()).is_none());
    }

    #[test]
    fn orphans_and_self_retained_cycles_hang_off_the_root() {
        // 0 -> 1; 2 has no retainer; 3 <-> 4 retain only each other.
        let (g, essential) = graph(5, &[(0, 1), (3, 4), (4, 3), (2, 1)]);
        let tree = dominator_tree(&g, essential, || {});
        assert_eq!(tree.idom, vec![0, 0, 0, 0, 0]);
    }
}
