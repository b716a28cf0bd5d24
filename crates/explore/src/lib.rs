//! A loaded heap snapshot that answers the Memory panel's questions one
//! page at a time: the Summary's classes and their instances, an object's
//! fields, its retainers, the dominator tree, statistics, duplicated strings
//! and search. The web explorer (`leakscope-serve`) and the CLI both ask
//! it; every answer is bounded by the page asked for, so a class with
//! millions of instances costs one sort (done once, then cached) and then
//! only the rows shown.
//!
//! Numbers come from `leakscope-snapshot` and are DevTools' own.

pub mod timeline;

pub use leakscope_progress::Observer;
use leakscope_sourcemap::Positions;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use leakscope_snapshot::{
    AllocationTraces, BitSet, Cache, ClassDiff, ClassRow, Depth, HeapSnapshot, NodeInfo,
    RetainerIndex, SnapshotError, Statistics,
};
use serde::Serialize;

pub use leakscope_snapshot::analysis::summary::DuplicateString;
pub use leakscope_snapshot::NodeFilter;

/// One page of a longer list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// Rows in the whole list.
    pub total: usize,
    pub offset: usize,
    pub items: Vec<T>,
}

/// A node as a row of a tree: what it is and whether it can be expanded.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    #[serde(flatten)]
    pub node: NodeInfo,
    /// Outgoing edges (for fields) — or dominated nodes in the dominator tree.
    pub children: usize,
}

/// An edge and the node at its other end: a field (to the node it holds)
/// or a retainer (from the node that holds).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeRow {
    /// As DevTools prints it in a path: `.name`, `[0]`, `{internal}`, `->context`.
    pub edge: String,
    pub edge_type: String,
    #[serde(flatten)]
    pub row: Row,
    /// A retainer the user asked to ignore (listed last, at its new distance).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
}

/// Distances with some retainers ignored, kept for the set last asked for.
type IgnoringDistances = Option<(Vec<u32>, Arc<Vec<i32>>)>;

/// The numbers a page shows above its views.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub node_count: usize,
    pub edge_count: usize,
    pub root_id: u32,
    pub root_retained_size: u64,
    pub total_shallow_size: u64,
    pub statistics: Statistics,
    pub class_count: usize,
    /// The largest JavaScript object id: the boundary of "allocated
    /// before / between snapshots" filters on later snapshots.
    pub max_js_id: u32,
    /// A `.heaptimeline` recording (the Allocation timeline view applies).
    pub has_timeline: bool,
}

/// Where an object is in the (unfiltered) Summary: its class's row and its
/// place among the class's instances.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryPlace {
    pub key: String,
    /// The class's row among all classes (largest retained size first).
    pub class_row: usize,
    /// The object's row among the class's instances.
    pub index: usize,
}

/// A Summary's classes (all objects, or those a [`NodeFilter`] keeps) and
/// each class's instances sorted when first expanded.
struct ClassSummary {
    /// Largest retained size first (DevTools' default).
    classes: Vec<ClassRow>,
    class_by_key: HashMap<String, usize>,
    /// Each class's instances by retained size, sorted when first asked for.
    sorted_instances: Mutex<HashMap<usize, Arc<[u32]>>>,
    /// The nodes a filter keeps; `None` for every node.
    keep: Option<BitSet>,
}

impl ClassSummary {
    fn new(classes: Vec<ClassRow>) -> Self {
        Self::kept(classes, None)
    }

    fn kept(mut classes: Vec<ClassRow>, keep: Option<BitSet>) -> Self {
        classes.sort_by(|a, b| {
            b.retained_size
                .cmp(&a.retained_size)
                .then_with(|| a.key.cmp(&b.key))
        });
        let class_by_key = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key.clone(), i))
            .collect();
        ClassSummary {
            classes,
            class_by_key,
            sorted_instances: Mutex::new(HashMap::new()),
            keep,
        }
    }

    /// `class`'s instances by retained size. A filtered Summary takes them
    /// from `all`'s sorted list (sorted once, often during warm-up) through
    /// its mask: a pass instead of a sort.
    fn sorted_instances_of(
        &self,
        s: &HeapSnapshot,
        class: usize,
        all: &ClassSummary,
    ) -> Arc<[u32]> {
        let cached = self
            .sorted_instances
            .lock()
            .expect("instances lock")
            .get(&class)
            .cloned();
        if let Some(sorted) = cached {
            return sorted;
        }
        let unfiltered = self.keep.as_ref().and_then(|keep| {
            let &whole = all.class_by_key.get(&self.classes[class].key)?;
            let sorted = all.sorted_instances_of(s, whole, all);
            Some(
                sorted
                    .iter()
                    .copied()
                    .filter(|&v| keep.get(v as usize))
                    .collect::<Vec<u32>>(),
            )
        });
        let sorted = unfiltered.unwrap_or_else(|| {
            let mut sorted = self.classes[class].instances.clone();
            sorted.sort_unstable_by(|&a, &b| {
                s.retained
                    .of(b)
                    .cmp(&s.retained.of(a))
                    .then(s.graph.node_id[a as usize].cmp(&s.graph.node_id[b as usize]))
            });
            sorted
        });
        let sorted: Arc<[u32]> = sorted.into();
        self.sorted_instances
            .lock()
            .expect("instances lock")
            .insert(class, sorted.clone());
        sorted
    }
}

/// Filtered Summaries kept: a user flips between a few filters (and the
/// warm-up computes up to four ahead).
const FILTERED_KEPT: usize = 6;

/// Where a load is: bytes read of the file, then the analysis step. An
/// [`Observer`] that keeps it (`Progress::default()` to start), for faces
/// that show it when asked rather than as it changes.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub bytes_read: u64,
    pub step: Option<String>,
}

impl Observer for Progress {
    fn note(&mut self, _: &str) {}
    fn progress(&mut self, what: &str) {
        self.step = Some(what.to_owned());
    }
    fn advanced(&mut self, done: u64) {
        self.bytes_read = done;
    }
}

/// An analysed snapshot and the indexes its queries need.
pub struct Explorer {
    snapshot: HeapSnapshot,
    retainer_index: RetainerIndex,
    /// The Summary of every object.
    summary: ClassSummary,
    /// Summaries under a filter, most recent last.
    filtered: Mutex<Vec<(NodeFilter, Arc<ClassSummary>)>>,
    /// The last search's matches, so its pages are not searched again.
    last_search: Mutex<Option<(String, Arc<[u32]>)>>,
    /// The largest JavaScript object id (a pass over every id: kept).
    max_js_id: u32,
    /// `(id, ordinal)` by id, when the snapshot's ids are not in node order.
    id_index: Option<Vec<(u32, u32)>>,
    /// Grouping every string by text is a pass over the heap: done once.
    duplicate_strings: OnceLock<Vec<DuplicateString>>,
    /// A `.heaptimeline`'s allocation stacks, parsed when first asked for.
    traces: OnceLock<Option<AllocationTraces>>,
    warm: std::sync::atomic::AtomicBool,
    ignoring: Mutex<IgnoringDistances>,
}

/// A recording's timeline: how long it ran and its bars.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub recording_seconds: f64,
    pub has_stacks: bool,
    pub bars: Vec<timeline::LiveBar>,
}

/// What a window of the recording allocated and is still alive, as
/// `leakscope timeline --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Allocated {
    pub recording_seconds: f64,
    pub from_seconds: f64,
    pub to_seconds: f64,
    pub objects: u64,
    pub shallow_size: u64,
    pub classes: Vec<timeline::ClassAllocations>,
}

impl Explorer {
    /// Reads and analyses `path` (through `cache` when given: see
    /// [`leakscope_snapshot::load_cached`]), telling `observer` how far it
    /// got.
    pub fn load(
        path: &Path,
        cache: Option<&Cache>,
        observer: &mut dyn Observer,
    ) -> Result<Self, SnapshotError> {
        let snapshot = match cache {
            Some(cache) => leakscope_snapshot::load_cached(path, Depth::Full, cache, observer),
            None => leakscope_snapshot::load(path, Depth::Full, observer),
        }?;
        observer.progress("Indexing retainers");
        Ok(Self::new(snapshot))
    }

    pub fn new(snapshot: HeapSnapshot) -> Self {
        let retainer_index = snapshot.retainer_index();
        let summary = ClassSummary::new(snapshot.class_rows());
        let max_js_id = snapshot.max_js_id();
        let ids = &snapshot.graph.node_id;
        let id_index = (!ids.is_sorted()).then(|| {
            let mut index: Vec<(u32, u32)> = ids
                .iter()
                .enumerate()
                .map(|(v, &id)| (id, v as u32))
                .collect();
            index.sort_unstable();
            index
        });
        Explorer {
            snapshot,
            retainer_index,
            summary,
            filtered: Mutex::new(Vec::new()),
            last_search: Mutex::new(None),
            max_js_id,
            id_index,
            duplicate_strings: OnceLock::new(),
            traces: OnceLock::new(),
            warm: std::sync::atomic::AtomicBool::new(false),
            ignoring: Mutex::new(None),
        }
    }

    /// Computes ahead what the first click on a view would otherwise wait
    /// for: the duplicated strings (seconds on a 1 GB snapshot) and the
    /// sorted instances of the classes with the most of them.
    pub fn warm_up(&self) {
        self.duplicate_strings(0, 0);
        let classes = &self.summary.classes;
        let mut most: Vec<usize> = (0..classes.len()).collect();
        most.sort_by_key(|&c| std::cmp::Reverse(classes[c].count));
        for class in most.into_iter().take(8) {
            self.summary
                .sorted_instances_of(&self.snapshot, class, &self.summary);
        }
        // The filters that need no other snapshot (a pass over the graph
        // each, too slow for a click on a big heap).
        self.warm_filter(NodeFilter::RetainedByDetachedDom);
        self.warm_filter(NodeFilter::RetainedByEventHandlers);
        self.warm.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether [`Explorer::warm_up`] has finished.
    pub fn is_warm(&self) -> bool {
        self.warm.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn snapshot(&self) -> &HeapSnapshot {
        &self.snapshot
    }

    pub fn overview(&self) -> Overview {
        let s = &self.snapshot;
        Overview {
            node_count: s.node_count(),
            edge_count: s.graph.edge_count(),
            root_id: s.graph.node_id[s.root() as usize],
            root_retained_size: s.retained.of(s.root()),
            total_shallow_size: s.graph.self_size.iter().map(|&x| x as u64).sum(),
            statistics: s.statistics.clone(),
            class_count: self.summary.classes.len(),
            max_js_id: self.max_js_id,
            has_timeline: s.recording_seconds().is_some(),
        }
    }

    /// Computes the Summary under `filter` ahead of the click that asks for
    /// it (e.g. "allocated between" the snapshot before this one and this).
    pub fn warm_filter(&self, filter: NodeFilter) {
        self.summary_of(Some(filter));
    }

    /// The largest JavaScript object id: what "allocated before this
    /// snapshot" filters on a later one.
    pub fn max_js_id(&self) -> u32 {
        self.max_js_id
    }

    /// The Summary under `filter` (every object for `None`), computed when
    /// first asked for and kept for the last few filters.
    fn summary_of(&self, filter: Option<NodeFilter>) -> SummaryRef<'_> {
        let Some(filter) = filter else {
            return SummaryRef::All(&self.summary);
        };
        let mut kept = self.filtered.lock().expect("filtered lock");
        if let Some(i) = kept.iter().position(|(f, _)| *f == filter) {
            let entry = kept.remove(i);
            let summary = entry.1.clone();
            kept.push(entry);
            return SummaryRef::Filtered(summary);
        }
        drop(kept);
        let keep = self.snapshot.nodes_matching(filter);
        let rows = self.snapshot.class_rows_of(&keep);
        let summary = Arc::new(ClassSummary::kept(rows, Some(keep)));
        let mut kept = self.filtered.lock().expect("filtered lock");
        kept.push((filter, summary.clone()));
        if kept.len() > FILTERED_KEPT {
            kept.remove(0);
        }
        SummaryRef::Filtered(summary)
    }

    /// The Summary's classes whose name contains `filter` (any case),
    /// largest retained size first; only the objects `only` keeps, if given.
    pub fn classes(&self, filter: &str, only: Option<NodeFilter>) -> Vec<ClassRow> {
        let filter = filter.to_lowercase();
        self.summary_of(only)
            .classes
            .iter()
            .filter(|c| filter.is_empty() || c.name.to_lowercase().contains(&filter))
            .cloned()
            .collect()
    }

    /// Instances of the class keyed `key` (among those `only` keeps),
    /// largest retained size first (ties by id), `limit` from `offset`.
    pub fn instances(
        &self,
        key: &str,
        only: Option<NodeFilter>,
        offset: usize,
        limit: usize,
    ) -> Option<Page<Row>> {
        let summary = self.summary_of(only);
        let &class = summary.class_by_key.get(key)?;
        let sorted = summary.sorted_instances_of(&self.snapshot, class, &self.summary);
        Some(self.page(&sorted, offset, limit, |&v| self.row(v)))
    }

    /// Where object `id` is in the unfiltered Summary: what "reveal in the
    /// Summary" expands and scrolls to. `None` for an object the Summary
    /// does not count (no id, or zero size).
    pub fn locate(&self, id: u32) -> Option<SummaryPlace> {
        let v = self.ordinal(id)?;
        let summary = &self.summary;
        let class_row = summary
            .classes
            .iter()
            .position(|c| c.instances.binary_search(&v).is_ok())?;
        let sorted = summary.sorted_instances_of(&self.snapshot, class_row, summary);
        let index = sorted.iter().position(|&x| x == v)?;
        Some(SummaryPlace {
            key: summary.classes[class_row].key.clone(),
            class_row,
            index,
        })
    }

    /// The node ordinal of snapshot id `id`.
    pub fn ordinal(&self, id: u32) -> Option<u32> {
        let ids = &self.snapshot.graph.node_id;
        match &self.id_index {
            None => ids.binary_search(&id).ok().map(|v| v as u32),
            Some(index) => index
                .binary_search_by_key(&id, |&(id, _)| id)
                .ok()
                .map(|i| index[i].1),
        }
    }

    pub fn node(&self, id: u32) -> Option<Row> {
        self.ordinal(id).map(|v| self.row(v))
    }

    fn row(&self, v: u32) -> Row {
        Row {
            node: self.snapshot.node_info(v),
            children: self.snapshot.graph.edges(v).len(),
        }
    }

    fn dominator_row(&self, v: u32) -> Row {
        Row {
            node: self.snapshot.node_info(v),
            children: self.snapshot.dominated_by(v).len(),
        }
    }

    /// The fields of object `id` (its edges but V8's hidden ones, which
    /// DevTools hides too), largest retained size first, ties in edge order.
    pub fn fields(&self, id: u32, offset: usize, limit: usize) -> Option<Page<EdgeRow>> {
        let v = self.ordinal(id)?;
        let g = &self.snapshot.graph;
        let hidden = g.edge_types().hidden;
        let mut edges: Vec<u32> = g
            .edges(v)
            .filter(|&e| g.edge_type(e) != hidden)
            .map(|e| e as u32)
            .collect();
        let retained = &self.snapshot.retained;
        edges.sort_by(|&a, &b| {
            retained
                .of(g.edge_to(b as usize))
                .cmp(&retained.of(g.edge_to(a as usize)))
                .then(a.cmp(&b))
        });
        Some(self.page(&edges, offset, limit, |&e| {
            self.edge_row(e as usize, g.edge_to(e as usize))
        }))
    }

    /// Who holds object `id`, in DevTools' Retainers order (no weak edges).
    pub fn retainers(&self, id: u32, offset: usize, limit: usize) -> Option<Page<EdgeRow>> {
        let v = self.ordinal(id)?;
        let retainers = self.snapshot.retainers(&self.retainer_index, v);
        Some(self.page(&retainers, offset, limit, |r| self.edge_row(r.edge, r.from)))
    }

    /// The retainers of `id` once the Retainers view ignores the objects
    /// `ignored` (ids), as DevTools' "Ignore this retainer": distances are
    /// recomputed without entering them, and rows sort by the new ones.
    pub fn retainers_ignoring(
        &self,
        id: u32,
        ignored: &[u32],
        offset: usize,
        limit: usize,
    ) -> Option<Page<EdgeRow>> {
        if ignored.is_empty() {
            return self.retainers(id, offset, limit);
        }
        let v = self.ordinal(id)?;
        let mut ordinals: Vec<u32> = ignored.iter().filter_map(|&i| self.ordinal(i)).collect();
        ordinals.sort_unstable();
        ordinals.dedup();
        let distances = {
            let mut cached = self.ignoring.lock().expect("ignoring lock");
            match &*cached {
                Some((set, d)) if *set == ordinals => d.clone(),
                _ => {
                    let d = Arc::new(self.snapshot.distances_ignoring(&ordinals));
                    *cached = Some((ordinals.clone(), d.clone()));
                    d
                }
            }
        };
        let retainers = self
            .snapshot
            .retainers_by(&self.retainer_index, v, &distances);
        Some(self.page(&retainers, offset, limit, |r| {
            let mut row = self.edge_row(r.edge, r.from);
            row.row.node.distance = distances[r.from as usize];
            row.ignored = ordinals.binary_search(&r.from).is_ok();
            row
        }))
    }

    /// The retaining path DevTools opens first, from `id` up to a GC root.
    pub fn retaining_path(&self, id: u32) -> Option<Vec<EdgeRow>> {
        let v = self.ordinal(id)?;
        Some(
            self.snapshot
                .retaining_path(&self.retainer_index, v, 100)
                .iter()
                .map(|r| self.edge_row(r.edge, r.from))
                .collect(),
        )
    }

    /// Up to `count` retaining paths of `id`, each through a different
    /// direct retainer (in the Retainers view's order): the first is
    /// [`Explorer::retaining_path`]; the others show what else holds it.
    pub fn retaining_paths(&self, id: u32, count: usize) -> Option<Vec<Vec<EdgeRow>>> {
        let v = self.ordinal(id)?;
        let s = &self.snapshot;
        let paths = s
            .retainers(&self.retainer_index, v)
            .into_iter()
            .take(count)
            .map(|first| {
                let mut path = vec![self.edge_row(first.edge, first.from)];
                let d = s.distances.get(first.from as usize).copied().unwrap_or(0);
                if d > 1 && d < 100_000_000 && first.from != v {
                    path.extend(
                        s.retaining_path(&self.retainer_index, first.from, 100)
                            .iter()
                            .take_while(|r| r.from != v)
                            .map(|r| self.edge_row(r.edge, r.from)),
                    );
                }
                path
            })
            .collect();
        Some(paths)
    }

    fn edge_row(&self, edge: usize, node: u32) -> EdgeRow {
        EdgeRow {
            edge: self.snapshot.edge_label(edge),
            edge_type: self.snapshot.graph.edge_type_name(edge).to_owned(),
            row: self.row(node),
            ignored: false,
        }
    }

    /// The nodes `id` immediately dominates, largest retained size first.
    pub fn dominated(&self, id: u32, offset: usize, limit: usize) -> Option<Page<Row>> {
        let v = self.ordinal(id)?;
        let s = &self.snapshot;
        let mut children = s.dominated_by(v).to_vec();
        children.sort_by(|&a, &b| s.retained.of(b).cmp(&s.retained.of(a)).then(a.cmp(&b)));
        Some(self.page(&children, offset, limit, |&c| self.dominator_row(c)))
    }

    /// The dominator tree's root, as a row.
    pub fn dominator_root(&self) -> Row {
        self.dominator_row(self.snapshot.root())
    }

    pub fn duplicate_strings(&self, offset: usize, limit: usize) -> Page<DuplicateString> {
        self.page(self.all_duplicates(), offset, limit, DuplicateString::clone)
    }

    fn all_duplicates(&self) -> &[DuplicateString] {
        self.duplicate_strings
            .get_or_init(|| self.snapshot.duplicate_strings())
    }

    /// The objects that hold the copies of duplicated string `group` (its
    /// row in [`Explorer::duplicate_strings`]): each copy's retainers, in
    /// the Retainers view's order, copy by copy.
    pub fn string_holders(
        &self,
        group: usize,
        offset: usize,
        limit: usize,
    ) -> Option<Page<EdgeRow>> {
        let copies = &self.all_duplicates().get(group)?.copies;
        let holders: Vec<leakscope_snapshot::Retainer> = copies
            .iter()
            .flat_map(|&v| self.snapshot.retainers(&self.retainer_index, v))
            .collect();
        Some(self.page(&holders, offset, limit, |r| self.edge_row(r.edge, r.from)))
    }

    /// `@123` finds the object with that id; any other text every string
    /// that contains it, most retained first: `limit` of them from
    /// `offset`, and how many there are in all.
    pub fn search(&self, query: &str, offset: usize, limit: usize) -> Page<Row> {
        let query = query.trim();
        if let Some(id) = query.strip_prefix('@').and_then(|id| id.parse().ok()) {
            let found: Vec<u32> = self.ordinal(id).into_iter().collect();
            return self.page(&found, offset, limit, |&v| self.row(v));
        }
        let found = {
            let mut last = self.last_search.lock().expect("search lock");
            match &*last {
                Some((q, found)) if q == query => found.clone(),
                _ => {
                    let found = self.matching_strings(query);
                    *last = Some((query.to_owned(), found.clone()));
                    found
                }
            }
        };
        self.page(&found, offset, limit, |&v| self.row(v))
    }

    fn matching_strings(&self, query: &str) -> Arc<[u32]> {
        if query.is_empty() {
            return Arc::new([]);
        }
        let s = &self.snapshot;
        let g = &s.graph;
        let matching: Vec<bool> = (0..s.strings.len() as u32)
            .map(|i| s.strings.get(i).contains(query))
            .collect();
        let nt = g.node_types();
        let mut found: Vec<u32> = (0..g.node_count() as u32)
            .filter(|&v| {
                let t = g.node_type[v as usize];
                (t == nt.string || t == nt.cons_string || t == nt.sliced_string)
                    && matching[g.node_name[v as usize] as usize]
            })
            .collect();
        found.sort_by(|&a, &b| s.retained.of(b).cmp(&s.retained.of(a)).then(a.cmp(&b)));
        found.into()
    }

    /// The recording's bars; `None` for a plain snapshot (no time samples).
    pub fn timeline(&self) -> Option<Timeline> {
        let s = &self.snapshot;
        let recording_seconds = s.recording_seconds()?;
        Some(Timeline {
            recording_seconds,
            has_stacks: self.traces().is_some(),
            bars: timeline::live_bars(s),
        })
    }

    fn traces(&self) -> Option<&AllocationTraces> {
        self.traces
            .get_or_init(|| AllocationTraces::of(&self.snapshot))
            .as_ref()
    }

    /// Objects allocated between `from` and `to` seconds into the recording
    /// and still alive, by class and allocation stack (`depth` frames).
    /// Positions are printed as `positions` says (source maps).
    pub fn allocated(
        &self,
        from: f64,
        to: f64,
        depth: usize,
        positions: &Positions,
    ) -> Option<Allocated> {
        let s = &self.snapshot;
        let recording_seconds = s.recording_seconds()?;
        let traces = self.traces()?;
        let ids = s.ids_allocated_between(from, to)?;
        let mut classes = timeline::allocations_by_class(s, traces, s.nodes_with_ids(ids), depth);
        timeline::map_positions(&mut classes, positions);
        Some(Allocated {
            recording_seconds,
            from_seconds: from,
            to_seconds: to,
            objects: classes.iter().map(|c| c.count).sum(),
            shallow_size: classes.iter().map(|c| c.shallow_size).sum(),
            classes,
        })
    }

    fn page<T, R>(
        &self,
        all: &[T],
        offset: usize,
        limit: usize,
        to_row: impl Fn(&T) -> R,
    ) -> Page<R> {
        let start = offset.min(all.len());
        let end = start.saturating_add(limit).min(all.len());
        Page {
            total: all.len(),
            offset: start,
            items: all[start..end].iter().map(to_row).collect(),
        }
    }
}

/// The unfiltered Summary, or a filtered one shared with the cache.
enum SummaryRef<'a> {
    All(&'a ClassSummary),
    Filtered(Arc<ClassSummary>),
}

impl std::ops::Deref for SummaryRef<'_> {
    type Target = ClassSummary;
    fn deref(&self) -> &ClassSummary {
        match self {
            SummaryRef::All(s) => s,
            SummaryRef::Filtered(s) => s,
        }
    }
}

/// An object under a class of the Comparison view: new in the current
/// snapshot, or deleted since the base (then its row is the base's).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRow {
    #[serde(flatten)]
    pub row: Row,
    pub deleted: bool,
}

/// The objects behind one class of a Comparison, as DevTools lists them
/// when the class is expanded: the new ones, then the deleted ones, each in
/// id order.
pub fn comparison_members(
    base: &Explorer,
    current: &Explorer,
    diff: &ClassDiff,
    offset: usize,
    limit: usize,
) -> Page<MemberRow> {
    let total = diff.added.len() + diff.removed.len();
    let start = offset.min(total);
    let end = start.saturating_add(limit).min(total);
    let items = (start..end)
        .map(|i| match diff.added.get(i) {
            Some(&v) => MemberRow {
                row: current.row(v),
                deleted: false,
            },
            None => MemberRow {
                row: base.row(diff.removed[i - diff.added.len()]),
                deleted: true,
            },
        })
        .collect();
    Page {
        total,
        offset: start,
        items,
    }
}

/// The Comparison view of `current` against `base`, largest size delta
/// first. `base` is reclassified with `current`'s interfaces for the
/// duration, so it is borrowed mutably.
pub fn compare(base: &mut Explorer, current: &Explorer) -> Vec<ClassDiff> {
    leakscope_snapshot::compare(&mut base.snapshot, &current.snapshot)
}
