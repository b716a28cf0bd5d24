use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use leakscope_inspector::capture::{record_allocations, Recorded};
use leakscope_inspector::Client;
use leakscope_report::live::Recorded as Report;
use leakscope_report::Document;

use crate::live::{block_on, with_target, TargetArgs};
use crate::output::{parse_duration, size};

/// Record heap allocations over time (DevTools' "Allocation instrumentation
/// on timeline"): a `.heaptimeline` whose objects carry the stack that
/// allocated them. Query it with `leakscope timeline`.
#[derive(clap::Args)]
#[command(
    after_help = "While recording, V8 runs a full GC every 50 ms: throughput drops (about 40% \
on a 20 MB heap, almost to zero on a 150 MB one). Record short windows on small heaps.\n\n\
Examples:\n  leakscope record --pid 4242 --duration 20s -o app.heaptimeline\n  \
leakscope timeline app.heaptimeline --from 5s --to 15s"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where to write the .heaptimeline
    #[arg(
        short,
        long,
        value_name = "FILE",
        required_unless_present = "json_schema"
    )]
    pub output: Option<PathBuf>,
    /// How long to record (at most 10 minutes)
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Record even when the heap is larger than 200 MB
    #[arg(long)]
    pub force: bool,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
}

const LARGE_HEAP: f64 = 200e6;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<Report>();
    }
    let output = crate::output::given(&args.output, "-o FILE")?;
    anyhow::ensure!(
        args.duration <= Duration::from_secs(600) && !args.duration.is_zero(),
        "--duration must be between 1 ms and 10 minutes"
    );
    let report = block_on(with_target(
        &args.target.resolve()?,
        async |target| record(&target.client, &args, output).await,
        async |client| {
            // Stops tracking without streaming another snapshot.
            let _ = client
                .call::<_, serde_json::Value>("HeapProfiler.disable", serde_json::json!({}))
                .await;
        },
    ))?;
    if args.json {
        crate::output::json(&report)?;
    } else {
        outln!(
            "wrote {} ({}, {:.1} s recorded); next: leakscope timeline {} --from 0s --to {:.0}s",
            report.path.display(),
            size(report.bytes),
            report.seconds_recorded,
            report.path.display(),
            report.seconds_recorded
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn record(client: &Client, args: &Args, output: &Path) -> anyhow::Result<Report> {
    let used = client.get_heap_usage().await?.used_size;
    if used > LARGE_HEAP && !args.force {
        anyhow::bail!(
            "the heap holds {}; allocation tracking runs a full GC every 50 ms and would all but stop the app. Use `leakscope sample` instead, or --force",
            size(used as u64)
        );
    }
    if !args.json {
        eprintln!(
            "recording allocations for {} (the app slows down: V8 runs a full GC every 50 ms meanwhile)",
            humantime::format_duration(args.duration)
        );
    }
    let mut terminal = crate::progress::Terminal::new(args.json);
    let recorded = record_allocations(client, output, args.duration, &mut terminal).await;
    terminal.bar.finish_and_clear();
    let recorded = recorded?;
    let Recorded {
        bytes,
        seconds_recorded,
        ticks,
        last_object_id,
    } = recorded;
    Ok(Report {
        schema_version: <Report as Document>::SCHEMA_VERSION,
        path: output.to_owned(),
        bytes,
        seconds_recorded,
        ticks,
        last_object_id,
    })
}
