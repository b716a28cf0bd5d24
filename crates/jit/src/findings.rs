//! The join: hot functions from the CPU profile, matched by script and start
//! position with the V8 log's functions (their compilers, deoptimizations
//! and inline-cache sites) and with the sampling heap profile's allocations,
//! each problem said in one sentence.

use std::collections::{HashMap, HashSet};

use leakscope_profile::cpu::{CpuProfile, FunctionTime};
use leakscope_profile::SamplingProfile;
use leakscope_sourcemap::Positions;
use leakscope_v8log::{Compilations, IcState, JitReport};
use serde::Serialize;

/// Functions with less self time than this are not "hot" unless their
/// total time is large.
const MIN_SELF_SHARE: f64 = 0.01;
const MIN_TOTAL_SHARE: f64 = 0.10;
/// A hot function allocating this share of all sampled bytes is named.
const ALLOCATION_SHARE: f64 = 0.10;
/// Fewer busy samples than this say nothing about where the time goes
/// (1% of them would be one sample).
const MIN_BUSY_SAMPLES: u64 = 100;

/// A recording with too few busy CPU samples to judge anything.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the recording ({seconds:.2} s, {samples} samples) was too short to judge: record for 5 s or more"
)]
pub struct TooShort {
    pub seconds: f64,
    pub samples: u64,
}

/// What `leakscope jit` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Findings {
    /// Profiled CPU time (idle excluded), in milliseconds.
    pub busy_ms: f64,
    /// Share of that time in the garbage collector.
    pub gc_share: f64,
    /// The app's hot functions (not Node's own), most self time first.
    pub hot: Vec<HotFunction>,
    /// Whether V8's log was read (only for an app leakscope launched).
    pub v8_log: bool,
    /// The V8 version the log names.
    pub v8_version: Option<String>,
    /// What this run could not tell, and why.
    pub notes: Vec<String>,
    /// Every deoptimization in the app's code (not Node's), hot function
    /// or not, most frequent first: a helper inlined into a hot function
    /// may not be hot itself.
    pub deopts: Vec<DeoptSite>,
    /// The CPU profile's length and the samples taken while busy: a
    /// report on a few samples says nothing ([`Findings::too_short`]).
    pub profile_seconds: f64,
    pub busy_samples: u64,
}

/// One hot function and what V8 says about it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HotFunction {
    /// Empty when anonymous.
    pub name: String,
    pub url: String,
    /// Where the function starts, 1-based.
    pub line: u32,
    pub column: u32,
    /// Where V8 saw it start, `file:line:column`, when `url`, `line` and
    /// `column` come from a source map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    pub self_share: f64,
    pub total_share: f64,
    pub self_ms: f64,
    /// Whether Maglev or TurboFan compiled it, on its own or inlined into
    /// a caller; `None` without a V8 log.
    pub optimized: Option<bool>,
    /// Optimized callers it ran inlined in, as `name url:line:column`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inlined_into: Vec<String>,
    pub compilations: Option<Compilations>,
    pub deopts: Vec<DeoptSite>,
    /// Inline caches in it that saw more than one shape.
    pub ic_sites: Vec<IcProblem>,
    /// Sampled bytes it allocated (collected ones included), and their
    /// share of all sampled bytes.
    pub allocated_bytes: Option<u64>,
    pub allocation_share: Option<f64>,
    /// Each problem in one sentence, worst first.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeoptSite {
    /// `file:line:column` of the bailout.
    pub position: String,
    /// V8's `position`, when that comes from a source map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// V8's words, e.g. `not a Smi`.
    pub reason: String,
    pub kind: String,
    pub count: u32,
    /// The bailout's place (1-based), as in `position`; absent when V8
    /// did not know it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The function whose code bailed out: the innermost, when it was
    /// inlined into another's optimized code.
    pub function: FunctionRef,
    /// The function that calls `function` where V8 inlined it, when the
    /// bailout is in inlined code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inlined_into: Option<FunctionRef>,
    /// Where `inlined_into` calls it, `file:line:column`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inlined_at: Option<String>,
    /// The function whose optimized code ran (`inlined_into`, or a caller
    /// further out that inlined both), when the bailout is in inlined code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimized_in: Option<FunctionRef>,
    /// What to change, in a sentence.
    pub advice: String,
    /// When it happened: `start-up` (before any load), `warm-up`, `load`
    /// (while profiled), several joined by `, `; `unknown` when the log
    /// has no marks of the recording's phases.
    pub when: String,
    /// How many in each phase, when the log says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhaseCounts>,
    /// Seconds since the process started (the log's clock) of the first
    /// and the last.
    pub first_seconds: f64,
    pub last_seconds: f64,
    /// Indices into the log's functions, for attaching to hot functions.
    #[serde(skip)]
    function_index: u32,
    #[serde(skip)]
    caller_index: Option<u32>,
    #[serde(skip)]
    optimized_index: u32,
}

/// A function as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionRef {
    /// Empty when anonymous.
    pub name: String,
    pub url: String,
    pub line: u32,
    pub column: u32,
    /// V8's position, when the above come from a source map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
}

impl FunctionRef {
    /// `` `name` ``, `an anonymous function at url:line:column` otherwise.
    fn said(&self) -> String {
        if self.name.is_empty() {
            format!(
                "an anonymous function at {}:{}:{}",
                self.url, self.line, self.column
            )
        } else {
            format!("`{}`", self.name)
        }
    }
}

/// Deoptimizations per phase of the recording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseCounts {
    /// Before any load: the app's own start.
    pub start_up: u32,
    pub warm_up: u32,
    /// While profiled (and after).
    pub load: u32,
}

impl DeoptSite {
    /// Says nothing about the code: V8 optimized before a path ever ran
    /// and it never happened again once under load, or an object the code
    /// embedded was collected.
    pub fn is_benign(&self) -> bool {
        let r = self.reason.to_ascii_lowercase();
        if r == "weak objects" {
            return true;
        }
        r.contains("insufficient type feedback") && self.phases.is_some_and(|p| p.load == 0)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IcProblem {
    /// `file:line:column` of the access.
    pub position: String,
    /// V8's `position`, when that comes from a source map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// `LoadIC`, `KeyedStoreIC`, …
    pub kind: String,
    pub key: String,
    pub state: IcState,
    pub maps: u32,
}

impl HotFunction {
    pub fn is_anonymous(&self) -> bool {
        self.name.is_empty()
    }

    /// A script's top-level code rather than a function the app wrote.
    pub fn is_top_level(&self) -> bool {
        self.is_anonymous() && self.line == 1 && self.column == 1
    }

    /// A problem the JIT has with it: a megamorphic access, a
    /// deoptimization about the values it saw, or no optimization at all.
    pub fn has_jit_problem(&self) -> bool {
        self.ic_sites.iter().any(|s| s.state.is_megamorphic())
            || self.deopts.iter().any(|d| !d.is_benign())
            || self.optimized == Some(false)
    }
}

impl Findings {
    /// Every position in the sources the developer edits, where the
    /// scripts have source maps: functions, deopt points, call sites and
    /// inline caches, and the sentences that name them. The join is done
    /// on V8's positions first; this only changes what is shown.
    pub fn map_positions(&mut self, positions: &Positions) {
        let mut mapper = Mapper {
            positions,
            renamed: Vec::new(),
        };
        for d in self
            .deopts
            .iter_mut()
            .chain(self.hot.iter_mut().flat_map(|f| &mut f.deopts))
        {
            mapper.function(&mut d.function);
            if let Some(f) = d.inlined_into.as_mut() {
                mapper.function(f);
            }
            if let Some(f) = d.optimized_in.as_mut() {
                mapper.function(f);
            }
            if let Some((url, line, column, generated)) = mapper.text(&mut d.position) {
                (d.url, d.line, d.column) = (Some(url), Some(line), Some(column));
                d.generated = Some(generated);
            }
            if let Some(at) = d.inlined_at.as_mut() {
                mapper.text(at);
            }
        }
        for f in &mut self.hot {
            for ic in &mut f.ic_sites {
                ic.generated = mapper.text(&mut ic.position).map(|m| m.3);
            }
            if let Some((url, line, column, generated)) = mapper.map(&f.url, f.line, f.column) {
                (f.url, f.line, f.column) = (url, line, column);
                f.generated = Some(generated);
            }
        }
        // The sentences were written with V8's positions.
        let mut renamed = mapper.renamed;
        renamed.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        for f in &mut self.hot {
            for text in f.problems.iter_mut().chain(f.inlined_into.iter_mut()) {
                for (from, to) in &renamed {
                    if text.contains(from.as_str()) {
                        *text = text.replace(from.as_str(), to);
                    }
                }
            }
        }
    }

    /// Joins a CPU profile with the V8 log and the allocation profile of
    /// the same run; `limit` hot functions at most.
    pub fn build(
        cpu: &CpuProfile,
        log: Option<&JitReport>,
        allocations: Option<&SamplingProfile>,
        limit: usize,
    ) -> Findings {
        // V8 charges inlined code to its caller; the log's line spans give
        // a line to the innermost function there (see [`line_owner`]).
        // The log's functions that have line spans, by script: this runs
        // for every line tick of the profile.
        let mut spans_by_url: HashMap<&str, Vec<Span<'_>>> = HashMap::new();
        for f in log.iter().flat_map(|r| &r.functions) {
            if let (Some(p), Some(lines)) = (&f.position, f.lines) {
                spans_by_url.entry(p.url.as_str()).or_default().push(Span {
                    name: &f.name,
                    start: (p.line, p.column),
                    lines,
                });
            }
        }
        let owner = |url: &str, line: u32, running: (u32, u32)| {
            line_owner(spans_by_url.get(url)?, line, running)
                .map(|s| (s.name.to_owned(), s.start.0, s.start.1))
        };
        let times = cpu.functions_with(&owner);
        let busy_ms: f64 = times.iter().map(|t| t.self_ms).sum();
        let gc_share = times
            .iter()
            .filter(|t| t.name == "(garbage collector)")
            .map(|t| t.self_share)
            .sum();
        let by_position: HashMap<(&str, u32, u32), usize> = log
            .map(|r| {
                r.functions
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| {
                        let p = f.position.as_ref()?;
                        Some(((p.url.as_str(), p.line, p.column), i))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (allocated, all_bytes) = allocations.map_or((HashMap::new(), 0), |a| {
            let totals: HashMap<String, u64> = a
                .top_functions()
                .into_iter()
                .map(|t| (t.function, t.self_size))
                .collect();
            let all = totals.values().sum::<u64>();
            (totals, all)
        });
        let hot_times: Vec<&FunctionTime> = times
            .iter()
            .filter(|t| is_app_code(t))
            .filter(|t| t.self_share >= MIN_SELF_SHARE || t.total_share >= MIN_TOTAL_SHARE)
            .take(limit)
            .collect();
        let log_index = |t: &FunctionTime| {
            by_position
                .get(&(t.url.as_str(), t.line, t.column))
                .copied()
        };
        let hot_indices: Vec<u32> = hot_times
            .iter()
            .filter_map(|t| log_index(t).map(|i| i as u32))
            .collect();
        let deopts = log.map(|r| deopt_sites(r, &times)).unwrap_or_default();
        let inliners: HashSet<String> = times
            .iter()
            .flat_map(|t| t.inlined_into.iter().cloned())
            .collect();
        let blind = log.and_then(blind_window);
        let joined = Joined {
            deopts: &deopts,
            hot_indices: &hot_indices,
            inliners: &inliners,
            blind: blind.is_some(),
        };
        let mut hot: Vec<HotFunction> = hot_times
            .into_iter()
            .map(|t| {
                let mut f = HotFunction {
                    name: t.name.clone(),
                    url: t.url.clone(),
                    line: t.line,
                    column: t.column,
                    generated: None,
                    self_share: t.self_share,
                    total_share: t.total_share,
                    self_ms: t.self_ms,
                    optimized: None,
                    inlined_into: t.inlined_into.clone(),
                    compilations: None,
                    deopts: Vec::new(),
                    ic_sites: Vec::new(),
                    allocated_bytes: None,
                    allocation_share: None,
                    problems: Vec::new(),
                };
                if let Some(r) = log {
                    add_log(&mut f, r, log_index(t), &joined);
                }
                if allocations.is_some() {
                    let key = format!(
                        "{} {}:{}:{}",
                        if f.is_anonymous() {
                            "(anonymous)"
                        } else {
                            &f.name
                        },
                        f.url,
                        f.line,
                        f.column
                    );
                    let bytes = allocated.get(&key).copied().unwrap_or(0);
                    f.allocated_bytes = Some(bytes);
                    f.allocation_share = Some(bytes as f64 / all_bytes.max(1) as f64);
                }
                f.problems = problems(&f, t);
                f
            })
            .collect();
        hot.sort_by(|a, b| b.self_share.total_cmp(&a.self_share));
        let mut notes = Vec::new();
        if log.is_none() {
            notes.push(
                "deoptimizations, inline-cache states and optimization tiers come from V8's log, \
                 which only an app leakscope launches can write: run `leakscope jit -- node app.js`"
                    .to_owned(),
            );
        }
        if allocations.is_none() {
            notes.push("no allocation profile: allocations per function are unknown".to_owned());
        }
        if let Some(from) = blind {
            notes.push(format!(
                "V8 writes nothing to its log while the CPU profiler runs (from {from:.1} s, for \
                 {:.1} s): what it compiled or optimized only then is not in the log (its \
                 deoptimizations are, from V8's deopt trace), and a function not seen optimized \
                 shows `?`; a longer --warmup lets the JIT settle while the log is written",
                ((cpu.end_time - cpu.start_time) / 1e6).max(0.0)
            ));
        }
        let idle: u64 = cpu
            .nodes
            .iter()
            .filter(|n| n.call_frame.function_name == "(idle)")
            .map(|n| n.hit_count)
            .sum();
        let all: u64 = cpu.nodes.iter().map(|n| n.hit_count).sum();
        Findings {
            busy_ms,
            gc_share,
            hot,
            v8_log: log.is_some(),
            v8_version: log.and_then(|r| r.v8_version.clone()),
            notes,
            deopts,
            profile_seconds: ((cpu.end_time - cpu.start_time) / 1e6).max(0.0),
            busy_samples: all.saturating_sub(idle),
        }
    }

    /// `Some` when the profile holds too few busy samples for any share of
    /// time to mean something.
    pub fn too_short(&self) -> Option<TooShort> {
        (self.busy_samples < MIN_BUSY_SAMPLES).then_some(TooShort {
            seconds: self.profile_seconds,
            samples: self.busy_samples,
        })
    }
}

/// A function of the V8 log with its source lines.
#[derive(Debug, Clone, Copy)]
struct Span<'a> {
    name: &'a str,
    /// Line and column where it starts, 1-based.
    start: (u32, u32),
    /// First and last line, inclusive.
    lines: (u32, u32),
}

impl Span<'_> {
    /// Lines between first and last, when `line` is one of them.
    fn around(&self, line: u32) -> Option<u32> {
        let (first, last) = self.lines;
        (first <= line && line <= last).then_some(last - first)
    }

    /// Whether `position` lies inside this function's lines.
    fn encloses(&self, position: (u32, u32)) -> bool {
        self.start <= position && position.0 <= self.lines.1
    }
}

/// The function a line tick of `running`'s code belongs to, when not
/// `running` itself: the innermost of the script's known functions at that
/// line, inlined into `running`. `None` keeps the tick where V8 put it:
/// - when `running` is at least as narrow there (functions nested on one
///   line);
/// - when the innermost known function there encloses `running` (the
///   module's wrapper, an outer closure). The line is then outside
///   `running`'s known lines, or `running` is unknown (its code was made
///   while V8's log was off, as it is while the CPU profiler runs), so the
///   code there belongs to a function the log never saw, or to `running`
///   itself; charging it to the enclosing function would name one that
///   never ran there.
fn line_owner<'a>(functions: &[Span<'a>], line: u32, running: (u32, u32)) -> Option<Span<'a>> {
    // Among equal spans the later start is the nested one.
    let (inner_span, inner) = functions
        .iter()
        .filter_map(|f| Some((f.around(line)?, *f)))
        .min_by_key(|&(span, f)| (span, std::cmp::Reverse(f.start)))?;
    let own = functions.iter().find(|f| f.start == running);
    if own
        .and_then(|f| f.around(line))
        .is_some_and(|s| s <= inner_span)
    {
        return None;
    }
    if inner.encloses(running) {
        return None;
    }
    Some(inner)
}

/// The app's own code, npm packages included: not V8's entries nor Node's
/// `node:` modules.
fn is_app_code(t: &FunctionTime) -> bool {
    !t.url.is_empty() && !t.url.starts_with("node:") && !t.is_engine()
}

/// What every hot function is joined with.
struct Joined<'a> {
    deopts: &'a [DeoptSite],
    /// The log's functions that are hot.
    hot_indices: &'a [u32],
    /// Functions whose optimized code had others inlined (`name url:line:column`).
    inliners: &'a HashSet<String>,
    /// The log missed the profiled window (V8 writes nothing while the CPU
    /// profiler runs), so "never optimized" cannot be known.
    blind: bool,
}

fn add_log(f: &mut HotFunction, r: &JitReport, index: Option<usize>, joined: &Joined<'_>) {
    // Code inlined elsewhere ran in that caller's optimized code, and code
    // with others inlined is optimized code.
    let inlined = !f.inlined_into.is_empty()
        || joined
            .inliners
            .contains(&format!("{} {}:{}:{}", f.name, f.url, f.line, f.column));
    let seen = |optimized: bool| {
        if optimized {
            Some(true)
        } else if joined.blind {
            None
        } else {
            Some(false)
        }
    };
    let Some(index) = index else {
        // Hot, but the log never created code for it: never left the
        // interpreter's lazy path, or the log is incomplete.
        f.optimized = seen(inlined);
        return;
    };
    let function = &r.functions[index];
    f.optimized = seen(function.ever_optimized() || inlined);
    f.compilations = Some(function.compilations.clone());
    let (deopts, hot_indices) = (joined.deopts, joined.hot_indices);
    // Its own bailouts, and those in code inlined into it when that code's
    // function is not hot itself (they would not be seen otherwise): each
    // shown once, under the innermost hot function of the chain.
    let own = index as u32;
    f.deopts = deopts
        .iter()
        .filter(|d| {
            let chain = [
                Some(d.function_index),
                d.caller_index,
                Some(d.optimized_index),
            ];
            chain
                .into_iter()
                .flatten()
                .find(|i| hot_indices.contains(i))
                .map_or(d.function_index == own, |i| i == own)
        })
        .cloned()
        .collect();
    f.ic_sites = r
        .ic_sites
        .iter()
        .filter(|s| s.function == Some(own) && s.worst >= IcState::Polymorphic)
        .map(|s| IcProblem {
            generated: None,
            position: r
                .site_position(s)
                .map(|p| p.to_string())
                .unwrap_or_default(),
            kind: s.kind.clone(),
            key: s.key.clone(),
            state: s.worst,
            maps: s.maps,
        })
        .collect();
}

/// "1 map", "8 maps".
fn maps(n: u32) -> String {
    if n == 1 {
        "1 map".to_owned()
    } else {
        format!("{n} maps")
    }
}

/// `.qty` for a named property, `[3]` for an element, `[key]` otherwise.
fn access(ic: &IcProblem) -> String {
    if ic.key.is_empty() {
        "a keyed access".to_owned()
    } else if ic.key.bytes().all(|b| b.is_ascii_digit()) {
        format!("`[{}]`", ic.key)
    } else if ic.kind.starts_with("Keyed") {
        format!("`[{:?}]`", ic.key)
    } else {
        format!("`.{}`", ic.key)
    }
}

fn problems(f: &HotFunction, t: &FunctionTime) -> Vec<String> {
    let mut out = Vec::new();
    for ic in f.ic_sites.iter().filter(|s| s.state.is_megamorphic()) {
        if ic.kind.starts_with("Keyed") && ic.maps <= 1 {
            out.push(format!(
                "{} megamorphic ({}) at {}: one kind of object read or written with many \
                 different keys, as a dictionary; a Map is made for that",
                access(ic),
                maps(ic.maps),
                ic.position
            ));
        } else {
            out.push(format!(
                "{} megamorphic ({}) at {}: objects of many shapes reach this access, which is \
                 then slow and keeps the function from being optimized around it; give them one \
                 shape (same properties in the same order: a class or one factory)",
                access(ic),
                maps(ic.maps),
                ic.position
            ));
        }
    }
    for d in &f.deopts {
        out.push(d.sentence());
    }
    if f.optimized == Some(false) {
        out.push("never optimized: V8 ran it only in the interpreter or baseline code".to_owned());
    }
    for ic in f.ic_sites.iter().filter(|s| !s.state.is_megamorphic()) {
        out.push(format!(
            "{} polymorphic ({}) at {}",
            access(ic),
            maps(ic.maps),
            ic.position
        ));
    }
    if let (Some(bytes), Some(share)) = (f.allocated_bytes, f.allocation_share) {
        if share >= ALLOCATION_SHARE {
            out.push(format!(
                "allocates {:.0}% of the bytes allocated during the run (about {:.0} MB, \
                 sampled): a hot function that builds many or large objects costs GC time",
                share * 100.0,
                bytes as f64 / 1e6
            ));
        }
    }
    for reason in &t.deopt_reasons {
        out.push(format!("V8 says: {reason}"));
    }
    if f.is_anonymous() && !f.is_top_level() {
        out.push(
            "anonymous: give it a name (`function handleOrder() {…}` or `const handleOrder = …`) \
             so profiles and heap snapshots say which function it is"
                .to_owned(),
        );
    }
    out
}

/// The log's deoptimizations in the app's code, one row per bailout place,
/// reason and caller (the same bailout in several functions' optimized code
/// adds up), most frequent first.
///
/// A function V8 compiled only while its log was blind (the profiled load)
/// is unknown to the log, which then charges the script's top level; the
/// CPU profile's functions give it back: the one starting last before the
/// position, in the same script.
fn deopt_sites(r: &JitReport, profiled: &[FunctionTime]) -> Vec<DeoptSite> {
    let phases = recording_phases(r);
    let function_ref = |i: u32| {
        let f = &r.functions[i as usize];
        let (url, line, column) = f
            .position
            .as_ref()
            .map_or((String::new(), 0, 0), |p| (p.url.clone(), p.line, p.column));
        FunctionRef {
            name: f.name.clone(),
            url,
            line,
            column,
            generated: None,
        }
    };
    let refined = |f: FunctionRef, at: Option<&leakscope_v8log::Position>| -> FunctionRef {
        let top_level = f.name.is_empty() && f.line == 1 && f.column == 1;
        let Some(at) = at.filter(|_| top_level) else {
            return f;
        };
        let url = at.url.strip_prefix("file://").unwrap_or(&at.url);
        profiled
            .iter()
            .filter(|t| t.url == url && !(t.line == 1 && t.column == 1))
            .filter(|t| (t.line, t.column) <= (at.line, at.column))
            .max_by_key(|t| (t.line, t.column))
            .map_or(f, |t| FunctionRef {
                name: t.name.clone(),
                url: at.url.clone(),
                line: t.line,
                column: t.column,
                generated: None,
            })
    };
    let mut rows: Vec<DeoptSite> = Vec::new();
    // The same bailout in several optimized callers' code is one problem.
    type Key<'a> = (u32, Option<u32>, String, &'a str, &'a str);
    let mut index: HashMap<Key<'_>, usize> = HashMap::new();
    for d in &r.deopts {
        let function = refined(function_ref(d.function), d.position.as_ref());
        let outermost = d.inlined_at.last().or(d.position.as_ref());
        let optimized = refined(function_ref(d.optimized), outermost);
        let caller = d
            .caller
            .map(|c| refined(function_ref(c), d.inlined_at.first()));
        let url = d.position.as_ref().map_or(&function.url, |p| &p.url);
        if !is_app_url(url) {
            continue;
        }
        let position = d
            .position
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let counts = phases.map(|_| PhaseCounts {
            start_up: d.by_phase.first().copied().unwrap_or(0),
            warm_up: d.by_phase.get(1).copied().unwrap_or(0),
            load: d.by_phase.get(2).copied().unwrap_or(0),
        });
        let key = (
            d.function,
            d.caller,
            position.clone(),
            d.reason.as_str(),
            d.kind.as_str(),
        );
        if let Some(&i) = index.get(&key) {
            let row = &mut rows[i];
            row.count += d.count;
            row.first_seconds = row.first_seconds.min(seconds(d.first_us));
            row.last_seconds = row.last_seconds.max(seconds(d.last_us));
            if let (Some(p), Some(c)) = (&mut row.phases, counts) {
                p.start_up += c.start_up;
                p.warm_up += c.warm_up;
                p.load += c.load;
            }
            continue;
        }
        index.insert(key, rows.len());
        let inlined = d.function != d.optimized || function != optimized;
        rows.push(DeoptSite {
            url: d.position.as_ref().map(|p| p.url.clone()),
            line: d.position.as_ref().map(|p| p.line),
            column: d.position.as_ref().map(|p| p.column),
            position,
            generated: None,
            reason: d.reason.clone(),
            kind: d.kind.clone(),
            count: d.count,
            function,
            inlined_into: caller.filter(|_| inlined),
            inlined_at: d
                .inlined_at
                .first()
                .filter(|_| inlined)
                .map(ToString::to_string),
            optimized_in: inlined.then_some(optimized),
            advice: advice(&d.reason, &d.kind).to_owned(),
            when: String::new(),
            phases: counts,
            first_seconds: seconds(d.first_us),
            last_seconds: seconds(d.last_us),
            function_index: d.function,
            caller_index: d.caller,
            optimized_index: d.optimized,
        });
    }
    for row in &mut rows {
        row.when = row.phases.map_or("unknown".to_owned(), |p| {
            let named = [
                (p.start_up, "start-up"),
                (p.warm_up, "warm-up"),
                (p.load, "load"),
            ];
            let when: Vec<&str> = named
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|&(_, name)| name)
                .collect();
            when.join(", ")
        });
    }
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.first_seconds.total_cmp(&b.first_seconds))
    });
    rows
}

/// When the profiled window started (seconds on the log's clock), for a
/// log recorded with marks: V8 logs nothing from then until the CPU
/// profiler stops.
fn blind_window(r: &JitReport) -> Option<f64> {
    recording_phases(r)?;
    Some(seconds(r.marks.get(1)?.at_us?))
}

/// Whether the log carries the recording's marks ([`crate::LOG_MARKS`]),
/// so that its deoptimizations can be told apart by phase.
fn recording_phases(r: &JitReport) -> Option<()> {
    let names: Vec<&str> = r.marks.iter().map(|m| m.name.as_str()).collect();
    (names == crate::LOG_MARKS && r.marks[0].at_us.is_some()).then_some(())
}

fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

/// Looks positions up for [`Findings::map_positions`], remembering each
/// V8 position it replaced and what replaced it.
struct Mapper<'a> {
    positions: &'a Positions,
    renamed: Vec<(String, String)>,
}

impl Mapper<'_> {
    /// The original `(label, line, column)` of 1-based `line`:`column` in
    /// `url`, and V8's own `url:line:column`.
    fn map(&mut self, url: &str, line: u32, column: u32) -> Option<(String, u32, u32, String)> {
        if line == 0 {
            return None;
        }
        let original = self
            .positions
            .original(url, line - 1, column.saturating_sub(1))?;
        let generated = format!("{url}:{line}:{column}");
        let label = leakscope_sourcemap::script_label(url);
        let shown = self
            .positions
            .shown(&original, format!("{label}:{line}:{column}"));
        self.renamed.push((generated.clone(), shown));
        Some((
            original.label,
            original.line + 1,
            original.column + 1,
            generated,
        ))
    }

    fn function(&mut self, f: &mut FunctionRef) {
        if let Some((url, line, column, generated)) = self.map(&f.url, f.line, f.column) {
            (f.url, f.line, f.column) = (url, line, column);
            f.generated = Some(generated);
        }
    }

    /// Rewrites a `url:line:column` text in place.
    fn text(&mut self, text: &mut String) -> Option<(String, u32, u32, String)> {
        let (url, line, column) = split_position(text)?;
        let mapped = self.map(&url, line, column)?;
        *text = format!("{}:{}:{}", mapped.0, mapped.1, mapped.2);
        Some(mapped)
    }
}

/// `url:line:column` → its parts (the URL may hold colons itself).
fn split_position(text: &str) -> Option<(String, u32, u32)> {
    let mut parts = text.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let url = parts.next()?.to_owned();
    Some((url, line, column))
}

/// The app's own scripts: not Node's (`node:…`, `internal/…`) nor V8's.
fn is_app_url(url: &str) -> bool {
    !url.is_empty() && !url.starts_with("node:") && !url.starts_with("internal/")
}

impl DeoptSite {
    /// The problem in one sentence: where, in which function (and the one
    /// it was inlined into), when, V8's reason and what to change.
    pub fn sentence(&self) -> String {
        let times = if self.count == 1 {
            "once".to_owned()
        } else {
            format!("{}×", self.count)
        };
        let when = self.when_said();
        if self.kind == "dependency-change" {
            return format!(
                "optimized code of {} thrown away {times}{when}: {} — {}",
                self.function.said(),
                self.reason,
                self.advice
            );
        }
        let place = match &self.inlined_into {
            Some(outer) => format!(
                "in {} (inlined into {}) at {}",
                self.function.said(),
                outer.said(),
                self.position
            ),
            None => format!("at {}", self.position),
        };
        format!(
            "deoptimized {times} {place}{when}: {} — {}",
            self.reason, self.advice
        )
    }

    /// `, under load`, `, 2× during warm-up and 1× under load`, or the
    /// time since start when the phases are unknown.
    fn when_said(&self) -> String {
        let Some(p) = self.phases else {
            return format!(", first at {:.1} s", self.first_seconds);
        };
        let named = [
            (p.start_up, "during start-up"),
            (p.warm_up, "during warm-up"),
            (p.load, "under load"),
        ];
        let parts: Vec<(u32, &str)> = named.into_iter().filter(|&(n, _)| n > 0).collect();
        match parts.as_slice() {
            [] => String::new(),
            [(_, phase)] => format!(", {phase}"),
            _ => {
                let said: Vec<String> = parts
                    .iter()
                    .map(|(n, phase)| format!("{n}× {phase}"))
                    .collect();
                format!(", {}", said.join(" and "))
            }
        }
    }
}

/// What to change for a deoptimization reason V8 gives: general advice by
/// the kind of check that failed, not tuned to any app.
fn advice(reason: &str, kind: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    const TABLE: &[(&[&str], &str)] = &[
        (
            &["insufficient type feedback"],
            "V8 optimized this code before this operation had ever run (a branch or a type that came \
             later), so it had nothing to go on; if it recurs once warm, give the code the same types \
             from the start or move the rare path into a function of its own",
        ),
        (
            &["not a smi", "lost precision", "overflow"],
            "optimized for small integers, it then got a fraction, a number past 31 bits or another \
             type: keep the values it sees one type (convert strings to numbers where they come in; \
             use doubles from the start if fractions are possible)",
        ),
        (
            &["not a heap number", "not a number", "not a bigint"],
            "optimized for numbers, it then got another type: convert or check values where they \
             come in, so this code sees numbers only",
        ),
        (
            &["wrong map", "wrong instance type", "not a jsobject", "not a string", "not a symbol", "not a name"],
            "a value of a shape or type it had not seen reached code optimized for the ones seen so \
             far: create such objects one way (a class or one factory, same properties in the same \
             order) and keep the types reaching it stable",
        ),
        (
            &["out of bounds", "hole"],
            "an array read past its end or at a hole: keep loops within `length` and arrays without \
             gaps (no `delete`, no writes past the end)",
        ),
        (
            &["wrong call target", "wrong feedback cell", "wrong function"],
            "a call site got a different function than it was optimized for: pass it one function, \
             or expect it to stay generic",
        ),
        (
            &["division by zero", "minus zero"],
            "integer arithmetic met a division by zero or -0: guard the divisor, or use doubles \
             from the start",
        ),
        (
            &["wrong name", "wrong value"],
            "an access met a key or a constant it was not optimized for: use a Map for keys that \
             vary, and do not reassign values the code treats as constant",
        ),
        (
            &["weak objects"],
            "an object the optimized code embedded was garbage-collected; harmless unless it keeps \
             happening: create such objects (closures, configs) once, outside the hot path",
        ),
        (
            &["field", "transition", "prototype", "initial-map", "property-cell", "allocation-site"],
            "an object shape, prototype or global the code assumed fixed changed: set every property \
             in the constructor with one type, and leave prototypes and globals alone after start-up",
        ),
    ];
    for (needles, advice) in TABLE {
        if needles.iter().any(|n| r.contains(n)) {
            return advice;
        }
    }
    if kind == "dependency-change" {
        return "something the optimized code assumed fixed changed; harmless once, a problem if it \
                keeps happening under load";
    }
    "V8 met a value its optimized code did not expect here: keep the types and shapes of the \
     values reaching it stable (`node --trace-deopt` shows more)"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(name: &'static str, start: (u32, u32), lines: (u32, u32)) -> Span<'static> {
        Span { name, start, lines }
    }

    /// The shape of `tests/fixtures/jit-inlined-server.js`: the module's
    /// wrapper, `addScore` (lines 9-12) and `handle` (lines 14-18).
    fn script() -> [Span<'static>; 3] {
        [
            span("", (1, 1), (1, 37)),
            span("addScore", (9, 18), (9, 12)),
            span("handle", (14, 16), (14, 18)),
        ]
    }

    #[test]
    fn a_line_of_an_inlined_function_goes_to_it() {
        let owner = line_owner(&script(), 11, (14, 16)).unwrap();
        assert_eq!((owner.name, owner.start), ("addScore", (9, 18)));
        // Unknown to the log, the running function still gives it away.
        let owner = line_owner(&script()[..2], 11, (14, 16)).unwrap();
        assert_eq!(owner.name, "addScore");
    }

    #[test]
    fn the_running_functions_own_lines_stay() {
        assert!(line_owner(&script(), 16, (14, 16)).is_none());
        // Unknown to the log: its line is inside it, under the wrapper.
        let known = [script()[0], script()[1]];
        assert!(line_owner(&known, 16, (14, 16)).is_none());
    }

    #[test]
    fn a_line_only_an_enclosing_function_knows_is_not_given_to_it() {
        // `addScore` unknown to the log (made while it was off): its line
        // is not the wrapper's, which never ran inside `handle`.
        let known = [script()[0], script()[2]];
        assert!(line_owner(&known, 11, (14, 16)).is_none());
        assert!(line_owner(&known[..1], 11, (14, 16)).is_none());
    }

    #[test]
    fn functions_nested_on_one_line_keep_the_narrowest() {
        let spans = [span("outer", (5, 10), (5, 9)), span("", (7, 20), (7, 7))];
        assert_eq!(line_owner(&spans, 7, (5, 10)).unwrap().start, (7, 20));
        assert!(line_owner(&spans, 7, (7, 20)).is_none());
        assert!(line_owner(&spans, 3, (5, 10)).is_none());
    }
}
