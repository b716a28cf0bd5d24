use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::ArgPredicate;
use leakscope_gclog::{Kind, Log, Process};
use leakscope_report::gc_log::ProcessReport;
use plotters::prelude::*;

use crate::plot::{draw, time_chart, upper, PALETTE};

/// Analyse a `node --trace-gc` log: pauses per GC kind, time spent in GC,
/// and whether the heap after GC keeps growing (a leak) — per process.
#[derive(clap::Args)]
#[command(
    after_help = "Reads the modern (Node 12+), --trace-gc-nvp and legacy (Node 0.12) formats; lines \
that are not GC lines (the app's own output) are skipped. Exit status 1 when a leak is suspected.\n\n\
Examples:\n  leakscope gc-log app.log\n  node --trace-gc app.js | leakscope gc-log -\n  \
leakscope gc-log app.log --plot gc.svg --json"
)]
pub struct Args {
    /// The log, or `-` for standard input
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
    pub file: PathBuf,
    /// Only this process (the log may interleave several)
    #[arg(long)]
    pub pid: Option<u32>,
    /// Draw heap after GC and pauses over time (SVG) for the busiest process
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<leakscope_report::GcLogReport>();
    }
    let stdin = args.file.as_os_str() == "-";
    let input: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?,
        )
    };
    let total = if stdin {
        None
    } else {
        std::fs::metadata(&args.file).ok().map(|m| m.len())
    };
    let bar = crate::progress::bytes(total, args.json);
    let mut shown = crate::progress::Bytes(bar);
    let mut log = leakscope_gclog::read(input, &mut shown)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    shown.0.finish_and_clear();
    if let Some(pid) = args.pid {
        log.processes.retain(|p| p.pid == pid);
        anyhow::ensure!(
            !log.processes.is_empty(),
            "no GC lines of PID {pid} in {}",
            args.file.display()
        );
    }
    anyhow::ensure!(
        log.gc_lines > 0,
        "no --trace-gc lines in {} ({} other line{}): is it the stdout of `node --trace-gc`?",
        if args.file.as_os_str() == "-" {
            "standard input".into()
        } else {
            args.file.display().to_string()
        },
        log.other_lines,
        if log.other_lines == 1 { "" } else { "s" }
    );
    let processes: Vec<ProcessReport> = log
        .reports()
        .iter()
        .map(leakscope_usecase::report::gc_process)
        .collect();
    if let Some(svg) = &args.plot {
        let busiest = log
            .processes
            .iter()
            .max_by_key(|p| p.gcs.len())
            .expect("at least one process");
        crate::atomic::write(svg, plot(busiest).as_bytes())?;
    }
    let leak = processes.iter().any(|p| p.verdict.leak_suspected);
    if args.json {
        crate::output::json(&leakscope_usecase::report::gc_log_report(
            &args.file, &log, processes,
        ))?;
    } else {
        print(&log, &processes)?;
        if let Some(svg) = &args.plot {
            outln!("plot: {}", svg.display())?;
        }
    }
    Ok(if leak {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// V8's `--trace-gc` megabytes (2^20 bytes), so numbers match the log.
fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The terminal report, one block per process.
pub fn print(log: &Log, processes: &[ProcessReport]) -> anyhow::Result<()> {
    outln!(
        "{} GC lines ({} other lines skipped), {} process{}",
        log.gc_lines,
        log.other_lines,
        processes.len(),
        if processes.len() == 1 { "" } else { "es" }
    )?;
    for p in processes {
        crate::gc_report::print_process(p)?;
    }
    Ok(())
}

/// At most this many points per series: a day of logs is millions of GCs.
const MAX_POINTS: usize = 3000;

/// Heap after GC (top) and pauses (bottom) over time, by kind.
pub fn plot(p: &Process) -> String {
    let kinds: Vec<Kind> = {
        let mut k: Vec<Kind> = p.gcs.iter().map(|g| g.kind).collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    let x_max = upper(p.gcs.iter().map(|g| g.at_ms / 1e3));
    let heap_max = upper(p.gcs.iter().map(|g| mb(g.after)));
    let pause_max = upper(p.gcs.iter().map(|g| g.pause_ms));
    let title = format!("PID {}: node --trace-gc", p.pid);
    draw((900, 640), |root| {
        let root = root
            .titled(&title, ("sans-serif", 20))
            .map_err(|e| e.to_string())?;
        let (top, bottom) = root.split_vertically(300);
        let x_desc = "seconds since the process started";
        let mut heap = time_chart(&top, "Heap after GC", (x_max, heap_max), (x_desc, "MB"))?;
        let mut pauses = time_chart(
            &bottom,
            "GC pauses",
            (x_max, pause_max),
            (x_desc, "pause, ms"),
        )?;
        for (i, &kind) in kinds.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let of_kind: Vec<_> = p.gcs.iter().filter(|g| g.kind == kind).collect();
            let step = of_kind.len().div_ceil(MAX_POINTS).max(1);
            // Thinned by keeping each run's lowest heap and longest pause.
            let thinned: Vec<(f64, f64, f64)> = of_kind
                .chunks(step)
                .map(|run| {
                    let low = run
                        .iter()
                        .map(|g| mb(g.after))
                        .fold(f64::INFINITY, f64::min);
                    let long = run.iter().map(|g| g.pause_ms).fold(0.0, f64::max);
                    (run[0].at_ms / 1e3, low, long)
                })
                .collect();
            let radius = if kind.is_full() { 3 } else { 1 };
            heap.draw_series(
                thinned
                    .iter()
                    .map(|&(t, h, _)| Circle::new((t, h), radius, color.filled())),
            )
            .map_err(|e| e.to_string())?
            .label(kind.as_str())
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
            pauses
                .draw_series(
                    thinned
                        .iter()
                        .map(|&(t, _, pause)| Circle::new((t, pause), radius, color.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        heap.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}
