//! What `watch` prints of a watched process's events on a terminal (its
//! `--json` lines are `leakscope-report`'s `WatchLine`s).

use std::time::Duration;

use leakscope_gctrend::Growth;
use leakscope_inspector::GcReport;
use leakscope_watch::Event;

use crate::output::size;

pub use leakscope_usecase::report::loop_delay_p99_ms;

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
