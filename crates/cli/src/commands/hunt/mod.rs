//! `leakscope hunt`: launch or attach, warm up, then rounds of load each
//! followed by a forced GC and a heap snapshot; the snapshots decide.

mod html;
mod plots;
mod text;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use leakscope_gclog::ProcessReport;
use leakscope_hunt::{
    find_leaks, growing_classes, max_heap_object_id, ClassGrowth, Finding, Round, Rules,
};
use leakscope_inspector::{listening_ports, Attached, Client, GcReport, GcWatch};
use leakscope_load::{Plan, Report, Stop};
use leakscope_profile::{SampledStack, SamplingProfile};
use leakscope_snapshot::{AllocationTraces, Depth, HeapSnapshot};
use serde::Serialize;

use super::snapshot::{capture, Capture};
use crate::live::{block_on, with_target, GcLogSink, TargetArgs};
use crate::output::size;

/// The bundled leaky server the hunt runs when given no target.
const DEMO_SERVER: &str = include_str!("../../../../../examples/leaky-server.js");

/// Allocation tracking runs a full GC every 50 ms; on a heap this small
/// that costs about 40 % of throughput for one round (design/inspector.md
/// §3), above it the hunt names leaked closures by their definition only.
const TRACKING_HEAP_LIMIT: u64 = 64 << 20;

/// Bytes between heap samples: 8 KiB still sees a slow leak (one 1 KB
/// object in 50 requests). It costs the rounds about 21 % of throughput on
/// an allocation-heavy server (32 KiB: about 10 %; BENCHMARKS.md), which
/// only makes the hunt's measured rate, and MB/hour, conservative.
const SAMPLING_INTERVAL: u64 = 8192;

/// Find a memory leak in a Node server, end to end: launch it (or attach),
/// drive HTTP load in rounds, snapshot the heap after a GC each round, and
/// name what grows, who holds it and which code allocated it.
#[derive(clap::Args)]
#[command(
    // `--url` is where the load goes, as in `leakscope load`.
    mut_arg("url", |a| a.long("inspector-url")),
    after_help = "With no target, hunts in the bundled leaky example server (the demo exits 0 \
when it finds that leak).\nExit status: 0 no leak, 1 leak found, 2 usage or target error.\n\n\
Examples:\n  leakscope hunt\n  leakscope hunt -- node server.js\n  \
leakscope hunt --pid 4242 --url http://127.0.0.1:3000/api/items\n  \
leakscope hunt --request-file requests.txt --report hunt.html -- node app.js"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where to send load: a URL, or a path on the one HTTP port the app
    /// listens on (the default is `/` there);
    /// `{seq}` becomes the request number
    #[arg(id = "load_url", long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// Requests to cycle through, `METHOD /path [BODY]` per line
    #[arg(long, value_name = "FILE")]
    pub request_file: Option<PathBuf>,
    /// Rounds of load, each followed by GC and a snapshot
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=20))]
    pub rounds: u32,
    /// Requests per round
    #[arg(long, default_value_t = 3000)]
    pub requests: u64,
    /// Requests before the baseline snapshot (JIT, pools and bounded caches settle)
    #[arg(long, default_value_t = 1500)]
    pub warmup: u64,
    /// Concurrent keep-alive connections
    #[arg(short = 'c', long, default_value_t = 20)]
    pub concurrency: usize,
    /// Keep the snapshots in this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Keep the snapshots (in --out, or in a directory named in the output)
    #[arg(long)]
    pub keep: bool,
    /// Write a single-file HTML report with plots
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Never turn allocation tracking on (it slows the last round down)
    #[arg(long)]
    pub no_tracking: bool,
    /// Run the launched app with `node --trace-gc` and analyse its GC log
    /// (as `leakscope gc-log` does)
    #[arg(long)]
    pub trace_gc: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// Everything the hunt measured and concluded.
#[derive(Serialize)]
pub struct Hunt {
    pub target: String,
    pub url: String,
    pub pid: u32,
    pub concurrency: usize,
    pub warmup_requests: u64,
    pub rounds: Vec<RoundSummary>,
    pub requests_per_second: f64,
    pub allocation_sites: &'static str,
    pub verdict: &'static str,
    pub findings: Vec<Finding>,
    /// Where the memory still alive at the end was allocated after the
    /// baseline, from the sampling heap profiler (application frames).
    pub sampled_allocations: Vec<SampledStack>,
    pub growing_classes: Vec<ClassGrowth>,
    /// Every GC the target ran during the hunt.
    pub gcs: Vec<GcPoint>,
    pub snapshots: Vec<PathBuf>,
    pub snapshots_kept: bool,
    /// The launched app's `--trace-gc` log, analysed (with `--trace-gc`).
    pub gc_log: Option<Vec<ProcessReport>>,
    /// Reasons to doubt a clean verdict (the load missed the app's code).
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
pub struct RoundSummary {
    #[serde(flatten)]
    pub round: Round,
    pub errors: u64,
    pub status_counts: std::collections::BTreeMap<u16, u64>,
    pub p99_ms: f64,
    /// Heap used after the forced GC that preceded the snapshot.
    pub heap_used: u64,
}

/// One GC, relative to the start of the hunt.
#[derive(Serialize, Clone, Copy)]
pub struct GcPoint {
    pub seconds: f64,
    pub kind: &'static str,
    pub pause_ms: f64,
    pub heap_used: u64,
}

/// What the live part hands to the analysis.
struct Captured {
    url: String,
    sampled: Vec<SampledStack>,
    /// Milliseconds from the start of the hunt to the baseline snapshot.
    baseline_ms: f64,
    pid: u32,
    rounds: Vec<RoundSummary>,
    tracked: bool,
    gcs: Vec<GcPoint>,
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.requests > 0, "--requests must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "-c must be at least 1");
    let demo_dir = std::env::temp_dir().join(format!("leakscope-hunt-demo-{}", std::process::id()));
    let target_label = describe_target(&args.target);
    let is_demo = args.target.launch.is_empty()
        && args.target.pid.is_none()
        && args.target.port.is_none()
        && args.target.url.is_none();
    if is_demo {
        anyhow::ensure!(
            args.url.is_none() && args.request_file.is_none(),
            "--url and --request-file need a target: --pid PID, --port PORT, --inspector-url URL or `-- node app.js`"
        );
        std::fs::create_dir_all(&demo_dir)?;
        let script = demo_dir.join("leaky-server.js");
        std::fs::write(&script, DEMO_SERVER)?;
        args.target.launch = vec!["node".into(), script.into()];
    }
    // A report that cannot be written fails now, not after the hunt.
    let report_file = args
        .report
        .as_deref()
        .map(crate::atomic::AtomicFile::create)
        .transpose()?;
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("leakscope-hunt-{}", std::process::id())),
    };
    std::fs::create_dir_all(&out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    let result = hunt(
        &args,
        &out,
        if is_demo {
            "the bundled example examples/leaky-server.js".into()
        } else {
            target_label
        },
    );
    if is_demo {
        let _ = std::fs::remove_dir_all(&demo_dir);
    }
    if !args.keep {
        remove_snapshots(&out, args.out.is_none());
    }
    let hunt = result?;
    if let Some(mut file) = report_file {
        file.write_all(html::render(&hunt).as_bytes())?;
        file.commit()?;
    }
    if args.json {
        crate::output::json(&hunt)?;
    } else {
        text::print(&hunt, args.report.as_deref())?;
    }
    if is_demo {
        // The demo is meant to find its leak; success is finding it.
        if !args.json {
            outln!("\nThat was the bundled demo. On your own server: leakscope hunt -- node server.js (exit status 1 when it finds a leak)")?;
        }
        return Ok(if hunt.findings.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    Ok(if hunt.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe_target(t: &TargetArgs) -> String {
    if let Some(pid) = t.pid {
        format!("PID {pid}")
    } else if let Some(port) = t.port {
        format!("inspector port {port}")
    } else if let Some(url) = &t.url {
        url.clone()
    } else {
        t.launch
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Deletes the hunt's snapshots (and the directory when we made it).
fn remove_snapshots(out: &Path, ours: bool) {
    if ours {
        let _ = std::fs::remove_dir_all(out);
        return;
    }
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("hunt-") && name.ends_with(".heapsnapshot") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn snapshot_path(out: &Path, round: usize) -> PathBuf {
    if round == 0 {
        out.join("hunt-0-baseline.heapsnapshot")
    } else {
        out.join(format!("hunt-{round}.heapsnapshot"))
    }
}

fn hunt(args: &Args, out: &Path, target: String) -> anyhow::Result<Hunt> {
    let started = SystemTime::now();
    let mut target_args = args.target.clone();
    let gc_log = args.trace_gc.then(GcLogSink::default);
    target_args.gc_log = gc_log.clone();
    let captured = block_on(with_target(
        &target_args,
        async |attached| capture_rounds(attached, args, out, started).await,
        async |client| {
            // Stops sampling and tracking (without another snapshot);
            // removes the observer.
            let _ = client.stop_sampling().await;
            let _ = client
                .call::<_, serde_json::Value>("HeapProfiler.disable", serde_json::json!({}))
                .await;
            let _ = GcWatch::uninstall(client).await;
        },
    ))?;
    let bar = crate::progress::spinner(args.json);
    bar.set_message("Comparing the snapshots");
    let paths: Vec<PathBuf> = (0..=captured.rounds.len())
        .map(|r| snapshot_path(out, r))
        .collect();
    let mut class_counts = Vec::new();
    let mut max_ids = Vec::new();
    for path in &paths[..paths.len() - 1] {
        let s = leakscope_snapshot::load(path, Depth::Classes, &mut |_| {}, &mut |_| {})?;
        max_ids.push(max_heap_object_id(&s));
        class_counts.push(counts_by_class(&s));
    }
    bar.set_message("Analysing the last snapshot");
    let last = leakscope_snapshot::load(
        paths.last().expect("rounds ≥ 2"),
        Depth::Full,
        &mut |_| {},
        &mut |_| {},
    )?;
    max_ids.push(max_heap_object_id(&last));
    class_counts.push(counts_by_class(&last));
    let mut rounds = captured.rounds;
    for (r, round) in rounds.iter_mut().enumerate() {
        round.round.max_id = max_ids[r + 1];
    }
    let traces = AllocationTraces::of(&last);
    let findings = find_leaks(
        &last,
        max_ids[0],
        &rounds.iter().map(|r| r.round.clone()).collect::<Vec<_>>(),
        traces.as_ref(),
        Rules::default(),
    );
    bar.finish_and_clear();
    let total_requests: u64 = rounds.iter().map(|r| r.round.requests).sum();
    let total_seconds: f64 = rounds.iter().map(|r| r.round.seconds).sum();
    let mut growing = growing_classes(&class_counts, total_requests);
    growing.truncate(15);
    let warnings = load_warnings(&rounds);
    Ok(Hunt {
        warnings,
        target,
        url: captured.url,
        pid: captured.pid,
        concurrency: args.concurrency,
        warmup_requests: args.warmup,
        requests_per_second: total_requests as f64 / total_seconds.max(1e-9),
        rounds,
        allocation_sites: if captured.tracked && traces.is_some() {
            "allocation tracking during the last round"
        } else if args.no_tracking {
            "closure definitions and constructors (allocation tracking was off: --no-tracking)"
        } else {
            "closure definitions and constructors (allocation tracking was off: the heap is over 64 MB)"
        },
        verdict: if findings.is_empty() {
            "no leak: nothing grew steadily round after round"
        } else {
            "leak"
        },
        findings,
        sampled_allocations: captured.sampled,
        growing_classes: growing,
        gcs: captured.gcs,
        snapshots_kept: args.keep,
        gc_log: gc_log.map(|sink| {
            let lines = sink.lock().expect("not poisoned");
            // The hunt's warm-up ends at the baseline snapshot.
            let config = leakscope_gclog::SeriesConfig {
                warmup_ms: captured.baseline_ms,
                ..Default::default()
            };
            leakscope_gclog::read(&lines[..], &mut |_| {})
                .map(|log| log.reports_with(&config))
                .unwrap_or_default()
        }),
        snapshots: if args.keep { paths } else { Vec::new() },
    })
}

/// A hunt whose requests mostly failed or were turned away (404 on `/`)
/// exercised little of the app: say so, or "no leak" would mislead.
fn load_warnings(rounds: &[RoundSummary]) -> Vec<String> {
    let sent: u64 = rounds.iter().map(|r| r.round.requests).sum();
    let mut refused = std::collections::BTreeMap::<u16, u64>::new();
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

fn counts_by_class(s: &HeapSnapshot) -> HashMap<String, (u64, u64)> {
    s.class_rows()
        .into_iter()
        .map(|r| (r.name, (r.count, r.shallow_size)))
        .collect()
}

/// Drives load until done or until the target goes away: an exiting Node
/// app still accepts connections it never answers, so the load alone would
/// only time out, request after request.
async fn drive_while_attached(
    client: &Client,
    plan: &Plan,
    quiet: bool,
    phase: &str,
) -> anyhow::Result<Report> {
    tokio::select! {
        report = super::load::drive(plan, quiet) => Ok(report),
        () = client.closed() => anyhow::bail!("the target went away during {phase}"),
    }
}

/// The live part: warm-up, baseline, rounds.
async fn capture_rounds(
    attached: &Attached,
    args: &Args,
    out: &Path,
    started: SystemTime,
) -> anyhow::Result<Captured> {
    let client = &attached.client;
    let quiet = args.json;
    let url = match &args.url {
        // A path: on the port the app listens on, found as with no --url.
        Some(path) if path.starts_with('/') => {
            format!("{}{path}", find_url(attached).await?.trim_end_matches('/'))
        }
        Some(url) => url.clone(),
        None => find_url(attached).await?,
    };
    let say = |text: String| {
        if !quiet {
            eprintln!("{text}");
        }
    };
    let plan = |requests: u64| {
        super::load::plan(
            &url,
            args.concurrency,
            Stop::Requests(requests),
            args.request_file.as_ref(),
        )
    };
    GcWatch::install(client).await?;
    let mut gcs = Vec::new();
    let epoch_ms = started
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3);

    say(format!(
        "leakscope hunt: PID {}, load at {url}; warming up with {} requests",
        attached.pid, args.warmup
    ));
    if args.warmup > 0 {
        let report =
            drive_while_attached(client, &plan(args.warmup).await?, quiet, "the warm-up").await?;
        if report.completed == 0 {
            anyhow::bail!(
                "the app answered no request at {url} ({}); give --url",
                report.main_error()
            );
        }
    }
    settle().await;
    let how = Capture {
        gc: true,
        stream: false,
        quiet,
    };
    let baseline = capture(client, &snapshot_path(out, 0), how).await?;
    let baseline_ms = started.elapsed().map_or(0.0, |d| d.as_secs_f64() * 1e3);
    drain_gcs(client, epoch_ms, &mut gcs).await;
    let tracked = !args.no_tracking && baseline.heap_used_before <= TRACKING_HEAP_LIMIT;
    // Sampled allocations still alive at the end are what the rounds kept.
    client.start_sampling(SAMPLING_INTERVAL, false).await?;
    let mut rounds = Vec::new();
    let mut sampled = Vec::new();
    for r in 1..=args.rounds as usize {
        let last = r == args.rounds as usize;
        if last && tracked {
            client.start_tracking_heap_objects().await?;
        }
        say(format!(
            "round {r}/{}: {} requests{}",
            args.rounds,
            args.requests,
            if last && tracked {
                " (allocation tracking on)"
            } else {
                ""
            }
        ));
        let report = drive_while_attached(
            client,
            &plan(args.requests).await?,
            quiet,
            &format!("round {r}"),
        )
        .await?;
        if report.completed == 0 {
            anyhow::bail!("the app stopped answering at {url} in round {r}");
        }
        settle().await;
        if last {
            let profile = client.stop_sampling().await?;
            sampled = serde_json::from_value::<SamplingProfile>(profile)
                .map(|p| p.application_stacks(4))
                .unwrap_or_default();
            sampled.truncate(8);
        }
        let path = snapshot_path(out, r);
        if last && tracked {
            client.collect_garbage().await?;
            let mut file = crate::atomic::AtomicFile::create(&path)?;
            client
                .stop_tracking_heap_objects(file.writer(), &mut |_| {})
                .await?;
            file.commit()?;
        } else {
            capture(client, &path, how).await?;
        }
        drain_gcs(client, epoch_ms, &mut gcs).await;
        let heap_used = client.get_heap_usage().await?.used_size as u64;
        rounds.push(RoundSummary {
            round: Round {
                requests: report.completed + report.error_count,
                seconds: report.seconds,
                max_id: 0,
            },
            errors: report.error_count,
            status_counts: report.status_counts.clone(),
            p99_ms: report.latency.p99_ms,
            heap_used,
        });
        say(format!(
            "  {:.0} req/s, heap after GC {}",
            report.requests_per_second,
            size(heap_used)
        ));
    }
    Ok(Captured {
        url,
        baseline_ms,
        sampled,
        pid: attached.pid,
        rounds,
        tracked,
        gcs,
    })
}

/// Lets the server see the closed connections before the snapshot.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Moves the GC reports queued so far into `gcs`.
async fn drain_gcs(client: &Client, epoch_ms: f64, gcs: &mut Vec<GcPoint>) {
    while let Some(event) = client.try_next_event().await {
        if let Some(gc) = GcWatch::parse(&event) {
            gcs.push(point(&gc, epoch_ms));
        }
    }
}

fn point(gc: &GcReport, epoch_ms: f64) -> GcPoint {
    GcPoint {
        seconds: ((gc.start_ms - epoch_ms) / 1e3).max(0.0),
        kind: match gc.kind {
            1 => "scavenge",
            4 => "mark-compact",
            8 => "incremental",
            16 => "weak callbacks",
            _ => "other",
        },
        pause_ms: gc.duration_ms,
        heap_used: gc.used,
    }
}

/// The app's HTTP address: the one TCP port it listens on besides the
/// inspector, waited for up to 10 s after a launch.
async fn find_url(attached: &Attached) -> anyhow::Result<String> {
    let inspector: Option<u16> = attached
        .ws_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).nth(1))
        .and_then(|p| p.parse().ok());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ports: Vec<u16> = listening_ports(attached.pid)
            .into_iter()
            .filter(|&p| Some(p) != inspector)
            .collect();
        match ports.as_slice() {
            [port] => return Ok(format!("http://127.0.0.1:{port}/")),
            [] if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            [] => anyhow::bail!(
                "PID {} listens on no TCP port besides the inspector; give --url",
                attached.pid
            ),
            many => anyhow::bail!(
                "PID {} listens on several ports ({many:?}); say which with --url http://127.0.0.1:PORT/",
                attached.pid
            ),
        }
    }
}
