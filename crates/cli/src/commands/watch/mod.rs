//! `leakscope watch`: memwatch, done from outside the process.

mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leakscope_gctrend::{Config, Detector, GcKind, GcSample, Growth, LeakEvent, Stats};
use leakscope_inspector::{Attached, GcReport, GcWatch, InspectorError};
use serde::Serialize;

use crate::live::{block_on, with_target, TargetArgs};
use crate::output::{parse_duration, size};

/// Watch every GC of a live process and raise leak events, memwatch-style:
/// heap and per-space sizes after each GC, pauses, event-loop delay,
/// `stats` after each full GC and `leak` when the heap after full GCs keeps
/// growing. Nothing in the app changes; the observer is removed on exit.
#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 when no leak event fired, 1 when one did, 2 on error.\n\n\
Examples:\n  leakscope watch --pid 4242\n  leakscope watch --pid 4242 --json --duration 10m > gc.jsonl\n  \
leakscope watch --port 9229 --prometheus 127.0.0.1:9464 --snapshot-on-leak snapshots/\n  leakscope watch --duration 60s -- node app.js"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Stop after this long (e.g. 60s, 10m); default: until Ctrl-C
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Print JSON lines: one per GC, plus `stats` and `leak` events
    #[arg(long)]
    pub json: bool,
    /// Serve OpenMetrics on this loopback address, e.g. 127.0.0.1:9464
    #[arg(long, value_name = "ADDR")]
    pub prometheus: Option<SocketAddr>,
    /// Write a heap snapshot into this directory when a leak event fires
    #[arg(long, value_name = "DIR")]
    pub snapshot_on_leak: Option<PathBuf>,
    /// Full GCs in a row with a growing heap that make a leak event
    #[arg(long, default_value_t = 5)]
    pub consecutive: usize,
    /// Ignore GCs this early in the watch (start-up, JIT, caches filling)
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Growth below this (bytes, or e.g. 2MB) never makes a leak event
    #[arg(long, default_value = "2MB", value_parser = parse_size)]
    pub min_growth: u64,
    /// When no full GC ran for this long and the heap grew since the last
    /// one, force one so the leak rules see the live heap (0 = never).
    /// A leaking heap grows its GC limit, so full GCs get rare on their own.
    /// While the heap after full GC climbs fast, probes come every second,
    /// and never so often that their pauses take over a tenth of the app's time
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub probe_every: Duration,
    /// Run the launched app with `node --trace-gc` and analyse its GC log
    /// at the end (as `leakscope gc-log` does)
    #[arg(long)]
    pub trace_gc: bool,
}

fn parse_size(text: &str) -> Result<u64, String> {
    text.parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("`{text}` is not a size like 2MB ({e})"))
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line<'a> {
    Gc {
        at_ms: f64,
        kind: &'static str,
        pause_ms: f64,
        heap_used: u64,
        heap_total: u64,
        heap_limit: u64,
        external: u64,
        spaces: Vec<SpaceLine<'a>>,
        eventloop_delay_p99_ms: f64,
    },
    Stats(Stats),
    Leak(&'a LeakEvent),
    Snapshot {
        path: &'a PathBuf,
        bytes: u64,
    },
    /// The last line: what the terminal's `done:` line says.
    Summary {
        stats: Stats,
        growth: Option<Growth>,
        leak_events: u64,
    },
}

#[derive(Serialize)]
struct SpaceLine<'a> {
    space: &'a str,
    used: u64,
    size: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(addr) = args.prometheus {
        if !addr.ip().is_loopback() && !args.target.allow_remote {
            anyhow::bail!("--prometheus {addr} is not a loopback address; pass --allow-remote to serve it there");
        }
    }
    if let Some(dir) = &args.snapshot_on_leak {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let mut target = args.target.clone();
    let gc_log = args.trace_gc.then(crate::live::GcLogSink::default);
    target.gc_log = gc_log.clone();
    let leaks = block_on(with_target(
        &target,
        async |target| watch(target, &args).await,
        async |client| {
            let _ = GcWatch::uninstall(client).await;
            let _ = client
                .evaluate("delete globalThis[Symbol.for('leakscope.gc')]", false)
                .await;
        },
    ))?;
    if let Some(sink) = gc_log {
        let lines = sink.lock().expect("not poisoned");
        let log = leakscope_gclog::read(&lines[..], &mut |_| {})?;
        let reports = log.reports();
        if args.json {
            for report in &reports {
                outln!(
                    "{}",
                    serde_json::json!({"type": "gc-log", "process": report})
                )?;
            }
        } else if log.gc_lines > 0 {
            outln!("\nThe app's --trace-gc log:")?;
            for report in &reports {
                crate::gc_report::print_process(report)?;
            }
        }
    }
    Ok(if leaks > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One plain full GC, like `global.gc()` under `--expose-gc`. Cheaper for
/// the target than `HeapProfiler.collectGarbage`, whose memory-reducing GCs
/// also drop compiled code: measured 4.4 % more CPU per request under load
/// against 0.2 % for this (BENCHMARKS.md). The `gc` function comes from a
/// fresh context created while the flag is briefly on; it is kept under a
/// symbol so later probes reuse it.
const FULL_GC: &str = r#"(() => {
  const key = Symbol.for('leakscope.gc');
  if (!globalThis[key]) {
    const v8 = require('v8');
    v8.setFlagsFromString('--expose-gc');
    globalThis[key] = require('vm').runInNewContext('gc');
    v8.setFlagsFromString('--no-expose-gc');
  }
  globalThis[key]();
})()"#;

/// Minor GCs since the last status line.
#[derive(Default)]
struct MinorTally {
    count: u64,
    max_pause_ms: f64,
}

async fn watch(target: &Attached, args: &Args) -> anyhow::Result<u64> {
    let client = &target.client;
    let metrics = Arc::new(metrics::Metrics::new());
    if let Some(addr) = args.prometheus {
        metrics::serve(addr, metrics.clone()).await?;
        if !args.json {
            eprintln!("serving OpenMetrics on http://{addr}/metrics");
        }
    }
    GcWatch::install(client).await?;
    let mut detector = Detector::new(Config {
        consecutive: args.consecutive,
        warmup_ms: args.warmup.as_secs_f64() * 1000.0,
        min_growth: args.min_growth,
        probe_every_ms: args.probe_every.as_secs_f64() * 1000.0,
        ..Config::default()
    });
    if !args.json {
        eprintln!(
            "watching GCs of PID {} ({}); Ctrl-C to stop",
            target.pid,
            args.duration.map_or("until Ctrl-C".to_owned(), |d| format!(
                "for {}",
                humantime::format_duration(d)
            ))
        );
    }
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let mut status = tokio::time::interval(Duration::from_secs(5));
    status.tick().await;
    let mut minor = MinorTally::default();
    let mut leaks = 0u64;
    // The detector says how long after a full GC a probe is due; checked
    // four times a second, so a due probe is never a whole interval late.
    let mut probe = tokio::time::interval(Duration::from_millis(250));
    probe.tick().await;
    let mut last_full_gc = Instant::now();
    let mut latest_used = 0u64;
    let start = Instant::now();
    loop {
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = client.next_event() => {
                let event = event.ok_or(InspectorError::Closed)?;
                let Some(gc) = GcWatch::parse(&event) else { continue };
                let kind = GcKind::from_perf_hooks(gc.kind);
                metrics.record_gc(&gc, kind.as_str());
                let sample = GcSample {
                    at_ms: gc.start_ms + gc.duration_ms,
                    kind,
                    pause_ms: gc.duration_ms,
                    heap_used: gc.used,
                    forced: gc.flags & (4 | 16) != 0,
                };
                let observation = detector.observe(&sample);
                latest_used = gc.used;
                if kind == GcKind::Major {
                    last_full_gc = Instant::now();
                }
                if args.json {
                    print_json_gc(&gc, kind)?;
                    if let Some(stats) = observation.stats {
                        outln!("{}", serde_json::to_string(&Line::Stats(stats))?)?;
                    }
                } else if kind == GcKind::Major {
                    print_major(&gc)?;
                } else {
                    minor.count += 1;
                    minor.max_pause_ms = minor.max_pause_ms.max(gc.duration_ms);
                }
                for leak in &observation.leaks {
                    leaks += 1;
                    metrics.record_leak();
                    if args.json {
                        outln!("{}", serde_json::to_string(&Line::Leak(leak))?)?;
                    } else {
                        outln!("LEAK  {} (grew {})", leak.reason, size(leak.growth.max(0) as u64))?;
                    }
                    if let Some(dir) = &args.snapshot_on_leak {
                        let path = dir.join(format!("leak-{}-{leaks}.heapsnapshot", target.pid));
                        let bytes = crate::capture::capture(client, &path, Default::default(), true).await?.bytes;
                        if args.json {
                            outln!("{}", serde_json::to_string(&Line::Snapshot { path: &path, bytes })?)?;
                        } else {
                            outln!("      snapshot written to {} ({})", path.display(), size(bytes))?;
                        }
                    }
                }
            }
            _ = status.tick(), if !args.json => {
                let s = detector.stats();
                outln!(
                    "{:>6.0}s  {} minor GCs (max pause {:.1} ms); {} full GCs so far, heap after last {}",
                    start.elapsed().as_secs_f64(),
                    minor.count,
                    minor.max_pause_ms,
                    s.num_full_gc,
                    if s.num_full_gc > 0 { size(s.current_base) } else { "-".to_owned() }
                )?;
                minor = MinorTally::default();
            }
            _ = probe.tick() => {
                let Some(after_ms) = detector.probe_after_ms() else { continue };
                let base = detector.stats().current_base;
                if last_full_gc.elapsed().as_secs_f64() * 1000.0 >= after_ms
                    && latest_used > base.saturating_add(args.min_growth / 2)
                {
                    client.evaluate(FULL_GC, false).await?;
                    last_full_gc = Instant::now();
                }
            }
            _ = sleep => break,
        }
    }
    if args.json {
        let summary = Line::Summary {
            stats: detector.stats(),
            growth: detector.growth(),
            leak_events: leaks,
        };
        outln!("{}", serde_json::to_string(&summary)?)?;
    } else {
        let s = detector.stats();
        outln!(
            "done: {} full and {} other GCs; heap after full GC {}, trend {}; {} leak event{}",
            s.num_full_gc,
            s.num_inc_gc,
            detector.growth().map_or_else(
                || format!("{} .. {}", size(s.min), size(s.max)),
                |g| growth_text(&g)
            ),
            signed_size(s.usage_trend),
            leaks,
            if leaks == 1 { "" } else { "s" }
        )?;
    }
    Ok(leaks)
}

/// "146.6 MB → 432.3 MB in 20s (+285.7 MB, 51423 MB/hour)": the first
/// measurement after warm-up to the last, the growth a user reads first.
fn growth_text(g: &Growth) -> String {
    format!(
        "{} → {} in {} ({}, {:.0} MB/hour)",
        size(g.start_heap),
        size(g.end_heap),
        humantime::format_duration(Duration::from_secs(
            ((g.end_ms - g.start_ms) / 1000.0).round() as u64
        )),
        signed_size(g.bytes as f64),
        g.mb_per_hour
    )
}

fn signed_size(bytes: f64) -> String {
    format!(
        "{}{}",
        if bytes < 0.0 { "-" } else { "+" },
        size(bytes.abs() as u64)
    )
}

fn print_json_gc(gc: &GcReport, kind: GcKind) -> anyhow::Result<()> {
    let line = Line::Gc {
        at_ms: gc.start_ms,
        kind: kind.as_str(),
        pause_ms: gc.duration_ms,
        heap_used: gc.used,
        heap_total: gc.total,
        heap_limit: gc.limit,
        external: gc.external,
        spaces: gc
            .spaces
            .iter()
            .map(|(space, used, size)| SpaceLine {
                space,
                used: *used,
                size: *size,
            })
            .collect(),
        eventloop_delay_p99_ms: gc.eld.get(5).copied().unwrap_or(0.0) / 1e6,
    };
    outln!("{}", serde_json::to_string(&line)?)?;
    Ok(())
}

fn print_major(gc: &GcReport) -> anyhow::Result<()> {
    let space = |name: &str| {
        gc.spaces
            .iter()
            .find(|s| s.0 == name)
            .map_or_else(|| "-".to_owned(), |s| size(s.1))
    };
    let p99 = gc.eld.get(5).copied().unwrap_or(0.0);
    outln!(
        "major GC {:>7.1} ms  heap {} / {}  new {}  old {}  code {}  large {}  loop delay p99 {:.1} ms",
        gc.duration_ms,
        size(gc.used),
        size(gc.total),
        space("new_space"),
        space("old_space"),
        space("code_space"),
        space("large_object_space"),
        if p99 < 1e15 { p99 / 1e6 } else { 0.0 }
    )?;
    Ok(())
}
