//! The hunt on heaps too big to snapshot every round. V8's sampling heap
//! profiler keeps a sample of the allocations that are still alive, each
//! with an ordinal; a sample first seen alive after round `r` was allocated
//! in round `r`, exactly as an object id first seen in snapshot `r` dates an
//! object. So the profile read after each round's GC tells, per allocation
//! stack, how much of what every round allocated is still held — at the
//! cost of a GC and a profile read, not a snapshot (a minute's pause and
//! many times the heap in memory on a heap of gigabytes).

use std::collections::HashMap;

use leakscope_profile::SamplingProfile;
use leakscope_snapshot::{HeapSnapshot, RetainerIndex};
use leakscope_sourcemap::Positions;

use crate::naming;
use crate::verdict::{
    self, AllocationSite, Confidence, Finding, LeakedClass, Round, RoundGrowth, Rules, Scale,
};

/// Frames of an allocation stack kept per site.
const SITE_DEPTH: usize = 4;

/// A site is believed from these rounds alone when every round added at
/// least this many live samples; fewer is noise the next rounds may refute.
const CLEAR_SAMPLES_PER_ROUND: u64 = 20;

/// The round each live sample was first seen in, across the hunt.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Bytes between samples (V8's Poisson mean).
    interval: u64,
    /// Sample ordinal (its bits) → the round it was first seen after.
    first_seen: HashMap<u64, u8>,
}

/// What one allocation stack's live samples say, round by round.
#[derive(Debug, Clone)]
pub struct Site {
    /// Innermost application frame first.
    pub stack: Vec<String>,
    /// Where the innermost application frame's function starts.
    pub position: Option<Position>,
    /// Samples (as `objects`) and estimated bytes still alive, by the round
    /// that allocated them.
    pub per_round: Vec<RoundGrowth>,
}

impl Ledger {
    pub fn new(interval: u64) -> Ledger {
        Ledger {
            interval: interval.max(1),
            first_seen: HashMap::new(),
        }
    }

    /// Notes the samples alive after round `round` (1-based; 0 is the
    /// baseline).
    pub fn record(&mut self, round: usize, profile: &SamplingProfile) {
        let round = round.min(u8::MAX as usize - 1) as u8;
        for s in &profile.samples {
            self.first_seen.entry(s.ordinal.to_bits()).or_insert(round);
        }
    }

    /// V8's estimate of the bytes one sample of `size` bytes stands for.
    fn scaled(&self, size: u64) -> u64 {
        let p = 1.0 - (-(size as f64) / self.interval as f64).exp();
        (size as f64 / p.max(1e-12)) as u64
    }

    /// Per allocation stack, what each of `rounds` rounds allocated that is
    /// alive in `latest`, largest first.
    pub fn sites(&self, latest: &SamplingProfile, rounds: usize) -> Vec<Site> {
        let stacks = latest.node_stacks(SITE_DEPTH);
        let positions = application_positions(latest);
        let mut position_of_stack: HashMap<&[String], Position> = HashMap::new();
        let mut by_stack: HashMap<&[String], Vec<RoundGrowth>> = HashMap::new();
        for s in &latest.samples {
            let Some(&round) = self.first_seen.get(&s.ordinal.to_bits()) else {
                continue;
            };
            let Some(stack) = stacks.get(&s.node_id) else {
                continue;
            };
            if round == 0 || round as usize > rounds {
                continue;
            }
            if let Some(&p) = positions.get(&s.node_id) {
                position_of_stack.insert(stack.as_slice(), p);
            }
            let per_round = by_stack
                .entry(stack.as_slice())
                .or_insert_with(|| vec![RoundGrowth::default(); rounds]);
            let slot = &mut per_round[round as usize - 1];
            slot.objects += 1;
            slot.bytes += self.scaled(s.size);
        }
        let mut sites: Vec<Site> = by_stack
            .into_iter()
            .map(|(stack, per_round)| Site {
                stack: stack.to_vec(),
                position: position_of_stack.get(stack).copied(),
                per_round,
            })
            .collect();
        let total = |s: &Site| s.per_round.iter().map(|r| r.bytes).sum::<u64>();
        sites.sort_by(|a, b| total(b).cmp(&total(a)).then(a.stack.cmp(&b.stack)));
        sites
    }
}

/// The sites every round added to, steadily, as findings: the verdict on a
/// hunt without snapshots names where the kept memory was allocated, not
/// what holds it.
pub fn judge(sites: &[Site], rounds: &[Round], rules: &Rules) -> Vec<Finding> {
    let scale = Scale::of(rounds);
    sites
        .iter()
        .filter_map(|site| {
            let samples: Vec<u64> = site.per_round.iter().map(|r| r.objects).collect();
            let bytes: Vec<u64> = site.per_round.iter().map(|r| r.bytes).collect();
            let fewest = samples.iter().copied().min().unwrap_or(0);
            let total: u64 = bytes.iter().sum();
            if fewest == 0 || total < rules.min_bytes.max(64 * 1024) {
                return None;
            }
            let steadiness = crate::verdict::steadiness(&bytes, rounds);
            if steadiness < rules.steadiness {
                return None;
            }
            let clear = fewest >= CLEAR_SAMPLES_PER_ROUND
                && total >= rules.clear_bytes
                && steadiness >= 0.5;
            let (confidence, needs_more_rounds) = if clear {
                (Confidence::High, false)
            } else if rounds.len() >= rules.confirm_rounds {
                (Confidence::Medium, false)
            } else {
                (Confidence::Low, true)
            };
            let top = site.stack.first().cloned().unwrap_or_default();
            let count: u64 = samples.iter().sum();
            let items = LeakedClass {
                name: format!("allocations at {top}"),
                count: 0,
                bytes: total,
                per_request: None,
                per_second: None,
                example: None,
            };
            Some(Finding {
                thread: "main".to_owned(),
                holder: format!(
                    "what {} allocates (no snapshot was taken to name its holder)",
                    function_of(&top)
                ),
                holder_id: 0,
                package: site.stack.iter().find_map(|f| crate::naming::package_of(f)),
                held_together_with: Vec::new(),
                path_to_holder: Vec::new(),
                path_to_leaked: Vec::new(),
                leaked_items: items,
                chain: false,
                classes: Vec::new(),
                objects: 0,
                bytes: total,
                external_bytes: 0,
                storage_bytes: 0,
                per_round: site
                    .per_round
                    .iter()
                    .map(|r| RoundGrowth {
                        objects: 0,
                        bytes: r.bytes,
                    })
                    .collect(),
                objects_per_request: None,
                bytes_per_request: scale.per_request(total),
                objects_per_second: None,
                bytes_per_second: scale.per_second(total),
                mb_per_hour: scale.mb_per_hour(total),
                steadiness,
                confidence,
                evidence: format!(
                    "the sampling heap profiler saw each of {} rounds leave allocations alive here ({} samples or more a round, {count} in all), at a rate steady within {:.0} %",
                    rounds.len(),
                    fewest,
                    ((1.0 - steadiness) * 100.0).max(1.0)
                ),
                allocation: Some(AllocationSite {
                    stack: site.stack.clone(),
                    objects: count,
                    source: "sampling heap profiler, live allocations".to_owned(),
                    code: None,
                }),
                example_id: 0,
                anonymous_functions: Vec::new(),
                needs_more_rounds,
            })
        })
        .collect()
}

/// "`recordAudit`" from "recordAudit /srv/app.js:6:21"; V8's own frames
/// ("(V8 API)") whole.
fn function_of(frame: &str) -> String {
    if frame.starts_with('(') {
        return frame.to_owned();
    }
    let name = frame.split(' ').next().unwrap_or(frame);
    format!("`{name}`")
}

/// Whether an allocation stack has a frame of the application's own code
/// (or of its packages) rather than only Node's and V8's.
fn is_application(stack: &[String]) -> bool {
    stack
        .iter()
        .any(|f| !f.starts_with('(') && !f.contains(" node:"))
}

/// Folds the leaking sites inside Node and V8 (the request objects a leaked
/// closure keeps, say) into the largest leak at the application's own code:
/// the developer fixes that one, and its bytes then count what it keeps.
/// With no such leak, they stay findings of their own. `findings` are
/// largest first.
pub fn fold_internal(findings: Vec<Finding>) -> Vec<Finding> {
    let internal = |f: &Finding| {
        f.allocation
            .as_ref()
            .is_some_and(|a| !is_application(&a.stack))
    };
    if !findings.iter().any(|f| !internal(f)) {
        return findings;
    }
    let (folded, mut kept): (Vec<Finding>, Vec<Finding>) =
        findings.into_iter().partition(|f| internal(f));
    let main = &mut kept[0];
    for f in folded {
        main.bytes += f.bytes;
        for (mine, theirs) in main.per_round.iter_mut().zip(&f.per_round) {
            mine.bytes += theirs.bytes;
        }
        let add = |a: &mut Option<f64>, b: Option<f64>| {
            if let (Some(a), Some(b)) = (a.as_mut(), b) {
                *a += b;
            }
        };
        add(&mut main.bytes_per_request, f.bytes_per_request);
        add(&mut main.bytes_per_second, f.bytes_per_second);
        add(&mut main.mb_per_hour, f.mb_per_hour);
        main.classes.push(LeakedClass {
            name: format!("kept with it: {}", f.leaked_items.name),
            count: 0,
            bytes: f.bytes,
            per_request: None,
            per_second: None,
            example: None,
        });
    }
    kept
}

/// Scales the findings' bytes and rates by `factor` (below 1).
pub fn scale_to(findings: &mut [Finding], factor: f64) {
    let scale = |b: u64| (b as f64 * factor) as u64;
    for f in findings {
        f.bytes = scale(f.bytes);
        for r in &mut f.per_round {
            r.bytes = scale(r.bytes);
        }
        for c in &mut f.classes {
            c.bytes = scale(c.bytes);
        }
        f.leaked_items.bytes = scale(f.leaked_items.bytes);
        for rate in [
            &mut f.bytes_per_request,
            &mut f.bytes_per_second,
            &mut f.mb_per_hour,
        ] {
            if let Some(r) = rate.as_mut() {
                *r *= factor;
            }
        }
    }
}

/// A function's start in a script, as V8 numbers them (0-based line and
/// column): where a sampled allocation site is, and where closures and
/// class instances in a snapshot say they were defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// The function starts a sampling profile knows, per script, sorted: to
/// tell which function a closure was created in (the nearest start before
/// its own).
#[derive(Debug, Default)]
pub struct FunctionStarts(Vec<Position>);

impl FunctionStarts {
    pub fn of(profile: &SamplingProfile) -> FunctionStarts {
        let mut starts = Vec::new();
        profile.walk(|visit| {
            if let Some(p) = position_of(&visit.node.call_frame) {
                starts.push(p);
            }
        });
        starts.sort_unstable();
        starts.dedup();
        FunctionStarts(starts)
    }

    /// The function a definition at `at` sits in: the nearest start before
    /// it in the same script.
    fn enclosing(&self, at: Position) -> Option<Position> {
        let i = self.0.partition_point(|p| *p < at);
        (i > 0)
            .then(|| self.0[i - 1])
            .filter(|p| p.script_id == at.script_id)
    }
}

fn position_of(frame: &leakscope_profile::CallFrame) -> Option<Position> {
    let script_id = match &frame.script_id {
        serde_json::Value::String(s) => s.parse().ok()?,
        serde_json::Value::Number(n) => n.as_u64()? as u32,
        _ => return None,
    };
    (script_id > 0 && frame.line_number >= 0).then(|| Position {
        script_id,
        line: frame.line_number as u32,
        column: frame.column_number.max(0) as u32,
    })
}

/// The position of the innermost application frame (not Node's own) of
/// each node's stack, by node id.
fn application_positions(profile: &SamplingProfile) -> HashMap<u64, Position> {
    let mut positions = HashMap::new();
    profile.walk(|visit| {
        let app = visit
            .stack
            .iter()
            .rev()
            .map(|n| &n.call_frame)
            .find(|f| !f.url.is_empty() && !f.url.starts_with("node:"));
        if let Some(p) = app.and_then(position_of) {
            positions.insert(visit.node.id, p);
        }
    });
    positions
}

/// What holds the objects made at one site, in the snapshot.
struct Held {
    /// The holder first, then any others that keep them together.
    holders: Vec<u32>,
    bytes: u64,
    /// Count of the topmost objects by label.
    labels: HashMap<String, u64>,
    example: u32,
}

/// Marks, as the hunt's ages do, the objects made at `at` (instances of the
/// class whose constructor starts there, closures created in the function
/// that starts there) and all they dominate; `None` when there are none.
fn made_at(s: &HeapSnapshot, at: Position, starts: &FunctionStarts) -> Option<Vec<u8>> {
    let g = &s.graph;
    let mut age = vec![naming::OLD; s.node_count()];
    let mut any = false;
    for loc in &g.locations {
        let here = Position {
            script_id: loc.script_id,
            line: loc.line,
            column: loc.column,
        };
        let made_here = match g.type_name(loc.node) {
            "closure" => here > at && starts.enclosing(here) == Some(at),
            "object" => here == at,
            _ => false,
        };
        if made_here {
            age[loc.node as usize] = 0;
            any = true;
        }
    }
    if !any {
        return None;
    }
    let mut stack = vec![s.root()];
    while let Some(v) = stack.pop() {
        for &c in s.dominated_by(v) {
            if age[v as usize] != naming::OLD {
                age[c as usize] = age[v as usize];
            }
            stack.push(c);
        }
    }
    Some(age)
}

/// The holder that keeps most of the objects `age` marks.
fn largest_holder(
    s: &HeapSnapshot,
    resolver: &mut naming::HolderResolver,
    age: &[u8],
) -> Option<Held> {
    let g = &s.graph;
    let (top, _) = verdict::tops_and_items(s, age);
    let mut groups: HashMap<verdict::HolderKey, Held> = HashMap::new();
    let mut of_top: HashMap<u32, verdict::HolderKey> = HashMap::new();
    for v in 0..s.node_count() as u32 {
        let t = top[v as usize];
        if t == verdict::NONE {
            continue;
        }
        let key = of_top
            .entry(t)
            .or_insert_with(|| {
                let (key, holders) = verdict::holder_key(s, resolver, age, t);
                groups.entry(key.clone()).or_insert_with(|| Held {
                    holders,
                    bytes: 0,
                    labels: HashMap::new(),
                    example: t,
                });
                key
            })
            .clone();
        let held = groups.get_mut(&key).expect("group of a known key");
        held.bytes += u64::from(g.self_size[v as usize]);
        if v == t {
            *held.labels.entry(naming::label(s, v)).or_default() += 1;
        }
    }
    groups
        .into_iter()
        .filter(|(k, _)| *k != verdict::HolderKey::One(verdict::NONE))
        .map(|(_, held)| held)
        .max_by_key(|held| held.bytes)
}

/// Names the holders of the leaks a sampled hunt found, from one snapshot
/// taken at its end: the objects whose constructor is the allocating
/// function, and the closures created in it, are the leak's items, and what
/// holds most of them (as the hunt names holders) is its holder. A leak of
/// plain objects or strings, which say nowhere where they were made, keeps
/// its allocation site alone. Returns how many findings were named.
pub fn name_holders(
    s: &HeapSnapshot,
    positions: &Positions,
    findings: &mut [Finding],
    sites: &[Site],
    starts: &FunctionStarts,
) -> usize {
    let by_label: HashMap<&str, Position> = sites
        .iter()
        .filter_map(|site| Some((site.stack.first()?.as_str(), site.position?)))
        .collect();
    let index = RetainerIndex::build(&s.graph);
    let mut named = 0;
    for f in findings.iter_mut() {
        let Some(&at) = f
            .allocation
            .as_ref()
            .and_then(|a| a.stack.first())
            .and_then(|label| by_label.get(label.as_str()))
        else {
            continue;
        };
        let Some(age) = made_at(s, at, starts) else {
            continue;
        };
        let mut resolver = naming::HolderResolver::new(s, &index, &age);
        let Some(held) = largest_holder(s, &mut resolver, &age) else {
            continue;
        };
        let holder = held.holders[0];
        let variable = resolver.variable(holder).map(str::to_owned);
        let name = naming::holder_name(s, &index, positions, holder, variable.as_deref());
        let (item, count) = held
            .labels
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .unwrap_or_default();
        let g = &s.graph;
        f.holder = name.text;
        f.package = name.package.or(f.package.take());
        f.holder_id = g.node_id[holder as usize];
        f.held_together_with = held.holders[1..]
            .iter()
            .map(|&h| naming::holder_name(s, &index, positions, h, None).text)
            .collect();
        f.path_to_holder = naming::path_from_root(s, &index, holder)
            .with_original_names(s, positions)
            .steps;
        f.path_to_leaked = naming::path_between(s, &index, holder, held.example, held.example)
            .with_original_names(s, positions)
            .steps;
        f.example_id = g.node_id[held.example as usize];
        f.leaked_items.name = item;
        f.leaked_items.count = count;
        f.evidence = format!(
            "{}; the snapshot at the end shows {count} of them ({:.1} MB) held there",
            f.evidence,
            held.bytes as f64 / 1e6
        );
        named += 1;
    }
    named
}
