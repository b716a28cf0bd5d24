//! Watching several processes: a line when one comes, goes or leaks, and a
//! table with a row per process every ten seconds and at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leakscope_gctrend::GcKind;
use leakscope_watch::{Event, Fleet, FleetEvent, Selection, Settings};

use leakscope_report::watch::{WatchEvent, WatchLine};
use leakscope_usecase::report;

use super::print;
use super::Args;
use crate::live::{block_on, Interrupted};
use crate::output::{size, table};

/// One process's row.
struct Row {
    command: String,
    heap_after_full_gc: Option<u64>,
    mb_per_hour: Option<f64>,
    gc_time_ratio: f64,
    loop_p99_ms: f64,
    full_gcs: u64,
    leak_events: u64,
    state: String,
}

/// Returns the number of leak events over all processes.
pub fn run(args: &Args, settings: Arc<Settings>, instance: String) -> anyhow::Result<u64> {
    let selection = Selection {
        pids: args.target.pid.clone(),
        all: args.all,
        matcher: args.matcher.clone(),
    };
    let mut rows: BTreeMap<u32, Row> = BTreeMap::new();
    let mut last_table = Instant::now();
    let json = args.json;
    let interrupted = std::cell::Cell::new(false);
    block_on(async {
        let metrics = super::serve_metrics(args).await?;
        if !json {
            eprintln!(
                "watching {}; Ctrl-C to stop",
                match (&selection.all, &selection.matcher) {
                    (true, Some(m)) => format!("every Node process of this user matching /{m}/"),
                    (true, None) => "every Node process of this user".to_owned(),
                    _ => format!("{} processes", selection.pids.len()),
                }
            );
        }
        let stop = async {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut terminate) = signal(SignalKind::terminate()) else {
                return;
            };
            let deadline = async {
                match args.duration {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = deadline => {}
                _ = tokio::signal::ctrl_c() => interrupted.set(true),
                _ = terminate.recv() => interrupted.set(true),
            }
        };
        let mut sink = |event: FleetEvent| -> anyhow::Result<()> {
            if json {
                print_json(&event)?;
            } else {
                print_text(&event, &rows)?;
            }
            update(&mut rows, event);
            if !json && last_table.elapsed() >= Duration::from_secs(10) {
                last_table = Instant::now();
                print_table(&rows)?;
            }
            Ok(())
        };
        let fleet = Fleet {
            selection: selection.clone(),
            settings,
            metrics,
            instance,
        };
        let mut sink = |event| sink(event).map_err(crate::output::sink_error);
        fleet.run(stop, &mut sink).await?;
        anyhow::Ok(())
    })?;
    let leak_events = rows.values().map(|r| r.leak_events).sum();
    if json {
        let line = WatchLine::new(
            None,
            WatchEvent::FleetSummary {
                processes: rows.len() as u64,
                leaking: rows.values().filter(|r| r.leak_events > 0).count() as u64,
                leak_events,
            },
        );
        outln!("{}", serde_json::to_string(&line)?)?;
    } else {
        print_table(&rows)?;
        outln!(
            "done: {} process{} watched, {} with leak events ({} in all)",
            rows.len(),
            if rows.len() == 1 { "" } else { "es" },
            rows.values().filter(|r| r.leak_events > 0).count(),
            leak_events
        )?;
    }
    if interrupted.get() {
        return Err(Interrupted.into());
    }
    Ok(leak_events)
}

fn update(rows: &mut BTreeMap<u32, Row>, event: FleetEvent) {
    match event {
        FleetEvent::Attached { process, .. } => {
            rows.insert(
                process.pid,
                Row {
                    command: process.command,
                    heap_after_full_gc: None,
                    mb_per_hour: None,
                    gc_time_ratio: 0.0,
                    loop_p99_ms: 0.0,
                    full_gcs: 0,
                    leak_events: 0,
                    state: "watching".to_owned(),
                },
            );
        }
        FleetEvent::AttachFailed { .. } => {}
        FleetEvent::Process { pid, event } => {
            let Some(row) = rows.get_mut(&pid) else {
                return;
            };
            match event {
                Event::Gc { report, kind } => {
                    row.loop_p99_ms = print::loop_delay_p99_ms(&report);
                    if kind == GcKind::Major {
                        row.heap_after_full_gc = Some(report.used);
                    }
                }
                Event::Stats {
                    stats,
                    growth,
                    gc_time_ratio,
                } => {
                    row.full_gcs = stats.num_full_gc;
                    row.mb_per_hour = growth.map(|g| g.mb_per_hour);
                    row.gc_time_ratio = gc_time_ratio;
                }
                Event::Leak(_) => {
                    row.leak_events += 1;
                    row.state = "LEAK".to_owned();
                }
                _ => {}
            }
        }
        FleetEvent::Detached { pid, reason, .. } => {
            if let (Some(row), Some(reason)) = (rows.get_mut(&pid), reason) {
                row.state = if reason == "exited" {
                    "exited".to_owned()
                } else {
                    "failed".to_owned()
                };
            }
        }
    }
}

fn print_json(event: &FleetEvent) -> anyhow::Result<()> {
    let (pid, event) = match event {
        FleetEvent::Attached {
            process,
            opened_inspector,
        } => (
            process.pid,
            WatchEvent::Attached {
                command: process.command.clone(),
                cmdline: process.cmdline.clone(),
                opened_inspector: *opened_inspector,
            },
        ),
        FleetEvent::AttachFailed { process, error } => (
            process.pid,
            WatchEvent::AttachFailed {
                command: process.command.clone(),
                reason: crate::hints::inspector_error(error),
            },
        ),
        FleetEvent::Process { pid, event } => (*pid, report::watch_event(event)),
        FleetEvent::Detached {
            pid,
            reason,
            summary,
        } => (
            *pid,
            WatchEvent::Detached {
                reason: reason.clone(),
                summary: summary.as_ref().map(|s| Box::new(report::watch_summary(s))),
            },
        ),
    };
    outln!(
        "{}",
        serde_json::to_string(&WatchLine::new(Some(pid), event))?
    )?;
    Ok(())
}

fn print_text(event: &FleetEvent, rows: &BTreeMap<u32, Row>) -> anyhow::Result<()> {
    let who = |pid: &u32| {
        rows.get(pid).map_or_else(
            || format!("PID {pid}: "),
            |r| format!("PID {pid} ({}): ", r.command),
        )
    };
    match event {
        FleetEvent::Attached {
            process,
            opened_inspector,
        } => outln!(
            "+ PID {} ({}){}",
            process.pid,
            process.command,
            if *opened_inspector {
                ", its inspector opened (closed again at the end)"
            } else {
                ""
            }
        )?,
        FleetEvent::AttachFailed { process, error } => outln!(
            "! PID {} ({}) cannot be watched: {}",
            process.pid,
            process.command,
            crate::hints::inspector_error(error)
        )?,
        FleetEvent::Process { pid, event } => {
            if let Some(text) = print::event_text(event, &who(pid)) {
                outln!("{text}")?;
            }
        }
        FleetEvent::Detached {
            pid,
            reason: Some(reason),
            ..
        } => outln!("- {}{reason}", who(pid))?,
        FleetEvent::Detached { reason: None, .. } => {}
    }
    Ok(())
}

fn print_table(rows: &BTreeMap<u32, Row>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut t = table(&[
        "PID",
        "command",
        "heap after full GC",
        "MB/hour",
        "time in GC",
        "loop delay p99",
        "full GCs",
        "leak events",
        "state",
    ]);
    for (pid, r) in rows {
        t.add_row(vec![
            pid.to_string(),
            r.command.clone(),
            r.heap_after_full_gc.map_or("-".to_owned(), size),
            r.mb_per_hour.map_or("-".to_owned(), |m| format!("{m:.1}")),
            format!("{:.1} %", r.gc_time_ratio * 100.0),
            format!("{:.1} ms", r.loop_p99_ms),
            r.full_gcs.to_string(),
            r.leak_events.to_string(),
            r.state.clone(),
        ]);
    }
    outln!("{t}")?;
    Ok(())
}
