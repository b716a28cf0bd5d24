use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use leakscope_snapshot::{AllocationTraces, Depth, Frame, HeapSnapshot};
use serde::Serialize;

use crate::output::{ellipsize, parse_duration, size};

/// Objects allocated in a time window of a recorded `.heaptimeline` that are
/// still alive at its end, by class, with the stacks that allocated them.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  leakscope timeline app.heaptimeline\n  \
leakscope timeline app.heaptimeline --from 20s --to 40s --top 5 --stacks 3")]
pub struct Args {
    /// A .heaptimeline written by `leakscope record` or DevTools
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
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
pub struct ClassAllocations {
    pub name: String,
    pub count: u64,
    pub shallow_size: u64,
    pub stacks: Vec<StackCount>,
}

#[derive(Serialize)]
pub struct StackCount {
    pub count: u64,
    pub shallow_size: u64,
    /// Innermost frame first.
    pub frames: Vec<Frame>,
}

#[derive(Serialize)]
struct Report<'a> {
    file: &'a PathBuf,
    recording_seconds: f64,
    from_seconds: f64,
    to_seconds: f64,
    objects: u64,
    shallow_size: u64,
    classes: &'a [ClassAllocations],
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let s = crate::progress::load(&args.file, Depth::Classes, args.json)?;
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
    let classes = allocations_by_class(&s, &traces, s.nodes_with_ids(ids), args.depth);
    let objects = classes.iter().map(|c| c.count).sum();
    let shallow_size = classes.iter().map(|c| c.shallow_size).sum();
    if args.json {
        let shown = &classes[..classes.len().min(args.top)];
        crate::output::json(&Report {
            file: &args.file,
            recording_seconds: recording,
            from_seconds: from,
            to_seconds: to,
            objects,
            shallow_size,
            classes: shown,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
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

/// `count x  inner <- caller <- …`, one line.
pub fn stack_line(stack: &StackCount) -> String {
    let frames: Vec<String> = stack.frames.iter().map(|f| f.to_string()).collect();
    let frames = if frames.is_empty() {
        "(allocated before tracking started or by the runtime)".to_owned()
    } else {
        frames.join(" <- ")
    };
    format!("{:>8} x  {}", stack.count, ellipsize(&frames, 150))
}

/// Groups nodes by class and, within a class, by allocation stack (the top
/// `depth` frames), largest first.
pub fn allocations_by_class(
    s: &HeapSnapshot,
    traces: &AllocationTraces,
    nodes: impl Iterator<Item = u32>,
    depth: usize,
) -> Vec<ClassAllocations> {
    type StackKey = Vec<u32>;
    /// Count and bytes.
    type Tally = (u64, u64);
    let mut by_class: HashMap<u32, (u64, u64, HashMap<u32, Tally>)> = HashMap::new();
    for v in nodes {
        let size = s.graph.self_size[v as usize] as u64;
        if size == 0 {
            continue;
        }
        let trace = s.graph.trace_node_id.get(v as usize).copied().unwrap_or(0);
        let entry = by_class.entry(s.class_index[v as usize]).or_default();
        entry.0 += 1;
        entry.1 += size;
        let stack = entry.2.entry(trace).or_default();
        stack.0 += 1;
        stack.1 += size;
    }
    let mut classes: Vec<ClassAllocations> = by_class
        .into_iter()
        .map(|(class, (count, shallow_size, stacks))| {
            // Trace nodes with the same top frames are one stack here.
            let mut merged: HashMap<StackKey, (u64, u64, Vec<Frame>)> = HashMap::new();
            for (trace, (n, bytes)) in stacks {
                let frames: Vec<Frame> = traces
                    .stack(trace)
                    .into_iter()
                    .take(depth)
                    .cloned()
                    .collect();
                let key: StackKey = frames.iter().map(|f| f.line ^ (f.column << 20)).collect();
                let slot = merged.entry(key).or_insert((0, 0, frames));
                slot.0 += n;
                slot.1 += bytes;
            }
            let mut stacks: Vec<StackCount> = merged
                .into_values()
                .map(|(count, shallow_size, frames)| StackCount {
                    count,
                    shallow_size,
                    frames,
                })
                .collect();
            stacks.sort_by(|a, b| {
                b.shallow_size
                    .cmp(&a.shallow_size)
                    .then(b.count.cmp(&a.count))
            });
            ClassAllocations {
                name: s.strings.get(class).to_owned(),
                count,
                shallow_size,
                stacks,
            }
        })
        .collect();
    classes.sort_by(|a, b| {
        b.shallow_size
            .cmp(&a.shallow_size)
            .then(a.name.cmp(&b.name))
    });
    classes
}
