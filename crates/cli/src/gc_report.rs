//! A `--trace-gc` log's per-process report as text: what `gc-log` prints,
//! and what `hunt` and `watch --trace-gc` print of the launched app's log.

use leakscope_report::gc_log::ProcessReport;

use crate::output::ellipsize;

/// One process: GCs, pauses by kind, the verdict and the commonest reasons.
pub fn print_process(p: &ProcessReport) -> anyhow::Result<()> {
    let isolate = if p.isolate.is_empty() {
        String::new()
    } else {
        format!(" (isolate {})", p.isolate)
    };
    outln!(
        "\nPID {}{isolate}: {} GCs from {:.1} s to {:.1} s, {:.2}% of the time in GC pauses (mutator utilization {:.1}%)",
        p.pid,
        p.gcs,
        p.first_ms / 1e3,
        p.last_ms / 1e3,
        p.gc_time_share * 100.0,
        p.mutator_utilization * 100.0
    )?;
    let mut table = crate::output::table(&[
        "kind",
        "count",
        "pause total",
        "p50",
        "p99",
        "max",
        "heap before",
        "heap after",
        "after: first → last",
    ]);
    for k in &p.kinds {
        table.add_row(vec![
            k.kind.as_str().to_owned(),
            k.count.to_string(),
            format!("{:.1} ms", k.pause_total_ms),
            format!("{:.2} ms", k.pause_p50_ms),
            format!("{:.2} ms", k.pause_p99_ms),
            format!("{:.2} ms", k.pause_max_ms),
            format!("{:.1} MB", mb(k.heap_before_mean)),
            format!("{:.1} MB", mb(k.heap_after_mean)),
            format!(
                "{:.1} → {:.1} MB",
                mb(k.heap_after_first),
                mb(k.heap_after_last)
            ),
        ]);
    }
    outln!("{table}")?;
    let v = &p.verdict;
    let stats: Vec<String> = [
        v.fit_r2.map(|r2| format!("fit R² {r2:.2}")),
        v.trend_p.map(|p| format!("Mann–Kendall p {p:.3}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let fit = if stats.is_empty() {
        String::new()
    } else {
        format!(" ({})", stats.join(", "))
    };
    outln!("{}{fit}", v.summary)?;
    let reasons: Vec<String> = p
        .reasons
        .iter()
        .take(4)
        .map(|r| {
            format!(
                "{} {}: {}",
                r.kind.as_str(),
                ellipsize(&r.reason, 50),
                r.count
            )
        })
        .collect();
    if !reasons.is_empty() {
        outln!("reasons: {}", reasons.join("; "))?;
    }
    Ok(())
}

/// V8's megabytes, as the log prints them.
fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
