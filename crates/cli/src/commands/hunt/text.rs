//! The hunt's terminal report.

use std::path::Path;

use leakscope_hunt::session::Memory;

use super::Hunt;
use crate::output::{ellipsize, size};

/// "5.5 MB → 6.3 MB → 6.9 MB" for one measure, baseline first.
fn series(h: &Hunt, measure: fn(&Memory) -> u64) -> String {
    std::iter::once(&h.baseline_memory)
        .chain(h.rounds.iter().map(|r| &r.memory))
        .map(|m| size(measure(m)))
        .collect::<Vec<_>>()
        .join(" → ")
}

pub fn print(h: &Hunt, report: Option<&Path>) -> anyhow::Result<()> {
    let requests: u64 = h.rounds.iter().map(|r| r.round.requests).sum();
    let per_round: Vec<String> = h
        .rounds
        .iter()
        .map(|r| r.round.requests.to_string())
        .collect();
    outln!(
        "\nHunted in {} (PID {}): {} warm-up requests, then {} rounds ({} requests) at {}, {:.0} req/s, in {:.0} s",
        h.target,
        h.pid,
        h.warmup.requests,
        h.rounds.len(),
        per_round.join(", "),
        h.url,
        h.requests_per_second,
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
    let rates: Vec<f64> = h.rounds.iter().map(|r| r.requests_per_second).collect();
    if let (Some(&first), Some(&last)) = (rates.first(), rates.last()) {
        if last < first * 0.5 && !h.findings.is_empty() {
            outln!(
                "The app slowed down as it leaked: {:.0} → {:.0} req/s from the first round to the last",
                first,
                last
            )?;
        }
    }
    for note in &h.notes {
        outln!("note: {note}")?;
    }
    for warning in &h.warnings {
        outln!("warning: {warning}")?;
    }
    if let Some(stopped) = &h.stopped_by {
        outln!("stopped: {stopped}")?;
    }
    if h.findings.is_empty() {
        outln!("\nNo leak: nothing grew steadily round after round ({requests} requests).")?;
    }
    outln!(
        "Confidence: {} ({})",
        serde_json::to_value(h.confidence)?
            .as_str()
            .unwrap_or_default(),
        h.confidence_reason
    )?;
    for (i, f) in h.findings.iter().enumerate() {
        outln!(
            "\nLEAK {}: {} grows by {} per request ({:.0} MB/hour at {:.0} req/s)",
            i + 1,
            f.holder,
            size(f.bytes_per_request.round() as u64),
            f.mb_per_hour,
            h.requests_per_second
        )?;
        if f.leaked_items.count == 0 {
            outln!("  holds     {}, {}", f.leaked_items.name, size(f.bytes))?;
        } else {
            outln!(
                "  holds     {}{} {} (≈{:.2} per request), {} in {} new objects",
                if f.chain { "a chain of " } else { "" },
                f.leaked_items.count,
                f.leaked_items.name,
                f.leaked_items.per_request,
                size(f.bytes),
                f.objects
            )?;
        }
        if let Some(example) = &f.leaked_items.example {
            outln!("  e.g.      {}", ellipsize(example, 100))?;
        }
        let mut parts = Vec::new();
        if f.external_bytes > 0 {
            parts.push(format!(
                "{} outside the JS heap (ArrayBuffer backing stores)",
                size(f.external_bytes)
            ));
        }
        if f.storage_bytes > 0 {
            parts.push(format!(
                "{} the holder's own storage",
                size(f.storage_bytes)
            ));
        }
        if !parts.is_empty() {
            outln!("  of which  {}", parts.join(", "))?;
        }
        let retained: Vec<String> = f
            .classes
            .iter()
            .filter(|c| c.name != f.leaked_items.name)
            .take(4)
            .map(|c| format!("{} ≈{:.2}/request", c.name, c.per_request))
            .collect();
        if !retained.is_empty() {
            outln!("  retaining {}", retained.join(", "))?;
        }
        let per_round: Vec<String> = f
            .per_round
            .iter()
            .map(|r| format!("+{}", size(r.bytes)))
            .collect();
        outln!("  by round  {}", per_round.join(", "))?;
        outln!(
            "  evidence  {} (confidence {})",
            f.evidence,
            serde_json::to_value(f.confidence)?
                .as_str()
                .unwrap_or_default()
        )?;
        match &f.allocation {
            Some(site) => outln!("  allocated {} ({})", site.stack.join(", "), site.source)?,
            None => outln!(
                "  allocated unknown: no frame of the application's code (allocation tracking {}){}",
                h.tracking.why,
                if h.sampled_allocations.is_empty() {
                    ""
                } else {
                    "; see the sampled allocations below"
                }
            )?,
        }
        for function in &f.anonymous_functions {
            outln!("  unnamed   {}", function.advice)?;
        }
        let path: Vec<String> = f
            .path_to_holder
            .iter()
            .chain(&f.path_to_leaked)
            .map(|s| {
                if s.edge.is_empty() {
                    s.node.clone()
                } else {
                    format!("{} {}", s.edge, s.node)
                }
            })
            .collect();
        outln!("  path      {}", ellipsize(&path.join(" → "), 400))?;
        outln!(
            "  example   @{} (leakscope retainers SNAPSHOT --id {}, with --keep)",
            f.example_id,
            f.example_id
        )?;
    }
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
    if !h.growing_classes.is_empty() {
        outln!("\nClasses whose count rose at every snapshot:")?;
        for c in h.growing_classes.iter().take(8) {
            let counts: Vec<String> = c.counts.iter().map(u64::to_string).collect();
            outln!(
                "  {:<40} {}  (≈{:.2}/request)",
                ellipsize(&c.name, 40),
                counts.join(" → "),
                c.per_request
            )?;
        }
    }
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
