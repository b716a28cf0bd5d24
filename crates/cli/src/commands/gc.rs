use std::process::ExitCode;

use leakscope_report::live::GcDone as Report;
use leakscope_report::Document;

use crate::live::{block_on, with_target, TargetArgs};
use crate::output::size;

/// Force a full garbage collection in a live process and show the heap
/// before and after.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  leakscope gc --pid 4242\n  leakscope gc --port 9229 --json")]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<Report>();
    }
    let report = block_on(with_target(
        &args.target.resolve()?,
        async |target| {
            let before = target.client.get_heap_usage().await?;
            let start = std::time::Instant::now();
            target.client.collect_garbage().await?;
            let milliseconds = start.elapsed().as_secs_f64() * 1000.0;
            let after = target.client.get_heap_usage().await?;
            Ok(Report {
                schema_version: <Report as Document>::SCHEMA_VERSION,
                pid: target.pid,
                used_before: before.used_size as u64,
                used_after: after.used_size as u64,
                total_after: after.total_size as u64,
                milliseconds,
            })
        },
        async |_| {},
    ))?;
    if args.json {
        crate::output::json(&report)?;
    } else {
        outln!(
            "PID {}: heap used {} -> {} (freed {}), heap total {}, GC took {:.0} ms",
            report.pid,
            size(report.used_before),
            size(report.used_after),
            size(report.used_before.saturating_sub(report.used_after)),
            size(report.total_after),
            report.milliseconds
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
