//! Leak verdicts from a series of heap snapshots of one process, taken after
//! a forced GC at the end of equal rounds of load.
//!
//! The evidence is V8's snapshot ids: within one inspector session an object
//! keeps its id, and an object first seen by snapshot `r` gets an id above
//! every id of snapshot `r - 1`. So in the last snapshot each live object
//! tells which round allocated it. A leak is a group of objects, held the
//! same way, to which *every* round adds at a steady rate per request;
//! warm-up effects (JIT code, pools, caches filling up to a bound) and
//! bursts of garbage add to one round at most and are not reported.
//!
//! Objects are grouped by what holds them, so 100,000 leaked closures are one
//! finding: in the dominator tree each new object belongs to its topmost new
//! ancestor (the "top"), and a top is held by the first old, non-internal
//! object on its retaining path (the "holder", e.g. a module-level array, a
//! Map, an EventEmitter's listener array). Tops with the same holder form
//! one group.

mod naming;

use std::collections::HashMap;

use leakscope_snapshot::{AllocationTraces, HeapSnapshot, RetainerIndex};
use serde::Serialize;

pub use naming::Step;

/// One round of load, as the hunt saw it.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub requests: u64,
    pub seconds: f64,
    /// The largest object id in the snapshot taken after the round.
    pub max_id: u32,
}

/// What the rounds added to a group.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RoundGrowth {
    pub objects: u64,
    pub bytes: u64,
}

/// A class of leaked objects in a finding.
#[derive(Debug, Clone, Serialize)]
pub struct LeakedClass {
    pub name: String,
    pub count: u64,
    /// Shallow bytes of these objects.
    pub bytes: u64,
    pub per_request: f64,
}

/// Where the leaked objects were allocated.
#[derive(Debug, Clone, Serialize)]
pub struct AllocationSite {
    /// Innermost frame in the application's own code first.
    pub stack: Vec<String>,
    /// Of the leaked objects with a known site, how many were allocated here.
    pub objects: u64,
    /// `closure definition`, `allocation tracking` or both.
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What a developer would call the holder, e.g. "Array `pending` (module
    /// scope of app.js)".
    pub holder: String,
    pub holder_id: u32,
    /// From the GC roots down to the holder.
    pub path_to_holder: Vec<Step>,
    /// From the holder down to a leaked object, indexes blurred.
    pub path_to_leaked: Vec<Step>,
    /// The objects put into the holder (first non-internal new objects
    /// below it), e.g. closures `rememberHeaders`.
    pub leaked_items: LeakedClass,
    /// The items form a chain, each holding the one before.
    pub chain: bool,
    /// Every new object of the group by class, largest first.
    pub classes: Vec<LeakedClass>,
    pub objects: u64,
    pub bytes: u64,
    pub per_round: Vec<RoundGrowth>,
    pub objects_per_request: f64,
    pub bytes_per_request: f64,
    /// At the request rate the hunt measured.
    pub mb_per_hour: f64,
    pub allocation: Option<AllocationSite>,
    /// Snapshot id of one leaked item, for `leakscope retainers --id`.
    pub example_id: u32,
}

/// A class whose live count rose at every snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct ClassGrowth {
    pub name: String,
    /// Live count in the baseline and after each round.
    pub counts: Vec<u64>,
    pub bytes: Vec<u64>,
    pub per_request: f64,
}

/// Thresholds for calling a group a leak.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The slowest round's bytes per request must be at least this share of
    /// the fastest round's.
    pub steadiness: f64,
    /// Ignore groups that grew by fewer bytes than this in all.
    pub min_bytes: u64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            steadiness: 0.3,
            min_bytes: 64 * 1024,
        }
    }
}

/// The largest id V8 gave a heap object in `s`.
pub fn max_heap_object_id(s: &HeapSnapshot) -> u32 {
    let counted = counted_ids(s);
    (0..s.node_count() as u32)
        .filter(|&v| counted(v))
        .map(|v| s.graph.node_id[v as usize])
        .max()
        .unwrap_or(0)
}

/// Whether a node's id comes from V8's object counter (odd, rising). Native
/// (embedder) and synthetic nodes get hash-derived ids instead.
fn counted_ids(s: &HeapSnapshot) -> impl Fn(u32) -> bool + '_ {
    let g = &s.graph;
    let position = |name: &str| g.node_type_names.iter().position(|t| t == name);
    let (native, synthetic) = (position("native"), position("synthetic"));
    move |v: u32| {
        let ty = Some(g.node_type[v as usize] as usize);
        g.node_id[v as usize] % 2 == 1 && ty != native && ty != synthetic
    }
}

/// Finds the leaks in `last`, the snapshot taken after the last of `rounds`;
/// `baseline_max_id` is the largest id of the snapshot taken before them.
/// `traces` are `last`'s allocation stacks, if it was taken while tracking.
pub fn find_leaks(
    last: &HeapSnapshot,
    baseline_max_id: u32,
    rounds: &[Round],
    traces: Option<&AllocationTraces>,
    rules: Rules,
) -> Vec<Finding> {
    if rounds.is_empty() || !last.is_full() {
        return Vec::new();
    }
    let g = &last.graph;
    let n = g.node_count();
    let counted = counted_ids(last);
    let round_of = |v: u32| -> Option<usize> {
        let id = g.node_id[v as usize];
        if id <= baseline_max_id || !counted(v) {
            return None;
        }
        Some(
            rounds
                .iter()
                .position(|r| id <= r.max_id)
                .unwrap_or(rounds.len() - 1),
        )
    };
    let internal = |v: u32| naming::is_internal(last, v);

    // Dominator-tree walk, parents first: each new node's top and item
    // (its first non-internal new ancestor-or-self below the top).
    const NONE: u32 = u32::MAX;
    let mut top = vec![NONE; n];
    let mut item = vec![NONE; n];
    let mut stack = vec![last.root()];
    while let Some(v) = stack.pop() {
        for &c in last.dominated_by(v) {
            if round_of(c).is_some() {
                let parent_new = round_of(v).is_some();
                top[c as usize] = if parent_new { top[v as usize] } else { c };
                let inherited = if parent_new { item[v as usize] } else { NONE };
                item[c as usize] = if inherited != NONE || internal(c) {
                    inherited
                } else {
                    c
                };
            }
            stack.push(c);
        }
    }

    // Group tops by holder.
    let index = RetainerIndex::build(g);
    let mut resolver = naming::HolderResolver::new(last, &index, &round_of);
    let mut group_of_top: HashMap<u32, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut group_index: HashMap<u32, usize> = HashMap::new();
    for v in 0..n as u32 {
        let t = top[v as usize];
        if t == NONE {
            continue;
        }
        let gi = *group_of_top.entry(t).or_insert_with(|| {
            let holder = resolver.resolve(t);
            *group_index.entry(holder).or_insert_with(|| {
                groups.push(Group::new(holder, t, rounds.len()));
                groups.len() - 1
            })
        });
        let group = &mut groups[gi];
        let r = round_of(v).expect("tops are new");
        let bytes = g.self_size[v as usize] as u64;
        group.per_round[r].objects += 1;
        group.per_round[r].bytes += bytes;
        let class = group.classes.entry(naming::label(last, v)).or_default();
        class.0 += 1;
        class.1 += bytes;
        let it = item[v as usize];
        if it != NONE {
            group
                .item_bytes
                .entry(naming::label(last, it))
                .or_default()
                .1 += bytes;
            if it == v {
                group
                    .item_bytes
                    .entry(naming::label(last, v))
                    .or_default()
                    .0 += 1;
                group.items.push(v);
            }
        }
    }

    let requests: Vec<u64> = rounds.iter().map(|r| r.requests.max(1)).collect();
    let total_requests: u64 = requests.iter().sum();
    let total_seconds: f64 = rounds.iter().map(|r| r.seconds).sum();
    let mut findings: Vec<Finding> = groups
        .into_iter()
        .filter(|group| group.is_leak(&requests, rules))
        .filter_map(|group| {
            let variable = resolver.variable(group.holder).map(str::to_owned);
            group.into_finding(
                last,
                &index,
                traces,
                variable.as_deref(),
                total_requests,
                total_seconds,
            )
        })
        .collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.bytes));
    findings
}

/// Classes whose live count rose at every snapshot (baseline first), by
/// bytes grown. `snapshots` holds (class name → (count, shallow bytes)).
pub fn growing_classes(
    snapshots: &[HashMap<String, (u64, u64)>],
    requests: u64,
) -> Vec<ClassGrowth> {
    let Some(first) = snapshots.first() else {
        return Vec::new();
    };
    let mut out: Vec<ClassGrowth> = first
        .keys()
        .chain(snapshots.last().expect("non-empty").keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|name| {
            let at = |s: &HashMap<String, (u64, u64)>| s.get(name).copied().unwrap_or((0, 0));
            let counts: Vec<u64> = snapshots.iter().map(|s| at(s).0).collect();
            let bytes: Vec<u64> = snapshots.iter().map(|s| at(s).1).collect();
            let rising = counts.windows(2).all(|w| w[1] > w[0]);
            (snapshots.len() >= 3 && rising).then(|| ClassGrowth {
                name: name.clone(),
                per_request: (counts[counts.len() - 1] - counts[0]) as f64 / requests.max(1) as f64,
                counts,
                bytes,
            })
        })
        .collect();
    let grown = |c: &ClassGrowth| c.bytes[c.bytes.len() - 1].saturating_sub(c.bytes[0]);
    out.sort_by(|a, b| grown(b).cmp(&grown(a)).then(a.name.cmp(&b.name)));
    out
}

/// New objects held the same way, while they are being counted.
struct Group {
    holder: u32,
    example_top: u32,
    per_round: Vec<RoundGrowth>,
    /// Label → (count, bytes) of every new object.
    classes: HashMap<String, (u64, u64)>,
    /// Item label → (items, bytes of the items and what they dominate).
    item_bytes: HashMap<String, (u64, u64)>,
    items: Vec<u32>,
}

impl Group {
    fn new(holder: u32, example_top: u32, rounds: usize) -> Group {
        Group {
            holder,
            example_top,
            per_round: vec![RoundGrowth::default(); rounds],
            classes: HashMap::new(),
            item_bytes: HashMap::new(),
            items: Vec::new(),
        }
    }

    /// Every round added to it, at a steady rate per request, and enough.
    fn is_leak(&self, requests: &[u64], rules: Rules) -> bool {
        if self.holder == u32::MAX || requests.len() < 2 {
            return false;
        }
        let total: u64 = self.per_round.iter().map(|r| r.bytes).sum();
        let rates: Vec<f64> = self
            .per_round
            .iter()
            .zip(requests)
            .map(|(r, &q)| r.bytes as f64 / q as f64)
            .collect();
        let max = rates.iter().cloned().fold(0.0, f64::max);
        let min = rates.iter().cloned().fold(f64::INFINITY, f64::min);
        total >= rules.min_bytes && min > 0.0 && min >= rules.steadiness * max
    }

    fn into_finding(
        self,
        s: &HeapSnapshot,
        index: &RetainerIndex,
        traces: Option<&AllocationTraces>,
        variable: Option<&str>,
        total_requests: u64,
        total_seconds: f64,
    ) -> Option<Finding> {
        let per = |x: u64| x as f64 / total_requests as f64;
        let (item_label, (item_count, item_bytes)) = self
            .item_bytes
            .iter()
            .filter(|(_, (count, _))| *count > 0)
            .max_by(|a, b| a.1 .1.cmp(&b.1 .1).then(b.0.cmp(a.0)))?;
        let headline: Vec<u32> = self
            .items
            .iter()
            .copied()
            .filter(|&v| naming::label(s, v) == *item_label)
            .collect();
        let example = *headline.first()?;
        // A chain (each object holding the previous one) has one item at
        // its head: count the chain's links instead.
        let (item_count, chain) = match self.classes.get(item_label) {
            Some(&(count, _)) if *item_count <= 2 && count > 2 * item_count => (count, true),
            _ => (*item_count, false),
        };
        let mut classes: Vec<LeakedClass> = self
            .classes
            .iter()
            .map(|(name, &(count, bytes))| LeakedClass {
                name: name.clone(),
                count,
                bytes,
                per_request: per(count),
            })
            .collect();
        classes.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
        let objects: u64 = self.per_round.iter().map(|r| r.objects).sum();
        let bytes: u64 = self.per_round.iter().map(|r| r.bytes).sum();
        let rate = total_requests as f64 / total_seconds.max(1e-9);
        Some(Finding {
            holder: naming::holder_name(s, index, self.holder, variable),
            holder_id: s.graph.node_id[self.holder as usize],
            path_to_holder: naming::path_from_root(s, index, self.holder),
            path_to_leaked: naming::path_between(s, index, self.holder, self.example_top, example),
            leaked_items: LeakedClass {
                name: item_label.clone(),
                count: item_count,
                bytes: *item_bytes,
                per_request: per(item_count),
            },
            chain,
            classes,
            objects,
            bytes,
            per_round: self.per_round,
            objects_per_request: per(objects),
            bytes_per_request: per(bytes),
            mb_per_hour: per(bytes) * rate * 3600.0 / 1e6,
            allocation: naming::allocation_site(s, traces, &headline),
            example_id: s.graph.node_id[example as usize],
        })
    }
}
