//! The hunt as a live session with one process: warm-up, a baseline
//! snapshot, then rounds of work each followed by a forced GC and a
//! snapshot, until the snapshots decide.
//!
//! The work in a round is the hunt's own HTTP load, the user's load command
//! (run once per round), or nothing at all: the process's own work over a
//! stretch of time (a queue consumer, a worker, a production process where
//! nobody wants extra traffic). Every thread's heap is judged on its own: the
//! main thread's and each worker thread's, reached through the main session.
//!
//! It adapts to the app instead of running a fixed script:
//! - a round ends after its requests, its time, or when the heap grew by
//!   more than a bound, so an app that slows down as it leaks (or leaks
//!   very fast) still reaches a verdict, and its slow-down is reported;
//! - a suspect too small to trust from the first rounds earns more rounds
//!   (a slow leak keeps adding; a cache that was still filling stops);
//! - allocation tracking (full GC every 50 ms), when asked for, runs only
//!   when a short probe at the end of warm-up shows the app can afford it,
//!   and is abandoned when it slows a round more than 3×; the sampling heap
//!   profiler names allocation sites either way;
//! - everything fits a time budget (90 s by default): rounds shrink to fit,
//!   a heap whose snapshots take long gets fewer rounds, and when the budget
//!   stops the hunt the outcome says so.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use leakscope_inspector::capture::{
    estimate_snapshot, write_snapshot, AtomicFile, CaptureProgress, SnapshotOptions,
};
use leakscope_inspector::{
    Attached, Client, GcReport, GcWatch, InspectorError, Passing, WorkerInfo,
};
pub use leakscope_load::{CommandRun, LoadCommand, LoadSpec};
use leakscope_load::{Live, LoadError, Report, Stop};
use leakscope_profile::cpu::CpuProfile;
use leakscope_profile::{SampledStack, SamplingProfile};
use leakscope_snapshot::{Depth, HeapSnapshot, SnapshotError};
use leakscope_sourcemap::{Positions, SourceMapReport};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::digest::{growing_classes, ClassGrowth, Digest};
use crate::verdict::{assess, Confidence, Evidence, Finding, Round, Rules, Scale};
use crate::warning::Warning;
use crate::TracedSites;

/// What drives the app during warm-up and rounds.
#[derive(Debug, Clone)]
pub enum Drive {
    /// The hunt's own HTTP load.
    Http(LoadSpec),
    /// The user's load command, run once per round (warm-up included):
    /// `url` (a URL or a path on the app's one HTTP port, else that port)
    /// becomes `{url}` and `LEAKSCOPE_URL`.
    Command {
        command: LoadCommand,
        url: Option<String>,
    },
    /// No load: rounds of time under the process's own work.
    Idle,
}

impl Default for Drive {
    fn default() -> Self {
        Drive::Http(LoadSpec::default())
    }
}

/// How the rounds were driven, as reports say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    /// leakscope's own HTTP load; rates per request.
    Http,
    /// The user's load command; rates per second.
    Command,
    /// The process's own work; rates per second.
    None,
}

impl Drive {
    /// The HTTP load's connections and the load command, as reports say them.
    fn described(&self) -> (Option<usize>, Option<String>) {
        match self {
            Drive::Http(spec) => (Some(spec.concurrency), None),
            Drive::Command { command, .. } => (None, Some(command.command.clone())),
            Drive::Idle => (None, None),
        }
    }

    pub fn mode(&self) -> LoadMode {
        match self {
            Drive::Http(_) => LoadMode::Http,
            Drive::Command { .. } => LoadMode::Command,
            Drive::Idle => LoadMode::None,
        }
    }
}

/// How to hunt.
#[derive(Debug, Clone)]
pub struct Config {
    pub drive: Drive,
    /// Requests before the baseline (JIT, pools and bounded caches settle).
    pub warmup_requests: u64,
    /// Rounds the verdict needs at least (2 when snapshots are slow).
    pub min_rounds: usize,
    /// Rounds at most, confirmation rounds included.
    pub max_rounds: usize,
    /// A round of HTTP load ends after this many requests…
    pub round_requests: u64,
    /// …or after this long, whichever comes first; other rounds last this
    /// long (a load command is stopped then, if still running).
    pub round_time: Duration,
    /// The whole hunt, analysis included.
    pub budget: Duration,
    /// Try allocation tracking: a probe at the end of warm-up decides
    /// whether the app can afford it. Off by default: it costs throughput,
    /// Node 20 keeps few of its stacks, and its allocation tracker has
    /// crashed targets (axios 1.x under load).
    pub tracking: bool,
    /// Where the snapshots go.
    pub out: PathBuf,
    pub rules: Rules,
    /// Record a CPU profile over the first round's load (`hunt --jit`).
    pub cpu_profile: bool,
    /// Judge the heaps of the process's worker threads too.
    pub workers: bool,
    /// Take snapshots even when the target lacks the memory V8 needs to
    /// build them.
    pub force_snapshot: bool,
    /// How many snapshots the hunt may take.
    pub snapshots: Snapshots,
    /// How positions are printed: original ones through the scripts'
    /// source maps, or as V8 gives them.
    pub positions: Arc<Positions>,
}

/// How many snapshots a hunt may take: one per round (when the heap is
/// small enough to afford them), or rounds judged by the sampling heap
/// profiler's live allocations with one snapshot at the end to name the
/// holders, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Snapshots {
    /// A snapshot per round, unless the heap is too big for them.
    #[default]
    EachRound,
    /// Rounds judged by sampling, one snapshot at the end.
    One,
    /// Rounds judged by sampling, no snapshot.
    None,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            drive: Drive::default(),
            warmup_requests: 1500,
            min_rounds: 3,
            max_rounds: 6,
            round_requests: 3000,
            round_time: Duration::from_secs(10),
            budget: Duration::from_secs(90),
            tracking: false,
            out: std::env::temp_dir(),
            rules: Rules::default(),
            cpu_profile: false,
            workers: true,
            force_snapshot: false,
            snapshots: Snapshots::EachRound,
            positions: Arc::new(Positions::compiled()),
        }
    }
}

pub use leakscope_inspector::Observer;

#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    #[error(transparent)]
    Inspector(#[from] InspectorError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The warm-up's load got no answer: it goes where the app does not listen.
    #[error("the app answered no request at {url} ({error}); give the load a URL the app answers")]
    NoAnswer { url: String, error: String },
    #[error("the app stopped answering at {url} in round {round} ({error})")]
    StoppedAnswering {
        url: String,
        round: usize,
        error: String,
    },
    #[error("the sampling profile could not be read: {0}")]
    SamplingProfile(#[source] serde_json::Error),
    #[error("cannot start the load command: {0}")]
    StartCommand(std::io::Error),
    #[error("the load command failed in {during} ({}){}", .run.status, tail_text(&.run.tail))]
    LoadCommand { during: String, run: CommandRun },
    #[error("the target went away during {0}")]
    TargetGone(String),
    #[error("no verdict: {0} (a verdict needs two rounds); the hunt's time budget is too short")]
    NoVerdict(String),
}

/// "; its last lines: …" for a failed command's output.
pub(crate) fn tail_text(tail: &[String]) -> String {
    let lines: Vec<&str> = tail.iter().rev().take(3).rev().map(|l| l.trim()).collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!("; its last lines: {}", lines.join(" / "))
    }
}

type Result<T, E = HuntError> = std::result::Result<T, E>;

/// `process.memoryUsage()` of the target, after a GC.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all(deserialize = "camelCase"))]
pub struct Memory {
    pub rss: u64,
    pub heap_used: u64,
    pub heap_total: u64,
    /// Memory of C++ objects bound to JS objects, ArrayBuffers included.
    pub external: u64,
    pub array_buffers: u64,
}

/// One round as it ran.
#[derive(Debug, Clone, Serialize)]
pub struct RoundReport {
    #[serde(flatten)]
    pub round: Round,
    pub errors: u64,
    pub status_counts: BTreeMap<u16, u64>,
    pub requests_per_second: f64,
    pub p99_ms: f64,
    /// Heap used after the forced GC that preceded the snapshot.
    pub heap_used: u64,
    pub memory: Memory,
    pub ended_by: EndedBy,
    pub tracked: bool,
    /// How long the snapshot stopped the app.
    pub snapshot_seconds: f64,
    /// The load command's run (`--load-cmd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_command: Option<CommandRun>,
}

/// The load before the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Warmup {
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub ended_by: EndedBy,
}

/// What ended a stretch of work (a warm-up or a round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EndedBy {
    /// All its requests were sent.
    #[serde(rename = "requests")]
    Requests,
    #[serde(rename = "time")]
    Time,
    /// The heap grew past the round's bound.
    #[serde(rename = "heap growth")]
    HeapGrowth,
    /// Allocation tracking slowed the app over 3×.
    #[serde(rename = "tracking slowdown")]
    TrackingSlowdown,
    /// The load command ended on its own.
    #[serde(rename = "command exited")]
    CommandExited,
}

impl std::fmt::Display for EndedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndedBy::Requests => "requests",
            EndedBy::Time => "time",
            EndedBy::HeapGrowth => "heap growth",
            EndedBy::TrackingSlowdown => "tracking slowdown",
            EndedBy::CommandExited => "command exited",
        })
    }
}

/// One GC, relative to the start of the hunt.
#[derive(Debug, Serialize, Clone, Copy)]
pub struct GcPoint {
    pub seconds: f64,
    pub kind: &'static str,
    pub pause_ms: f64,
    pub heap_used: u64,
}

/// Where the hunt's time went, step by step.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub what: String,
    pub seconds: f64,
}

/// What became of allocation tracking.
#[derive(Debug, Clone, Serialize)]
pub struct Tracking {
    /// Some round's snapshot carries allocation stacks.
    pub used: bool,
    pub why: TrackingWhy,
}

/// Why allocation tracking ran where it did, or not at all; reports
/// serialize it as its text.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackingWhy {
    /// Tracking was not asked for.
    NotAsked,
    /// Its cost is measured on the hunt's own HTTP load, and there was none.
    NoHttpLoad,
    HeapTooBig {
        mb: u64,
    },
    /// A probe showed the app can afford it in `round`.
    Afforded {
        round: usize,
        with_rate: f64,
        without_rate: f64,
    },
    /// A probe showed it slows the app too much.
    TooSlow {
        with_rate: f64,
        without_rate: f64,
        slowdown: f64,
    },
    /// It slowed the tracked round over 3×, which was cut short.
    CutShort {
        round: usize,
        requests: u64,
        rate: f64,
    },
    /// The rounds were judged by the sampling heap profiler.
    Sampled,
}

impl std::fmt::Display for TrackingWhy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrackingWhy::NotAsked => write!(f, "{} (a tracking probe was not asked for)", TrackingWhy::NOT_ASKED),
            TrackingWhy::NoHttpLoad => f.write_str("off: its cost is measured on the hunt's own HTTP load; sites come from closure definitions, constructors and the sampling profiler"),
            TrackingWhy::HeapTooBig { mb } => write!(f, "off: the heap holds {mb} MB, and tracking runs a full GC every 50 ms"),
            TrackingWhy::Afforded { round, with_rate, without_rate } => write!(
                f,
                "allocation tracking in round {round}: a probe ran at {with_rate:.0} req/s with it, {without_rate:.0} without"
            ),
            TrackingWhy::TooSlow { with_rate, without_rate, slowdown } => write!(
                f,
                "off: with it a probe ran at {with_rate:.0} req/s against {without_rate:.0} without ({slowdown:.0}× slower); allocation sites come from the sampling profiler"
            ),
            TrackingWhy::CutShort { round, requests, rate } => write!(
                f,
                "in round {round}, cut short after {requests} requests: it slowed the app to {rate:.0} req/s, over 3× slower than round {}",
                round - 1
            ),
            TrackingWhy::Sampled => f.write_str("off: the rounds were judged by the sampling heap profiler"),
        }
    }
}

impl TrackingWhy {
    /// [`TrackingWhy::NotAsked`]'s text up to what would turn it on.
    pub const NOT_ASKED: &'static str =
        "off: sites come from closure definitions, constructors and the sampling profiler";
}

impl Serialize for TrackingWhy {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A worker thread's heap through the hunt.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadHeap {
    /// `worker N (file)`.
    pub thread: String,
    /// Heap used after the forced GC before each snapshot, baseline first.
    pub heap_used: Vec<u64>,
    /// Its heap was judged (it lived from the baseline to the end).
    pub judged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Its snapshots, baseline first (kept only with the report's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<PathBuf>,
    /// Where what it still holds was allocated after the baseline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sampled_allocations: Vec<SampledStack>,
}

/// Everything the hunt measured and concluded.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// How the rounds were driven.
    pub load: LoadMode,
    /// Where the HTTP load went, or the app's URL the load command got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Connections of the hunt's own HTTP load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// The user's load command (`--load-cmd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_command: Option<String>,
    pub pid: u32,
    pub warmup: Warmup,
    pub baseline_memory: Memory,
    pub baseline_snapshot_seconds: f64,
    pub rounds: Vec<RoundReport>,
    pub findings: Vec<Finding>,
    pub growing_classes: Vec<ClassGrowth>,
    /// Where the memory still alive at the end was allocated after the
    /// baseline (sampling heap profiler, application frames).
    pub sampled_allocations: Vec<SampledStack>,
    /// Every GC the target's main thread ran during the hunt.
    pub gcs: Vec<GcPoint>,
    /// Milliseconds from the start to the baseline snapshot.
    pub baseline_ms: f64,
    pub tracking: Tracking,
    /// The process's worker threads, each judged on its own heap.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<ThreadHeap>,
    /// Why the rounds were judged from the sampling heap profiler's live
    /// allocations instead of snapshots (a heap too big to snapshot every
    /// round, or none wanted); absent when snapshots judged them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampled_because: Option<String>,
    /// Decisions the hunt took on the way (rounds cut short, more rounds).
    pub notes: Vec<String>,
    /// Reasons to doubt a clean verdict, or to read a finding with care.
    pub warnings: Vec<Warning>,
    /// What ended the hunt before it was sure, if anything.
    pub stopped_by: Option<String>,
    pub timeline: Vec<Phase>,
    pub snapshots: Vec<PathBuf>,
    pub seconds: f64,
    /// The CPU profile of the first round's load, when asked for.
    #[serde(skip)]
    pub cpu_profile: Option<CpuProfile>,
    /// Positions printed from source maps (with the compiled ones V8
    /// gave), and maps that could not be used.
    #[serde(skip_serializing_if = "SourceMapReport::is_empty")]
    pub source_maps: SourceMapReport,
}

impl Outcome {
    /// What the rates of this hunt are counted in.
    pub fn scale(&self) -> Scale {
        let rounds: Vec<Round> = self.rounds.iter().map(|r| r.round.clone()).collect();
        Scale::of(&rounds)
    }
}

/// Allocation tracking costs a full GC every 50 ms: never on heaps above
/// this, where each of those GCs is long.
const TRACKING_HEAP_LIMIT: u64 = 64 << 20;

/// Bytes between heap samples: 8 KiB still sees a slow leak (one 1 KB
/// object in 50 requests) at about 21 % of throughput on an
/// allocation-heavy server (BENCHMARKS.md).
const SAMPLING_INTERVAL: u64 = 8192;

/// A round ends early when the heap grew by more than this or by half of
/// what it was: a leak that fast is evident, and every megabyte makes the
/// next snapshot pause the app longer.
const ROUND_HEAP_GROWTH: u64 = 32 << 20;

/// The least load a round is worth: with less, the budget takes fewer
/// rounds.
const MIN_ROUND_LOAD_SECONDS: f64 = 4.0;

/// Runs the hunt on an attached target.
pub async fn run(
    attached: &Attached,
    config: &Config,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let mut session = Session {
        client: &attached.client,
        config,
        observer,
        started: Instant::now(),
        epoch_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3),
        gcs: Vec::new(),
        notes: Vec::new(),
        next_seq: 0,
        snapshot_cost: SnapshotCost::default(),
        analysis_seconds: 1.0,
        timeline: Vec::new(),
        cpu_profile: None,
        known_workers: HashSet::new(),
        snapshot_done: Instant::now(),
        snapshot_ratio: HashMap::new(),
    };
    session.hunt(attached).await
}

struct Session<'a> {
    client: &'a Client,
    config: &'a Config,
    observer: &'a mut dyn Observer,
    started: Instant,
    epoch_ms: f64,
    gcs: Vec<GcPoint>,
    notes: Vec<String>,
    /// The next request's `{seq}`, so URLs stay unique across rounds.
    next_seq: u64,
    snapshot_cost: SnapshotCost,
    /// The last full analyses of a round's snapshots took this long.
    analysis_seconds: f64,
    timeline: Vec<Phase>,
    cpu_profile: Option<CpuProfile>,
    /// Worker sessions seen so far (a worker started later is noted once).
    known_workers: HashSet<String>,
    /// When the main thread's last snapshot ended: without load, a round
    /// lasts from there to the next one (the process works on meanwhile).
    snapshot_done: Instant,
    /// The memory the largest snapshot so far took per byte of heap, by
    /// isolate (main thread first): the next one's bound.
    snapshot_ratio: HashMap<usize, f64>,
}

/// The baseline as the rounds need it.
struct Baseline {
    /// How long its snapshot stopped the app.
    seconds: f64,
    /// Milliseconds from the start to it.
    ms: f64,
    memory: Memory,
    /// What became of allocation tracking (the tracked round may change it).
    tracking: Tracking,
    /// The round to take with allocation tracking, if any.
    track_round: Option<usize>,
    /// How long the workers' baseline snapshots took.
    worker_seconds: f64,
    /// Rounds the budget affords at least.
    min_rounds: usize,
}

/// The rounds and the verdict on them.
struct Judged {
    rounds: Vec<RoundReport>,
    findings: Vec<Finding>,
    growing: Vec<ClassGrowth>,
    /// What ended the rounds before the findings were sure, if anything.
    stopped_by: Option<String>,
}

/// Seconds a snapshot took per byte of heap, to plan the next one.
#[derive(Default)]
struct SnapshotCost {
    seconds_per_byte: f64,
}

impl SnapshotCost {
    fn record(&mut self, seconds: f64, heap: u64) {
        self.seconds_per_byte = seconds / heap.max(1 << 20) as f64;
    }
    fn estimate(&self, heap: u64) -> f64 {
        self.seconds_per_byte * heap as f64
    }
}

/// What stops a stretch of work besides its own request count and time.
struct Guard {
    /// End when the heap holds more than this.
    heap_limit: u64,
    /// With tracking on: end when the rate falls below a third of this.
    untracked_rate: Option<f64>,
}

/// What ends a round: a snapshot (with allocation stacks when tracked), or
/// only a GC when the sampling profiler judges the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    Snapshot,
    TrackedSnapshot,
    GcOnly,
}

/// One stretch of work: a warm-up or a round.
enum Work<'u> {
    Http {
        url: &'u str,
        stop: Stop,
    },
    Command {
        url: Option<&'u str>,
        time: Duration,
    },
    Idle {
        time: Duration,
    },
}

/// How a stretch of work went.
struct Stretch {
    /// The hunt's HTTP load.
    load: Option<Report>,
    /// The user's load command.
    command: Option<CommandRun>,
    seconds: f64,
    ended_by: EndedBy,
}

impl Stretch {
    fn requests(&self) -> u64 {
        self.load
            .as_ref()
            .map_or(0, |r| r.completed + r.error_count)
    }
}

/// One thread's heap, judged on its own: the main thread's, or a worker's.
struct Heap {
    thread: String,
    /// `None` for the main thread (the attached session itself).
    worker: Option<(WorkerInfo, Client)>,
    digests: Vec<Digest>,
    latest: Option<Arc<HeapSnapshot>>,
    heap_used: Vec<u64>,
    snapshots: Vec<PathBuf>,
    /// Why it is no longer judged (its worker exited).
    gone: Option<String>,
}

impl Heap {
    fn main() -> Heap {
        Heap {
            thread: "main".to_owned(),
            worker: None,
            digests: Vec::new(),
            latest: None,
            heap_used: Vec::new(),
            snapshots: Vec::new(),
            gone: None,
        }
    }

    fn judged(&self, rounds: usize) -> bool {
        self.gone.is_none() && self.digests.len() == rounds + 1
    }

    fn report(&self, rounds: usize) -> ThreadHeap {
        ThreadHeap {
            thread: self.thread.clone(),
            heap_used: self.heap_used.clone(),
            judged: self.judged(rounds),
            note: self.gone.clone(),
            snapshots: self.snapshots.clone(),
            sampled_allocations: Vec::new(),
        }
    }
}

impl Session<'_> {
    fn note(&mut self, line: String) {
        self.observer.note(&line);
        self.notes.push(line);
    }

    fn phase(&mut self, what: impl Into<String>, since: Instant) {
        self.timeline.push(Phase {
            what: what.into(),
            seconds: since.elapsed().as_secs_f64(),
        });
    }

    /// "warm-up 8.0 s, baseline snapshot 1.2 s, …"
    fn timeline_text(&self) -> String {
        self.timeline
            .iter()
            .map(|p| format!("{} {:.1} s", p.what, p.seconds))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn remaining(&self) -> f64 {
        self.config.budget.as_secs_f64() - self.elapsed()
    }

    async fn hunt(&mut self, attached: &Attached) -> Result<Outcome> {
        let client = self.client;
        let config = self.config;
        let url = self.app_url(attached).await?;
        GcWatch::install(client).await?;
        let mut heaps = vec![Heap::main()];
        let workers = config.workers && self.enable_workers().await;
        let warmup = self.warm_up(attached, url.as_deref()).await?;
        if let Some(why) = self.snapshots_unaffordable().await? {
            return self.hunt_sampled(attached, url, warmup, why).await;
        }
        if workers {
            // Those running at the baseline (a launched app's start late).
            self.adopt_workers(&mut heaps);
        }
        let mut baseline = self
            .take_baseline(&mut heaps, url.as_deref(), &warmup)
            .await?;
        let Judged {
            rounds,
            mut findings,
            growing,
            stopped_by,
        } = self
            .rounds_until_sure(&mut heaps, url.as_deref(), &mut baseline)
            .await?;
        let (sampled, threads) = self
            .sampled_allocations(&heaps, rounds.len(), &mut findings)
            .await?;
        self.drain_gcs().await;

        let mut warnings = self.warnings(&rounds, baseline.ms, &findings);
        warnings.extend(growth_warnings(&baseline.memory, &rounds, &findings));
        let (concurrency, load_command) = config.drive.described();
        Ok(Outcome {
            load: config.drive.mode(),
            url,
            concurrency,
            load_command,
            pid: attached.pid,
            warmup,
            baseline_memory: baseline.memory,
            baseline_snapshot_seconds: baseline.seconds,
            snapshots: heaps[0].snapshots.clone(),
            rounds,
            findings,
            growing_classes: growing,
            sampled_allocations: sampled,
            gcs: std::mem::take(&mut self.gcs),
            baseline_ms: baseline.ms,
            tracking: baseline.tracking,
            threads,
            sampled_because: None,
            notes: std::mem::take(&mut self.notes),
            warnings,
            stopped_by,
            timeline: std::mem::take(&mut self.timeline),
            seconds: self.elapsed(),
            cpu_profile: self.cpu_profile.take(),
            source_maps: config.positions.report(),
        })
    }

    /// The baseline snapshot of every heap, digested, and the sampling heap
    /// profiler started on each.
    async fn take_baseline(
        &mut self,
        heaps: &mut [Heap],
        url: Option<&str>,
        warmup: &Warmup,
    ) -> Result<Baseline> {
        let client = self.client;
        let (seconds, tracking, track_round) = self.baseline(url, warmup).await?;
        self.snapshot_done = Instant::now();
        let ms = self.elapsed() * 1e3;
        let memory = self.memory(client).await?;
        self.snapshot_cost.record(seconds, memory.heap_used);
        self.drain_gcs().await;
        self.analysis_seconds = 0.0;
        self.take_digest(
            &mut heaps[0],
            snapshot_path(&self.config.out, 0),
            memory.heap_used,
        )
        .await?;
        let worker_seconds = self.snapshot_workers(heaps, 0).await?;
        let min_rounds = self.fit_rounds(seconds + worker_seconds);
        for heap in heaps.iter() {
            // A worker's sampling is a bonus: its snapshots are the evidence.
            let started = heap_client(client, heap)
                .start_sampling(SAMPLING_INTERVAL, false)
                .await;
            if heap.worker.is_none() {
                started?;
            }
        }
        Ok(Baseline {
            seconds,
            ms,
            memory,
            tracking,
            track_round,
            worker_seconds,
            min_rounds,
        })
    }

    /// Rounds until the findings are sure (or the budget, the rounds
    /// allowed or the target's memory stop them), then the verdict on all
    /// of them.
    async fn rounds_until_sure(
        &mut self,
        heaps: &mut [Heap],
        url: Option<&str>,
        baseline: &mut Baseline,
    ) -> Result<Judged> {
        let config = self.config;
        let mut rounds: Vec<RoundReport> = Vec::new();
        let mut traces: Option<Arc<TracedSites>> = None;
        let mut findings: Vec<Finding> = Vec::new();
        let mut growing: Vec<ClassGrowth> = Vec::new();
        let mut stopped_by = None;
        let mut wanted = baseline.min_rounds;
        let mut worker_seconds = baseline.worker_seconds;
        let mut assessed = 0;
        loop {
            let r = rounds.len() + 1;
            let Some(time) = self.round_time(&rounds, wanted, worker_seconds) else {
                stopped_by = Some(format!(
                    "the time budget ({} s) ran out before round {r} (time went to: {})",
                    config.budget.as_secs(),
                    self.timeline_text()
                ));
                break;
            };
            let tracked = baseline.track_round == Some(r);
            let capture = if tracked {
                Capture::TrackedSnapshot
            } else {
                Capture::Snapshot
            };
            let round = match self
                .round(url, r, wanted, time, capture, rounds.last())
                .await
            {
                Ok(round) => round,
                // The heap grew past what the target can afford to
                // snapshot: judge the rounds there are.
                Err(HuntError::Inspector(InspectorError::SnapshotUnaffordable(e)))
                    if rounds.len() >= 2 =>
                {
                    stopped_by = Some(format!(
                        "the snapshot after round {r} could need more memory than the target has ({})",
                        e.describe()
                    ));
                    break;
                }
                Err(e) => return Err(e),
            };
            if tracked {
                baseline.tracking.used = round.tracked;
                if round.ended_by == EndedBy::TrackingSlowdown {
                    baseline.tracking.why = TrackingWhy::CutShort {
                        round: r,
                        requests: round.round.requests,
                        rate: round.requests_per_second,
                    };
                }
            }
            self.analysis_seconds = 0.0;
            let traced = self
                .take_digest(
                    &mut heaps[0],
                    snapshot_path(&config.out, r),
                    round.memory.heap_used,
                )
                .await?;
            if tracked {
                traces = traced.map(Arc::new);
            }
            worker_seconds = self.snapshot_workers(heaps, r).await?;
            rounds.push(round);
            self.notice_new_workers(r);
            if rounds.len() < wanted {
                continue;
            }
            (findings, growing) = self.assess_all(heaps, &rounds, traces.clone()).await;
            assessed = rounds.len();
            match self.more_rounds(&findings, rounds.len()) {
                Some(more) => wanted = more,
                None => break,
            }
        }
        if rounds.len() < 2 {
            return Err(HuntError::NoVerdict(
                stopped_by.unwrap_or_else(|| "the hunt ended early".into()),
            ));
        }
        if assessed != rounds.len() {
            (findings, growing) = self.assess_all(heaps, &rounds, traces).await;
        }
        Ok(Judged {
            rounds,
            findings,
            growing,
            stopped_by,
        })
    }

    /// How many rounds to run in all when small suspects need confirming,
    /// or `None` when the findings so far (after `done` rounds) stand.
    fn more_rounds(&mut self, findings: &[Finding], done: usize) -> Option<usize> {
        let config = self.config;
        let unsure = findings.iter().filter(|f| f.needs_more_rounds).count();
        // Beside a clear leak ten times their size, small suspects are
        // not worth more rounds (each one's snapshot grows with the
        // leak): they are reported as suspects.
        let bytes = |keep: fn(&Finding) -> bool| -> u64 {
            findings.iter().filter(|f| keep(f)).map(|f| f.bytes).sum()
        };
        let small = bytes(|f| f.needs_more_rounds);
        let clear = bytes(|f| f.confidence == Confidence::High);
        if unsure == 0 || small * 10 < clear {
            return None;
        }
        let confirm = config.rules.confirm_rounds.min(config.max_rounds);
        if done >= confirm {
            return None;
        }
        self.note(format!(
            "{unsure} small suspect{} after {done} rounds: running {} more to confirm or refute",
            if unsure == 1 { "" } else { "s" },
            confirm - done
        ));
        Some(confirm)
    }

    /// What the sampling heap profiler says is still alive since the
    /// baseline, on the main thread and each worker's, given as the
    /// allocation site of the findings that have none; the workers' heaps
    /// as reported.
    async fn sampled_allocations(
        &mut self,
        heaps: &[Heap],
        rounds: usize,
        findings: &mut [Finding],
    ) -> Result<(Vec<SampledStack>, Vec<ThreadHeap>)> {
        let client = self.client;
        let sampled = sampled_stacks(client.stop_sampling().await?, &self.config.positions);
        sites_from_samples(findings, "main", &sampled);
        let mut threads = Vec::new();
        for heap in heaps.iter().skip(1) {
            let mut thread = heap.report(rounds);
            if heap.gone.is_none() {
                if let Ok(profile) = heap_client(client, heap).stop_sampling().await {
                    thread.sampled_allocations = sampled_stacks(profile, &self.config.positions);
                    sites_from_samples(findings, &thread.thread, &thread.sampled_allocations);
                }
            }
            threads.push(thread);
        }
        Ok((sampled, threads))
    }

    /// The app's URL: where HTTP load goes, or what a load command gets as
    /// `{url}` (required only when it uses it); none without load.
    async fn app_url(&self, attached: &Attached) -> Result<Option<String>> {
        Ok(match &self.config.drive {
            Drive::Http(spec) => Some(attached.load_url(spec.url.as_deref()).await?),
            Drive::Command { command, url } => {
                let found = match url {
                    Some(given) => attached.load_url(Some(given)).await,
                    // Not named by the command: only a port open already.
                    None if !command.uses_url() => {
                        attached.http_url_within(Duration::from_secs(1)).await
                    }
                    None => attached.http_url().await,
                };
                match found {
                    Ok(url) if url.ends_with("/") && url.matches('/').count() == 3 => {
                        Some(url.trim_end_matches('/').to_owned())
                    }
                    Ok(url) => Some(url),
                    Err(e) if command.uses_url() || url.is_some() => return Err(e.into()),
                    Err(_) => None,
                }
            }
            Drive::Idle => None,
        })
    }

    /// Attaches to the process's worker threads; a process whose workers
    /// cannot be reached is hunted in its main thread alone.
    async fn enable_workers(&mut self) -> bool {
        match self.client.enable_workers().await {
            Ok(()) => true,
            Err(e) => {
                self.note(format!(
                    "the worker threads cannot be reached ({e}): only the main thread's heap is judged"
                ));
                false
            }
        }
    }

    /// Opens a session with each worker thread running now, to judge its
    /// heap on its own.
    fn adopt_workers(&mut self, heaps: &mut Vec<Heap>) {
        for info in self.client.workers() {
            self.known_workers.insert(info.session_id.clone());
            match self.client.worker(&info) {
                Ok(worker) => heaps.push(Heap {
                    thread: info.label(),
                    worker: Some((info, worker)),
                    ..Heap::main()
                }),
                Err(e) => self.note(format!("{}: {e}", info.label())),
            }
        }
        if heaps.len() > 1 {
            let names: Vec<&str> = heaps[1..].iter().map(|h| h.thread.as_str()).collect();
            self.note(format!(
                "{} worker thread{} besides the main thread, each judged on its own heap: {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ));
        }
    }

    /// Notes worker threads that started after the baseline: a heap is
    /// judged only from a baseline on.
    fn notice_new_workers(&mut self, r: usize) {
        let new: Vec<String> = self
            .client
            .workers()
            .into_iter()
            .filter(|w| self.known_workers.insert(w.session_id.clone()))
            .map(|w| w.label())
            .collect();
        if new.is_empty() {
            return;
        }
        let shown: Vec<&str> = new.iter().take(3).map(String::as_str).collect();
        self.note(format!(
            "{} worker thread{} started during round {r} ({}{}): a thread's heap is judged only when it runs from the baseline to the end; what a short-lived worker leaves behind shows in the main thread",
            new.len(),
            if new.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if new.len() > 3 { ", …" } else { "" }
        ));
    }

    /// The warm-up: JIT, pools and bounded caches settle before the
    /// baseline, under the same work as the rounds.
    async fn warm_up(&mut self, attached: &Attached, url: Option<&str>) -> Result<Warmup> {
        let client = self.client;
        let config = self.config;
        let warm_budget = (self.remaining() * 0.1).clamp(2.0, 8.0);
        let work = match &config.drive {
            Drive::Http(_) => {
                let url = url.expect("HTTP load has a URL");
                self.observer.note(&format!(
                    "leakscope hunt: PID {}, load at {url}; warming up with {} requests (at most {warm_budget:.0} s)",
                    attached.pid, config.warmup_requests
                ));
                Work::Http {
                    url,
                    stop: Stop::Either(
                        config.warmup_requests.max(1),
                        Duration::from_secs_f64(warm_budget),
                    ),
                }
            }
            Drive::Command { command, .. } => {
                self.observer.note(&format!(
                    "leakscope hunt: PID {}, load by `{}`{}; warming up with one run (at most {:.0} s)",
                    attached.pid,
                    command.command,
                    url.map(|u| format!(" ({{url}} = {u})")).unwrap_or_default(),
                    config.round_time.as_secs_f64()
                ));
                Work::Command {
                    url,
                    time: config.round_time,
                }
            }
            Drive::Idle => {
                // A process that was running already has warmed up.
                let time = if attached.launched() {
                    warm_budget
                } else {
                    1.0
                };
                self.observer.note(&format!(
                    "leakscope hunt: PID {}, no load: rounds of the process's own work; warming up for {time:.0} s",
                    attached.pid
                ));
                Work::Idle {
                    time: Duration::from_secs_f64(time),
                }
            }
        };
        let heap = client.get_heap_usage().await?.used_size as u64;
        let stretch = self.drive(work, heap_guard(heap), "the warm-up").await?;
        if let Some(report) = &stretch.load {
            if report.completed == 0 {
                return Err(HuntError::NoAnswer {
                    url: url.unwrap_or_default().to_owned(),
                    error: report.main_error().to_owned(),
                });
            }
        }
        if let Some(run) = &stretch.command {
            if run.failed {
                return Err(HuntError::LoadCommand {
                    during: "the warm-up".into(),
                    run: run.clone(),
                });
            }
        }
        let requests = stretch.requests();
        let warmup = Warmup {
            requests,
            seconds: stretch.seconds,
            requests_per_second: requests as f64 / stretch.seconds.max(1e-9),
            ended_by: stretch.ended_by,
        };
        if matches!(config.drive, Drive::Http(_)) && warmup.ended_by != EndedBy::Requests {
            self.note(format!(
                "warm-up ended after {} requests ({}): the app ran {:.0} req/s",
                warmup.requests, warmup.ended_by, warmup.requests_per_second
            ));
        }
        Ok(warmup)
    }

    /// The baseline snapshot, through a short allocation-tracking probe when
    /// allowed; returns its pause, what became of tracking and the round to
    /// track.
    async fn baseline(
        &mut self,
        url: Option<&str>,
        warmup: &Warmup,
    ) -> Result<(f64, Tracking, Option<usize>)> {
        let client = self.client;
        let config = self.config;
        let heap = client.get_heap_usage().await?.used_size as u64;
        let baseline_path = snapshot_path(&config.out, 0);
        let mut tracking = Tracking {
            used: false,
            why: TrackingWhy::NotAsked,
        };
        let http_url = match config.drive {
            Drive::Http(_) => url,
            _ => None,
        };
        let Some(url) = http_url.filter(|_| config.tracking && heap <= TRACKING_HEAP_LIMIT) else {
            tracking.why = if !config.tracking {
                TrackingWhy::NotAsked
            } else if http_url.is_none() {
                TrackingWhy::NoHttpLoad
            } else {
                TrackingWhy::HeapTooBig { mb: heap >> 20 }
            };
            let seconds = self.snapshot(client, &baseline_path, true, 0).await?;
            return Ok((seconds, tracking, None));
        };
        client.start_tracking_heap_objects().await?;
        let probe = self
            .drive(
                Work::Http {
                    url,
                    stop: Stop::Either(
                        (warmup.requests_per_second as u64).clamp(50, 2000),
                        Duration::from_millis(1500),
                    ),
                },
                heap_guard(heap),
                "the tracking probe",
            )
            .await;
        settle().await;
        client.collect_garbage().await?;
        let seconds = self.tracked_snapshot(&baseline_path).await?;
        let probe_rate = probe?.load.map_or(0.0, |r| r.requests_per_second);
        let slowdown = warmup.requests_per_second / probe_rate.max(1e-3);
        // Stricter than the 3× that cuts a tracked round short: the probe
        // runs on a small, fresh heap and tracking's cost grows with what
        // it tracks.
        let track_round = if slowdown <= 2.0 {
            tracking.why = TrackingWhy::Afforded {
                round: config.min_rounds,
                with_rate: probe_rate,
                without_rate: warmup.requests_per_second,
            };
            Some(config.min_rounds)
        } else {
            tracking.why = TrackingWhy::TooSlow {
                with_rate: probe_rate,
                without_rate: warmup.requests_per_second,
                slowdown,
            };
            None
        };
        Ok((seconds, tracking, track_round))
    }

    /// Why the rounds cannot be judged by snapshots, if they cannot: none
    /// wanted, one would need more memory than the target has, or the
    /// snapshots of this heap (their pauses and their analysis) would not
    /// fit the budget. Checked before any snapshot, so the estimate may
    /// count the heap's objects.
    async fn snapshots_unaffordable(&mut self) -> Result<Option<String>> {
        let config = self.config;
        match config.snapshots {
            Snapshots::None => return Ok(Some("no snapshots were wanted".to_owned())),
            Snapshots::One => return Ok(Some("one snapshot at the end was wanted".to_owned())),
            Snapshots::EachRound => {}
        }
        let estimate = estimate_snapshot(self.client, true).await?;
        self.observer
            .note(&format!("a snapshot of this heap: {}", estimate.describe()));
        if !estimate.affordable() && !config.force_snapshot {
            return Ok(Some(format!(
                "a snapshot could need more memory than the target has ({})",
                estimate.describe()
            )));
        }
        // The analysis reads about 150 MB of snapshot a second here.
        let each = estimate.pause_seconds * 1.3 + estimate.file_bytes as f64 / 150e6 + 0.5;
        let snapshots = config.min_rounds.max(2) as f64 + 1.0;
        if snapshots * each > 0.6 * self.remaining() {
            return Ok(Some(format!(
                "{snapshots:.0} snapshots of this heap would take about {:.0} s of the {:.0} s left (each stops the app for about {:.0} s)",
                snapshots * each,
                self.remaining(),
                estimate.pause_seconds
            )));
        }
        Ok(None)
    }

    /// The hunt judged by the sampling heap profiler's live allocations (see
    /// [`crate::sampled`]): each round ends with a GC and a profile read
    /// instead of a snapshot. It names where the kept memory was allocated
    /// and how fast it grows; no holder, without a snapshot.
    async fn hunt_sampled(
        &mut self,
        attached: &Attached,
        url: Option<String>,
        warmup: Warmup,
        why: String,
    ) -> Result<Outcome> {
        let client = self.client;
        let config = self.config;
        self.note(format!(
            "rounds judged by the sampling heap profiler's live allocations, not snapshots: {why}"
        ));
        if config.workers && !self.client.workers().is_empty() {
            self.note(
                "worker threads are judged only from snapshots: their heaps are not judged here"
                    .to_owned(),
            );
        }
        let start = Instant::now();
        client.collect_garbage().await?;
        let baseline_seconds = start.elapsed().as_secs_f64();
        self.phase("baseline GC", start);
        self.snapshot_done = Instant::now();
        let baseline_ms = self.elapsed() * 1e3;
        let baseline_memory = self.memory(client).await?;
        self.snapshot_cost
            .record(baseline_seconds, baseline_memory.heap_used);
        self.analysis_seconds = 0.5;
        self.drain_gcs().await;
        client.start_sampling(SAMPLING_INTERVAL, false).await?;
        let mut ledger = crate::sampled::Ledger::new(SAMPLING_INTERVAL);
        let mut heap = vec![baseline_memory.heap_used];
        let mut rounds: Vec<RoundReport> = Vec::new();
        let mut latest: Option<SamplingProfile> = None;
        let mut stopped_by = None;
        let mut wanted = config.min_rounds.max(2);
        loop {
            let r = rounds.len() + 1;
            let Some(time) = self.round_time(&rounds, wanted, 0.0) else {
                stopped_by = Some(format!(
                    "the time budget ({} s) ran out before round {r} (time went to: {})",
                    config.budget.as_secs(),
                    self.timeline_text()
                ));
                break;
            };
            let round = self
                .round(
                    url.as_deref(),
                    r,
                    wanted,
                    time,
                    Capture::GcOnly,
                    rounds.last(),
                )
                .await?;
            let read = Instant::now();
            let mut profile: SamplingProfile = serde_json::from_value(
                client
                    .call::<_, Value>("HeapProfiler.getSamplingProfile", json!({}))
                    .await?["profile"]
                    .take(),
            )
            .map_err(HuntError::SamplingProfile)?;
            profile.map_positions(&self.config.positions);
            self.phase("sampling profile", read);
            ledger.record(r, &profile);
            latest = Some(profile);
            heap.push(round.memory.heap_used);
            rounds.push(round);
            if rounds.len() < wanted {
                continue;
            }
            let judged = self.judge_sampled(&ledger, latest.as_ref(), &rounds, &heap);
            let unsure = judged.iter().filter(|f| f.needs_more_rounds).count();
            let confirm = config.rules.confirm_rounds.min(config.max_rounds);
            if unsure == 0 || rounds.len() >= confirm {
                break;
            }
            wanted = confirm;
            self.note(format!(
                "{unsure} small suspect{} after {} rounds: running {} more to confirm or refute",
                if unsure == 1 { "" } else { "s" },
                rounds.len(),
                confirm - rounds.len()
            ));
        }
        if rounds.len() < 2 {
            return Err(HuntError::NoVerdict(
                stopped_by.unwrap_or_else(|| "the hunt ended early".into()),
            ));
        }
        let mut findings = self.judge_sampled(&ledger, latest.as_ref(), &rounds, &heap);
        let sampled = sampled_stacks(client.stop_sampling().await?, &self.config.positions);
        self.drain_gcs().await;
        let mut snapshots = Vec::new();
        if let Some(profile) = latest.as_ref().filter(|_| !findings.is_empty()) {
            let named;
            (named, findings) = self
                .name_sampled_holders(findings, &ledger, profile, rounds.len())
                .await?;
            snapshots.extend(named);
        }
        let warnings = self.warnings(&rounds, baseline_ms, &findings);
        let (concurrency, load_command) = config.drive.described();
        Ok(Outcome {
            load: config.drive.mode(),
            url,
            concurrency,
            load_command,
            pid: attached.pid,
            warmup,
            baseline_memory,
            baseline_snapshot_seconds: baseline_seconds,
            snapshots,
            rounds,
            findings,
            growing_classes: Vec::new(),
            sampled_allocations: sampled,
            gcs: std::mem::take(&mut self.gcs),
            baseline_ms,
            tracking: Tracking {
                used: false,
                why: TrackingWhy::Sampled,
            },
            threads: Vec::new(),
            sampled_because: Some(why),
            notes: std::mem::take(&mut self.notes),
            warnings,
            stopped_by,
            timeline: std::mem::take(&mut self.timeline),
            seconds: self.elapsed(),
            cpu_profile: self.cpu_profile.take(),
            source_maps: self.config.positions.report(),
        })
    }

    /// One snapshot at the end of a sampled hunt, when the target can
    /// afford it and the budget has room, to name the holders of what the
    /// rounds found growing (see [`crate::sampled::name_holders`]).
    /// Returns the snapshot taken, if any, and the findings.
    async fn name_sampled_holders(
        &mut self,
        findings: Vec<Finding>,
        ledger: &crate::sampled::Ledger,
        profile: &SamplingProfile,
        rounds: usize,
    ) -> Result<(Option<PathBuf>, Vec<Finding>)> {
        let config = self.config;
        if config.snapshots == Snapshots::None {
            return Ok((None, findings));
        }
        let client = self.client;
        let estimate = estimate_snapshot(client, true).await?;
        let needs = estimate.pause_seconds * 1.3 + estimate.file_bytes as f64 / 150e6 + 1.0;
        if !estimate.affordable() && !config.force_snapshot {
            self.note(format!(
                "no snapshot to name the holders: it could need more memory than the target has ({})",
                estimate.describe()
            ));
            return Ok((None, findings));
        }
        if needs > self.remaining() {
            self.note(format!(
                "no snapshot to name the holders: it would take about {needs:.0} s, and {:.0} s of the budget are left",
                self.remaining().max(0.0)
            ));
            return Ok((None, findings));
        }
        let path = config.out.join("hunt-final.heapsnapshot");
        let captured = write_snapshot(
            client,
            &path,
            SnapshotOptions {
                gc: true,
                force: config.force_snapshot,
                may_count: true,
                ..SnapshotOptions::default()
            },
            &mut Passing(&mut *self.observer),
        )
        .await?;
        self.note(format!(
            "one snapshot at the end to name the holders: the app stopped for {:.1} s",
            captured.seconds
        ));
        let (_, _, snapshot) = self.digest(&path).await?;
        let sites = ledger.sites(profile, rounds);
        let starts = crate::sampled::FunctionStarts::of(profile);
        let start = Instant::now();
        let positions = Arc::clone(&self.config.positions);
        let (named, findings) = tokio::task::spawn_blocking(move || {
            let mut findings = findings;
            let named =
                crate::sampled::name_holders(&snapshot, &positions, &mut findings, &sites, &starts);
            (named, findings)
        })
        .await
        .expect("naming thread");
        self.phase("naming", start);
        if named == 0 {
            self.note(
                "the snapshot shows no object made where the growing memory was allocated (plain objects and strings do not say where they were made): the allocation sites are the lead".to_owned(),
            );
        }
        Ok((Some(path), findings))
    }

    /// The verdict from the live samples: the sites every round added to,
    /// and the heap's own growth when they explain less than half of it.
    fn judge_sampled(
        &self,
        ledger: &crate::sampled::Ledger,
        latest: Option<&SamplingProfile>,
        rounds: &[RoundReport],
        heap: &[u64],
    ) -> Vec<Finding> {
        let rounds: Vec<Round> = rounds.iter().map(|r| r.round.clone()).collect();
        let rules = &self.config.rules;
        let mut findings = latest
            .map(|p| crate::sampled::judge(&ledger.sites(p, rounds.len()), &rounds, rules))
            .unwrap_or_default();
        findings = crate::sampled::fold_internal(findings);
        // Samples stand for their interval's bytes on average: when they add
        // up to more than the heap grew, the heap after GC is the measure.
        let heap_growth = heap
            .last()
            .zip(heap.first())
            .map_or(0, |(b, a)| b.saturating_sub(*a));
        let sampled: u64 = findings.iter().map(|f| f.bytes).sum();
        if sampled > heap_growth && heap_growth > 0 {
            crate::sampled::scale_to(&mut findings, heap_growth as f64 / sampled as f64);
        }
        findings.extend(crate::verdict::heap_growth_finding(
            &[],
            &rounds,
            heap,
            rules,
            &findings,
        ));
        findings.sort_by_key(|f| std::cmp::Reverse(f.bytes));
        findings
    }

    /// Fewer, longer rounds when snapshots (and their analysis) would leave
    /// too little of the budget for work.
    fn fit_rounds(&mut self, snapshot_seconds: f64) -> usize {
        let config = self.config;
        let mut min_rounds = config.min_rounds.max(2);
        let per_round = snapshot_seconds * 1.3 + self.analysis_seconds + MIN_ROUND_LOAD_SECONDS;
        let fits = |rounds: usize| {
            rounds as f64 * per_round + 2.0 * self.analysis_seconds <= self.remaining()
        };
        if min_rounds > 2 && !fits(min_rounds) {
            min_rounds = 2;
            self.note(format!(
                "each snapshot stops the app for about {snapshot_seconds:.0} s and takes {:.0} s to analyse: 2 rounds instead of {}",
                self.analysis_seconds, config.min_rounds
            ));
        }
        min_rounds
    }

    /// How long the next round may run: the budget left, less the final
    /// analysis, shared by the rounds still wanted, each less its
    /// snapshots; `None` when the budget has no room for another round.
    fn round_time(
        &self,
        rounds: &[RoundReport],
        wanted: usize,
        worker_seconds: f64,
    ) -> Option<Duration> {
        let heap = rounds.last().map_or(0, |r| r.memory.heap_used);
        let growth = match rounds {
            [.., a, b] => b.memory.heap_used.saturating_sub(a.memory.heap_used),
            _ => 0,
        };
        let snapshot = self.snapshot_cost.estimate(heap + growth) * 1.3 + worker_seconds + 0.5;
        let left = wanted.saturating_sub(rounds.len()).max(1) as f64;
        let share = (self.remaining() - 2.0 * self.analysis_seconds - 1.0) / left - snapshot;
        (share >= 0.5)
            .then(|| Duration::from_secs_f64(share.min(self.config.round_time.as_secs_f64())))
    }

    async fn round(
        &mut self,
        url: Option<&str>,
        r: usize,
        wanted: usize,
        time: Duration,
        capture: Capture,
        previous: Option<&RoundReport>,
    ) -> Result<RoundReport> {
        let client = self.client;
        let config = self.config;
        let tracked = capture == Capture::TrackedSnapshot;
        let work = match &config.drive {
            Drive::Http(_) => {
                self.observer.note(&format!(
                    "round {r}/{wanted}: {} requests (at most {:.0} s){}",
                    config.round_requests,
                    time.as_secs_f64(),
                    if tracked {
                        " with allocation tracking"
                    } else {
                        ""
                    }
                ));
                Work::Http {
                    url: url.expect("HTTP load has a URL"),
                    stop: Stop::Either(config.round_requests, time),
                }
            }
            Drive::Command { .. } => {
                self.observer.note(&format!(
                    "round {r}/{wanted}: the load command (at most {:.0} s)",
                    time.as_secs_f64()
                ));
                Work::Command { url, time }
            }
            Drive::Idle => {
                self.observer.note(&format!(
                    "round {r}/{wanted}: {:.0} s of the process's own work",
                    time.as_secs_f64()
                ));
                Work::Idle { time }
            }
        };
        if tracked {
            client.start_tracking_heap_objects().await?;
        }
        let profiling = config.cpu_profile && r == 1;
        if profiling {
            client
                .call::<_, Value>("Profiler.enable", json!({}))
                .await?;
            client
                .call::<_, Value>("Profiler.setSamplingInterval", json!({ "interval": 250 }))
                .await?;
            client.call::<_, Value>("Profiler.start", json!({})).await?;
        }
        let heap = client.get_heap_usage().await?.used_size as u64;
        let guard = Guard {
            untracked_rate: tracked
                .then(|| previous.map(|p| p.requests_per_second))
                .flatten(),
            ..heap_guard(heap)
        };
        let phase = format!("round {r}");
        let stretch = self.drive(work, guard, &phase).await?;
        if profiling {
            let profile: Value = client.call("Profiler.stop", json!({})).await?;
            self.cpu_profile = serde_json::from_value(profile["profile"].clone()).ok();
            let _ = client.call::<_, Value>("Profiler.disable", json!({})).await;
        }
        if let Some(report) = &stretch.load {
            if report.completed == 0 {
                return Err(HuntError::StoppedAnswering {
                    url: url.unwrap_or_default().to_owned(),
                    round: r,
                    error: report.main_error().to_owned(),
                });
            }
        }
        if let Some(run) = stretch.command.as_ref().filter(|run| run.failed) {
            self.note(format!(
                "the load command failed in round {r} ({}){}",
                run.status,
                tail_text(&run.tail)
            ));
        }
        settle().await;
        let path = snapshot_path(&config.out, r);
        let since_last_snapshot = self.snapshot_done.elapsed().as_secs_f64();
        let snapshot_seconds = match capture {
            Capture::TrackedSnapshot => {
                client.collect_garbage().await?;
                self.tracked_snapshot(&path).await?
            }
            Capture::Snapshot => self.snapshot(client, &path, false, 0).await?,
            Capture::GcOnly => {
                let start = Instant::now();
                client.collect_garbage().await?;
                self.phase("GC", start);
                start.elapsed().as_secs_f64()
            }
        };
        self.snapshot_done = Instant::now();
        let memory = self.memory(client).await?;
        self.snapshot_cost
            .record(snapshot_seconds, memory.heap_used);
        self.drain_gcs().await;
        let requests = stretch.requests();
        // The process's own work goes on between rounds too.
        let seconds = match config.drive {
            Drive::Idle => since_last_snapshot,
            _ => stretch.seconds,
        };
        let what = match (&stretch.load, &stretch.command) {
            (Some(report), _) => format!(
                "{requests} requests in {:.1} s ({:.0} req/s{})",
                report.seconds,
                report.requests_per_second,
                match stretch.ended_by {
                    EndedBy::Requests => String::new(),
                    other => format!("; ended by {other}"),
                }
            ),
            (None, Some(run)) => format!("load command ran {:.1} s ({})", run.seconds, run.status),
            (None, None) => format!("{:.1} s", stretch.seconds),
        };
        let line = format!(
            "  {what}, heap after GC {:.1} MB, {} {:.1} s",
            memory.heap_used as f64 / 1e6,
            if capture == Capture::GcOnly {
                "GC"
            } else {
                "snapshot"
            },
            snapshot_seconds
        );
        if matches!(
            stretch.ended_by,
            EndedBy::Requests | EndedBy::Time | EndedBy::CommandExited
        ) {
            self.observer.note(&line);
        } else {
            self.note(format!(
                "round {r} ended early ({}): {}",
                stretch.ended_by,
                line.trim()
            ));
        }
        let report = stretch.load.as_ref();
        Ok(RoundReport {
            round: Round {
                requests,
                seconds,
                connections: report.map_or(0, |r| r.connections_opened),
            },
            errors: report.map_or(0, |r| r.error_count),
            status_counts: report.map(|r| r.status_counts.clone()).unwrap_or_default(),
            requests_per_second: report.map_or(0.0, |r| r.requests_per_second),
            p99_ms: report.map_or(0.0, |r| r.latency.p99_ms),
            heap_used: memory.heap_used,
            memory,
            ended_by: stretch.ended_by,
            tracked,
            snapshot_seconds,
            load_command: stretch.command,
        })
    }

    /// Runs a stretch of work until its own end, a guard, or the target
    /// going away (an exiting Node app still accepts connections it never
    /// answers).
    async fn drive(&mut self, work: Work<'_>, guard: Guard, phase: &str) -> Result<Stretch> {
        let start = Instant::now();
        let mut watch = Watch {
            start,
            last_gc: None,
            guard,
        };
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let client = self.client;
        let gone = || HuntError::TargetGone(phase.to_owned());
        let mut stretch = match work {
            Work::Http { url, stop } => {
                // A time limit ends the run as Ctrl-C ends `load`: in-flight
                // requests finish and count, since the app handles them anyway.
                let (limit, deadline) = match stop {
                    Stop::Requests(n) => (n, None),
                    Stop::Duration(d) => (u64::MAX, Some(d)),
                    Stop::Either(n, d) => (n, Some(d)),
                };
                let Drive::Http(spec) = &self.config.drive else {
                    unreachable!("HTTP work comes from HTTP load")
                };
                let mut plan = spec.plan(url, Stop::Requests(limit)).await?;
                plan.first_seq = self.next_seq;
                let live = Arc::new(Live::default());
                let run = plan.run(&live);
                tokio::pin!(run);
                let mut ended_by = None;
                let report = loop {
                    tokio::select! {
                        report = &mut run => break report,
                        () = client.closed() => return Err(gone()),
                        _ = tick.tick() => {
                            let done = live.completed.load(Ordering::Relaxed);
                            self.observer.progress(&format!(
                                "{phase}: {done} requests, {} errors",
                                live.errors.load(Ordering::Relaxed)
                            ));
                            if ended_by.is_some() {
                                continue;
                            }
                            ended_by = watch.check(client, deadline, Some(done)).await?;
                            if ended_by.is_some() {
                                live.cancel.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                };
                self.next_seq += report.completed + report.error_count;
                Stretch {
                    seconds: report.seconds,
                    load: Some(report),
                    command: None,
                    ended_by: ended_by.unwrap_or(EndedBy::Requests),
                }
            }
            Work::Command { url, time } => {
                let Drive::Command { command, .. } = &self.config.drive else {
                    unreachable!("command work comes from a load command")
                };
                let mut running = command.start(url).map_err(HuntError::StartCommand)?;
                let (run, ended_by) = loop {
                    tokio::select! {
                        status = running.wait() => {
                            let status = status.map_err(HuntError::StartCommand)?;
                            break (running.exited(status).await, EndedBy::CommandExited);
                        }
                        () = client.closed() => {
                            running.stop().await;
                            return Err(gone());
                        }
                        _ = tick.tick() => {
                            self.observer.progress(&format!(
                                "{phase}: the load command has run {:.0} s",
                                start.elapsed().as_secs_f64()
                            ));
                            if let Some(ended_by) = watch.check(client, Some(time), None).await? {
                                break (running.stop().await, ended_by);
                            }
                        }
                    }
                };
                Stretch {
                    seconds: run.seconds,
                    load: None,
                    command: Some(run),
                    ended_by,
                }
            }
            Work::Idle { time } => {
                let ended_by = loop {
                    tokio::select! {
                        () = client.closed() => return Err(gone()),
                        _ = tick.tick() => {
                            self.observer.progress(&format!(
                                "{phase}: {:.0} s of {:.0} s",
                                start.elapsed().as_secs_f64(),
                                time.as_secs_f64()
                            ));
                            if let Some(ended_by) = watch.check(client, Some(time), None).await? {
                                break ended_by;
                            }
                        }
                    }
                };
                Stretch {
                    seconds: start.elapsed().as_secs_f64(),
                    load: None,
                    command: None,
                    ended_by,
                }
            }
        };
        stretch.seconds = stretch.seconds.max(1e-3);
        self.phase(phase, start);
        Ok(stretch)
    }

    /// A snapshot after a forced GC; returns how long it stopped the app.
    /// Only a heap's first snapshot may count its objects for the estimate
    /// (counting forgets the ids that date objects across snapshots).
    /// `isolate` is the heap's index (the main thread's is 0).
    async fn snapshot(
        &mut self,
        client: &Client,
        path: &Path,
        first: bool,
        isolate: usize,
    ) -> Result<f64> {
        let start = Instant::now();
        let measured_ratio = self.snapshot_ratio.get(&isolate).copied();
        let observer = &mut *self.observer;
        let captured = write_snapshot(
            client,
            path,
            SnapshotOptions {
                gc: true,
                stream: false,
                force: self.config.force_snapshot,
                may_count: first,
                measured_ratio,
            },
            &mut Passing(observer),
        )
        .await?;
        if let Some(extra) = captured.extra_memory {
            let ratio = extra as f64 / captured.heap_used_before.max(1 << 20) as f64;
            let kept = self.snapshot_ratio.entry(isolate).or_insert(ratio);
            *kept = kept.max(ratio);
        }
        self.phase("snapshot", start);
        Ok(captured.seconds)
    }

    /// Stops allocation tracking, which writes the snapshot (with stacks).
    async fn tracked_snapshot(&mut self, path: &Path) -> Result<f64> {
        let start = Instant::now();
        let mut file = AtomicFile::create(path)?;
        let observer = &mut *self.observer;
        self.client
            .stop_tracking_heap_objects(file.writer(), &mut |p| {
                observer.progress(&CaptureProgress::Streaming(p).to_string());
            })
            .await?;
        file.commit()?;
        self.phase("snapshot", start);
        Ok(start.elapsed().as_secs_f64())
    }

    async fn memory(&self, client: &Client) -> Result<Memory> {
        Ok(client.eval_value("process.memoryUsage()").await?)
    }

    /// Snapshots every worker thread's heap after round `r` (0: the
    /// baseline) and digests it; returns the pauses' total. A worker that
    /// exited is no longer judged.
    async fn snapshot_workers(&mut self, heaps: &mut [Heap], r: usize) -> Result<f64> {
        let mut seconds = 0.0;
        for (isolate, heap) in heaps.iter_mut().enumerate().skip(1) {
            if heap.gone.is_some() {
                continue;
            }
            let (path, taken) = {
                let (info, worker) = heap.worker.as_ref().expect("a worker's heap");
                let path = worker_snapshot_path(&self.config.out, r, info);
                let taken = async {
                    let pause = self.snapshot(worker, &path, r == 0, isolate).await?;
                    Ok::<_, HuntError>((pause, self.memory(worker).await?))
                }
                .await;
                (path, taken)
            };
            match taken {
                Ok((pause, memory)) => {
                    seconds += pause;
                    self.take_digest(heap, path, memory.heap_used).await?;
                }
                Err(e) => {
                    let during = if r == 0 {
                        "the baseline".to_owned()
                    } else {
                        format!("round {r}")
                    };
                    let why = format!("it went away during {during} ({e}); its heap is not judged");
                    self.note(format!("{}: {why}", heap.thread));
                    heap.gone = Some(why);
                }
            }
        }
        Ok(seconds)
    }

    /// Reads and analyses one heap's snapshot at `path` into its series;
    /// returns its allocation stacks, if it has them.
    async fn take_digest(
        &mut self,
        heap: &mut Heap,
        path: PathBuf,
        heap_used: u64,
    ) -> Result<Option<TracedSites>> {
        let (digest, traced, snapshot) = self.digest(&path).await?;
        heap.digests.push(digest);
        heap.latest = Some(snapshot);
        heap.heap_used.push(heap_used);
        heap.snapshots.push(path);
        Ok(traced)
    }

    /// Reads and analyses a snapshot, off the async thread: its digest, its
    /// allocation stacks (if it has them), and the analysis itself for the
    /// verdict.
    async fn digest(
        &mut self,
        path: &Path,
    ) -> Result<(Digest, Option<TracedSites>, Arc<HeapSnapshot>)> {
        self.observer.progress("Analysing the snapshot");
        let start = Instant::now();
        let path = path.to_owned();
        let result = tokio::task::spawn_blocking(move || {
            let s = leakscope_snapshot::load(&path, Depth::Full, &mut leakscope_inspector::Silent)?;
            Ok::<_, SnapshotError>((Digest::of(&s), TracedSites::of(&s), Arc::new(s)))
        })
        .await
        .expect("analysis thread");
        self.analysis_seconds += start.elapsed().as_secs_f64();
        self.phase("analysis", start);
        Ok(result?)
    }

    /// The verdict on the rounds so far, thread by thread, from each heap's
    /// last snapshot.
    async fn assess_all(
        &mut self,
        heaps: &[Heap],
        rounds: &[RoundReport],
        traces: Option<Arc<TracedSites>>,
    ) -> (Vec<Finding>, Vec<ClassGrowth>) {
        let mut findings = Vec::new();
        let mut growing = Vec::new();
        for heap in heaps.iter().filter(|h| h.judged(rounds.len())) {
            let Some(last) = heap.latest.clone() else {
                continue;
            };
            let traces = if heap.worker.is_none() {
                traces.clone()
            } else {
                None
            };
            let (mut found, mut grew) = self
                .assess(last, &heap.digests, rounds, traces, heap.heap_used.clone())
                .await;
            for f in &mut found {
                f.thread.clone_from(&heap.thread);
            }
            for c in &mut grew {
                c.thread.clone_from(&heap.thread);
            }
            findings.extend(found);
            growing.extend(grew);
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.bytes));
        let grown = |c: &ClassGrowth| c.bytes[c.bytes.len() - 1].saturating_sub(c.bytes[0]);
        growing.sort_by_key(|c| std::cmp::Reverse(grown(c)));
        growing.truncate(15);
        (findings, growing)
    }

    /// The verdict on one heap's rounds so far, from its last snapshot.
    async fn assess(
        &mut self,
        last: Arc<HeapSnapshot>,
        digests: &[Digest],
        rounds: &[RoundReport],
        traces: Option<Arc<TracedSites>>,
        heap: Vec<u64>,
    ) -> (Vec<Finding>, Vec<ClassGrowth>) {
        self.observer.progress("Comparing the snapshots");
        let start = Instant::now();
        let digests = digests.to_vec();
        let rounds: Vec<Round> = rounds.iter().map(|r| r.round.clone()).collect();
        let rules = self.config.rules;
        let positions = Arc::clone(&self.config.positions);
        let verdict = tokio::task::spawn_blocking(move || {
            let findings = assess(
                &Evidence {
                    last: &last,
                    digests: &digests,
                    rounds: &rounds,
                    traces: traces.as_deref(),
                    heap: &heap,
                    positions: &positions,
                },
                &rules,
            );
            let mut growing = growing_classes(&digests, Scale::of(&rounds));
            growing.truncate(15);
            (findings, growing)
        })
        .await
        .expect("verdict thread");
        self.phase("verdict", start);
        verdict
    }

    /// Moves the GC reports queued so far into `gcs`.
    async fn drain_gcs(&mut self) {
        while let Some(event) = self.client.try_next_event().await {
            for gc in GcWatch::parse(&event) {
                self.gcs.push(point(&gc, self.epoch_ms));
            }
        }
    }

    /// Reasons to doubt the verdict: load that missed the app, a load
    /// command that failed, a process that did little, small findings.
    fn warnings(
        &self,
        rounds: &[RoundReport],
        baseline_ms: f64,
        findings: &[Finding],
    ) -> Vec<Warning> {
        let mut warnings = match self.config.drive {
            Drive::Http(_) => load_warnings(rounds),
            Drive::Command { .. } => command_warnings(rounds),
            Drive::Idle => Vec::new(),
        };
        warnings.extend(self.idle_warning(baseline_ms));
        if findings.iter().any(|f| f.confidence == Confidence::Low) {
            warnings.push(Warning::SmallFindings {
                rounds: rounds.len(),
            });
        }
        warnings
    }

    /// A process that collected no garbage during the rounds allocated
    /// little: a leak slower than the rounds could not show.
    fn idle_warning(&self, baseline_ms: f64) -> Option<Warning> {
        let scavenges = self
            .gcs
            .iter()
            .filter(|g| g.seconds * 1e3 > baseline_ms && g.kind == "scavenge")
            .count();
        (scavenges == 0 && !matches!(self.config.drive, Drive::Http(_)))
            .then_some(Warning::LittleGarbage)
    }
}

/// The client of a heap's thread.
fn heap_client<'c>(main: &'c Client, heap: &'c Heap) -> &'c Client {
    heap.worker.as_ref().map_or(main, |(_, worker)| worker)
}

/// The application's stacks that allocated what is still alive, from a
/// sampling profile.
/// Findings of `thread` whose items say nowhere where they were made (plain
/// objects, arrays, strings: no constructor, no closure definition) take
/// their allocation site from the sampling heap profiler's live samples:
/// the largest finding the largest application stack still alive since the
/// baseline, the next the next, one stack each.
fn sites_from_samples(findings: &mut [Finding], thread: &str, sampled: &[SampledStack]) {
    let mut unsited: Vec<&mut Finding> = findings
        .iter_mut()
        .filter(|f| f.thread == thread && f.allocation.is_none())
        .collect();
    unsited.sort_by_key(|f| std::cmp::Reverse(f.bytes));
    for (f, stack) in unsited.into_iter().zip(sampled) {
        f.allocation = Some(crate::verdict::AllocationSite {
            stack: stack.frames.clone(),
            objects: 0,
            source: "sampling heap profiler, live allocations".to_owned(),
            code: None,
        });
    }
}

fn sampled_stacks(profile: Value, positions: &Positions) -> Vec<SampledStack> {
    let mut sampled = serde_json::from_value::<SamplingProfile>(profile)
        .map(|mut p| {
            p.map_positions(positions);
            p.application_stacks(4)
        })
        .unwrap_or_default();
    sampled.truncate(8);
    sampled
}

/// Checks a stretch's guards every tick.
struct Watch {
    start: Instant,
    last_gc: Option<Instant>,
    guard: Guard,
}

impl Watch {
    /// Why the stretch should end now, if it should: its time, the heap's
    /// growth (after a GC, since garbage counts until collected), or the
    /// slowdown allocation tracking caused (`done` requests so far).
    async fn check(
        &mut self,
        client: &Client,
        deadline: Option<Duration>,
        done: Option<u64>,
    ) -> Result<Option<EndedBy>> {
        let mut used = client.get_heap_usage().await?.used_size as u64;
        if used > self.guard.heap_limit
            && self
                .last_gc
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            client.collect_garbage().await?;
            self.last_gc = Some(Instant::now());
            used = client.get_heap_usage().await?.used_size as u64;
        }
        let seconds = self.start.elapsed().as_secs_f64();
        Ok(if deadline.is_some_and(|d| self.start.elapsed() >= d) {
            Some(EndedBy::Time)
        } else if used > self.guard.heap_limit {
            Some(EndedBy::HeapGrowth)
        } else {
            match (self.guard.untracked_rate, done) {
                (Some(rate), Some(done))
                    if seconds >= 1.0 && (done as f64 / seconds) * 3.0 < rate =>
                {
                    Some(EndedBy::TrackingSlowdown)
                }
                _ => None,
            }
        })
    }
}

fn heap_guard(heap: u64) -> Guard {
    Guard {
        heap_limit: heap + ROUND_HEAP_GROWTH.max(heap / 2),
        untracked_rate: None,
    }
}

fn snapshot_path(out: &Path, round: usize) -> PathBuf {
    if round == 0 {
        out.join("hunt-0-baseline.heapsnapshot")
    } else {
        out.join(format!("hunt-{round}.heapsnapshot"))
    }
}

fn worker_snapshot_path(out: &Path, round: usize, worker: &WorkerInfo) -> PathBuf {
    let thread = worker
        .thread_id()
        .map_or_else(|| format!("s{}", worker.session_id), |id| id.to_string());
    if round == 0 {
        out.join(format!("hunt-0-baseline-worker{thread}.heapsnapshot"))
    } else {
        out.join(format!("hunt-{round}-worker{thread}.heapsnapshot"))
    }
}

/// Lets the server see the closed connections before the snapshot.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

fn point(gc: &GcReport, epoch_ms: f64) -> GcPoint {
    GcPoint {
        seconds: ((gc.start_ms - epoch_ms) / 1e3).max(0.0),
        kind: gc.kind_name(),
        pause_ms: gc.duration_ms,
        heap_used: gc.used,
    }
}

/// A load command that failed in some rounds drove less than the rounds
/// say.
fn command_warnings(rounds: &[RoundReport]) -> Vec<Warning> {
    let failed: Vec<(usize, &CommandRun)> = rounds
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.load_command
                .as_ref()
                .filter(|c| c.failed)
                .map(|c| (i + 1, c))
        })
        .collect();
    let Some(&(_, last)) = failed.last() else {
        return Vec::new();
    };
    vec![Warning::LoadCommandFailed {
        rounds: failed.iter().map(|&(r, _)| r).collect(),
        last: last.clone(),
    }]
}

/// A hunt whose requests mostly failed or were turned away (404 on `/`)
/// exercised little of the app: say so, or "no leak" would mislead.
fn load_warnings(rounds: &[RoundReport]) -> Vec<Warning> {
    let sent: u64 = rounds.iter().map(|r| r.round.requests).sum();
    let mut refused = BTreeMap::<u16, u64>::new();
    for (&status, &n) in rounds.iter().flat_map(|r| &r.status_counts) {
        if status >= 400 {
            *refused.entry(status).or_default() += n;
        }
    }
    let errors: u64 = rounds.iter().map(|r| r.errors).sum();
    let mut warnings = Vec::new();
    let refused_total: u64 = refused.values().sum();
    if refused_total * 2 > sent {
        warnings.push(Warning::RefusedLoad {
            refused: refused_total,
            sent,
            statuses: refused,
        });
    }
    if errors * 10 > sent {
        warnings.push(Warning::Unanswered { errors, sent });
    }
    warnings
}

/// Memory that grew round after round without a finding to explain it
/// (objects the heap snapshot cannot date, native memory): worth a look
/// even when no holder was found.
fn growth_warnings(
    baseline: &Memory,
    rounds: &[RoundReport],
    findings: &[Finding],
) -> Vec<Warning> {
    let explained: u64 = findings.iter().map(|f| f.bytes).sum();
    let series = |f: fn(&Memory) -> u64| -> Vec<u64> {
        std::iter::once(f(baseline))
            .chain(rounds.iter().map(|r| f(&r.memory)))
            .collect()
    };
    [
        ("heap after GC", series(|m| m.heap_used)),
        ("external memory", series(|m| m.external)),
    ]
    .into_iter()
    .filter_map(|(what, values)| unexplained_growth(what, &values, explained))
    .collect()
}

/// A warning when `values` (one per snapshot) rose at every step, by more
/// than 1 MB and a tenth, and `explained` bytes of findings account for
/// less than half of it.
pub(crate) fn unexplained_growth(
    what: &'static str,
    values: &[u64],
    explained: u64,
) -> Option<Warning> {
    let (&first, &last) = (values.first()?, values.last()?);
    let grew = last.saturating_sub(first);
    let steady = values.windows(2).all(|w| w[1] > w[0]);
    (steady && grew > (1 << 20).max(first / 10) && grew > 2 * explained).then(|| {
        Warning::UnexplainedGrowth {
            what,
            values: values.to_vec(),
        }
    })
}
