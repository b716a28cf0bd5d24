//! The hunt's terminal report.

use std::path::Path;

use leakscope_report::hunt::{LoadMode, Memory};

use crate::finding_view;
use crate::output::{ellipsize, size};
use leakscope_report::HuntReport as Hunt;

/// "5.5 MB → 6.3 MB → 6.9 MB" for one measure, baseline first.
fn series(h: &Hunt, measure: fn(&Memory) -> u64) -> String {
    std::iter::once(&h.baseline_memory)
        .chain(h.rounds.iter().map(|r| &r.memory))
        .map(|m| size(measure(m)))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// "at http://…: 1500 warm-up requests, then 3 rounds (3000, 3000, 3000
/// requests) …", as the rounds were driven.
fn how_driven(h: &Hunt) -> String {
    let seconds = |h: &Hunt| -> Vec<String> {
        h.rounds
            .iter()
            .map(|r| format!("{:.1} s", r.round.seconds))
            .collect()
    };
    match h.load {
        LoadMode::Http => {
            let per_round: Vec<String> = h
                .rounds
                .iter()
                .map(|r| r.round.requests.to_string())
                .collect();
            format!(
                "{} warm-up requests, then {} rounds ({} requests) at {}, {:.0} req/s",
                h.warmup.requests,
                h.rounds.len(),
                per_round.join(", "),
                h.url.as_deref().unwrap_or_default(),
                h.requests_per_second.unwrap_or_default()
            )
        }
        LoadMode::Command => format!(
            "load by `{}`{}: one warm-up run, then {} rounds ({})",
            h.load_command.as_deref().unwrap_or_default(),
            h.url
                .as_deref()
                .map(|u| format!(" ({{url}} = {u})"))
                .unwrap_or_default(),
            h.rounds.len(),
            seconds(h).join(", ")
        ),
        LoadMode::None => format!(
            "no load: {} rounds of the process's own work ({})",
            h.rounds.len(),
            seconds(h).join(", ")
        ),
    }
}

pub fn print(h: &Hunt, report: Option<&Path>) -> anyhow::Result<()> {
    print_run(h)?;
    print_verdict(h)?;
    print_findings(h)?;
    print_sampled(h)?;
    print_sections(h, report)
}

/// How the target was driven and how its memory went, round by round.
fn print_run(h: &Hunt) -> anyhow::Result<()> {
    outln!(
        "\nHunted in {} (PID {}): {}, in {:.0} s",
        h.target,
        h.pid,
        how_driven(h),
        h.seconds
    )?;
    outln!(
        "Heap after GC, baseline then round by round: {}",
        series(h, |m| m.heap_used)
    )?;
    outln!(
        "Outside the JS heap (external): {}; process RSS: {}",
        series(h, |m| m.external),
        series(h, |m| m.rss)
    )?;
    for t in &h.threads {
        let heaps: Vec<String> = t.heap_used.iter().map(|&b| size(b)).collect();
        outln!(
            "Heap of {} after GC: {}{}",
            t.thread,
            heaps.join(" → "),
            if t.judged { "" } else { " (not judged)" }
        )?;
    }
    let rates: Vec<f64> = h.rounds.iter().map(|r| r.requests_per_second).collect();
    if let (Some(&first), Some(&last)) = (rates.first(), rates.last()) {
        if h.load == LoadMode::Http && last < first * 0.5 && !h.findings.is_empty() {
            outln!(
                "The app slowed down as it leaked: {:.0} → {:.0} req/s from the first round to the last",
                first,
                last
            )?;
        }
    }
    Ok(())
}

/// Notes, warnings, and the verdict with its confidence.
fn print_verdict(h: &Hunt) -> anyhow::Result<()> {
    for note in &h.notes {
        outln!("note: {note}")?;
    }
    let warnings = h.warnings.iter().map(|w| crate::hints::warning(w));
    for warning in warnings.chain(h.source_maps.warnings.iter().cloned()) {
        outln!("warning: {warning}")?;
    }
    if let Some(stopped) = &h.stopped_by {
        outln!("stopped: {stopped}")?;
    }
    if h.findings.is_empty() {
        let requests: u64 = h.rounds.iter().map(|r| r.round.requests).sum();
        let seconds: f64 = h.rounds.iter().map(|r| r.round.seconds).sum();
        let work = if h.load == LoadMode::Http {
            format!("{requests} requests")
        } else {
            format!("{seconds:.0} s")
        };
        let threads = if h.threads.iter().any(|t| t.judged) {
            " in any thread"
        } else {
            ""
        };
        outln!("\nNo leak: nothing grew steadily round after round{threads} ({work}).")?;
    }
    outln!(
        "Confidence: {} ({})",
        serde_json::to_value(h.confidence)?
            .as_str()
            .unwrap_or_default(),
        crate::hints::reason(&h.confidence_reason, &h.warnings)
    )?;
    Ok(())
}

/// Each finding: holder, growth, path, allocation site.
fn print_findings(h: &Hunt) -> anyhow::Result<()> {
    let cx = finding_view::Context {
        rate: h
            .requests_per_second
            .map(|rate| format!("at {rate:.0} req/s")),
        tracking: &crate::hints::tracking(&h.tracking.why),
        sampled_below: !h.sampled_allocations.is_empty(),
        retainers_hint: "leakscope retainers SNAPSHOT --id {id}, with --keep".to_owned(),
    };
    for (i, f) in h.findings.iter().enumerate() {
        finding_view::print(i, f, &cx)?;
    }
    Ok(())
}

/// What the sampling heap profiler saw kept, next to findings only.
fn print_sampled(h: &Hunt) -> anyhow::Result<()> {
    // Without a leak, what the sampler kept is noise (in-flight requests,
    // caches): only shown next to findings.
    if !h.findings.is_empty() && !h.sampled_allocations.is_empty() {
        outln!("\nAllocated since the baseline and still alive (sampling heap profiler, application frames):")?;
        for s in h.sampled_allocations.iter().take(4) {
            outln!(
                "  {:>10}  {}",
                size(s.bytes),
                ellipsize(&s.frames.join(" ← "), 200)
            )?;
        }
    }
    for t in &h.threads {
        if !h.findings.iter().any(|f| f.thread == t.thread) || t.sampled_allocations.is_empty() {
            continue;
        }
        outln!(
            "\nAllocated in {} since the baseline and still alive:",
            t.thread
        )?;
        for s in t.sampled_allocations.iter().take(4) {
            outln!(
                "  {:>10}  {}",
                size(s.bytes),
                ellipsize(&s.frames.join(" ← "), 200)
            )?;
        }
    }
    Ok(())
}

/// Growing classes, the GC log and JIT sections, and where things were kept.
fn print_sections(h: &Hunt, report: Option<&Path>) -> anyhow::Result<()> {
    finding_view::print_growing_classes(&h.growing_classes)?;
    if let Some(processes) = &h.gc_log {
        outln!("\nThe app's --trace-gc log:")?;
        for p in processes {
            crate::gc_report::print_process(p)?;
        }
    }
    if let Some(findings) = &h.jit {
        outln!("\nThe JIT during round 1 (`--jit`):")?;
        crate::jit_view::print(findings)?;
    }
    if let Some(report) = report {
        outln!("\nreport: {}", report.display())?;
    }
    if h.snapshots_kept {
        if let Some(dir) = h.snapshots.last().and_then(|last| last.parent()) {
            outln!(
                "snapshots kept in {}; explore them: leakscope serve {}",
                dir.display(),
                dir.join(super::SAVED_REPORT).display()
            )?;
        }
    }
    Ok(())
}
