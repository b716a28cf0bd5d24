//! `watch --json`'s lines from the watcher's events.

use leakscope_gctrend::{Growth, Stats};
use leakscope_inspector::GcReport;
use leakscope_report::watch::{self as doc, WatchEvent};
use leakscope_watch::watcher::{Event, Summary as WatchSummary};

/// A watched process's event as its line's event.
pub fn watch_event(event: &Event) -> WatchEvent {
    match event {
        Event::Gc { report, kind } => gc(report, kind.as_str()),
        Event::Stats {
            stats: s,
            growth: g,
            gc_time_ratio,
        } => WatchEvent::Stats {
            stats: stats(s),
            growth: g.as_ref().map(growth),
            gc_time_ratio: *gc_time_ratio,
        },
        Event::Leak(leak) => WatchEvent::Leak {
            rule: serde_json::to_value(leak.rule)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            start_ms: leak.start_ms,
            end_ms: leak.end_ms,
            growth: leak.growth,
            mb_per_hour: leak.mb_per_hour,
            reason: leak.reason.clone(),
        },
        Event::SnapshotStarting { estimate } => WatchEvent::SnapshotStarting {
            heap_used: estimate.heap_used,
            pause_secs: estimate.pause_seconds,
            extra_memory: estimate.extra_memory,
            available_memory: estimate.available_memory,
        },
        Event::Snapshot {
            path,
            bytes,
            deleted,
        } => WatchEvent::Snapshot {
            path: path.clone(),
            bytes: *bytes,
            deleted: deleted.clone(),
        },
        Event::SnapshotSkipped { reason } => WatchEvent::SnapshotSkipped {
            reason: reason.clone(),
        },
    }
}

/// The last line of one process's watch.
pub fn watch_summary(summary: &WatchSummary) -> WatchEvent {
    WatchEvent::Summary {
        stats: stats(&summary.stats),
        growth: summary.growth.as_ref().map(growth),
        leak_events: summary.leak_events,
    }
}

/// The event loop's p99 delay since the previous GC; 0 before a sample.
pub fn loop_delay_p99_ms(gc: &GcReport) -> f64 {
    let p99 = gc.eld.get(5).copied().unwrap_or(0.0);
    if p99 < 1e15 {
        p99 / 1e6
    } else {
        0.0
    }
}

fn gc(gc: &GcReport, kind: &str) -> WatchEvent {
    WatchEvent::Gc {
        at_ms: gc.start_ms,
        kind: kind.to_owned(),
        pause_ms: gc.duration_ms,
        heap_used: gc.used,
        heap_total: gc.total,
        heap_limit: gc.limit,
        external: gc.external,
        spaces: gc
            .spaces
            .iter()
            .map(|(space, used, size)| doc::Space {
                space: space.clone(),
                used: *used,
                size: *size,
            })
            .collect(),
        eventloop_delay_p99_ms: loop_delay_p99_ms(gc),
    }
}

fn stats(s: &Stats) -> doc::Stats {
    doc::Stats {
        num_full_gc: s.num_full_gc,
        num_inc_gc: s.num_inc_gc,
        heap_compactions: s.heap_compactions,
        usage_trend: s.usage_trend,
        estimated_base: s.estimated_base,
        current_base: s.current_base,
        min: s.min,
        max: s.max,
    }
}

fn growth(g: &Growth) -> doc::Growth {
    doc::Growth {
        start_ms: g.start_ms,
        end_ms: g.end_ms,
        start_heap: g.start_heap,
        end_heap: g.end_heap,
        bytes: g.bytes,
        mb_per_hour: g.mb_per_hour,
    }
}
