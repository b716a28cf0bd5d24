//! The join: hot functions from the CPU profile, matched by script and start
//! position with the V8 log's functions (their compilers, deoptimizations
//! and inline-cache sites) and with the sampling heap profile's allocations,
//! each problem said in one sentence.

use std::collections::HashMap;

use leakscope_profile::cpu::{CpuProfile, FunctionTime};
use leakscope_profile::SamplingProfile;
use leakscope_v8log::{Compilations, IcState, JitReport};
use serde::Serialize;

/// Functions with less self time than this are not "hot" unless their
/// total time is large.
const MIN_SELF_SHARE: f64 = 0.01;
const MIN_TOTAL_SHARE: f64 = 0.10;
/// A hot function allocating this share of all sampled bytes is named.
const ALLOCATION_SHARE: f64 = 0.10;

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
    pub reason: String,
    pub kind: String,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IcProblem {
    /// `file:line:column` of the access.
    pub position: String,
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

    /// `name file:line:column`, `(anonymous)` for a nameless function.
    pub fn label(&self) -> String {
        let name = if self.is_anonymous() {
            "(anonymous)"
        } else {
            &self.name
        };
        format!("{name} {}:{}:{}", self.url, self.line, self.column)
    }

    /// A problem the JIT has with it: a megamorphic access, a
    /// deoptimization about the values it saw, or no optimization at all.
    pub fn has_jit_problem(&self) -> bool {
        self.ic_sites.iter().any(|s| s.state.is_megamorphic())
            || self.deopts.iter().any(|d| !is_benign(&d.reason))
            || self.optimized == Some(false)
    }
}

impl Findings {
    /// Joins a CPU profile with the V8 log and the allocation profile of
    /// the same run; `limit` hot functions at most.
    pub fn build(
        cpu: &CpuProfile,
        log: Option<&JitReport>,
        allocations: Option<&SamplingProfile>,
        limit: usize,
    ) -> Findings {
        // V8 charges inlined code to its caller; the log's line spans give
        // a line to the innermost function there, unless the function that
        // ran is at least as narrow there (functions nested on one line).
        // The log's functions that have line spans, by script: this runs
        // for every line tick of the profile.
        let mut spans_by_url: HashMap<&str, Vec<&leakscope_v8log::Function>> = HashMap::new();
        for f in log.iter().flat_map(|r| &r.functions) {
            if let (Some(p), Some(_)) = (&f.position, f.lines) {
                spans_by_url.entry(p.url.as_str()).or_default().push(f);
            }
        }
        let owner = |url: &str, line: u32, running: (u32, u32)| -> Option<(String, u32, u32)> {
            let functions = spans_by_url.get(url)?;
            let start = |f: &leakscope_v8log::Function| {
                f.position.as_ref().map_or((0, 0), |p| (p.line, p.column))
            };
            let span = |f: &leakscope_v8log::Function| {
                let (first, last) = f.lines?;
                (first <= line && line <= last).then_some(last - first)
            };
            // Among equal spans the later start is the nested one.
            let (inner_span, inner) = functions
                .iter()
                .filter_map(|f| Some((span(f)?, *f)))
                .min_by_key(|&(span, f)| (span, std::cmp::Reverse(start(f))))?;
            let own = functions.iter().find(|f| start(f) == running);
            if own.and_then(|f| span(f)).is_some_and(|s| s <= inner_span) {
                return None;
            }
            let (line, column) = start(inner);
            Some((inner.name.clone(), line, column))
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
        let mut hot: Vec<HotFunction> = times
            .iter()
            .filter(|t| is_app_code(t))
            .filter(|t| t.self_share >= MIN_SELF_SHARE || t.total_share >= MIN_TOTAL_SHARE)
            .take(limit)
            .map(|t| {
                let mut f = HotFunction {
                    name: t.name.clone(),
                    url: t.url.clone(),
                    line: t.line,
                    column: t.column,
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
                    let index = by_position
                        .get(&(t.url.as_str(), t.line, t.column))
                        .copied();
                    add_log(&mut f, r, index);
                }
                if allocations.is_some() {
                    let bytes = allocated.get(&f.label()).copied().unwrap_or(0);
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
        Findings {
            busy_ms,
            gc_share,
            hot,
            v8_log: log.is_some(),
            v8_version: log.and_then(|r| r.v8_version.clone()),
            notes,
        }
    }
}

/// The app's own code, npm packages included: not V8's entries nor Node's
/// `node:` modules.
fn is_app_code(t: &FunctionTime) -> bool {
    !t.url.is_empty() && !t.url.starts_with("node:") && !t.is_engine()
}

fn add_log(f: &mut HotFunction, r: &JitReport, index: Option<usize>) {
    // Code inlined elsewhere ran in that caller's optimized code.
    let inlined = !f.inlined_into.is_empty();
    let Some(index) = index else {
        // Hot, but the log never created code for it: never left the
        // interpreter's lazy path, or the log is incomplete.
        f.optimized = Some(inlined);
        return;
    };
    let function = &r.functions[index];
    f.optimized = Some(function.ever_optimized() || inlined);
    f.compilations = Some(function.compilations.clone());
    // One row per bailout: the same one in several optimized callers
    // (where the function was inlined) adds up.
    for d in r.deopts.iter().filter(|d| d.function as usize == index) {
        let position = d
            .position
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        match f
            .deopts
            .iter_mut()
            .find(|s| s.position == position && s.reason == d.reason && s.kind == d.kind)
        {
            Some(site) => site.count += d.count,
            None => f.deopts.push(DeoptSite {
                position,
                reason: d.reason.clone(),
                kind: d.kind.clone(),
                count: d.count,
            }),
        }
    }
    f.ic_sites = r
        .ic_sites
        .iter()
        .filter(|s| s.function == Some(index as u32) && s.worst >= IcState::Polymorphic)
        .map(|s| IcProblem {
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

/// Deoptimizations that say nothing about the code: optimized before a path
/// ever ran (gone once warm), or an object the code depended on was
/// collected.
fn is_benign(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("insufficient type feedback") || r == "weak objects"
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

/// What a deoptimization reason means for the code, when it is a common one.
fn reason_hint(reason: &str) -> Option<&'static str> {
    let r = reason.to_ascii_lowercase();
    Some(
        if r.contains("not a smi") || r.contains("lost precision") || r.contains("overflow") {
            "optimized for small integers, it then saw other numbers or other types: keep its argument types stable"
        } else if r.contains("wrong map") {
            "an object of a new shape reached code optimized for the shapes seen so far"
        } else if r.contains("insufficient type feedback") {
            "optimized before this path ever ran; usually harmless once warm"
        } else if r.contains("not a heap number") || r.contains("not a number") {
            "optimized for numbers, it then saw another type"
        } else if r.contains("out of bounds") {
            "an array read past its end (or a hole): check loop bounds"
        } else if r.contains("hole") {
            "an array with holes: fill arrays without gaps"
        } else if r.contains("wrong call target") {
            "a call site saw a different function than it was optimized for"
        } else if r.contains("division by zero") || r.contains("minus zero") {
            "integer-optimized arithmetic met -0 or a division by zero"
        } else {
            return None;
        },
    )
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
        let hint = reason_hint(&d.reason).map_or(String::new(), |h| format!(" ({h})"));
        out.push(format!(
            "deoptimized {}× at {}: {}{hint}",
            d.count, d.position, d.reason
        ));
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
    if f.is_anonymous() {
        out.push(
            "anonymous: give it a name (`function handleOrder() {…}` or `const handleOrder = …`) \
             so profiles and heap snapshots say which function it is"
                .to_owned(),
        );
    }
    out
}
