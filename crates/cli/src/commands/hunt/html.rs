//! The single-file HTML report: inline CSS and SVG, no script, no network.

use std::fmt::Write;

use super::{plots, Hunt};
use crate::output::{html_escape as esc, size};

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
.verdict{padding:.8em 1em;border-radius:6px;font-weight:600}\
.leak{background:#fde2e1;color:#8a1c15}.clean{background:#e3f6e5;color:#1d5b25}\
.warning{background:#fff4d6;color:#6b4e00;padding:.5em 1em;border-radius:6px}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
ol.path{font-family:ui-monospace,monospace;font-size:.9em}ol.path li{margin:.1em 0}\
.finding{border:1px solid #e4b4b0;border-radius:6px;padding:.3em 1em 1em;margin:1em 0}\
code{background:#f4f4f4;padding:0 .25em}";

pub fn render(h: &Hunt) -> String {
    let mut o = String::new();
    let leak = !h.findings.is_empty();
    let _ = write!(
        o,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>leakscope hunt: {}</title><style>{STYLE}</style></head><body>",
        esc(&h.target)
    );
    let per_round: Vec<String> = h
        .rounds
        .iter()
        .map(|r| r.round.requests.to_string())
        .collect();
    let _ = write!(o, "<h1>leakscope hunt</h1><p>Target: <code>{}</code> (PID {}), load at <code>{}</code>: {} warm-up requests, then {} rounds ({} requests) on {} connections, {:.0} req/s, in {:.0} s. Allocation tracking: {}.</p>",
        esc(&h.target), h.pid, esc(&h.url), h.warmup.requests, h.rounds.len(),
        per_round.join(", "), h.concurrency, h.requests_per_second, h.seconds, esc(&h.tracking.why));
    for note in &h.notes {
        let _ = write!(o, "<p>Note: {}</p>", esc(note));
    }
    for warning in &h.warnings {
        let _ = write!(o, "<p class=warning>Warning: {}</p>", esc(warning));
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
            esc(h.verdict)
        );
    }
    for (i, f) in h.findings.iter().enumerate() {
        let _ = write!(
            o,
            "<div class=finding id=finding-{}><h2>Leak {}: {}</h2>",
            i + 1,
            i + 1,
            esc(&f.holder)
        );
        let _ = write!(o, "<p>Grows by <b>{}</b> per request ({:.2} objects), {:.0} MB/hour at {:.0} req/s. It holds <b>{}{} {}</b> (≈{:.2} per request).</p>",
            size(f.bytes_per_request.round() as u64), f.objects_per_request, f.mb_per_hour, h.requests_per_second,
            if f.chain { "a chain of " } else { "" }, f.leaked_items.count, esc(&f.leaked_items.name), f.leaked_items.per_request);
        if let Some(site) = &f.allocation {
            let _ = write!(
                o,
                "<p>Allocated: <code>{}</code> ({})</p>",
                esc(&site.stack.join(", ")),
                esc(&site.source)
            );
        }
        for function in &f.anonymous_functions {
            let _ = write!(o, "<p class=unnamed>{}</p>", esc(&function.advice));
        }
        o.push_str(
            "<table><tr><th>round</th><th>new objects alive at the end</th><th>bytes</th></tr>",
        );
        for (r, g) in f.per_round.iter().enumerate() {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                r + 1,
                g.objects,
                size(g.bytes)
            );
        }
        o.push_str("</table><table><tr><th>class</th><th>objects</th><th>per request</th><th>bytes</th></tr>");
        for c in f.classes.iter().take(8) {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{:.2}</td><td class=n>{}</td></tr>",
                esc(&c.name),
                c.count,
                c.per_request,
                size(c.bytes)
            );
        }
        o.push_str(
            "</table><p>Retaining path, from the GC roots to a leaked object:</p><ol class=path>",
        );
        for s in f.path_to_holder.iter().chain(&f.path_to_leaked) {
            let _ = write!(
                o,
                "<li>{} <b>{}</b> @{}</li>",
                esc(&s.edge),
                esc(&s.node),
                s.id
            );
        }
        o.push_str("</ol></div>");
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
    o.push_str("<h2>Heap</h2><table><tr><th>snapshot</th><th>requests</th><th>req/s</th><th>p99</th><th>errors</th><th>heap after GC</th></tr>");
    for (r, round) in h.rounds.iter().enumerate() {
        let _ = write!(o, "<tr><td>round {}</td><td class=n>{}</td><td class=n>{:.0}</td><td class=n>{:.1} ms</td><td class=n>{}</td><td class=n>{}</td></tr>",
            r + 1, round.round.requests, round.round.requests as f64 / round.round.seconds.max(1e-9), round.p99_ms, round.errors, size(round.heap_used));
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
        o.push_str("<table><tr><th>class</th><th>live count at each snapshot</th><th>per request</th></tr>");
        for c in &h.growing_classes {
            let counts: Vec<String> = c.counts.iter().map(u64::to_string).collect();
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=n>{:.2}</td></tr>",
                esc(&c.name),
                counts.join(" → "),
                c.per_request
            );
        }
        o.push_str("</table>");
    }
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
    o.push_str("<p><small>Made by leakscope. Objects count as leaked when every round of load added to them at a steady rate per request, in snapshots taken after a forced GC.</small></p></body></html>\n");
    o
}
