use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::ArgPredicate;
use leakscope_explore::timeline::{allocations_by_class, map_positions};
use leakscope_snapshot::{AllocationTraces, Depth};

use crate::output::{ellipsize, parse_duration, size, stack_line};

/// Objects allocated in a time window of a recorded `.heaptimeline` that are
/// still alive at its end, by class, with the stacks that allocated them.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  leakscope timeline app.heaptimeline\n  \
leakscope timeline app.heaptimeline --from 20s --to 40s --top 5 --stacks 3")]
pub struct Args {
    /// A .heaptimeline written by `leakscope record` or DevTools
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
    pub file: PathBuf,
    /// Start of the window, from the start of the recording
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub from: Duration,
    /// End of the window (default: the end of the recording)
    #[arg(long, value_parser = parse_duration)]
    pub to: Option<Duration>,
    /// Classes to show
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    /// Allocation stacks to show per class
    #[arg(long, default_value_t = 2)]
    pub stacks: usize,
    /// Frames per stack
    #[arg(long, default_value_t = 4)]
    pub depth: usize,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
    #[command(flatten)]
    pub source_maps: crate::positions::SourceMapArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<leakscope_report::TimelineReport>();
    }
    let s = args.cache.load(&args.file, Depth::Classes, args.json)?;
    let traces = AllocationTraces::of(&s).ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no allocation stacks (record it with `leakscope record` or DevTools' allocation timeline)",
            args.file.display()
        )
    })?;
    let recording = s.recording_seconds().unwrap_or(0.0);
    let from = args.from.as_secs_f64();
    let to = args.to.map_or(recording, |d| d.as_secs_f64());
    anyhow::ensure!(from < to, "--from must come before --to");
    let ids = s
        .ids_allocated_between(from, to)
        .ok_or_else(|| anyhow::anyhow!("{} has no time samples", args.file.display()))?;
    let mut classes = allocations_by_class(&s, &traces, s.nodes_with_ids(ids), args.depth);
    let positions = args.source_maps.positions();
    map_positions(&mut classes, &positions);
    if args.json {
        crate::output::json(&leakscope_usecase::report::timeline_report(
            &args.file,
            recording,
            (from, to),
            &classes,
            args.top,
            &positions.report(),
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::positions::print_warnings(&positions);
    let objects: u64 = classes.iter().map(|c| c.count).sum();
    let shallow_size = classes.iter().map(|c| c.shallow_size).sum();
    outln!(
        "Allocated between {from:.1} s and {to:.1} s of a {recording:.1} s recording and still alive: {objects} objects, {}\n",
        size(shallow_size)
    )?;
    for class in classes.iter().take(args.top) {
        outln!(
            "{:<40} {:>8} objects {:>11}",
            ellipsize(&class.name, 40),
            class.count,
            size(class.shallow_size)
        )?;
        for stack in class.stacks.iter().take(args.stacks) {
            outln!("    {}", stack_line(stack))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
