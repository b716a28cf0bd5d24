//! Reads V8's log — what `node --log-deopt --log-ic --logfile=FILE` writes —
//! into what a developer asks of the JIT: which functions were optimized
//! and by which compiler, which deoptimized where and why, and which inline
//! caches went polymorphic or megamorphic, at which `file:line:column`.
//!
//! Streaming: [`JitLog::feed`] takes the log in chunks of any size (a line
//! may span chunks) and keeps only the aggregates, so a log of any length
//! is read in bounded memory. Robust: a line it cannot read is counted and
//! skipped, extra fields from other V8 versions are ignored, and a last line
//! cut short (a log read while still being written) is left out.
//!
//! ```
//! let mut log = leakscope_v8log::JitLog::default();
//! log.feed(b"v8-version,11,3,244,8,-node.38,0\n");
//! log.feed(b"code-creation,JS,13,67358,0x7f0,192,total /srv/cart.js:1:15,0x1a0,*\n");
//! let report = log.finish();
//! assert_eq!(report.functions[0].name, "total");
//! assert!(report.functions[0].ever_optimized());
//! ```

pub mod line;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use line::{address, fields, number, text};

/// A place in a script, 1-based, as V8's log writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Position {
    pub url: String,
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// `url:line:column`; the url may hold colons itself (`node:fs`,
    /// `file:///…`, `C:\…`).
    pub fn parse(s: &str) -> Option<Position> {
        let (rest, column) = s.rsplit_once(':')?;
        let (url, line) = rest.rsplit_once(':')?;
        Some(Position {
            url: url.to_owned(),
            line: line.parse().ok()?,
            column: column.parse().ok()?,
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.url, self.line, self.column)
    }
}

/// The compiler a piece of code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Ignition bytecode (`~`).
    Interpreted,
    /// Sparkplug (`^`): baseline code, not optimized.
    Baseline,
    /// Maglev (`+`), the mid-tier optimizing compiler.
    Maglev,
    /// TurboFan (`*`), the top-tier optimizing compiler.
    Turbofan,
}

impl Tier {
    fn from_marker(marker: u8) -> Option<Tier> {
        match marker {
            b'~' => Some(Tier::Interpreted),
            b'^' => Some(Tier::Baseline),
            b'+' => Some(Tier::Maglev),
            b'*' => Some(Tier::Turbofan),
            _ => None,
        }
    }
}

/// How many times a function's code was made by each compiler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Compilations {
    pub interpreted: u32,
    pub baseline: u32,
    pub maglev: u32,
    pub turbofan: u32,
}

/// A JavaScript function the log created code for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    /// Empty for an anonymous function.
    pub name: String,
    /// Where the function starts; `None` for code without a script.
    pub position: Option<Position>,
    pub compilations: Compilations,
    /// Deoptimizations that bailed out in this function's code (in its own
    /// optimized code, or where it was inlined into another's).
    pub deopts: u32,
    /// The lines it spans (1-based, inclusive), when the log has its
    /// script's source: where a CPU profile's line ticks inside an
    /// optimized caller belong to this function, inlined there.
    pub lines: Option<(u32, u32)>,
    /// Script id and source range `[start, end)` in characters, from
    /// `code-source-info`.
    #[serde(skip)]
    source: Option<(u32, u32, u32)>,
}

impl Function {
    pub fn is_anonymous(&self) -> bool {
        self.name.is_empty()
    }

    /// Whether Maglev or TurboFan ever compiled it.
    pub fn ever_optimized(&self) -> bool {
        self.compilations.maglev + self.compilations.turbofan > 0
    }
}

/// Deoptimizations at one bailout position for one reason.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deopt {
    /// Index into [`JitReport::functions`]: the function whose code the
    /// bailout position is in (the innermost one by source range), even
    /// when it was inlined into the optimized code that deoptimized.
    pub function: u32,
    /// Index of the function whose optimized code deoptimized.
    pub optimized: u32,
    /// Where the optimized code bailed out (in the innermost function,
    /// when that was inlined).
    pub position: Option<Position>,
    /// The calls that inlined `function`, innermost first: the last is in
    /// `optimized`'s own code. Empty when the bailout is in its own code.
    pub inlined_at: Vec<Position>,
    /// The function holding the innermost of those calls: the one that
    /// inlined `function` (`optimized` itself, or a function inlined there).
    pub caller: Option<u32>,
    /// `deopt-eager`, `deopt-lazy`, `deopt-soft`, … as V8 names it;
    /// `dependency-change` when V8 threw optimized code away because
    /// something it assumed changed (the position is then the function's
    /// start, not a bailout).
    pub kind: String,
    /// V8's words, e.g. `not a Smi`, `wrong map`.
    pub reason: String,
    pub count: u32,
    /// Log time of the first and the last one, in µs since the log
    /// started (about when the process did).
    pub first_us: u64,
    pub last_us: u64,
    /// How many came before the first mark, between the first and the
    /// second, …, after the last ([`JitLog::with_marks`]): a single entry
    /// without marks.
    pub by_phase: Vec<u32>,
}

impl Deopt {
    /// V8 discarded the code because an assumption broke (a map, a
    /// constant, a collected object), rather than bailing out at a check.
    pub fn is_dependency_change(&self) -> bool {
        self.kind == "dependency-change"
    }
}

/// A point in time the log itself records: the first code created for a
/// function of this name (one the caller had the app evaluate, e.g. when
/// its warm-up ended), so events can be dated against it on the log's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    pub name: String,
    /// µs since the log started; `None` when the log never saw it.
    pub at_us: Option<u64>,
}

/// An inline cache's state, from uninitialized to megamorphic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IcState {
    /// `X`: the function has no feedback vector yet.
    NoFeedback,
    /// `0`
    Uninitialized,
    /// `.`
    Premonomorphic,
    /// `1`: one map seen.
    Monomorphic,
    /// `^`: a handler recomputed for a map already seen.
    RecomputeHandler,
    /// `P`: a few maps (up to 4).
    Polymorphic,
    /// `D`: megamorphic over DOM accessors.
    Megadom,
    /// `N`: too many maps; generic lookups, and the caller cannot be
    /// optimized around this access.
    Megamorphic,
    /// `G`: generic (keyed access with non-name keys).
    Generic,
}

impl IcState {
    fn from_marker(marker: &[u8]) -> Option<IcState> {
        Some(match marker {
            b"X" => IcState::NoFeedback,
            b"0" => IcState::Uninitialized,
            b"." => IcState::Premonomorphic,
            b"1" => IcState::Monomorphic,
            b"^" => IcState::RecomputeHandler,
            b"P" => IcState::Polymorphic,
            b"D" => IcState::Megadom,
            b"N" => IcState::Megamorphic,
            b"G" => IcState::Generic,
            _ => return None,
        })
    }

    /// Megamorphic or generic: the access is slow and blocks optimizing
    /// around it.
    pub fn is_megamorphic(self) -> bool {
        matches!(
            self,
            IcState::Megamorphic | IcState::Megadom | IcState::Generic
        )
    }
}

/// One inline-cache site: a property access in a function's code.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IcSite {
    /// Index into [`JitReport::functions`]; `None` when the code the IC
    /// ran in is not in the log.
    pub function: Option<u32>,
    /// `LoadIC`, `StoreIC`, `KeyedLoadIC`, …
    pub kind: String,
    /// The access's place in the function's script.
    pub line: u32,
    pub column: u32,
    /// The property name or element key.
    pub key: String,
    /// The states it went through, in order, each once (`0 1 P N`).
    pub states: Vec<IcState>,
    /// Its worst state.
    pub worst: IcState,
    /// Distinct maps (object shapes) it saw.
    pub maps: u32,
    /// State transitions logged.
    pub transitions: u32,
}

/// What a log said, aggregated.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JitReport {
    /// `11.3.244.8-node.38`, from the log's first line.
    pub v8_version: Option<String>,
    pub functions: Vec<Function>,
    /// Most frequent first.
    pub deopts: Vec<Deopt>,
    /// Worst first, then by maps seen.
    pub ic_sites: Vec<IcSite>,
    /// Lines read, and lines that looked like a known event but could
    /// not be read.
    pub lines: u64,
    pub unreadable_lines: u64,
    /// Whether the log ended inside a line (still being written, or cut).
    pub cut_short: bool,
    /// The marks asked for ([`JitLog::with_marks`]), in that order.
    pub marks: Vec<Mark>,
    /// The latest event time the log holds, µs since it started.
    pub last_us: u64,
}

impl JitReport {
    /// Where `site` is: its function's script at the site's line and column.
    pub fn site_position(&self, site: &IcSite) -> Option<Position> {
        let function = &self.functions[site.function? as usize];
        Some(Position {
            url: function.position.as_ref()?.url.clone(),
            line: site.line,
            column: site.column,
        })
    }
}

/// A piece of code in memory: `[start, end)` belongs to a function.
#[derive(Debug, Clone, Copy)]
struct Code {
    end: u64,
    function: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SiteKey {
    function: Option<u32>,
    kind: String,
    line: u32,
    column: u32,
    key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DeoptKey {
    function: u32,
    optimized: u32,
    /// The whole inlining chain as V8 printed it.
    position: String,
    kind: String,
    reason: String,
}

/// The log being read; see the crate docs.
#[derive(Default)]
pub struct JitLog {
    /// The start of a line whose end has not arrived yet.
    pending: Vec<u8>,
    report: JitReport,
    function_by_name: FxHashMap<String, u32>,
    /// Code by start address.
    code: BTreeMap<u64, Code>,
    deopt_index: FxHashMap<DeoptKey, u32>,
    site_index: FxHashMap<SiteKey, u32>,
    site_maps: Vec<FxHashSet<u64>>,
    script_by_url: FxHashMap<String, u32>,
    /// Offset (UTF-16 units, as V8 counts) where each line of a script starts.
    line_starts: FxHashMap<u32, Vec<u32>>,
    /// Marks seen so far: the phase new deoptimizations count in.
    phase: usize,
}

impl JitLog {
    /// A log that also notes when code for each of these function names is
    /// first created ([`Mark`]) and counts deoptimizations per phase between
    /// them ([`Deopt::by_phase`]). Marks are expected in this order; their
    /// functions are not reported.
    pub fn with_marks<S: Into<String>>(names: impl IntoIterator<Item = S>) -> JitLog {
        let mut log = JitLog::default();
        log.report.marks = names
            .into_iter()
            .map(|n| Mark {
                name: n.into(),
                at_us: None,
            })
            .collect();
        log
    }

    /// Reads the next chunk of the log.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        if !self.pending.is_empty() {
            let Some(end) = memchr::memchr(b'\n', chunk) else {
                self.pending.extend_from_slice(chunk);
                return;
            };
            let mut line = std::mem::take(&mut self.pending);
            line.extend_from_slice(&chunk[..end]);
            self.line(&line);
            line.clear();
            self.pending = line;
            chunk = &chunk[end + 1..];
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            self.line(&chunk[start..end]);
            start = end + 1;
        }
        self.pending.extend_from_slice(&chunk[start..]);
    }

    /// The report; a last line without its newline is left out.
    pub fn finish(mut self) -> JitReport {
        self.report.cut_short = !self.pending.is_empty();
        for f in &mut self.report.functions {
            let Some((script, start, end)) = f.source else {
                continue;
            };
            if let Some(starts) = self.line_starts.get(&script) {
                let line_of = |offset: u32| starts.partition_point(|&s| s <= offset) as u32;
                f.lines = Some((line_of(start), line_of(end.saturating_sub(1).max(start))));
            }
        }
        self.charge_sites_to_inlined_functions();
        for (site, maps) in self.report.ic_sites.iter_mut().zip(&self.site_maps) {
            site.maps = maps.len() as u32;
        }
        let r = &mut self.report;
        r.deopts.sort_by_key(|d| std::cmp::Reverse(d.count));
        r.ic_sites.sort_by(|a, b| {
            b.worst
                .cmp(&a.worst)
                .then(b.maps.cmp(&a.maps))
                .then(a.line.cmp(&b.line))
                .then(a.column.cmp(&b.column))
        });
        self.report
    }

    /// An IC in optimized code names the code's function, but its line may
    /// be in a function inlined there: give each site to the innermost
    /// function whose lines hold it, merging sites that become one.
    fn charge_sites_to_inlined_functions(&mut self) {
        let functions = &self.report.functions;
        let mut by_url: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
        for (i, f) in functions.iter().enumerate() {
            if let (Some(p), Some(_)) = (&f.position, f.lines) {
                by_url.entry(p.url.as_str()).or_default().push(i as u32);
            }
        }
        let innermost = |function: u32, line: u32| -> u32 {
            let Some(url) = functions[function as usize]
                .position
                .as_ref()
                .map(|p| &p.url)
            else {
                return function;
            };
            let candidates = by_url.get(url.as_str()).map_or(&[][..], Vec::as_slice);
            candidates
                .iter()
                .filter_map(|&i| {
                    let f = &functions[i as usize];
                    let (first, last) = f.lines?;
                    let start = f.position.as_ref().map_or((0, 0), |p| (p.line, p.column));
                    // Among equal spans the later start is the nested one.
                    (first <= line && line <= last).then_some((
                        last - first,
                        std::cmp::Reverse(start),
                        i,
                    ))
                })
                .min()
                .map_or(function, |(_, _, i)| i)
        };
        let sites = std::mem::take(&mut self.report.ic_sites);
        let maps = std::mem::take(&mut self.site_maps);
        let mut index: FxHashMap<(Option<u32>, String, u32, u32, String), usize> =
            FxHashMap::default();
        for (mut site, site_maps) in sites.into_iter().zip(maps) {
            site.function = site.function.map(|f| innermost(f, site.line));
            let key = (
                site.function,
                site.kind.clone(),
                site.line,
                site.column,
                site.key.clone(),
            );
            match index.get(&key) {
                Some(&i) => {
                    let merged = &mut self.report.ic_sites[i];
                    for state in site.states {
                        if !merged.states.contains(&state) {
                            merged.states.push(state);
                        }
                    }
                    merged.worst = merged.worst.max(site.worst);
                    merged.transitions += site.transitions;
                    self.site_maps[i].extend(site_maps);
                }
                None => {
                    index.insert(key, self.report.ic_sites.len());
                    self.report.ic_sites.push(site);
                    self.site_maps.push(site_maps);
                }
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return;
        }
        self.report.lines += 1;
        let event = line.split(|&b| b == b',').next().unwrap_or_default();
        let read = match event {
            b"code-creation" => self.code_creation(line),
            b"code-move" => self.code_move(line),
            b"code-delete" => self.code_delete(line),
            b"code-deopt" => self.code_deopt(line),
            b"code-source-info" => self.code_source_info(line),
            b"script-source" | b"script-details" => self.script(line),
            b"v8-version" => self.version(line),
            e if e.ends_with(b"IC") => self.ic(line),
            _ => Some(()),
        };
        if read.is_none() {
            self.report.unreadable_lines += 1;
        }
    }

    fn version(&mut self, line: &[u8]) -> Option<()> {
        let f: Vec<&[u8]> = fields(line).skip(1).collect();
        let numbers = f.get(..4)?;
        let mut version = numbers
            .iter()
            .map(|n| text(n).into_owned())
            .collect::<Vec<_>>()
            .join(".");
        if let Some(embedder) = f.get(4).filter(|e| !e.is_empty()) {
            version.push_str(&text(embedder));
        }
        self.report.v8_version = Some(version);
        Some(())
    }

    /// `code-creation,TYPE,KIND,TIME,START,SIZE,NAME[,SFI,STATE]`; older
    /// V8s put the state mark in front of the name instead.
    fn code_creation(&mut self, line: &[u8]) -> Option<()> {
        let f: Vec<&[u8]> = fields(line).collect();
        let (code_type, start, size) = (*f.get(1)?, address(f.get(4)?)?, number(f.get(5)?)?);
        let raw_name = text(f.get(6)?);
        let is_js = matches!(
            code_type,
            b"JS" | b"LazyCompile" | b"Function" | b"Script" | b"Eval"
        );
        let mut function = None;
        if is_js {
            let state = f.get(8).and_then(|s| match s {
                [mark] => Tier::from_marker(*mark),
                _ => None,
            });
            let (tier, name) = match state {
                Some(t) => (Some(t), raw_name.as_ref()),
                None => {
                    let mark = raw_name.bytes().next().and_then(Tier::from_marker);
                    (
                        mark,
                        if mark.is_some() {
                            &raw_name[1..]
                        } else {
                            raw_name.as_ref()
                        },
                    )
                }
            };
            let time = number(f.get(3)?).unwrap_or(0);
            self.saw_time(time);
            if self.mark(name, time) {
                return Some(());
            }
            let index = self.function(name);
            let counts = &mut self.report.functions[index as usize].compilations;
            match tier {
                Some(Tier::Interpreted) => counts.interpreted += 1,
                Some(Tier::Baseline) => counts.baseline += 1,
                Some(Tier::Maglev) => counts.maglev += 1,
                Some(Tier::Turbofan) => counts.turbofan += 1,
                None => {}
            }
            function = Some(index);
        }
        self.code.insert(
            start,
            Code {
                end: start.saturating_add(size.max(1)),
                function,
            },
        );
        Some(())
    }

    /// Whether `name` (`NAME URL:LINE:COLUMN`) is a mark's function; the
    /// first time, notes `time` and starts the next phase.
    fn mark(&mut self, name: &str, time: u64) -> bool {
        if self.report.marks.is_empty() {
            return false;
        }
        let (function_name, _) = split_name(name);
        let Some(i) = self
            .report
            .marks
            .iter()
            .position(|m| m.name == function_name)
        else {
            return false;
        };
        let mark = &mut self.report.marks[i];
        if mark.at_us.is_none() {
            mark.at_us = Some(time);
            self.phase = self.phase.max(i + 1);
        }
        true
    }

    fn saw_time(&mut self, time: u64) {
        self.report.last_us = self.report.last_us.max(time);
    }

    fn code_move(&mut self, line: &[u8]) -> Option<()> {
        let mut f = fields(line).skip(1);
        let (from, to) = (address(f.next()?)?, address(f.next()?)?);
        if let Some(code) = self.code.remove(&from) {
            let size = code.end - from;
            self.code.insert(
                to,
                Code {
                    end: to.saturating_add(size),
                    ..code
                },
            );
        }
        Some(())
    }

    fn code_delete(&mut self, line: &[u8]) -> Option<()> {
        self.code.remove(&address(fields(line).nth(1)?)?);
        Some(())
    }

    /// `script-source,ID,URL,SOURCE` or `script-details,ID,URL,…`.
    fn script(&mut self, line: &[u8]) -> Option<()> {
        let mut f = fields(line);
        let is_source = f.next()? == b"script-source";
        let id = number(f.next()?)? as u32;
        let url = text(f.next()?);
        if !url.is_empty() {
            self.script_by_url.insert(url.into_owned(), id);
        }
        if is_source {
            // The rest of the line is the source, escaped (commas too).
            let at = line
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b',')
                .nth(2)
                .map_or(line.len(), |(i, _)| i + 1);
            self.line_starts.insert(id, line_starts(&line[at..]));
        }
        Some(())
    }

    /// `code-source-info,CODE,SCRIPT,START,END,…`: the code's function's
    /// source range.
    fn code_source_info(&mut self, line: &[u8]) -> Option<()> {
        let mut f = fields(line).skip(1);
        let code = address(f.next()?)?;
        let script = number(f.next()?)? as u32;
        let (start, end) = (number(f.next()?)? as u32, number(f.next()?)? as u32);
        if let Some(function) = self.function_at(code) {
            self.report.functions[function as usize].source = Some((script, start, end));
        }
        Some(())
    }

    /// `position`'s offset in its script (UTF-16 units), when the log has
    /// the script's source.
    fn offset_of(&self, position: &Position) -> Option<u32> {
        let script = self.script_by_url.get(&position.url)?;
        let start = *self
            .line_starts
            .get(script)?
            .get(position.line.checked_sub(1)? as usize)?;
        start.checked_add(position.column.checked_sub(1)?)
    }

    /// The innermost function whose source range in `url`'s script holds
    /// `offset`.
    fn function_containing(&self, url: &str, offset: u32) -> Option<u32> {
        let script = *self.script_by_url.get(url)?;
        let functions = self.report.functions.iter().enumerate();
        functions
            .filter_map(|(i, f)| {
                let (s, start, end) = f.source?;
                (s == script && start <= offset && offset < end).then_some((end - start, i as u32))
            })
            .min()
            .map(|(_, i)| i)
    }

    /// The function a traced bailout position is in, given the name V8
    /// gave its frame (see [`JitLog::add_deopt_traces`]).
    fn function_at_position(&mut self, at: &Position, name: Option<&str>) -> u32 {
        let by_range = self
            .offset_of(at)
            .and_then(|offset| self.function_containing(&at.url, offset));
        let named = |i: &u32| name.is_none_or(|n| self.report.functions[*i as usize].name == n);
        if let Some(i) = by_range.filter(named) {
            return i;
        }
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            let known =
                self.report.functions.iter().position(|f| {
                    f.name == n && f.position.as_ref().is_some_and(|p| p.url == at.url)
                });
            if let Some(i) = known {
                return i as u32;
            }
            // Compiled only while the log was blind: its start is unknown,
            // the bailout's place stands for it.
            return self.function(&format!("{n} {at}"));
        }
        by_range.unwrap_or_else(|| self.function(&format!(" {at}")))
    }

    /// `code-deopt,TIME,SIZE,CODE,INLINING_ID,SCRIPT_OFFSET,KIND,<POSITION>,REASON`,
    /// where POSITION is the inlining chain, innermost first:
    /// `<a.js:12:20> inlined at <a.js:26:34>`.
    fn code_deopt(&mut self, line: &[u8]) -> Option<()> {
        let f: Vec<&[u8]> = fields(line).collect();
        let time = number(f.get(1)?).unwrap_or(0);
        self.saw_time(time);
        let code = address(f.get(3)?)?;
        let script_offset = text(f.get(5)?).parse::<u32>().ok();
        let kind = text(f.get(6)?).into_owned();
        let chain = text(f.get(7)?).into_owned();
        let mut positions = chain
            .split(" inlined at ")
            .map(|p| Position::parse(p.trim().trim_start_matches('<').trim_end_matches('>')));
        let parsed = positions.next().flatten();
        let inlined_at: Vec<Position> = positions.flatten().collect();
        // A reason may hold commas V8 did not escape: the rest of the line.
        let reason = f.get(8..).map_or(String::new(), |rest| {
            text(&rest.join(&b","[..])).trim().to_owned()
        });
        // Code the log never created (a log started late) names no function.
        let Some(optimized) = self.function_at(code) else {
            return Some(());
        };
        let function = parsed
            .as_ref()
            .zip(script_offset)
            .and_then(|(p, offset)| self.function_containing(&p.url, offset))
            .unwrap_or(optimized);
        // The call sites carry no offset: their line and column give one.
        let caller = inlined_at.first().map(|call| {
            self.offset_of(call)
                .and_then(|offset| self.function_containing(&call.url, offset))
                .unwrap_or(optimized)
        });
        let key = DeoptKey {
            function,
            optimized,
            position: chain,
            kind,
            reason,
        };
        let place = Place {
            position: parsed,
            inlined_at,
            caller,
        };
        self.tally_deopt(key, place, 1, time, self.phase);
        Some(())
    }

    /// Adds what `--trace-deopt-verbose` printed (with
    /// `--redirect-code-traces-to=FILE`): V8 writes that trace even while
    /// the inspector's CPU profiler runs, when it writes nothing to its log.
    /// A bailout the trace has more often than the log is one that happened
    /// while the log was blind — under the profiled load, the last phase —
    /// and is charged as the log charges its own (the innermost function by
    /// source range, the function whose code ran, the inlining call).
    /// Call after the whole log was fed, before [`JitLog::finish`].
    pub fn add_deopt_traces(&mut self, trace: &[u8]) {
        let text = String::from_utf8_lossy(trace);
        let mut traced: Vec<(TracedDeopt, u32)> = Vec::new();
        let mut current: Option<TracedDeopt> = None;
        let mut finish = |entry: Option<TracedDeopt>| {
            let Some(entry) = entry.filter(|e| !e.chain.is_empty()) else {
                return;
            };
            match traced.iter_mut().find(|(k, _)| *k == entry) {
                Some((_, n)) => *n += 1,
                None => traced.push((entry, 1)),
            }
        };
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("[bailout (kind: ") {
                finish(current.take());
                current = bailout_header(rest);
            } else if let Some(chain) = line.strip_prefix(";;; deoptimize at ") {
                if let Some(entry) = current.as_mut() {
                    entry.chain = chain.to_owned();
                }
            } else if let Some(rest) = line.strip_prefix("translating interpreted frame ") {
                if let (Some(entry), Some((name, _))) = (current.as_mut(), rest.split_once(" =>")) {
                    entry.frames.push(name.to_owned());
                }
            } else if line.starts_with("[bailout end") {
                finish(current.take());
            }
        }
        finish(current.take());
        let time = self.report.marks.iter().filter_map(|m| m.at_us).max();
        let last_phase = self.report.marks.len();
        for (entry, count) in traced {
            let TracedDeopt {
                kind,
                reason,
                optimized: name,
                chain,
                frames,
            } = entry;
            let logged: u32 = self
                .deopt_index
                .iter()
                .filter(|(k, _)| k.position == chain && k.kind == kind && k.reason == reason)
                .map(|(_, &i)| self.report.deopts[i as usize].count)
                .sum();
            let extra = count.saturating_sub(logged);
            if extra == 0 {
                continue;
            }
            let mut positions = chain
                .split(" inlined at ")
                .map(|p| Position::parse(p.trim().trim_start_matches('<').trim_end_matches('>')));
            let Some(parsed) = positions.next().flatten() else {
                continue;
            };
            let inlined_at: Vec<Position> = positions.flatten().collect();
            // Each position's function: the log's innermost by source
            // range when it bears the frame's name V8 translated there (a
            // function compiled only while the log was blind is unknown to
            // it, and the range found is then an enclosing one), else the
            // log's function of that name in that script, else a new one.
            let outer = inlined_at.last().unwrap_or(&parsed).clone();
            let frame_names: Vec<&str> = frames.iter().rev().map(String::as_str).collect();
            let optimized = self.function_at_position(&outer, Some(name.as_str()));
            let function = self.function_at_position(&parsed, frame_names.first().copied());
            let caller = inlined_at
                .first()
                .map(|call| self.function_at_position(call, frame_names.get(1).copied()));
            let key = DeoptKey {
                function,
                optimized,
                position: chain,
                kind,
                reason,
            };
            let place = Place {
                position: Some(parsed),
                inlined_at,
                caller,
            };
            let time = time.unwrap_or(self.report.last_us);
            self.tally_deopt(key, place, extra, time, last_phase);
        }
    }

    /// Counts `count` bailouts of `key` at `time` (µs) in `phase`, adding
    /// its row, at `place`, when it is new.
    fn tally_deopt(&mut self, key: DeoptKey, place: Place, count: u32, time: u64, phase: usize) {
        self.report.functions[key.function as usize].deopts += count;
        let phases = self.report.marks.len() + 1;
        let index = match self.deopt_index.get(&key) {
            Some(&i) => i as usize,
            None => {
                let i = self.report.deopts.len();
                self.deopt_index.insert(key.clone(), i as u32);
                self.report.deopts.push(Deopt {
                    function: key.function,
                    optimized: key.optimized,
                    position: place.position,
                    inlined_at: place.inlined_at,
                    caller: place.caller,
                    kind: key.kind,
                    reason: key.reason,
                    count: 0,
                    first_us: time,
                    last_us: time,
                    by_phase: vec![0; phases],
                });
                i
            }
        };
        let d = &mut self.report.deopts[index];
        d.count += count;
        d.first_us = d.first_us.min(time);
        d.last_us = d.last_us.max(time);
        if let Some(n) = d.by_phase.get_mut(phase) {
            *n += count;
        }
    }

    /// `KIND,PC,TIME,LINE,COLUMN,OLD_STATE,NEW_STATE,MAP,KEY,MODIFIER,SLOW_REASON`
    fn ic(&mut self, line: &[u8]) -> Option<()> {
        let f: Vec<&[u8]> = fields(line).collect();
        let kind = text(f.first()?).into_owned();
        let pc = address(f.get(1)?)?;
        if let Some(time) = f.get(2).and_then(|t| number(t)) {
            self.saw_time(time);
        }
        let (line_no, column) = (number(f.get(3)?)? as u32, number(f.get(4)?)? as u32);
        let old = IcState::from_marker(f.get(5)?)?;
        let new = IcState::from_marker(f.get(6)?)?;
        let map = address(f.get(7)?).unwrap_or(0);
        let key = text(f.get(8)?).into_owned();
        let key = SiteKey {
            function: self.function_at(pc),
            kind,
            line: line_no,
            column,
            key,
        };
        let index = match self.site_index.get(&key) {
            Some(&i) => i as usize,
            None => {
                let i = self.report.ic_sites.len();
                self.site_index.insert(key.clone(), i as u32);
                self.report.ic_sites.push(IcSite {
                    function: key.function,
                    kind: key.kind,
                    line: key.line,
                    column: key.column,
                    key: key.key,
                    states: Vec::new(),
                    worst: old,
                    maps: 0,
                    transitions: 0,
                });
                self.site_maps.push(FxHashSet::default());
                i
            }
        };
        let site = &mut self.report.ic_sites[index];
        for state in [old, new] {
            if !site.states.contains(&state) {
                site.states.push(state);
            }
        }
        site.worst = site.worst.max(old).max(new);
        site.transitions += 1;
        if map != 0 {
            self.site_maps[index].insert(map);
        }
        Some(())
    }

    /// The function of the code containing `address`.
    fn function_at(&self, address: u64) -> Option<u32> {
        let (_, code) = self.code.range(..=address).next_back()?;
        (address < code.end).then_some(code.function)?
    }

    /// The function named `name` (`NAME URL:LINE:COLUMN`), added if new.
    fn function(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.function_by_name.get(name) {
            return i;
        }
        let (function_name, position) = split_name(name);
        let i = self.report.functions.len() as u32;
        self.report.functions.push(Function {
            name: function_name.to_owned(),
            position,
            compilations: Compilations::default(),
            deopts: 0,
            lines: None,
            source: None,
        });
        self.function_by_name.insert(name.to_owned(), i);
        i
    }
}

/// Where each line of an escaped source starts, in UTF-16 units as V8
/// counts offsets, without unescaping it into a string: a log holds the
/// source of every script, Node's own included.
fn line_starts(escaped: &[u8]) -> Vec<u32> {
    let mut starts = vec![0u32];
    let (mut offset, mut i) = (0u32, 0usize);
    while i < escaped.len() {
        let b = escaped[i];
        if b == b'\\' {
            let (units, used) = match escaped.get(i + 1) {
                Some(b'n') => {
                    starts.push(offset + 1);
                    (1, 2)
                }
                Some(b'x') => (1, 4),
                // \uXXXX is one UTF-16 unit, a surrogate half included.
                Some(b'u') => (1, 6),
                Some(_) => (1, 2),
                None => (1, 1),
            };
            offset += units;
            i += used;
            continue;
        }
        // A UTF-8 lead byte starts a character; four-byte ones are two units.
        if b & 0xC0 != 0x80 {
            offset += if b >= 0xF0 { 2 } else { 1 };
        }
        i += 1;
    }
    starts
}

/// Where a bailout was, beside its [`DeoptKey`]: the rest of its row.
struct Place {
    position: Option<Position>,
    inlined_at: Vec<Position>,
    caller: Option<u32>,
}

/// One bailout of `--trace-deopt-verbose`.
#[derive(PartialEq, Eq)]
struct TracedDeopt {
    kind: String,
    reason: String,
    /// The function whose optimized code bailed out.
    optimized: String,
    /// `<a.js:12:20> inlined at <a.js:26:34>`, as the log prints it.
    chain: String,
    /// The frames V8 rebuilt, outermost first: the last is where it
    /// bailed out.
    frames: Vec<String>,
}

/// `deopt-eager, reason: not a Smi): begin. deoptimizing 0x… <JSFunction
/// handle (sfi = 0x…)>, …` → kind, reason and the optimized function's name.
fn bailout_header(rest: &str) -> Option<TracedDeopt> {
    let (kind, rest) = rest.split_once(", reason: ")?;
    let (reason, rest) = rest.split_once("): begin.")?;
    let name = rest
        .split_once("<JSFunction ")
        .and_then(|(_, f)| f.split_once(" (sfi"))
        .map_or("", |(name, _)| name);
    Some(TracedDeopt {
        kind: kind.to_owned(),
        reason: reason.to_owned(),
        optimized: name.to_owned(),
        chain: String::new(),
        frames: Vec::new(),
    })
}

/// `NAME URL:LINE:COLUMN` → name and position. Names may hold spaces
/// (`get total`) and so may paths: the position is the first tail that
/// reads as one and starts like a url, else the last that reads as one.
fn split_name(name: &str) -> (&str, Option<Position>) {
    let url_like = |s: &str| {
        s.starts_with('/')
            || s.starts_with("file:")
            || s.starts_with("node:")
            || s.starts_with("http")
            || s.as_bytes().get(1) == Some(&b':')
    };
    let mut last = None;
    for (i, _) in name.match_indices(' ') {
        let rest = &name[i + 1..];
        if let Some(p) = Position::parse(rest) {
            if url_like(rest) {
                return (&name[..i], Some(p));
            }
            last = Some((i, p));
        }
    }
    match last {
        Some((i, p)) => (&name[..i], Some(p)),
        None => (name, None),
    }
}

/// Reads a whole log from `reader`, 1 MiB at a time.
pub fn read(reader: impl Read) -> std::io::Result<JitReport> {
    JitLog::default().read_from(reader)
}

impl JitLog {
    /// Reads the rest of a log from `reader`, 1 MiB at a time.
    pub fn read_from(mut self, reader: impl Read) -> std::io::Result<JitReport> {
        self.feed_from(reader)?;
        Ok(self.finish())
    }

    /// Feeds everything `reader` has, 1 MiB at a time (more may follow,
    /// e.g. [`JitLog::add_deopt_traces`], before [`JitLog::finish`]).
    pub fn feed_from(&mut self, mut reader: impl Read) -> std::io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => self.feed(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_starts_count_as_v8_does() {
        // "a\nbé\n😀x": lines start at 0, 2 and 5 (é one unit, 😀 two).
        assert_eq!(line_starts(br"a\nb\xe9\n\u00e9x"), [0, 2, 5]);
        assert_eq!(line_starts("a\\nbé\\n😀x".as_bytes()), [0, 2, 5]);
        assert_eq!(line_starts(br"x\x2Cy\\z"), [0]);
    }

    #[test]
    fn names_split_from_positions() {
        let (n, p) = split_name("total /srv/cart.js:1:15");
        assert_eq!(
            (n, p.unwrap().to_string().as_str()),
            ("total", "/srv/cart.js:1:15")
        );
        let (n, p) = split_name(" /srv/cart.js:10:26");
        assert_eq!((n, p.unwrap().line), ("", 10));
        let (n, p) = split_name("get qty /srv/my app/cart.js:3:4");
        assert_eq!(n, "get qty");
        assert_eq!(p.unwrap().url, "/srv/my app/cart.js");
        let (n, p) = split_name("ArrayPrototypePush");
        assert_eq!((n, p), ("ArrayPrototypePush", None));
        let (n, p) = split_name("emit node:events:517:28");
        assert_eq!((n, p.unwrap().url.as_str()), ("emit", "node:events"));
    }

    const LOG: &str = "v8-version,11,3,244,8,-node.38,0\n\
code-creation,JS,10,65202,0x1000,8,total /t/mega.js:1:15,0xa630,~\n\
LoadIC,0x1000,65222,1,30,0,1,0xbc81,qty,,\n\
LoadIC,0x1000,65230,1,30,1,P,0xb409,qty,,\n\
LoadIC,0x1000,65248,1,30,P,N,0xb601,qty,,\n\
LoadIC,0x1000,65252,1,30,N,N,0xb6a9,qty,,\n\
code-creation,JS,13,88900,0x7000,184,add /t/mega.js:6:13,0xa680,*\n\
code-deopt,90802,256,0x7000,-1,248,deopt-eager,</t/mega.js:6:31>,not a Smi\n\
code-move,0x7000,0x9000\n\
code-deopt,90900,256,0x9000,-1,248,deopt-eager,</t/mega.js:6:31>,not a Smi\n";

    #[test]
    fn any_chunking_reads_the_same() {
        let whole = {
            let mut log = JitLog::default();
            log.feed(LOG.as_bytes());
            serde_json::to_string(&log.finish()).unwrap()
        };
        for size in [1, 2, 7, 64] {
            let mut log = JitLog::default();
            for chunk in LOG.as_bytes().chunks(size) {
                log.feed(chunk);
            }
            assert_eq!(serde_json::to_string(&log.finish()).unwrap(), whole);
        }
        let mut log = JitLog::default();
        log.feed(LOG.as_bytes());
        let r = log.finish();
        assert_eq!(r.v8_version.as_deref(), Some("11.3.244.8-node.38"));
        let site = &r.ic_sites[0];
        assert_eq!(
            (site.key.as_str(), site.worst, site.maps),
            ("qty", IcState::Megamorphic, 4)
        );
        assert_eq!(
            r.site_position(site).unwrap().to_string(),
            "/t/mega.js:1:30"
        );
        assert_eq!(r.deopts.len(), 1);
        assert_eq!(r.deopts[0].count, 2, "the moved code is still add's");
        assert_eq!(r.functions[r.deopts[0].function as usize].name, "add");
        assert!(!r.cut_short);
    }

    #[test]
    fn older_and_newer_v8_layouts_read_the_same() {
        // Node 12–16 put the tier mark in front of the name and had no
        // state field; a newer V8 may append fields we do not know.
        let mut log = JitLog::default();
        log.feed(b"code-creation,LazyCompile,0,1234,0x1000,50,*total /a.js:1:15,0xabc\n");
        log.feed(b"code-creation,JS,13,67358,0x2000,192,total /a.js:1:15,0xabc,*,extra,9\n");
        log.feed(b"code-deopt,90802,256,0x1000,-1,248,deopt-eager,</a.js:2:3>,wrong map,more\n");
        log.feed(b"LoadIC,0x2000,65222,2,5,0,1,0xbc81,qty,,,future-field\n");
        let r = log.finish();
        assert_eq!(r.functions.len(), 1, "one function: {:?}", r.functions);
        let f = &r.functions[0];
        assert_eq!((f.name.as_str(), f.compilations.turbofan), ("total", 2));
        assert_eq!(r.deopts[0].reason, "wrong map,more");
        assert_eq!(r.ic_sites[0].function, Some(0));
        assert_eq!(r.unreadable_lines, 0);
    }

    #[test]
    fn a_deopt_in_inlined_code_names_the_inlined_function_its_caller_and_phase() {
        // Real Node 20 lines, shortened: `addScore` (lines 2-3) inlined into
        // `handle` (line 4), inlined into the anonymous handler (line 5);
        // the marks split the log into start-up, warm-up and load.
        let src = r"function addScore(t, v) {\n  return t + v;\n}\nfunction handle(v) { return addScore(0, v); }\nconst h = (v) => handle(v);";
        let log = format!(
            "script-source,81,/s.js,{src}\n\
code-creation,JS,10,100,0x100,10,addScore /s.js:1:18,0xa0,~\n\
code-source-info,0x100,81,17,44,,,\n\
code-creation,JS,10,110,0x200,10,handle /s.js:4:16,0xa8,~\n\
code-source-info,0x200,81,60,89,,,\n\
code-creation,JS,10,120,0x300,10, /s.js:5:11,0xb0,~\n\
code-source-info,0x300,81,100,116,,,\n\
code-creation,JS,10,130,0x400,2,load_mark :1:20,0xb8,~\n\
code-creation,JS,13,140,0x500,800, /s.js:5:11,0xb0,*\n\
code-deopt,1300000,896,0x500,1,38,deopt-eager,</s.js:2:12> inlined at </s.js:4:29> inlined at </s.js:5:18>,not a Smi\n\
code-creation,JS,10,1400000,0x600,2,profile_mark :1:20,0xc0,~\n\
code-deopt,5100000,896,0x500,-1,100,dependency-change,</s.js:5:11>,weak objects\n"
        );
        let mut reader = JitLog::with_marks(["load_mark", "profile_mark"]);
        reader.feed(log.as_bytes());
        let r = reader.finish();
        assert_eq!(r.unreadable_lines, 0);
        assert!(r.functions.iter().all(|f| !f.name.ends_with("_mark")));
        assert_eq!(r.marks[0].at_us, Some(130));
        assert_eq!(r.marks[1].at_us, Some(1_400_000));
        let name = |i: u32| r.functions[i as usize].name.as_str();
        let d = r.deopts.iter().find(|d| d.reason == "not a Smi").unwrap();
        assert_eq!(name(d.function), "addScore");
        assert_eq!(name(d.caller.unwrap()), "handle");
        assert_eq!(name(d.optimized), "");
        assert_eq!(d.position.as_ref().unwrap().to_string(), "/s.js:2:12");
        let calls: Vec<String> = d.inlined_at.iter().map(ToString::to_string).collect();
        assert_eq!(calls, ["/s.js:4:29", "/s.js:5:18"]);
        assert_eq!(
            (d.first_us, d.by_phase.as_slice()),
            (1_300_000, &[0, 1, 0][..])
        );
        let weak = r.deopts.iter().find(|d| d.is_dependency_change()).unwrap();
        assert_eq!(
            (weak.caller, weak.by_phase.as_slice()),
            (None, &[0, 0, 1][..])
        );
        assert_eq!(r.last_us, 5_100_000);

        // The same log with V8's deopt trace: the logged bailout again (not
        // counted twice) and two the log missed while the profiler ran.
        let trace = "\
[bailout (kind: deopt-eager, reason: not a Smi): begin. deoptimizing 0x1 <JSFunction  (sfi = 0x2)>, 0x3 <Code TURBOFAN>, opt id 2, bytecode offset 22]\n\
            ;;; deoptimize at </s.js:2:12> inlined at </s.js:4:29> inlined at </s.js:5:18>\n\
[bailout end. took 0.100 ms]\n\
[bailout (kind: deopt-eager, reason: not a Smi): begin. deoptimizing 0x1 <JSFunction  (sfi = 0x2)>, 0x3 <Code TURBOFAN>]\n\
            ;;; deoptimize at </s.js:2:12> inlined at </s.js:4:29> inlined at </s.js:5:18>\n\
[bailout (kind: deopt-soft, reason: Insufficient type feedback for binary operation): begin. deoptimizing 0x4 <JSFunction handle (sfi = 0x5)>, 0x6 <Code MAGLEV>]\n\
            ;;; deoptimize at </s.js:2:12> inlined at </s.js:4:29>\n";
        let mut reader = JitLog::with_marks(["load_mark", "profile_mark"]);
        reader.feed(log.as_bytes());
        reader.add_deopt_traces(trace.as_bytes());
        let r = reader.finish();
        let name = |i: u32| r.functions[i as usize].name.as_str();
        let smi = r.deopts.iter().find(|d| d.reason == "not a Smi").unwrap();
        assert_eq!((smi.count, smi.by_phase.as_slice()), (2, &[0, 1, 1][..]));
        let soft = r
            .deopts
            .iter()
            .find(|d| d.reason.starts_with("Insufficient"))
            .unwrap();
        assert_eq!(soft.kind, "deopt-soft");
        assert_eq!(name(soft.function), "addScore");
        assert_eq!(name(soft.optimized), "handle");
        assert_eq!(name(soft.caller.unwrap()), "handle");
        assert_eq!((soft.count, soft.by_phase.as_slice()), (1, &[0, 0, 1][..]));
        assert_eq!(soft.first_us, 1_400_000, "dated by the last mark");
    }

    proptest::proptest! {
        #[test]
        fn a_log_cut_anywhere_or_garbled_never_panics(cut in 0usize..LOG.len(), noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let mut log = JitLog::default();
            log.feed(&LOG.as_bytes()[..cut]);
            log.feed(&noise);
            let r = log.finish();
            proptest::prop_assert!(r.lines <= LOG.len() as u64 + 200);
        }
    }
}
