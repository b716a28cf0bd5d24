//! The single-file HTML report: inline CSS and SVG, no script, no network.

use std::fmt::Write;

use leakscope_report::hunt::LoadMode;

use leakscope_report::HuntReport as Hunt;

use super::plots;
use crate::finding_view;
use crate::output::{html_escape as esc, size};

pub fn render(h: &Hunt) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>leakscope hunt: {}</title><style>{}</style></head><body>",
        esc(&h.target),
        finding_view::STYLE
    );
    let driven = how_driven(h);
    let _ = write!(o, "<h1>leakscope hunt</h1><p>Target: <code>{}</code> (PID {}), {driven}, in {:.0} s. Allocation tracking: {}.</p>",
        esc(&h.target), h.pid, h.seconds, esc(&crate::hints::tracking(&h.tracking.why)));
    for t in &h.threads {
        let heaps: Vec<String> = t.heap_used.iter().map(|&b| size(b)).collect();
        let _ = write!(
            o,
            "<p class=thread>Heap of {} after GC: {}{}</p>",
            esc(&t.thread),
            heaps.join(" → "),
            if t.judged { "" } else { " (not judged)" }
        );
    }
    verdict_html(&mut o, h);
    findings_html(&mut o, h);
    heap_html(&mut o, h);
    if let Some(processes) = &h.gc_log {
        o.push_str("<h2>The app's --trace-gc log</h2>");
        for p in processes {
            let _ = write!(o, "<p id=gc-log>PID {}: {} GCs, {:.2}% of the time in GC pauses. <b>{}</b></p><table><tr><th>kind</th><th>count</th><th>p50</th><th>p99</th><th>max</th></tr>",
                p.pid, p.gcs, p.gc_time_share * 100.0, esc(&p.verdict.summary));
            for k in &p.kinds {
                let _ = write!(o, "<tr><td>{}</td><td class=n>{}</td><td class=n>{:.2} ms</td><td class=n>{:.2} ms</td><td class=n>{:.2} ms</td></tr>",
                    k.kind.as_str(), k.count, k.pause_p50_ms, k.pause_p99_ms, k.pause_max_ms);
            }
            o.push_str("</table>");
        }
    }
    if let Some(findings) = &h.jit {
        o.push_str("<h2 id=jit>The JIT during round 1</h2>");
        o.push_str(&crate::jit_view::section(findings));
    }
    o.push_str("<p><small>Made by leakscope. Objects count as leaked when every round added to them at a steady rate (per request, or per second without counted requests), in snapshots taken after a forced GC.</small></p></body></html>\n");
    o
}

/// How the rounds were driven, in one clause.
fn how_driven(h: &Hunt) -> String {
    match h.load {
        LoadMode::Http => {
            let per_round: Vec<String> = h
                .rounds
                .iter()
                .map(|r| r.round.requests.to_string())
                .collect();
            format!(
            "load at <code>{}</code>: {} warm-up requests, then {} rounds ({} requests) on {} connections, {:.0} req/s",
            esc(h.url.as_deref().unwrap_or_default()),
            h.warmup.requests,
            h.rounds.len(),
            per_round.join(", "),
            h.concurrency.unwrap_or_default(),
            h.requests_per_second.unwrap_or_default()
        )
        }
        LoadMode::Command => format!(
            "load by <code>{}</code>: one warm-up run, then {} rounds",
            esc(h.load_command.as_deref().unwrap_or_default()),
            h.rounds.len()
        ),
        LoadMode::None => format!(
            "no load: {} rounds of the process's own work",
            h.rounds.len()
        ),
    }
}

/// Notes, warnings and the verdict.
fn verdict_html(o: &mut String, h: &Hunt) {
    let leak = !h.findings.is_empty();
    for note in &h.notes {
        let _ = write!(o, "<p>Note: {}</p>", esc(note));
    }
    let warnings = h.warnings.iter().map(|w| crate::hints::warning(w));
    for warning in warnings.chain(h.source_maps.warnings.iter().cloned()) {
        let _ = write!(o, "<p class=warning>Warning: {}</p>", esc(&warning));
    }
    if leak {
        let _ = write!(
            o,
            "<p class='verdict leak' id=verdict>Leak found: {} finding(s). The largest: {}.</p>",
            h.findings.len(),
            esc(&h.findings[0].holder)
        );
    } else {
        let _ = write!(
            o,
            "<p class='verdict clean' id=verdict>{}</p>",
            esc(&h.verdict)
        );
    }
}

/// Each finding, and where the kept memory was allocated.
fn findings_html(o: &mut String, h: &Hunt) {
    let leak = !h.findings.is_empty();
    let rate = h
        .requests_per_second
        .map(|rate| format!("at {rate:.0} req/s"));
    for (i, f) in h.findings.iter().enumerate() {
        finding_view::html(o, i, f, rate.as_deref());
    }
    if leak && !h.sampled_allocations.is_empty() {
        o.push_str("<h2>Where the kept memory was allocated</h2><p>Sampling heap profiler, from the baseline to the end: allocations still alive, by the application's frames (innermost first).</p><table><tr><th>bytes</th><th>stack</th></tr>");
        for s in &h.sampled_allocations {
            let _ = write!(
                o,
                "<tr><td class=n>{}</td><td><code>{}</code></td></tr>",
                size(s.bytes),
                esc(&s.frames.join(" ← "))
            );
        }
        o.push_str("</table>");
    }
}

/// The rounds' table and the heap and pause plots.
fn heap_html(o: &mut String, h: &Hunt) {
    o.push_str("<h2>Heap</h2><table><tr><th>snapshot</th><th>seconds</th><th>requests</th><th>req/s</th><th>p99</th><th>errors</th><th>heap after GC</th></tr>");
    for (r, round) in h.rounds.iter().enumerate() {
        let _ = write!(o, "<tr><td>round {}</td><td class=n>{:.1}</td><td class=n>{}</td><td class=n>{:.0}</td><td class=n>{:.1} ms</td><td class=n>{}</td><td class=n>{}</td></tr>",
            r + 1, round.round.seconds, round.round.requests, round.round.requests as f64 / round.round.seconds.max(1e-9), round.p99_ms, round.errors, size(round.heap_used));
    }
    o.push_str("</table>");
    let _ = write!(
        o,
        "<figure id=plot-heap>{}</figure>",
        plots::heap_after_gc(h)
    );
    let _ = write!(o, "<figure id=plot-pauses>{}</figure>", plots::gc_pauses(h));
    if !h.growing_classes.is_empty() {
        let _ = write!(
            o,
            "<h2>Growing classes</h2><figure id=plot-classes>{}</figure>",
            plots::class_growth(h)
        );
        finding_view::growing_classes_html(o, &h.growing_classes);
    }
}
