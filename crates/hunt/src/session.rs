//! The hunt as a live session with one process: warm-up, a baseline
//! snapshot, then rounds of load each followed by a forced GC and a
//! snapshot, until the snapshots decide.
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use leakscope_inspector::capture::{write_snapshot, AtomicFile, CaptureProgress, SnapshotOptions};
use leakscope_inspector::{Attached, Client, GcReport, GcWatch, InspectorError};
pub use leakscope_load::LoadSpec;
use leakscope_load::{Live, LoadError, Report, Stop};
use leakscope_profile::cpu::CpuProfile;
use leakscope_profile::{SampledStack, SamplingProfile};
use leakscope_snapshot::{Depth, HeapSnapshot, SnapshotError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::digest::{growing_classes, ClassGrowth, Digest};
use crate::verdict::{assess, Confidence, Evidence, Finding, Round, Rules};
use crate::TracedSites;

/// How to hunt.
#[derive(Debug, Clone)]
pub struct Config {
    pub load: LoadSpec,
    /// Requests before the baseline (JIT, pools and bounded caches settle).
    pub warmup_requests: u64,
    /// Rounds the verdict needs at least (2 when snapshots are slow).
    pub min_rounds: usize,
    /// Rounds at most, confirmation rounds included.
    pub max_rounds: usize,
    /// A round ends after this many requests…
    pub round_requests: u64,
    /// …or after this long, whichever comes first.
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            load: LoadSpec::default(),
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
    #[error("{0}")]
    Target(String),
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
    /// `requests`, `time`, `heap growth` or `tracking slowdown`.
    pub ended_by: &'static str,
    pub tracked: bool,
    /// How long the snapshot stopped the app.
    pub snapshot_seconds: f64,
}

/// The load before the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Warmup {
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub ended_by: &'static str,
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
    pub why: String,
}

/// Everything the hunt measured and concluded.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub url: String,
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
    /// Every GC the target ran during the hunt.
    pub gcs: Vec<GcPoint>,
    /// Milliseconds from the start to the baseline snapshot.
    pub baseline_ms: f64,
    pub tracking: Tracking,
    /// Decisions the hunt took on the way (rounds cut short, more rounds).
    pub notes: Vec<String>,
    /// Reasons to doubt a clean verdict, or to read a finding with care.
    pub warnings: Vec<String>,
    /// What ended the hunt before it was sure, if anything.
    pub stopped_by: Option<String>,
    pub timeline: Vec<Phase>,
    pub snapshots: Vec<PathBuf>,
    pub seconds: f64,
    /// The CPU profile of the first round's load, when asked for.
    #[serde(skip)]
    pub cpu_profile: Option<CpuProfile>,
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
    /// The last full analysis of a snapshot took this long.
    analysis_seconds: f64,
    timeline: Vec<Phase>,
    cpu_profile: Option<CpuProfile>,
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

/// What stops a stretch of load besides its own request count and time.
struct Guard {
    /// End when the heap holds more than this.
    heap_limit: u64,
    /// With tracking on: end when the rate falls below a third of this.
    untracked_rate: Option<f64>,
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
        let url = attached.load_url(config.load.url.as_deref()).await?;
        GcWatch::install(client).await?;
        let out = &config.out;

        // Warm-up, bounded in time and heap growth like every stretch of load.
        let warm_budget = (self.remaining() * 0.1).clamp(2.0, 8.0);
        self.observer.note(&format!(
            "leakscope hunt: PID {}, load at {url}; warming up with {} requests (at most {warm_budget:.0} s)",
            attached.pid, config.warmup_requests
        ));
        let heap = client.get_heap_usage().await?.used_size as u64;
        let (report, ended_by) = self
            .drive(
                &url,
                Stop::Either(
                    config.warmup_requests.max(1),
                    Duration::from_secs_f64(warm_budget),
                ),
                heap_guard(heap),
                "the warm-up",
            )
            .await?;
        if report.completed == 0 {
            return Err(HuntError::Target(format!(
                "the app answered no request at {url} ({}); give --url",
                report.main_error()
            )));
        }
        let warmup = Warmup {
            requests: report.completed + report.error_count,
            seconds: report.seconds,
            requests_per_second: report.requests_per_second,
            ended_by,
        };
        if ended_by != "requests" {
            self.note(format!(
                "warm-up ended after {} requests ({ended_by}): the app ran {:.0} req/s",
                warmup.requests, warmup.requests_per_second
            ));
        }

        // Baseline, through a short allocation-tracking probe when allowed.
        let heap = client.get_heap_usage().await?.used_size as u64;
        let baseline_path = snapshot_path(out, 0);
        let mut tracking = Tracking {
            used: false,
            why: String::new(),
        };
        let mut track_round = None;
        let baseline_seconds;
        if !config.tracking {
            tracking.why = "off: sites come from closure definitions, constructors and the sampling profiler (--tracking probes for it)".into();
            baseline_seconds = self.snapshot(&baseline_path).await?;
        } else if heap > TRACKING_HEAP_LIMIT {
            tracking.why = format!(
                "off: the heap holds {} MB, and tracking runs a full GC every 50 ms",
                heap >> 20
            );
            baseline_seconds = self.snapshot(&baseline_path).await?;
        } else {
            client.start_tracking_heap_objects().await?;
            let probe = self
                .drive(
                    &url,
                    Stop::Either(
                        (warmup.requests_per_second as u64).clamp(50, 2000),
                        Duration::from_millis(1500),
                    ),
                    heap_guard(heap),
                    "the tracking probe",
                )
                .await;
            settle().await;
            client.collect_garbage().await?;
            baseline_seconds = self.tracked_snapshot(&baseline_path).await?;
            let probe = probe?.0;
            let slowdown = warmup.requests_per_second / probe.requests_per_second.max(1e-3);
            // Stricter than the 3× that cuts a tracked round short: the
            // probe runs on a small, fresh heap and tracking's cost grows
            // with what it tracks.
            if slowdown <= 2.0 {
                track_round = Some(config.min_rounds);
                tracking.why = format!(
                    "allocation tracking in round {}: a probe ran at {:.0} req/s with it, {:.0} without",
                    config.min_rounds, probe.requests_per_second, warmup.requests_per_second
                );
            } else {
                tracking.why = format!(
                    "off: with it a probe ran at {:.0} req/s against {:.0} without ({slowdown:.0}× slower); allocation sites come from the sampling profiler",
                    probe.requests_per_second, warmup.requests_per_second
                );
            }
        }
        let baseline_ms = self.elapsed() * 1e3;
        let baseline_memory = self.memory().await?;
        self.snapshot_cost
            .record(baseline_seconds, baseline_memory.heap_used);
        self.drain_gcs().await;
        let (baseline, _, mut latest) = self.digest(&baseline_path).await?;
        let mut digests = vec![baseline];
        // Fewer, longer rounds when snapshots (and their analysis) would
        // leave too little of the budget for load.
        let mut min_rounds = config.min_rounds.max(2);
        let per_round = baseline_seconds * 1.3 + self.analysis_seconds + MIN_ROUND_LOAD_SECONDS;
        let fits = |rounds: usize| {
            rounds as f64 * per_round + 2.0 * self.analysis_seconds <= self.remaining()
        };
        if min_rounds > 2 && !fits(min_rounds) {
            min_rounds = 2;
            self.note(format!(
                "each snapshot stops the app for about {baseline_seconds:.0} s and takes {:.0} s to analyse: 2 rounds instead of {}",
                self.analysis_seconds, config.min_rounds
            ));
        }
        client.start_sampling(SAMPLING_INTERVAL, false).await?;

        let mut rounds: Vec<RoundReport> = Vec::new();
        let mut traces: Option<Arc<TracedSites>> = None;
        let mut findings: Vec<Finding> = Vec::new();
        let mut growing: Vec<ClassGrowth> = Vec::new();
        let mut stopped_by = None;
        let mut wanted = min_rounds;
        let mut assessed = 0;
        loop {
            let r = rounds.len() + 1;
            let Some(time) = self.round_time(&rounds, wanted) else {
                stopped_by = Some(format!(
                    "the time budget ({} s) ran out before round {r} (time went to: {})",
                    config.budget.as_secs(),
                    self.timeline_text()
                ));
                break;
            };
            let tracked = track_round == Some(r);
            let round = self
                .round(&url, r, wanted, time, tracked, rounds.last())
                .await?;
            if tracked {
                tracking.used = round.tracked;
                if round.ended_by == "tracking slowdown" {
                    tracking.why = format!(
                        "in round {r}, cut short after {} requests: it slowed the app to {:.0} req/s, over 3× slower than round {}",
                        round.round.requests,
                        round.requests_per_second,
                        r - 1
                    );
                }
            }
            let path = snapshot_path(out, r);
            let (digest, traced, snapshot) = self.digest(&path).await?;
            if tracked {
                traces = traced.map(Arc::new);
            }
            digests.push(digest);
            latest = snapshot;
            rounds.push(round);
            if rounds.len() < wanted {
                continue;
            }
            (findings, growing) = self
                .assess(latest.clone(), &digests, &rounds, traces.clone())
                .await;
            assessed = rounds.len();
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
                break;
            }
            let confirm = config.rules.confirm_rounds.min(config.max_rounds);
            if rounds.len() >= confirm {
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
            return Err(HuntError::Target(format!(
                "no verdict: {} (a verdict needs two rounds); give more --budget",
                stopped_by.unwrap_or_else(|| "the hunt ended early".into())
            )));
        }
        if assessed != rounds.len() {
            (findings, growing) = self.assess(latest, &digests, &rounds, traces).await;
        }
        let profile = client.stop_sampling().await?;
        let mut sampled = serde_json::from_value::<SamplingProfile>(profile)
            .map(|p| p.application_stacks(4))
            .unwrap_or_default();
        sampled.truncate(8);
        self.drain_gcs().await;

        let mut warnings = load_warnings(&rounds);
        warnings.extend(growth_warnings(&baseline_memory, &rounds, &findings));
        if findings.iter().any(|f| f.confidence == Confidence::Low) {
            warnings.push(format!(
                "some findings are small and were seen in only {} rounds (beside a far bigger leak, or with no budget left for more): read them as suspects",
                rounds.len()
            ));
        }
        Ok(Outcome {
            url,
            pid: attached.pid,
            warmup,
            baseline_memory,
            baseline_snapshot_seconds: baseline_seconds,
            snapshots: (0..=rounds.len()).map(|r| snapshot_path(out, r)).collect(),
            rounds,
            findings,
            growing_classes: growing,
            sampled_allocations: sampled,
            gcs: std::mem::take(&mut self.gcs),
            baseline_ms,
            tracking,
            notes: std::mem::take(&mut self.notes),
            warnings,
            stopped_by,
            timeline: std::mem::take(&mut self.timeline),
            seconds: self.elapsed(),
            cpu_profile: self.cpu_profile.take(),
        })
    }

    /// How long the next round may run: the budget left, less the final
    /// analysis, shared by the rounds still wanted, each less its snapshot;
    /// `None` when the budget has no room for another round.
    fn round_time(&self, rounds: &[RoundReport], wanted: usize) -> Option<Duration> {
        let heap = rounds.last().map_or(0, |r| r.memory.heap_used);
        let growth = match rounds {
            [.., a, b] => b.memory.heap_used.saturating_sub(a.memory.heap_used),
            _ => 0,
        };
        let snapshot = self.snapshot_cost.estimate(heap + growth) * 1.3 + 0.5;
        let left = wanted.saturating_sub(rounds.len()).max(1) as f64;
        let share = (self.remaining() - 2.0 * self.analysis_seconds - 1.0) / left - snapshot;
        (share >= 0.5)
            .then(|| Duration::from_secs_f64(share.min(self.config.round_time.as_secs_f64())))
    }

    async fn round(
        &mut self,
        url: &str,
        r: usize,
        wanted: usize,
        time: Duration,
        tracked: bool,
        previous: Option<&RoundReport>,
    ) -> Result<RoundReport> {
        let client = self.client;
        let config = self.config;
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
        let (report, ended_by) = self
            .drive(
                url,
                Stop::Either(config.round_requests, time),
                guard,
                &phase,
            )
            .await?;
        if profiling {
            let profile: Value = client.call("Profiler.stop", json!({})).await?;
            self.cpu_profile = serde_json::from_value(profile["profile"].clone()).ok();
            let _ = client.call::<_, Value>("Profiler.disable", json!({})).await;
        }
        if report.completed == 0 {
            return Err(HuntError::Target(format!(
                "the app stopped answering at {url} in round {r} ({})",
                report.main_error()
            )));
        }
        settle().await;
        let path = snapshot_path(&config.out, r);
        let snapshot_seconds = if tracked {
            client.collect_garbage().await?;
            self.tracked_snapshot(&path).await?
        } else {
            self.snapshot(&path).await?
        };
        let memory = self.memory().await?;
        self.snapshot_cost
            .record(snapshot_seconds, memory.heap_used);
        self.drain_gcs().await;
        let line = format!(
            "  {} requests in {:.1} s ({:.0} req/s{}), heap after GC {:.1} MB, snapshot {:.1} s",
            report.completed + report.error_count,
            report.seconds,
            report.requests_per_second,
            match ended_by {
                "requests" => String::new(),
                other => format!("; ended by {other}"),
            },
            memory.heap_used as f64 / 1e6,
            snapshot_seconds
        );
        if ended_by == "requests" || ended_by == "time" {
            self.observer.note(&line);
        } else {
            self.note(format!(
                "round {r} ended early ({ended_by}): {}",
                line.trim()
            ));
        }
        Ok(RoundReport {
            round: Round {
                requests: report.completed + report.error_count,
                seconds: report.seconds,
                connections: report.connections_opened,
            },
            errors: report.error_count,
            status_counts: report.status_counts.clone(),
            requests_per_second: report.requests_per_second,
            p99_ms: report.latency.p99_ms,
            heap_used: memory.heap_used,
            memory,
            ended_by,
            tracked,
            snapshot_seconds,
        })
    }

    /// Drives load until its stop, a guard, or the target going away (an
    /// exiting Node app still accepts connections it never answers).
    async fn drive(
        &mut self,
        url: &str,
        stop: Stop,
        guard: Guard,
        phase: &str,
    ) -> Result<(Report, &'static str)> {
        // A time limit ends the run as Ctrl-C ends `load`: in-flight
        // requests finish and count, since the app handles them anyway.
        let (limit, deadline) = match stop {
            Stop::Requests(n) => (n, None),
            Stop::Duration(d) => (u64::MAX, Some(d)),
            Stop::Either(n, d) => (n, Some(d)),
        };
        let mut plan = self.config.load.plan(url, Stop::Requests(limit)).await?;
        plan.first_seq = self.next_seq;
        let live = Arc::new(Live::default());
        let run = plan.run(&live);
        tokio::pin!(run);
        let start = Instant::now();
        let mut last_gc: Option<Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut ended_by = None;
        let report = loop {
            tokio::select! {
                report = &mut run => break report,
                () = self.client.closed() => {
                    return Err(HuntError::Target(format!("the target went away during {phase}")));
                }
                _ = tick.tick() => {
                    let done = live.completed.load(Ordering::Relaxed);
                    self.observer.progress(&format!(
                        "{phase}: {done} requests, {} errors",
                        live.errors.load(Ordering::Relaxed)
                    ));
                    if ended_by.is_some() {
                        continue;
                    }
                    let mut used = self.client.get_heap_usage().await?.used_size as u64;
                    // Garbage counts in the heap until a GC: only what
                    // survives one ends a round.
                    if used > guard.heap_limit
                        && last_gc.is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
                    {
                        self.client.collect_garbage().await?;
                        last_gc = Some(Instant::now());
                        used = self.client.get_heap_usage().await?.used_size as u64;
                    }
                    let seconds = start.elapsed().as_secs_f64();
                    if deadline.is_some_and(|d| start.elapsed() >= d) {
                        ended_by = Some("time");
                    } else if used > guard.heap_limit {
                        ended_by = Some("heap growth");
                    } else if let Some(rate) = guard.untracked_rate {
                        if seconds >= 1.0 && (done as f64 / seconds) * 3.0 < rate {
                            ended_by = Some("tracking slowdown");
                        }
                    }
                    if ended_by.is_some() {
                        live.cancel.store(true, Ordering::Relaxed);
                    }
                }
            }
        };
        let sent = report.completed + report.error_count;
        self.next_seq += sent;
        self.phase(phase, start);
        let ended_by = ended_by.unwrap_or("requests");
        Ok((report, ended_by))
    }

    /// A snapshot after a forced GC; returns how long it stopped the app.
    async fn snapshot(&mut self, path: &Path) -> Result<f64> {
        let start = Instant::now();
        let observer = &mut *self.observer;
        let captured = write_snapshot(
            self.client,
            path,
            SnapshotOptions {
                gc: true,
                stream: false,
            },
            &mut |p| observer.progress(&p.to_string()),
        )
        .await?;
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
                observer.progress(&CaptureProgress::Streaming(p).to_string())
            })
            .await?;
        file.commit()?;
        self.phase("snapshot", start);
        Ok(start.elapsed().as_secs_f64())
    }

    async fn memory(&self) -> Result<Memory> {
        Ok(self.client.eval_value("process.memoryUsage()").await?)
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
            let s = leakscope_snapshot::load(&path, Depth::Full, &mut |_| {}, &mut |_| {})?;
            Ok::<_, SnapshotError>((Digest::of(&s), TracedSites::of(&s), Arc::new(s)))
        })
        .await
        .expect("analysis thread");
        self.analysis_seconds = start.elapsed().as_secs_f64();
        self.phase("analysis", start);
        Ok(result?)
    }

    /// The verdict on the rounds so far, from the last snapshot.
    async fn assess(
        &mut self,
        last: Arc<HeapSnapshot>,
        digests: &[Digest],
        rounds: &[RoundReport],
        traces: Option<Arc<TracedSites>>,
    ) -> (Vec<Finding>, Vec<ClassGrowth>) {
        self.observer.progress("Comparing the snapshots");
        let start = Instant::now();
        let digests = digests.to_vec();
        let rounds: Vec<Round> = rounds.iter().map(|r| r.round.clone()).collect();
        let rules = self.config.rules;
        let verdict = tokio::task::spawn_blocking(move || {
            let findings = assess(
                &Evidence {
                    last: &last,
                    digests: &digests,
                    rounds: &rounds,
                    traces: traces.as_deref(),
                },
                &rules,
            );
            let requests = rounds.iter().map(|r| r.requests).sum();
            let mut growing = growing_classes(&digests, requests);
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

/// A hunt whose requests mostly failed or were turned away (404 on `/`)
/// exercised little of the app: say so, or "no leak" would mislead.
fn load_warnings(rounds: &[RoundReport]) -> Vec<String> {
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
        let statuses: Vec<String> = refused.iter().map(|(s, n)| format!("{n} × {s}")).collect();
        warnings.push(format!(
            "{refused_total} of {sent} responses were errors ({}): the load may not reach the code that leaks; give --url or --request-file",
            statuses.join(", ")
        ));
    }
    if errors * 10 > sent {
        warnings.push(format!(
            "{errors} of {sent} requests got no response: the rounds measured less than they say"
        ));
    }
    warnings
}

/// Memory that grew round after round without a finding to explain it
/// (objects the heap snapshot cannot date, native memory): worth a look
/// even when no holder was found.
fn growth_warnings(baseline: &Memory, rounds: &[RoundReport], findings: &[Finding]) -> Vec<String> {
    let explained: u64 = findings.iter().map(|f| f.bytes).sum();
    let mut warnings = Vec::new();
    let series = |f: fn(&Memory) -> u64| -> Vec<u64> {
        std::iter::once(f(baseline))
            .chain(rounds.iter().map(|r| f(&r.memory)))
            .collect()
    };
    for (what, values) in [
        ("heap after GC", series(|m| m.heap_used)),
        ("external memory", series(|m| m.external)),
    ] {
        let first = values[0];
        let last = values[values.len() - 1];
        let grew = last.saturating_sub(first);
        let steady = values.windows(2).all(|w| w[1] > w[0]);
        if steady && grew > (1 << 20).max(first / 10) && grew > 2 * explained {
            let mb: Vec<String> = values
                .iter()
                .map(|&v| format!("{:.1}", v as f64 / 1e6))
                .collect();
            warnings.push(format!(
                "{what} grew at every round ({} MB) and the findings explain less than half of it",
                mb.join(" → ")
            ));
        }
    }
    warnings
}
