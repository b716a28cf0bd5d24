//! `leakscope find-leaks`: the hunt's verdict on snapshots already taken of
//! one process (by `node --heapsnapshot-signal`, `v8.writeHeapSnapshot()`,
//! DevTools or `leakscope snapshot`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use leakscope_report::FindLeaksReport as Judgement;
use leakscope_snapshot::Depth;
use leakscope_usecase::find_leaks::{find_leaks, FindLeaksRequest};

use crate::finding_view;
use crate::output::{ellipsize, html_escape as esc, size};

/// Find leaks in snapshots of one process, oldest first: what every
/// interval added and still holds, grouped by holder and named as `hunt`
/// names it.
#[derive(clap::Args)]
#[command(
    after_help = "Snapshots of one process (plain, .gz or .zst), oldest first, three or \
more: a baseline and two after it; six or more confirm small, slow leaks. Node writes them with \
`node --heapsnapshot-signal=SIGUSR2 app.js` and `kill -USR2 PID`, or `v8.writeHeapSnapshot()`.\n\
Exit status: 0 no leak, 1 leak found (with --allow or --baseline: a leak that fails the run), 2 \
bad input (including snapshots that are not of one process, or not oldest first).\n\n\
Examples:\n  leakscope find-leaks Heap.*.heapsnapshot\n  \
leakscope find-leaks s1.heapsnapshot.gz s2.heapsnapshot.gz s3.heapsnapshot.gz --report leaks.html\n  \
leakscope find-leaks before.heapsnapshot during.heapsnapshot after.heapsnapshot --json\n  \
leakscope find-leaks s1 s2 s3 --calls 1000 --junit leaks.xml --markdown leaks.md --allow 'lru-cache'"
)]
pub struct Args {
    /// Snapshots of one process, oldest first
    #[arg(required_unless_present = "json_schema", value_name = "SNAPSHOT")]
    pub files: Vec<PathBuf>,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    /// Write a single-file HTML report
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Each interval between two snapshots made this many calls (requests,
    /// operations): rates are given per call (`bytes_per_request`) as well
    /// as per second
    #[arg(long, value_name = "N")]
    pub calls: Option<u64>,
    #[command(flatten)]
    pub gate: crate::gate::GateArgs,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
    #[command(flatten)]
    pub source_maps: crate::positions::SourceMapArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<Judgement>();
    }
    anyhow::ensure!(args.calls != Some(0), "--calls must be at least 1");
    let gate = crate::gate::Gate::new(&args.gate)?;
    // A report file that cannot be written fails now, not after the work.
    let report_file = args
        .report
        .as_deref()
        .map(crate::atomic::AtomicFile::create)
        .transpose()?;
    let cache = args.cache.cache();
    let quiet = args.json;
    let request = FindLeaksRequest {
        files: args.files,
        calls: args.calls,
        positions: std::sync::Arc::new(args.source_maps.positions()),
    };
    let judged = find_leaks(
        &request,
        &mut |path| crate::progress::load(path, Depth::Full, quiet, cache.as_ref()),
        &mut NoteOnly(quiet),
    )?;
    if let Some(mut file) = report_file {
        file.write_all(render_html(&judged).as_bytes())?;
        file.commit()?;
    }
    if args.json {
        crate::output::json(&judged)?;
    } else {
        print(&judged, args.report.as_deref())?;
    }
    Ok(ExitCode::from(gate.finish(
        "find-leaks",
        &judged.findings,
        judged.seconds,
    )?))
}

/// Progress lines on stderr, not in `--json` mode (the loader draws its
/// own bar on a terminal).
struct NoteOnly(bool);

impl leakscope_inspector::Observer for NoteOnly {
    fn note(&mut self, line: &str) {
        if !self.0 {
            eprintln!("{line}");
        }
    }
    fn progress(&mut self, _what: &str) {}
}

fn print(j: &Judgement, report: Option<&std::path::Path>) -> anyhow::Result<()> {
    let thread = if j.thread == "main" {
        String::new()
    } else {
        format!(" ({})", j.thread)
    };
    outln!(
        "Judged {} snapshots of one process{thread}, oldest first:",
        j.snapshots.len()
    )?;
    let first = j.snapshots.first().and_then(|s| s.taken);
    for s in &j.snapshots {
        let when = match (s.taken, first) {
            (Some(t), Some(f)) => format!("  at +{:.0} s", t - f),
            _ => String::new(),
        };
        outln!(
            "  {:<10} {:>10} objects  {}{when}",
            size(s.heap_bytes),
            s.nodes,
            ellipsize(&s.path.display().to_string(), 80)
        )?;
    }
    for note in &j.notes {
        outln!("note: {note}")?;
    }
    let warnings = j.warnings.iter().map(|w| crate::hints::warning(w));
    for warning in warnings.chain(j.source_maps.warnings.iter().cloned()) {
        outln!("warning: {warning}")?;
    }
    if j.findings.is_empty() {
        outln!("\nNo leak: nothing grew steadily from snapshot to snapshot.")?;
    }
    outln!(
        "Confidence: {} ({})",
        serde_json::to_value(j.confidence)?
            .as_str()
            .unwrap_or_default(),
        j.confidence_reason
    )?;
    let last = j
        .snapshots
        .last()
        .map(|s| s.path.display().to_string())
        .unwrap_or_default();
    let cx = finding_view::Context {
        rate: None,
        tracking: "is not in these snapshots",
        sampled_below: false,
        retainers_hint: format!("leakscope retainers {last} --id {{id}}"),
    };
    for (i, f) in j.findings.iter().enumerate() {
        finding_view::print(i, f, &cx)?;
    }
    finding_view::print_growing_classes(&j.growing_classes)?;
    if let Some(report) = report {
        outln!("\nreport: {}", report.display())?;
    }
    Ok(())
}

fn render_html(j: &Judgement) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>leakscope find-leaks</title><style>{}</style></head><body><h1>leakscope find-leaks</h1>",
        finding_view::STYLE
    );
    o.push_str("<table><tr><th>snapshot</th><th>heap</th><th>objects</th><th>written</th></tr>");
    let first = j.snapshots.first().and_then(|s| s.taken);
    for s in &j.snapshots {
        let when = match (s.taken, first) {
            (Some(t), Some(f)) => format!("+{:.0} s", t - f),
            _ => "-".to_owned(),
        };
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td class=n>{}</td><td class=n>{}</td><td class=n>{when}</td></tr>",
            esc(&s.path.display().to_string()),
            size(s.heap_bytes),
            s.nodes
        );
    }
    o.push_str("</table>");
    for note in &j.notes {
        let _ = write!(o, "<p>Note: {}</p>", esc(note));
    }
    let warnings = j.warnings.iter().map(|w| crate::hints::warning(w));
    for warning in warnings.chain(j.source_maps.warnings.iter().cloned()) {
        let _ = write!(o, "<p class=warning>Warning: {}</p>", esc(&warning));
    }
    if j.findings.is_empty() {
        let _ = write!(
            o,
            "<p class='verdict clean' id=verdict>{}</p>",
            esc(&j.verdict)
        );
    } else {
        let _ = write!(
            o,
            "<p class='verdict leak' id=verdict>Leak found: {} finding(s). The largest: {}.</p>",
            j.findings.len(),
            esc(&j.findings[0].holder)
        );
    }
    for (i, f) in j.findings.iter().enumerate() {
        finding_view::html(&mut o, i, f, None);
    }
    if !j.growing_classes.is_empty() {
        o.push_str("<h2>Growing classes</h2>");
        finding_view::growing_classes_html(&mut o, &j.growing_classes);
    }
    o.push_str("<p><small>Made by leakscope. Objects count as leaked when every interval between snapshots added to them at a steady rate.</small></p></body></html>\n");
    o
}
