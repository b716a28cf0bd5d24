//! Watching one target (a PID, an inspector port or URL, or an app
//! leakscope launches): a line per full GC, a status line every few
//! seconds, and a `done:` line with the growth.

use std::sync::Arc;
use std::time::{Duration, Instant};

use leakscope_gctrend::GcKind;
use leakscope_watch::{watcher, Event, NodeProcess, ProcessLabels, Settings};

use leakscope_report::watch::{WatchEvent, WatchLine};
use leakscope_usecase::report;

use super::print;
use super::Args;
use crate::live::{block_on, with_target};
use crate::output::size;

/// Minor GCs since the last status line.
#[derive(Default)]
struct MinorTally {
    count: u64,
    max_pause_ms: f64,
}

/// Returns the number of leak events.
pub fn run(args: &Args, settings: Arc<Settings>, instance: String) -> anyhow::Result<u64> {
    let mut target = args.target.resolve()?;
    let gc_log = args
        .trace_gc
        .then(leakscope_usecase::target::GcLogSink::default);
    target.gc_log = gc_log.clone();
    let leaks = block_on(with_target(
        &target,
        async |attached| {
            let registry = super::serve_metrics(args).await?;
            let command = NodeProcess::of(attached.pid)
                .filter(|_| is_local(&attached.ws_url))
                .map_or_else(|| "node".to_owned(), |p| p.command);
            let mut metrics = registry.map(|r| {
                r.process(ProcessLabels {
                    instance,
                    pid: attached.pid.to_string(),
                    command,
                })
            });
            if !args.json {
                eprintln!(
                    "watching GCs of PID {} ({}); Ctrl-C to stop",
                    attached.pid,
                    args.duration.map_or("until Ctrl-C".to_owned(), |d| format!(
                        "for {}",
                        humantime::format_duration(d)
                    ))
                );
            }
            let stop = async {
                match args.duration {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            let start = Instant::now();
            let mut last_status = Instant::now();
            let mut minor = MinorTally::default();
            let mut latest = None;
            let mut sink = |event: Event| -> anyhow::Result<()> {
                if args.json {
                    let line = WatchLine::new(None, report::watch_event(&event));
                    outln!("{}", serde_json::to_string(&line)?)?;
                    return Ok(());
                }
                if let Event::Stats { stats, .. } = &event {
                    latest = Some(*stats);
                }
                if let Event::Gc { report, kind } = &event {
                    if *kind == GcKind::Major {
                        print::print_major(report)?;
                    } else {
                        minor.count += 1;
                        minor.max_pause_ms = minor.max_pause_ms.max(report.duration_ms);
                    }
                    if last_status.elapsed() >= Duration::from_secs(5) {
                        last_status = Instant::now();
                        outln!(
                            "{:>6.0}s  {} minor GCs (max pause {:.1} ms); {} full GCs so far, heap after last {}",
                            start.elapsed().as_secs_f64(),
                            minor.count,
                            minor.max_pause_ms,
                            latest.map_or(0, |s| s.num_full_gc),
                            latest.map_or_else(|| "-".to_owned(), |s| size(s.current_base))
                        )?;
                        minor = MinorTally::default();
                    }
                } else if let Some(text) = print::event_text(&event, "") {
                    outln!("{text}")?;
                }
                Ok(())
            };
            let mut sink = |event| sink(event).map_err(crate::output::sink_error);
            let summary =
                watcher::watch(attached, &settings, metrics.as_mut(), stop, &mut sink).await?;
            if args.json {
                let line = WatchLine::new(None, report::watch_summary(&summary));
                outln!("{}", serde_json::to_string(&line)?)?;
            } else {
                let s = summary.stats;
                let heap = if s.num_full_gc < 2 {
                    // Growth shows over full GCs, and V8 runs them only as
                    // the heap fills: too few is no verdict, not a clean one.
                    "too few full GCs to judge the heap (V8 runs them as it fills; watch longer)"
                        .to_owned()
                } else {
                    format!(
                        "heap after full GC {}, trend {}",
                        summary.growth.map_or_else(
                            || format!("{} .. {}", size(s.min), size(s.max)),
                            |g| print::growth_text(&g)
                        ),
                        print::signed_size(s.usage_trend)
                    )
                };
                outln!(
                    "done: {} full and {} other GCs; {heap}; {} leak event{}",
                    s.num_full_gc,
                    s.num_inc_gc,
                    summary.leak_events,
                    if summary.leak_events == 1 { "" } else { "s" }
                )?;
            }
            Ok(summary.leak_events)
        },
        async |client| watcher::remove_from(client).await,
    ))?;
    if let Some(sink) = gc_log {
        let lines = sink.lock().expect("not poisoned");
        let log = leakscope_gclog::read(&lines[..], &mut leakscope_inspector::Silent)?;
        let reports: Vec<_> = log
            .reports()
            .iter()
            .map(leakscope_usecase::report::gc_process)
            .collect();
        if args.json {
            for report in &reports {
                let line = WatchLine::new(
                    None,
                    WatchEvent::GcLog {
                        process: report.clone(),
                    },
                );
                outln!("{}", serde_json::to_string(&line)?)?;
            }
        } else if log.gc_lines > 0 {
            outln!("\nThe app's --trace-gc log:")?;
            for report in &reports {
                crate::gc_report::print_process(report)?;
            }
        }
    }
    Ok(leaks)
}

/// Whether an inspector URL points at this host, so `/proc` describes its
/// process.
fn is_local(ws_url: &str) -> bool {
    let host = ws_url.split("://").nth(1).unwrap_or_default();
    ["127.", "localhost", "[::1]"]
        .iter()
        .any(|prefix| host.starts_with(prefix))
}
