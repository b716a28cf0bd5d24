//! A leak finding as the terminal and the HTML report show it, shared by the
//! commands that judge snapshots (`hunt`, `find-leaks`).

use std::fmt::Write;

use leakscope_report::common::{ClassGrowth, Finding};

use crate::output::{ellipsize, html_escape as esc, size};

/// The reports' style sheet.
pub const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
.verdict{padding:.8em 1em;border-radius:6px;font-weight:600}\
.leak{background:#fde2e1;color:#8a1c15}.clean{background:#e3f6e5;color:#1d5b25}\
.warning{background:#fff4d6;color:#6b4e00;padding:.5em 1em;border-radius:6px}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
ol.path{font-family:ui-monospace,monospace;font-size:.9em}ol.path li{margin:.1em 0}\
.finding{border:1px solid #e4b4b0;border-radius:6px;padding:.3em 1em 1em;margin:1em 0}\
code{background:#f4f4f4;padding:0 .25em}";

/// What a finding's text depends on besides itself.
pub struct Context<'a> {
    /// "at 7330 req/s" after the MB/hour figure, when known.
    pub rate: Option<String>,
    /// Why allocation sites may be unknown (allocation tracking's state).
    pub tracking: &'a str,
    /// The sampled allocations are printed below the findings.
    pub sampled_below: bool,
    /// How to open the example object, e.g. "leakscope retainers
    /// SNAPSHOT --id 42, with --keep" (`{id}` is replaced).
    pub retainers_hint: String,
}

/// "865 B per request", "1.2 kB per second", or "2.6 MB per round".
pub fn growth_rate(f: &Finding) -> String {
    match (f.bytes_per_request, f.bytes_per_second) {
        (Some(b), _) => format!("{} per request", size(b.round() as u64)),
        (None, Some(b)) => format!("{} per second", size(b.round() as u64)),
        (None, None) => format!(
            "{} per round",
            size(f.bytes / f.per_round.len().max(1) as u64)
        ),
    }
}

/// "≈1.00 per request" or "≈16.3 per second" for a count's rate.
pub fn count_rate(per_request: Option<f64>, per_second: Option<f64>, short: bool) -> String {
    match (per_request, per_second, short) {
        (Some(r), _, false) => format!("≈{r:.2} per request"),
        (Some(r), _, true) => format!("≈{r:.2}/request"),
        (None, Some(s), false) => format!("≈{s:.1} per second"),
        (None, Some(s), true) => format!("≈{s:.1}/s"),
        (None, None, _) => String::new(),
    }
}

/// "LEAK 1, in worker 1 (jobs.js): " for findings off the main thread.
fn title(i: usize, f: &Finding) -> String {
    if f.thread == "main" {
        format!("LEAK {}: ", i + 1)
    } else {
        format!("LEAK {}, in {}: ", i + 1, f.thread)
    }
}

pub fn print(i: usize, f: &Finding, cx: &Context) -> anyhow::Result<()> {
    let hourly = match (f.mb_per_hour, &cx.rate) {
        (Some(mb), Some(rate)) => format!(" ({mb:.0} MB/hour {rate})"),
        (Some(mb), None) => format!(" ({mb:.1} MB/hour)"),
        (None, _) => String::new(),
    };
    outln!(
        "\n{}{} grows by {}{hourly}",
        title(i, f),
        f.holder,
        growth_rate(f)
    )?;
    for other in &f.held_together_with {
        outln!("  and       {other} (each keeps it alive: none alone would free it)")?;
    }
    if f.leaked_items.count == 0 {
        outln!("  holds     {}, {}", f.leaked_items.name, size(f.bytes))?;
    } else {
        let rate = count_rate(f.leaked_items.per_request, f.leaked_items.per_second, false);
        outln!(
            "  holds     {}{} {}{}, {}{}",
            if f.chain { "a chain of " } else { "" },
            f.leaked_items.count,
            f.leaked_items.name,
            if rate.is_empty() {
                String::new()
            } else {
                format!(" ({rate})")
            },
            size(f.bytes),
            if f.objects > 0 {
                format!(" in {} new objects", f.objects)
            } else {
                String::new()
            }
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
        .map(|c| {
            format!(
                "{} {}",
                c.name,
                count_rate(c.per_request, c.per_second, true)
            )
            .trim_end()
            .to_owned()
        })
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
        Some(site) => {
            outln!("  allocated {} ({})", site.stack.join(", "), site.source)?;
            if let Some(code) = &site.code {
                outln!("  code      {}", ellipsize(code, 120))?;
            }
        }
        None => outln!(
            "  allocated unknown: no frame of the application's code (allocation tracking {}){}",
            cx.tracking,
            if cx.sampled_below {
                "; see the sampled allocations below"
            } else {
                ""
            }
        )?,
    }
    for function in &f.anonymous_functions {
        outln!("  unnamed   {}", function.advice)?;
    }
    let path = f.path_text();
    if !path.is_empty() {
        outln!("  path      {}", ellipsize(&path, 400))?;
    }
    if f.example_id != 0 {
        outln!(
            "  example   @{} ({})",
            f.example_id,
            cx.retainers_hint.replace("{id}", &f.example_id.to_string())
        )?;
    }
    Ok(())
}

/// The finding as a block of the HTML report (`rate` as in [`Context`]).
pub fn html(o: &mut String, i: usize, f: &Finding, rate: Option<&str>) {
    let _ = write!(
        o,
        "<div class=finding id=finding-{}><h2>Leak {}: {}</h2>",
        i + 1,
        i + 1,
        esc(&f.holder)
    );
    if f.thread != "main" {
        let _ = write!(
            o,
            "<p class=thread>In the heap of <b>{}</b>.</p>",
            esc(&f.thread)
        );
    }
    for other in &f.held_together_with {
        let _ = write!(
            o,
            "<p class=together>Also kept by <b>{}</b>: each holder keeps it alive, none alone would free it.</p>",
            esc(other)
        );
    }
    let objects = match (f.objects_per_request, f.objects_per_second) {
        (Some(r), _) => format!(" ({r:.2} objects)"),
        (None, Some(s)) => format!(" ({s:.1} objects)"),
        (None, None) => String::new(),
    };
    let hourly = match (f.mb_per_hour, rate) {
        (Some(mb), Some(rate)) => format!(", {mb:.0} MB/hour {}", esc(rate)),
        (Some(mb), None) => format!(", {mb:.1} MB/hour"),
        (None, _) => String::new(),
    };
    let items_rate = count_rate(f.leaked_items.per_request, f.leaked_items.per_second, false);
    let _ = write!(
        o,
        "<p>Grows by <b>{}</b>{objects}{hourly}. It holds <b>{}{} {}</b>{}.</p>",
        esc(&growth_rate(f)),
        if f.chain { "a chain of " } else { "" },
        f.leaked_items.count,
        esc(&f.leaked_items.name),
        if items_rate.is_empty() {
            String::new()
        } else {
            format!(" ({items_rate})")
        }
    );
    if let Some(site) = &f.allocation {
        let _ = write!(
            o,
            "<p>Allocated: <code>{}</code> ({})</p>",
            esc(&site.stack.join(", ")),
            esc(&site.source)
        );
        if let Some(code) = &site.code {
            let _ = write!(o, "<pre class=code>{}</pre>", esc(code));
        }
    }
    for function in &f.anonymous_functions {
        let _ = write!(o, "<p class=unnamed>{}</p>", esc(&function.advice));
    }
    o.push_str("<table><tr><th>round</th><th>new objects alive at the end</th><th>bytes</th></tr>");
    for (r, g) in f.per_round.iter().enumerate() {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            r + 1,
            g.objects,
            size(g.bytes)
        );
    }
    let unit = if f.bytes_per_request.is_some() {
        "per request"
    } else {
        "per second"
    };
    let _ = write!(
        o,
        "</table><table><tr><th>class</th><th>objects</th><th>{unit}</th><th>bytes</th></tr>"
    );
    for c in f.classes.iter().take(8) {
        let rate = c
            .per_request
            .or(c.per_second)
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{rate}</td><td class=n>{}</td></tr>",
            esc(&c.name),
            c.count,
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

/// "Classes whose count rose at every snapshot", the first eight.
pub fn print_growing_classes(classes: &[ClassGrowth]) -> anyhow::Result<()> {
    if classes.is_empty() {
        return Ok(());
    }
    outln!("\nClasses whose count rose at every snapshot:")?;
    for c in classes.iter().take(8) {
        let counts: Vec<String> = c.counts.iter().map(u64::to_string).collect();
        let name = if c.thread == "main" {
            c.name.clone()
        } else {
            format!("{} [{}]", c.name, c.thread)
        };
        outln!(
            "  {:<40} {}  ({})",
            ellipsize(&name, 40),
            counts.join(" → "),
            count_rate(c.per_request, c.per_second, true)
        )?;
    }
    Ok(())
}

/// The growing classes as an HTML table.
pub fn growing_classes_html(o: &mut String, classes: &[ClassGrowth]) {
    o.push_str("<table><tr><th>class</th><th>thread</th><th>live count at each snapshot</th><th>rate</th></tr>");
    for c in classes {
        let counts: Vec<String> = c.counts.iter().map(u64::to_string).collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td></tr>",
            esc(&c.name),
            esc(&c.thread),
            counts.join(" → "),
            count_rate(c.per_request, c.per_second, true)
        );
    }
    o.push_str("</table>");
}
