//! Leak verdicts from the snapshots of one process, taken after a forced GC
//! at the end of each round of load.
//!
//! The evidence is V8's snapshot ids: within one inspector session an object
//! keeps its id, and an object first seen by snapshot `r` gets an id above
//! every id of snapshot `r - 1`. So in the last snapshot each live object
//! tells which round allocated it. A leak is a group of objects, held the
//! same way, to which *every* round adds at a steady rate per request (or
//! per connection); warm-up effects (JIT code, pools, caches filling up to a
//! bound) and bursts of garbage add to one round at most and are not
//! reported. Whatever the items are — objects, closures, strings, numbers,
//! Buffers — they count alike, and the bytes include what they keep alive
//! outside the JS heap (ArrayBuffer backing stores) and the growth of the
//! holder's own storage (its elements or hash table).
//!
//! Objects are grouped by what holds them, so 100,000 leaked closures are one
//! finding: in the dominator tree each new object belongs to its topmost new
//! ancestor (the "top"), and a top is held by the first old object on its
//! retaining path that a developer could name (the "holder", e.g. a
//! module-level array, a Map, an EventEmitter's listener array). Tops with
//! the same holder form one group.
//!
//! A small group (a slow leak: one object in 20 requests) is only called a
//! leak once enough rounds agree: [`Finding::needs_more_rounds`] tells the
//! hunt to run more before it believes it.

use std::collections::HashMap;

use leakscope_snapshot::{HeapSnapshot, RetainerIndex};
use leakscope_sourcemap::Positions;
use serde::Serialize;

use crate::digest::{counted_ids, Digest};
pub use crate::naming::AllocationSite;
use crate::naming::{self, AnonymousFunction, Step, OLD};
use crate::TracedSites;

/// One round of load, as the hunt saw it.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    /// Requests the hunt's own load sent; 0 when it did not count them (the
    /// process's own work, or the user's load command).
    pub requests: u64,
    /// How long the round ran; 0 when unknown (snapshots whose times are
    /// not known).
    pub seconds: f64,
    /// TCP connections the load opened.
    pub connections: u64,
}

/// Turns amounts over all rounds into rates: per request when every round
/// counted its requests, per second when every round has a duration.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// 0 when some round did not count requests.
    pub requests: u64,
    /// 0 when some round's duration is unknown.
    pub seconds: f64,
}

impl Scale {
    pub fn of(rounds: &[Round]) -> Scale {
        let counted = !rounds.is_empty() && rounds.iter().all(|r| r.requests > 0);
        let timed = !rounds.is_empty() && rounds.iter().all(|r| r.seconds > 0.0);
        Scale {
            requests: if counted {
                rounds.iter().map(|r| r.requests).sum()
            } else {
                0
            },
            seconds: if timed {
                rounds.iter().map(|r| r.seconds).sum()
            } else {
                0.0
            },
        }
    }

    pub fn per_request(&self, amount: u64) -> Option<f64> {
        (self.requests > 0).then(|| amount as f64 / self.requests as f64)
    }

    pub fn per_second(&self, amount: u64) -> Option<f64> {
        (self.seconds > 0.0).then(|| amount as f64 / self.seconds)
    }

    /// Bytes over all rounds as MB an hour.
    pub fn mb_per_hour(&self, bytes: u64) -> Option<f64> {
        self.per_second(bytes).map(|b| b * 3600.0 / 1e6)
    }
}

/// What one round added to a group (and is still alive at the end).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RoundGrowth {
    /// Leaked items and what they hold, V8's bookkeeping not counted.
    pub objects: u64,
    /// On the JS heap and outside it.
    pub bytes: u64,
}

/// A class of leaked objects in a finding.
#[derive(Debug, Clone, Serialize)]
pub struct LeakedClass {
    pub name: String,
    pub count: u64,
    /// Shallow bytes of these objects (for the items: with all they hold).
    pub bytes: u64,
    /// Absent when the rounds did not count requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_request: Option<f64>,
    /// Absent when the rounds' durations are unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_second: Option<f64>,
    /// One of them, e.g. a string's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// How sure the hunt is of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Big and steady: every round added a clear amount.
    High,
    /// Small, but every one of at least five rounds added to it.
    Medium,
    /// Small and seen in fewer rounds than it takes to be sure.
    Low,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The thread whose heap holds it: `main`, or `worker N (file)`.
    pub thread: String,
    /// What a developer would call the holder, e.g. "Array `pending` (module
    /// scope of app.js)".
    pub holder: String,
    pub holder_id: u32,
    /// The npm package whose code owns the holder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Other holders that keep the leaked objects alive together with
    /// `holder` (none of them alone would free them), e.g. two timer lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held_together_with: Vec<String>,
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
    /// Everything the group grew by: its objects, what they keep outside
    /// the JS heap, and the holder's own storage.
    pub bytes: u64,
    /// Of `bytes`, outside the JS heap (ArrayBuffer backing stores).
    pub external_bytes: u64,
    /// Of `bytes`, the growth of the holder's own storage (elements, hash
    /// table, dictionary) from the baseline to the end.
    pub storage_bytes: u64,
    pub per_round: Vec<RoundGrowth>,
    /// Absent when the rounds did not count requests (no load, or the
    /// user's own load command): the rates are then per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects_per_request: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_request: Option<f64>,
    /// Absent when the rounds' durations are unknown (snapshots without
    /// times).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_second: Option<f64>,
    /// At the rate the hunt measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mb_per_hour: Option<f64>,
    /// The slowest round's items per request over the fastest's (per
    /// connection when that is steadier; per second or per round when no
    /// requests were counted): 1.0 is perfectly steady.
    pub steadiness: f64,
    pub confidence: Confidence,
    /// Why the hunt believes it, in one line.
    pub evidence: String,
    pub allocation: Option<AllocationSite>,
    /// Snapshot id of one leaked item, for `leakscope retainers --id`.
    pub example_id: u32,
    /// The application's unnamed functions on the path, holding the scope,
    /// or making the items: naming them makes the report say which they are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anonymous_functions: Vec<AnonymousFunction>,
    /// Too small to trust from these rounds alone: run more.
    #[serde(skip)]
    pub needs_more_rounds: bool,
}

/// Thresholds for calling a group a leak.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The slowest round's items per request must be at least this share of
    /// the fastest round's.
    pub steadiness: f64,
    /// Groups that grew by fewer bytes than this are never reported.
    pub min_bytes: u64,
    /// Nor groups to which some round added fewer items than this.
    pub min_objects_per_round: u64,
    /// A group this big, with this many items in every round, is believed
    /// at once; a smaller one only after `confirm_rounds` rounds agree.
    pub clear_bytes: u64,
    pub clear_objects_per_round: u64,
    pub confirm_rounds: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            steadiness: 0.4,
            min_bytes: 4 * 1024,
            min_objects_per_round: 3,
            clear_bytes: 256 * 1024,
            clear_objects_per_round: 50,
            confirm_rounds: 5,
        }
    }
}

/// What the verdict looks at.
pub struct Evidence<'a> {
    /// The snapshot after the last round, fully analysed.
    pub last: &'a HeapSnapshot,
    /// The baseline's digest first, then one per round (the last included).
    pub digests: &'a [Digest],
    pub rounds: &'a [Round],
    /// Allocation stacks from a snapshot taken with tracking on.
    pub traces: Option<&'a TracedSites>,
    /// The heap after GC at each snapshot, baseline first (empty when
    /// unknown): a holder's retained size that creeps while the heap stays
    /// flat is a cache's churn, and a heap that grows steadily is never
    /// clean.
    pub heap: &'a [u64],
    /// How positions are printed (source maps).
    pub positions: &'a Positions,
}

/// Finds the leaks: groups of new objects, by holder, to which every round
/// added steadily.
pub fn assess(evidence: &Evidence, rules: &Rules) -> Vec<Finding> {
    let Evidence {
        last,
        digests,
        rounds,
        traces,
        ..
    } = *evidence;
    if rounds.len() < 2 || digests.len() != rounds.len() + 1 || !last.is_full() {
        return Vec::new();
    }
    let age = ages(last, digests);
    let (top, item) = tops_and_items(last, &age);
    let g = &last.graph;
    let native = g.node_types().native;

    let index = RetainerIndex::build(g);
    let mut resolver = naming::HolderResolver::new(last, &index, &age);
    let mut group_of_top: HashMap<u32, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut group_index: HashMap<HolderKey, usize> = HashMap::new();
    for v in 0..g.node_count() as u32 {
        let t = top[v as usize];
        if t == NONE {
            continue;
        }
        let gi = *group_of_top.entry(t).or_insert_with(|| {
            let (key, holders) = holder_key(last, &mut resolver, &age, t);
            *group_index.entry(key).or_insert_with(|| {
                groups.push(Group::new(holders, t, rounds.len()));
                groups.len() - 1
            })
        });
        let group = &mut groups[gi];
        let r = age[v as usize] as usize;
        let bytes = g.self_size[v as usize] as u64;
        group.per_round[r].bytes += bytes;
        if g.node_type[v as usize] == native {
            group.external_bytes += bytes;
        }
        if !naming::is_internal(last, v) {
            group.per_round[r].objects += 1;
        }
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
    for group in &mut groups {
        group.add_storage_growth(last, digests);
    }

    let context = FindingContext {
        s: last,
        index: &index,
        positions: evidence.positions,
        traces,
        rounds,
        rules,
    };
    let heap_growth = match (evidence.heap.first(), evidence.heap.last()) {
        (Some(&a), Some(&b)) if evidence.heap.len() == rounds.len() + 1 => {
            Some(b.saturating_sub(a))
        }
        _ => None,
    };
    let mut judged: Vec<(Group, Strength)> = Vec::new();
    let mut rejected: Vec<Group> = Vec::new();
    for group in groups {
        match group.judge(rounds, rules, heap_growth) {
            Some(strength) => judged.push((group, strength)),
            None => rejected.push(group),
        }
    }
    judged.extend(alike_groups(
        last,
        &index,
        rejected,
        rounds,
        rules,
        heap_growth,
    ));
    let judged = merge_held_together(judged);
    // A holder judged by what it retains also retains every leak below it
    // in the dominator tree: it is the culprit only if those do not explain
    // most of its growth.
    let growth: Vec<u64> = judged.iter().map(|(g, s)| g.growth(s)).collect();
    let explained = |i: usize| -> u64 {
        judged
            .iter()
            .enumerate()
            .filter(|&(j, (other, _))| j != i && dominates(last, judged[i].0.holder, other.holder))
            .map(|(j, _)| growth[j])
            .sum()
    };
    let keep: Vec<bool> = (0..judged.len())
        .map(|i| !judged[i].1.by_retained || explained(i) * 2 < growth[i])
        .collect();
    let mut findings: Vec<Finding> = judged
        .into_iter()
        .zip(keep)
        .filter(|(_, keep)| *keep)
        .filter_map(|((group, strength), _)| {
            let variables: Vec<Option<String>> = group
                .holders
                .iter()
                .map(|&h| resolver.variable(h).map(str::to_owned))
                .collect();
            group.into_finding(&context, &variables, strength)
        })
        .collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.bytes));
    findings.extend(heap_growth_finding(
        evidence.digests,
        evidence.rounds,
        evidence.heap,
        rules,
        &findings,
    ));
    findings
}

/// When the heap after GC grew at a steady rate round after round and the
/// findings explain less than half of it, the growth itself is a finding:
/// what grew is kept by no single holder the snapshots could name (or V8
/// could not date it). A steadily growing heap is never called clean.
pub(crate) fn heap_growth_finding(
    digests: &[Digest],
    rounds: &[Round],
    heap: &[u64],
    rules: &Rules,
    findings: &[Finding],
) -> Option<Finding> {
    if heap.len() != rounds.len() + 1 || rounds.len() < 2 {
        return None;
    }
    let (first, last) = (heap[0], heap[heap.len() - 1]);
    if heap.windows(2).any(|w| w[1] <= w[0]) {
        return None;
    }
    let total = last - first;
    let steps: Vec<u64> = heap.windows(2).map(|w| w[1] - w[0]).collect();
    let steadiness = steadiness(&steps, rounds);
    let explained: u64 = findings.iter().map(|f| f.bytes).sum();
    if steadiness < 0.5 || total < (1 << 20).max(rules.min_bytes) || explained * 2 >= total {
        return None;
    }
    let scale = Scale::of(rounds);
    let mut classes: Vec<LeakedClass> = crate::digest::growing_classes(digests, scale)
        .into_iter()
        .map(|c| {
            let count = c.counts[c.counts.len() - 1] - c.counts[0];
            LeakedClass {
                name: c.name,
                count,
                bytes: c.bytes[c.bytes.len() - 1].saturating_sub(c.bytes[0]),
                per_request: scale.per_request(count),
                per_second: scale.per_second(count),
                example: None,
            }
        })
        .collect();
    classes.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
    let items = classes.first().cloned().unwrap_or(LeakedClass {
        name: if digests.is_empty() {
            "(what, no snapshot shows: see where it was allocated)".to_owned()
        } else {
            "(objects V8 could not date)".to_owned()
        },
        count: 0,
        bytes: total,
        per_request: None,
        per_second: None,
        example: None,
    });
    let smallest = steps.iter().copied().min().unwrap_or(0);
    let clear = smallest >= rules.clear_bytes && rounds.len() >= 3;
    // Never more than medium: no holder to point at.
    let (confidence, needs_more_rounds) = if clear || rounds.len() >= rules.confirm_rounds {
        (Confidence::Medium, false)
    } else {
        (Confidence::Low, true)
    };
    let mb: Vec<String> = heap
        .iter()
        .map(|&b| format!("{:.1}", b as f64 / 1e6))
        .collect();
    let per_round: Vec<RoundGrowth> = steps
        .iter()
        .map(|&bytes| RoundGrowth { objects: 0, bytes })
        .collect();
    let objects: u64 = classes.iter().map(|c| c.count).sum();
    Some(Finding {
        thread: "main".to_owned(),
        holder: if digests.is_empty() {
            "the heap as a whole: it grew steadily after GC (no snapshot was taken to name what keeps it)".to_owned()
        } else {
            "no single holder: the heap after GC grew steadily and no object the snapshots show keeps most of it".to_owned()
        },
        holder_id: 0,
        package: None,
        held_together_with: Vec::new(),
        path_to_holder: Vec::new(),
        path_to_leaked: Vec::new(),
        leaked_items: items,
        chain: false,
        classes,
        objects,
        bytes: total,
        external_bytes: 0,
        storage_bytes: 0,
        per_round,
        objects_per_request: scale.per_request(objects),
        bytes_per_request: scale.per_request(total),
        objects_per_second: scale.per_second(objects),
        bytes_per_second: scale.per_second(total),
        mb_per_hour: scale.mb_per_hour(total),
        steadiness,
        confidence,
        evidence: format!(
            "the heap after GC grew in each of {} rounds ({} MB), steady within {:.0} %, and the findings explain {:.0} % of it",
            rounds.len(),
            mb.join(" → "),
            ((1.0 - steadiness) * 100.0).max(1.0),
            explained as f64 * 100.0 / total as f64
        ),
        allocation: None,
        example_id: 0,
        anonymous_functions: Vec::new(),
        needs_more_rounds,
    })
}

/// Holders alike (every User's `history` Array) that each added too little
/// to judge alone, judged together: a leak spread over many holders.
const ALIKE_MIN_HOLDERS: usize = 8;

fn alike_groups(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    rejected: Vec<Group>,
    rounds: &[Round],
    rules: &Rules,
    heap_growth: Option<u64>,
) -> Vec<(Group, Strength)> {
    let mut by_shape: HashMap<String, Vec<Group>> = HashMap::new();
    for group in rejected {
        if group.holder == NONE || group.holders.len() > 1 {
            continue;
        }
        if let Some(shape) = naming::holder_shape(s, index, group.holder) {
            by_shape.entry(shape).or_default().push(group);
        }
    }
    by_shape
        .into_values()
        .filter(|groups| groups.len() >= ALIKE_MIN_HOLDERS)
        .filter_map(|groups| {
            let mut groups = groups.into_iter();
            let mut merged = groups.next()?;
            for other in groups {
                merged.absorb_alike(other);
            }
            // Each holder may only have swapped a value for a new one (a
            // field's number, a timestamp): alike holders count only when
            // the heap grew by most of what they added.
            if heap_growth.is_none_or(|heap| heap < merged.total_bytes() / 2) {
                return None;
            }
            let strength = merged.judge_items(rounds, rules)?;
            Some((merged, strength))
        })
        .collect()
}

/// How new objects are grouped: by the one holder that keeps them, by the
/// kind of native handle that keeps each of them (one handle per object,
/// like an open MessagePort), or by the set of holders that keep them
/// together when none alone does (two timer lists, say).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum HolderKey {
    One(u32),
    NativeKind(String),
    Together(Vec<u32>),
}

/// At most this many retainers of a top are followed to find the holders
/// that keep it together.
const TOGETHER_RETAINERS: usize = 8;

/// The key of `top`'s group and its holders (the first one names it).
pub(crate) fn holder_key(
    s: &HeapSnapshot,
    resolver: &mut naming::HolderResolver,
    age: &[u8],
    top: u32,
) -> (HolderKey, Vec<u32>) {
    let holder = resolver.resolve(top);
    if holder == NONE {
        return (HolderKey::One(NONE), vec![NONE]);
    }
    // A native handle node made for this object alone (its wrapper) holds
    // one object each: group by the handle's kind.
    if naming::is_native_handle(s, holder) {
        return (HolderKey::NativeKind(s.display_name(holder)), vec![holder]);
    }
    // A string or number two leaks share (a request's URL kept by both)
    // does not make them one leak: it counts with the first that holds it.
    if dominates(s, holder, top) || naming::is_value(s, top) {
        return (HolderKey::One(holder), vec![holder]);
    }
    // Not dominated by its holder: something else keeps it too.
    let mut holders = vec![holder];
    for r in s
        .retainers(resolver.index(), top)
        .into_iter()
        .take(TOGETHER_RETAINERS)
    {
        let h = if age[r.from as usize] == naming::OLD {
            resolver.holder_through(r.from, r.edge)
        } else {
            resolver.resolve(r.from)
        };
        if h != NONE && !holders.contains(&h) {
            holders.push(h);
        }
    }
    if holders.len() == 1 {
        return (HolderKey::One(holder), holders);
    }
    let mut key = holders.clone();
    key.sort_unstable();
    (HolderKey::Together(key), holders)
}

/// Groups judged leaks that share a holder with a group held together by
/// several: together they are one leak, every holder keeping part of it.
fn merge_held_together(judged: Vec<(Group, Strength)>) -> Vec<(Group, Strength)> {
    let mut out: Vec<(Group, Strength)> = Vec::new();
    let (together, single): (Vec<_>, Vec<_>) =
        judged.into_iter().partition(|(g, _)| g.holders.len() > 1);
    for item in together {
        let overlapping = out
            .iter()
            .position(|(g, _)| g.holders.iter().any(|h| item.0.holders.contains(h)));
        match overlapping {
            Some(i) => out[i].0.absorb(item.0),
            None => out.push(item),
        }
    }
    for item in single {
        let overlapping = out.iter().position(|(g, s)| {
            !s.by_retained && !item.1.by_retained && g.holders.contains(&item.0.holders[0])
        });
        match overlapping {
            Some(i) => out[i].0.absorb(item.0),
            None => out.push(item),
        }
    }
    // The holder that kept the most names the merged leak.
    for (g, _) in &mut out {
        g.order_holders();
    }
    out
}

pub(crate) const NONE: u32 = u32::MAX;

/// Whether `a` dominates `b` (strictly) in `s`'s dominator tree.
fn dominates(s: &HeapSnapshot, a: u32, b: u32) -> bool {
    if a == b || a == NONE || b == NONE {
        return false;
    }
    let mut v = b;
    while v != s.root() {
        v = s.idom[v as usize];
        if v == a {
            return true;
        }
    }
    false
}

/// How steady `amounts` (one per round) are, by the steadiest unit the
/// rounds allow: per request or per connection when requests were counted,
/// otherwise per second or per round (each round the same work: a timed
/// stretch, one run of the user's load command).
pub(crate) fn steadiness(amounts: &[u64], rounds: &[Round]) -> f64 {
    let scale = Scale::of(rounds);
    if scale.requests > 0 {
        steadiness_by(amounts, rounds, |r| r.requests as f64).max(steadiness_by(
            amounts,
            rounds,
            |r| r.connections.max(1) as f64,
        ))
    } else {
        let by_round = steadiness_by(amounts, rounds, |_| 1.0);
        if scale.seconds > 0.0 {
            steadiness_by(amounts, rounds, |r| r.seconds).max(by_round)
        } else {
            by_round
        }
    }
}

/// The slowest round's amount per unit over the fastest's: 1.0 is perfectly
/// steady, 0.0 when some round added nothing.
fn steadiness_by(amounts: &[u64], rounds: &[Round], unit: fn(&Round) -> f64) -> f64 {
    let rates: Vec<f64> = amounts
        .iter()
        .zip(rounds)
        .map(|(&c, r)| c as f64 / unit(r).max(1e-9))
        .collect();
    let max = rates.iter().copied().fold(0.0, f64::max);
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    if max > 0.0 {
        min / max
    } else {
        0.0
    }
}

/// The round that allocated each node of `last`, or [`OLD`]. Nodes whose id
/// does not come from V8's object counter (backing stores and other native
/// memory) take the age of the object that dominates them.
fn ages(last: &HeapSnapshot, digests: &[Digest]) -> Vec<u8> {
    let g = &last.graph;
    let counted = counted_ids(last);
    let baseline = digests[0].max_id;
    let rounds = digests.len() - 1;
    let round_of_id = |id: u32| {
        digests[1..]
            .iter()
            .position(|d| id <= d.max_id)
            .unwrap_or(rounds - 1) as u8
    };
    let mut age = vec![OLD; g.node_count()];
    let mut stack = vec![last.root()];
    while let Some(v) = stack.pop() {
        for &c in last.dominated_by(v) {
            let id = g.node_id[c as usize];
            age[c as usize] = if counted(c) {
                if id > baseline {
                    round_of_id(id)
                } else {
                    OLD
                }
            } else {
                age[v as usize]
            };
            stack.push(c);
        }
    }
    age
}

/// For each new node: its top (topmost new ancestor in the dominator tree)
/// and its item (first non-internal new node from the top down to it).
pub(crate) fn tops_and_items(last: &HeapSnapshot, age: &[u8]) -> (Vec<u32>, Vec<u32>) {
    let n = last.node_count();
    let mut top = vec![NONE; n];
    let mut item = vec![NONE; n];
    let mut stack = vec![last.root()];
    while let Some(v) = stack.pop() {
        let parent_new = age[v as usize] != OLD;
        for &c in last.dominated_by(v) {
            if age[c as usize] != OLD {
                top[c as usize] = if parent_new { top[v as usize] } else { c };
                let inherited = if parent_new { item[v as usize] } else { NONE };
                item[c as usize] = if inherited != NONE || naming::is_internal(last, c) {
                    inherited
                } else {
                    c
                };
            }
            stack.push(c);
        }
    }
    (top, item)
}

/// Why a group counts as a leak.
#[derive(Debug, Clone, Copy)]
struct Strength {
    steadiness: f64,
    /// Big enough to believe from these rounds.
    clear: bool,
    /// Judged by what the holder retains rather than by dated items.
    by_retained: bool,
}

/// New objects held the same way, while they are being counted.
struct Group {
    /// The holder that names the group first, then any others that keep
    /// its objects together with it.
    holders: Vec<u32>,
    /// Bytes each holder's part brought (merged groups), by holder.
    bytes_by_holder: HashMap<u32, u64>,
    /// How many holders alike (the same property of objects of the same
    /// kind) the group stands for, when more than one.
    alike: usize,
    holder: u32,
    example_top: u32,
    per_round: Vec<RoundGrowth>,
    external_bytes: u64,
    storage_bytes: u64,
    /// The holder's retained size in each snapshot, baseline first.
    retained: Option<Vec<u64>>,
    /// Label → (count, bytes) of every new object.
    classes: HashMap<String, (u64, u64)>,
    /// Item label → (items, bytes of the items and what they dominate).
    item_bytes: HashMap<String, (u64, u64)>,
    items: Vec<u32>,
}

struct FindingContext<'a> {
    s: &'a HeapSnapshot,
    index: &'a RetainerIndex,
    positions: &'a Positions,
    traces: Option<&'a TracedSites>,
    rounds: &'a [Round],
    rules: &'a Rules,
}

impl Group {
    fn new(holders: Vec<u32>, example_top: u32, rounds: usize) -> Group {
        Group {
            holder: holders[0],
            holders,
            bytes_by_holder: HashMap::new(),
            alike: 1,
            example_top,
            per_round: vec![RoundGrowth::default(); rounds],
            external_bytes: 0,
            storage_bytes: 0,
            retained: None,
            classes: HashMap::new(),
            item_bytes: HashMap::new(),
            items: Vec::new(),
        }
    }

    /// The holder's own storage (folded into its shallow size) round by
    /// round: what a growing array, Map or dictionary adds besides its items;
    /// and its retained size, for leaks whose items V8 keeps unboxed or
    /// keeps replacing (numbers in an array, one ever-longer string).
    fn add_storage_growth(&mut self, s: &HeapSnapshot, digests: &[Digest]) {
        if self.holder == NONE || s.graph.type_name(self.holder) != "object" {
            return;
        }
        let id = s.graph.node_id[self.holder as usize];
        self.retained = digests.iter().map(|d| d.retained_of(id)).collect();
        let sizes: Option<Vec<u64>> = digests
            .iter()
            .map(|d| d.size_of(id).map(u64::from))
            .collect();
        let Some(sizes) = sizes else { return };
        for (r, pair) in sizes.windows(2).enumerate() {
            let grew = pair[1].saturating_sub(pair[0]);
            self.per_round[r].bytes += grew;
        }
        self.storage_bytes = sizes[sizes.len() - 1].saturating_sub(sizes[0]);
    }

    /// Takes in `other`'s objects: a part of the same leak kept by one of
    /// this group's holders.
    fn absorb(&mut self, other: Group) {
        let own = self.total_bytes();
        *self.bytes_by_holder.entry(self.holder).or_default() += own;
        *self.bytes_by_holder.entry(other.holder).or_default() += other.total_bytes();
        for h in other.holders {
            if !self.holders.contains(&h) {
                self.holders.push(h);
            }
        }
        for (mine, theirs) in self.per_round.iter_mut().zip(other.per_round) {
            mine.objects += theirs.objects;
            mine.bytes += theirs.bytes;
        }
        self.external_bytes += other.external_bytes;
        self.storage_bytes += other.storage_bytes;
        self.retained = None;
        for (name, (count, bytes)) in other.classes {
            let c = self.classes.entry(name).or_default();
            c.0 += count;
            c.1 += bytes;
        }
        for (name, (count, bytes)) in other.item_bytes {
            let c = self.item_bytes.entry(name).or_default();
            c.0 += count;
            c.1 += bytes;
        }
        self.items.extend(other.items);
    }

    /// Takes in another holder alike's objects (its holder is not kept:
    /// the group stands for every one of them).
    fn absorb_alike(&mut self, other: Group) {
        let alike = self.alike + other.alike;
        let holders = std::mem::take(&mut self.holders);
        self.absorb(other);
        self.holders = holders;
        self.bytes_by_holder.clear();
        self.alike = alike;
    }

    /// Puts the holder whose part is largest first.
    fn order_holders(&mut self) {
        if self.bytes_by_holder.is_empty() {
            return;
        }
        let bytes = &self.bytes_by_holder;
        self.holders
            .sort_by_key(|h| std::cmp::Reverse(bytes.get(h).copied().unwrap_or(0)));
        self.holder = self.holders[0];
    }

    /// What the group grew by, as its strength measured it.
    fn growth(&self, strength: &Strength) -> u64 {
        match (&self.retained, strength.by_retained) {
            (Some(series), true) => series[series.len() - 1].saturating_sub(series[0]),
            _ => self.total_bytes(),
        }
    }

    fn total_bytes(&self) -> u64 {
        self.per_round.iter().map(|r| r.bytes).sum()
    }

    /// Every round added items, at a steady rate per request (or per
    /// connection), and enough of them; or, for items no snapshot can date
    /// one by one, the holder's retained size kept rising.
    fn judge(&self, rounds: &[Round], rules: &Rules, heap_growth: Option<u64>) -> Option<Strength> {
        if self.holder == NONE {
            return None;
        }
        self.judge_items(rounds, rules)
            .or_else(|| self.judge_retained(rounds, rules, heap_growth))
    }

    fn judge_items(&self, rounds: &[Round], rules: &Rules) -> Option<Strength> {
        let counts: Vec<u64> = self.per_round.iter().map(|r| r.objects).collect();
        let fewest = counts.iter().copied().min().unwrap_or(0);
        if fewest < rules.min_objects_per_round.max(1) || self.total_bytes() < rules.min_bytes {
            return None;
        }
        let steadiness = steadiness(&counts, rounds);
        if steadiness < rules.steadiness {
            return None;
        }
        let clear = self.total_bytes() >= rules.clear_bytes
            && fewest >= rules.clear_objects_per_round
            && steadiness >= 0.5;
        Some(Strength {
            steadiness,
            clear,
            by_retained: false,
        })
    }

    /// The holder's retained size rose in every round but at most one (an
    /// array's capacity grows in steps), never fell, did not level off, and
    /// by enough.
    fn judge_retained(
        &self,
        rounds: &[Round],
        rules: &Rules,
        heap_growth: Option<u64>,
    ) -> Option<Strength> {
        let series = self.retained.as_ref()?;
        let (first, last) = (*series.first()?, *series.last()?);
        let total = last.checked_sub(first)?;
        if total < rules.clear_bytes / 4 {
            return None;
        }
        // What a holder retains can creep while the heap stays flat: a full
        // cache's entries move to it as another holder lets go of them.
        if heap_growth.is_some_and(|heap| heap < total / 2) {
            return None;
        }
        let deltas: Vec<i64> = series
            .windows(2)
            .map(|w| w[1] as i64 - w[0] as i64)
            .collect();
        let shrank = series
            .windows(2)
            .any(|w| (w[1] as f64) < w[0] as f64 * 0.99);
        let grew = deltas.iter().filter(|&&d| d > 0).count();
        let late: i64 = deltas[deltas.len() / 2..].iter().sum();
        if shrank || grew + 1 < deltas.len() || (late as f64) < 0.25 * total as f64 {
            return None;
        }
        let growth: Vec<u64> = deltas.iter().map(|&d| d.max(0) as u64).collect();
        let steadiness = steadiness(&growth, rounds);
        let clear = grew == deltas.len() && steadiness >= 0.5 && total >= rules.clear_bytes;
        Some(Strength {
            steadiness,
            clear,
            by_retained: true,
        })
    }

    fn into_finding(
        self,
        cx: &FindingContext,
        variables: &[Option<String>],
        strength: Strength,
    ) -> Option<Finding> {
        let s = cx.s;
        let scale = Scale::of(cx.rounds);
        // The items: the commonest first non-internal new objects below the
        // holder, or, when V8 keeps them unboxed (numbers in an array's
        // storage), the storage itself.
        let dated = self
            .item_bytes
            .iter()
            .filter(|(_, (count, _))| *count > 0)
            .max_by(|a, b| a.1 .1.cmp(&b.1 .1).then(b.0.cmp(a.0)))
            .map(|(label, &(count, bytes))| (label.clone(), count, bytes));
        let (item_label, item_count, item_bytes) = match dated {
            Some(found) => found,
            None if strength.by_retained => (
                "unboxed values in its own storage".to_owned(),
                0,
                self.storage_bytes,
            ),
            None => return None,
        };
        let headline: Vec<u32> = self
            .items
            .iter()
            .copied()
            .filter(|&v| naming::label(s, v) == item_label)
            .collect();
        let example = headline.first().copied().unwrap_or(self.example_top);
        // A chain (each object holding the previous one) has one item at
        // its head: count the chain's links instead.
        let (item_count, chain) = match self.classes.get(&item_label) {
            Some(&(count, _)) if item_count <= 2 && count > 2 * item_count => (count, true),
            _ => (item_count, false),
        };
        let mut classes: Vec<LeakedClass> = self
            .classes
            .iter()
            .map(|(name, &(count, bytes))| LeakedClass {
                name: name.clone(),
                count,
                bytes,
                per_request: scale.per_request(count),
                per_second: scale.per_second(count),
                example: None,
            })
            .collect();
        classes.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
        let objects: u64 = self.per_round.iter().map(|r| r.objects).sum();
        let mut per_round = self.per_round.clone();
        if strength.by_retained {
            // What the holder retains is the measure: its growth per round.
            let series = self.retained.as_deref().unwrap_or_default();
            for (r, w) in series.windows(2).enumerate() {
                per_round[r].bytes = w[1].saturating_sub(w[0]);
            }
        }
        let bytes: u64 = per_round.iter().map(|r| r.bytes).sum();
        let rounds = cx.rounds.len();
        let (confidence, needs_more_rounds) = if strength.clear {
            (Confidence::High, false)
        } else if rounds >= cx.rules.confirm_rounds {
            (Confidence::Medium, false)
        } else {
            (Confidence::Low, true)
        };
        let evidence = if strength.by_retained {
            let mb: Vec<String> = self
                .retained
                .iter()
                .flatten()
                .map(|&b| format!("{:.2}", b as f64 / 1e6))
                .collect();
            format!(
                "what the holder retains rose round after round: {} MB",
                mb.join(" → ")
            )
        } else {
            let fewest = self.per_round.iter().map(|r| r.objects).min().unwrap_or(0);
            format!(
                "each of {rounds} rounds added to it ({fewest} objects or more), at a rate steady within {:.0} %",
                ((1.0 - strength.steadiness) * 100.0).max(1.0)
            )
        };
        // `holders[0]` is the holder; `variables` follow `holders`.
        let variable = |i: usize| variables.get(i).cloned().flatten();
        let name = if self.alike > 1 {
            naming::alike_holders_name(s, cx.index, cx.positions, self.holder, self.alike)
        } else {
            naming::holder_name(
                s,
                cx.index,
                cx.positions,
                self.holder,
                variable(0).as_deref(),
            )
        };
        let held_together_with: Vec<String> = self.holders[1..]
            .iter()
            .enumerate()
            .map(|(i, &h)| {
                naming::holder_name(s, cx.index, cx.positions, h, variable(i + 1).as_deref()).text
            })
            .collect();
        let to_holder =
            naming::path_from_root(s, cx.index, self.holder).with_original_names(s, cx.positions);
        let to_leaked = naming::path_between(s, cx.index, self.holder, self.example_top, example)
            .with_original_names(s, cx.positions);
        let path: Vec<u32> = to_holder
            .nodes
            .iter()
            .chain(&to_leaked.nodes)
            .copied()
            .collect();
        let anonymous_functions = naming::anonymous_functions(
            s,
            cx.index,
            cx.positions,
            &path,
            headline.first().copied(),
        );
        Some(Finding {
            thread: "main".to_owned(),
            holder: name.text,
            holder_id: s.graph.node_id[self.holder as usize],
            package: name.package,
            held_together_with,
            path_to_holder: to_holder.steps,
            path_to_leaked: to_leaked.steps,
            leaked_items: LeakedClass {
                name: item_label,
                count: item_count,
                bytes: item_bytes,
                per_request: scale.per_request(item_count),
                per_second: scale.per_second(item_count),
                example: naming::preview(s, example),
            },
            chain,
            classes,
            objects,
            bytes,
            external_bytes: self.external_bytes,
            storage_bytes: self.storage_bytes,
            per_round,
            objects_per_request: scale.per_request(objects),
            bytes_per_request: scale.per_request(bytes),
            objects_per_second: scale.per_second(objects),
            bytes_per_second: scale.per_second(bytes),
            mb_per_hour: scale.mb_per_hour(bytes),
            steadiness: strength.steadiness,
            confidence,
            evidence,
            allocation: naming::allocation_site(s, cx.positions, cx.traces, &headline),
            example_id: s.graph.node_id[example as usize],
            anonymous_functions,
            needs_more_rounds,
        })
    }
}
