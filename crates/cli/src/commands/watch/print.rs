//! What `watch` prints of a watched process's events: JSON lines, or the
//! terminal's lines.

use std::path::PathBuf;
use std::time::Duration;

use leakscope_gctrend::{GcKind, Growth, LeakEvent, Stats};
use leakscope_inspector::GcReport;
use leakscope_watch::Event;
use serde::Serialize;

use crate::output::size;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Line<'a> {
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
    Stats {
        #[serde(flatten)]
        stats: &'a Stats,
        growth: &'a Option<Growth>,
        gc_time_ratio: f64,
    },
    Leak(&'a LeakEvent),
    SnapshotStarting {
        heap_used: u64,
        pause_secs: f64,
        extra_memory: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        available_memory: Option<u64>,
    },
    Snapshot {
        path: &'a PathBuf,
        bytes: u64,
        deleted: &'a [PathBuf],
    },
    SnapshotSkipped {
        reason: &'a str,
    },
    /// The last line of one process's watch: what the terminal's `done:`
    /// line says.
    Summary {
        stats: Stats,
        growth: Option<Growth>,
        leak_events: u64,
    },
}

#[derive(Serialize)]
pub struct SpaceLine<'a> {
    space: &'a str,
    used: u64,
    size: u64,
}

/// A line about one of several processes.
#[derive(Serialize)]
pub struct Tagged<'a> {
    pub pid: u32,
    #[serde(flatten)]
    pub line: Line<'a>,
}

impl<'a> Line<'a> {
    pub fn of(event: &'a Event) -> Line<'a> {
        match event {
            Event::Gc { report, kind } => gc_line(report, *kind),
            Event::Stats {
                stats,
                growth,
                gc_time_ratio,
            } => Line::Stats {
                stats,
                growth,
                gc_time_ratio: *gc_time_ratio,
            },
            Event::Leak(leak) => Line::Leak(leak),
            Event::SnapshotStarting { estimate } => Line::SnapshotStarting {
                heap_used: estimate.heap_used,
                pause_secs: estimate.pause_seconds,
                extra_memory: estimate.extra_memory,
                available_memory: estimate.available_memory,
            },
            Event::Snapshot {
                path,
                bytes,
                deleted,
            } => Line::Snapshot {
                path,
                bytes: *bytes,
                deleted,
            },
            Event::SnapshotSkipped { reason } => Line::SnapshotSkipped { reason },
        }
    }
}

fn gc_line(gc: &GcReport, kind: GcKind) -> Line<'_> {
    Line::Gc {
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
        eventloop_delay_p99_ms: loop_delay_p99_ms(gc),
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

/// The terminal's lines for the events worth a line of their own (leaks
/// and snapshots), prefixed with `who` when watching several processes.
pub fn event_text(event: &Event, who: &str) -> Option<String> {
    Some(match event {
        Event::Leak(leak) => format!(
            "LEAK  {who}{} (grew {})",
            leak.reason,
            size(leak.growth.max(0) as u64)
        ),
        Event::SnapshotStarting { estimate } => format!(
            "      {who}writing a heap snapshot: {}",
            estimate.describe()
        ),
        Event::Snapshot {
            path,
            bytes,
            deleted,
        } => {
            let mut text = format!(
                "      {who}snapshot written to {} ({})",
                path.display(),
                size(*bytes)
            );
            if !deleted.is_empty() {
                text += &format!(
                    "; deleted {} older snapshot{} to stay under the disk cap",
                    deleted.len(),
                    if deleted.len() == 1 { "" } else { "s" }
                );
            }
            text
        }
        Event::SnapshotSkipped { reason } => format!("      {who}{reason}"),
        Event::Gc { .. } | Event::Stats { .. } => return None,
    })
}

/// "146.6 MB → 432.3 MB in 20s (+285.7 MB, 51423 MB/hour)": the first
/// measurement after warm-up to the last, the growth a user reads first.
pub fn growth_text(g: &Growth) -> String {
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

pub fn signed_size(bytes: f64) -> String {
    format!(
        "{}{}",
        if bytes < 0.0 { "-" } else { "+" },
        size(bytes.abs() as u64)
    )
}

pub fn print_major(gc: &GcReport) -> anyhow::Result<()> {
    let space = |name: &str| {
        gc.spaces
            .iter()
            .find(|s| s.0 == name)
            .map_or_else(|| "-".to_owned(), |s| size(s.1))
    };
    outln!(
        "major GC {:>7.1} ms  heap {} / {}  new {}  old {}  code {}  large {}  loop delay p99 {:.1} ms",
        gc.duration_ms,
        size(gc.used),
        size(gc.total),
        space("new_space"),
        space("old_space"),
        space("code_space"),
        space("large_object_space"),
        loop_delay_p99_ms(gc)
    )?;
    Ok(())
}
