//! How JIT findings are shown, by `jit` and by `hunt --jit`: a terminal
//! table with each function's problems, and an HTML section (inline CSS and
//! SVG, no script, no network).

use std::fmt::Write;

use leakscope_report::jit::{HotFunction, JitReport as Findings};

use crate::output::{ellipsize, html_escape as esc};

/// Paths under the current directory, relative to it (`./lib/cart.js`).
pub fn short(text: &str) -> String {
    match std::env::current_dir() {
        Ok(dir) => text.replace(&format!("{}/", dir.display()), "./"),
        Err(_) => text.to_owned(),
    }
}

/// The hot functions' table, then each one's problems and the notes.
pub fn print(findings: &Findings) -> anyhow::Result<()> {
    if findings.hot.is_empty() {
        outln!(
            "No function of the app took 1% of the CPU: the time went to Node and V8 themselves."
        )?;
    } else {
        let mut t =
            crate::output::table(&["Function", "Self", "Total", "Optimized", "First problem"]);
        for f in &findings.hot {
            t.add_row(vec![
                ellipsize(&short(&f.label()), 60),
                format!("{:.1}%", f.self_share * 100.0),
                format!("{:.1}%", f.total_share * 100.0),
                optimized(f),
                ellipsize(&short(f.problems.first().map_or("", String::as_str)), 60),
            ]);
        }
        outln!("{t}")?;
    }
    for f in findings.hot.iter().filter(|f| !f.problems.is_empty()) {
        outln!(
            "\n{} — {:.0}% self time",
            short(&f.label()),
            f.self_share * 100.0
        )?;
        for p in &f.problems {
            outln!("  - {}", short(p))?;
        }
    }
    // Every deoptimization in the app's code, hot or not: a helper inlined
    // into a hot function is often not hot itself.
    if !findings.deopts.is_empty() {
        outln!("\nDeoptimizations in the app's code:")?;
        for d in findings.deopts.iter().take(DEOPTS_SHOWN) {
            outln!("  - {}", short(&d.sentence))?;
        }
        if findings.deopts.len() > DEOPTS_SHOWN {
            outln!(
                "  … and {} more (--json lists them all)",
                findings.deopts.len() - DEOPTS_SHOWN
            )?;
        }
    }
    for note in &findings.notes {
        outln!("\nNote: {note}")?;
    }
    Ok(())
}

/// Deoptimizations listed in the terminal and the HTML report.
const DEOPTS_SHOWN: usize = 15;

fn optimized(f: &HotFunction) -> String {
    match (&f.optimized, &f.compilations) {
        (None, _) => "?".to_owned(),
        (Some(false), _) => "no".to_owned(),
        (Some(true), Some(c)) if c.maglev + c.turbofan > 1 => {
            format!("yes, {}×", c.maglev + c.turbofan)
        }
        (Some(true), _) => "yes".to_owned(),
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.bad{color:#8a1c15;font-weight:600}.ok{color:#1d5b25}\
.function{border:1px solid #e4b4b0;border-radius:6px;padding:.3em 1em .6em;margin:1em 0}\
code{background:#f4f4f4;padding:0 .25em}";

/// `jit --report`: a page; `load` is the summary line of the run.
pub fn page(load: &str, findings: &Findings) -> String {
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>leakscope jit</title>\
         <style>{STYLE}</style></head><body><h1>leakscope jit</h1><p id=run>{}</p>{}</body></html>",
        esc(load),
        section(findings)
    )
}

/// The findings as HTML: notes, self-time bars, the table, the problems.
pub fn section(findings: &Findings) -> String {
    let mut o = String::new();
    for note in &findings.notes {
        let _ = write!(o, "<p class=note>Note: {}</p>", esc(note));
    }
    if findings.hot.is_empty() {
        o.push_str("<p id=hot>No function of the app took 1% of the CPU.</p>");
        return o;
    }
    o.push_str("<h2>Hot functions</h2>");
    o.push_str(&bars(&findings.hot));
    o.push_str(
        "<table id=hot><tr><th>Function</th><th>Self</th><th>Total</th><th>Optimized</th>\
         <th>Problems</th></tr>",
    );
    for (i, f) in findings.hot.iter().enumerate() {
        let optimized = match f.optimized {
            None => "<td title='not known: see the notes'>?</td>",
            Some(true) => "<td class=ok>yes</td>",
            Some(false) => "<td class=bad>no</td>",
        };
        let problems = if f.problems.is_empty() {
            "<td class=ok>none</td>".to_owned()
        } else {
            format!(
                "<td class=bad><a href=#fn-{i}>{}</a></td>",
                f.problems.len()
            )
        };
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td class=n>{:.1}%</td><td class=n>{:.1}%</td>{optimized}{problems}</tr>",
            esc(&short(&f.label())),
            f.self_share * 100.0,
            f.total_share * 100.0
        );
    }
    o.push_str("</table>");
    o.push_str(&deopts_table(findings));
    for (i, f) in findings.hot.iter().enumerate() {
        if f.problems.is_empty() {
            continue;
        }
        let _ = write!(
            o,
            "<div class=function id=fn-{i}><h3><code>{}</code> — {:.0}% self time</h3><ul>",
            esc(&short(&f.label())),
            f.self_share * 100.0
        );
        for p in &f.problems {
            let _ = write!(o, "<li>{}</li>", esc(&short(p)));
        }
        o.push_str("</ul></div>");
    }
    o
}

/// The app's deoptimizations: where (in the function inlined there, and
/// the one it was inlined into), when, V8's reason and what to change.
fn deopts_table(findings: &Findings) -> String {
    if findings.deopts.is_empty() {
        return String::new();
    }
    let mut o = String::from(
        "<h2>Deoptimizations</h2><table id=deopts><tr><th>Where</th><th>Function</th>\
         <th>Inlined into</th><th>When</th><th>Count</th><th>V8's reason</th><th>What to change</th></tr>",
    );
    let name = |f: &leakscope_report::jit::FunctionRef| {
        if f.name.is_empty() {
            format!("(anonymous) {}:{}", f.line, f.column)
        } else {
            f.name.clone()
        }
    };
    for d in findings.deopts.iter().take(DEOPTS_SHOWN) {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td>\
             <td class=n>{}</td><td class=bad>{}</td><td>{}</td></tr>",
            esc(&short(&d.position)),
            esc(&name(&d.function)),
            d.inlined_into
                .as_ref()
                .map_or(String::new(), |f| format!("<code>{}</code>", esc(&name(f)))),
            esc(&d.when),
            d.count,
            esc(&d.reason),
            esc(&d.advice)
        );
    }
    o.push_str("</table>");
    o
}

/// Self time per hot function as horizontal bars.
fn bars(hot: &[HotFunction]) -> String {
    const ROW: usize = 22;
    const LABEL: usize = 420;
    const WIDTH: f64 = 480.0;
    let height = hot.len() * ROW + 4;
    let mut svg = format!(
        "<svg id=plot-self xmlns='http://www.w3.org/2000/svg' width={} height={height} role=img \
         aria-label='self time per hot function'>",
        LABEL + WIDTH as usize + 60
    );
    for (i, f) in hot.iter().enumerate() {
        let y = i * ROW + 2;
        let w = (f.self_share * WIDTH).max(1.0);
        let color = if f.jit_problem { "#c0392b" } else { "#4a7ebb" };
        let _ = write!(
            svg,
            "<text x={} y={} text-anchor=end font-size=12>{}</text>\
             <rect x={LABEL} y={y} width={w:.1} height={} fill='{color}'/>\
             <text x={} y={} font-size=12>{:.1}%</text>",
            LABEL - 6,
            y + 14,
            esc(&ellipsize(&short(&f.label()), 60)),
            ROW - 6,
            LABEL as f64 + w + 4.0,
            y + 14,
            f.self_share * 100.0
        );
    }
    svg.push_str("</svg>");
    svg
}
