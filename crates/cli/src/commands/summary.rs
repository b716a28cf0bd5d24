use std::path::PathBuf;
use std::process::ExitCode;

use leakscope_snapshot::{AllocationTraces, Depth, Frame, HeapSnapshot, NodeInfo};
use serde::Serialize;

use crate::output::{self, distance, ellipsize, size};

/// The Summary view: objects grouped by class, largest retained size first.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope summary app.heapsnapshot\n  leakscope summary app.heapsnapshot --top 50 --json\n  leakscope summary app.heapsnapshot --class IncomingMessage"
)]
pub struct Args {
    /// A .heapsnapshot or .heaptimeline file
    pub file: PathBuf,
    /// How many rows to show (0 = all)
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    /// List the instances of this class instead of the classes
    #[arg(long, value_name = "NAME")]
    pub class: Option<String>,
    /// How many of the largest single objects to list (JSON only)
    #[arg(long, default_value_t = 20)]
    pub nodes: usize,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryJson<'a> {
    node_count: usize,
    edge_count: usize,
    root_retained_size: u64,
    total_shallow_size: u64,
    statistics: &'a leakscope_snapshot::Statistics,
    classes: Vec<leakscope_snapshot::ClassRow>,
    top: Vec<NodeInfo>,
}

fn limit<T>(mut v: Vec<T>, top: usize) -> Vec<T> {
    if top > 0 {
        v.truncate(top);
    }
    v
}

pub fn sorted_rows(s: &HeapSnapshot) -> Vec<leakscope_snapshot::ClassRow> {
    let mut rows = s.class_totals();
    rows.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let s = args.cache.load(&args.file, Depth::Full, args.json)?;
    if let Some(class) = &args.class {
        return instances(&s, class, &args);
    }
    let rows = limit(sorted_rows(&s), args.top);
    if args.json {
        let g = &s.graph;
        output::json(&SummaryJson {
            node_count: g.node_count(),
            edge_count: g.edge_count(),
            root_retained_size: s.retained.of(s.root()),
            total_shallow_size: g.self_size.iter().map(|&x| x as u64).sum(),
            statistics: &s.statistics,
            classes: rows,
            top: s
                .largest_nodes(args.nodes)
                .into_iter()
                .map(|v| s.node_info(v))
                .collect(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let total = s.retained.of(s.root()).max(1);
    let mut t = output::table(&[
        "Constructor",
        "Distance",
        "Count",
        "Shallow size",
        "Retained size",
        "%",
    ]);
    for r in &rows {
        t.add_row(vec![
            ellipsize(&r.name, 60),
            distance(r.distance),
            r.count.to_string(),
            size(r.shallow_size),
            size(r.retained_size),
            format!("{:.1}", r.retained_size as f64 * 100.0 / total as f64),
        ]);
    }
    outln!("{t}")?;
    outln!(
        "{} objects, {} edges, total {} ({})",
        s.node_count(),
        s.graph.edge_count(),
        size(s.statistics.total),
        args.file.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// One instance, with its allocation stack when the file has them.
#[derive(serde::Serialize)]
struct Instance {
    #[serde(flatten)]
    info: NodeInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allocation_stack: Vec<Frame>,
}

fn instances(s: &HeapSnapshot, class: &str, args: &Args) -> anyhow::Result<ExitCode> {
    let rows = s.class_rows();
    let mut nodes: Vec<u32> = rows
        .iter()
        .filter(|r| r.name == class)
        .flat_map(|r| r.instances.iter().copied())
        .collect();
    if nodes.is_empty() {
        anyhow::bail!("no class named {class:?} in {}", args.file.display());
    }
    nodes.sort_by(|&a, &b| s.retained.of(b).cmp(&s.retained.of(a)).then(a.cmp(&b)));
    // A .heaptimeline knows the stack that allocated each object.
    let traces = AllocationTraces::of(s);
    let stack_of = |v: u32| -> Vec<Frame> {
        let trace = s.graph.trace_node_id.get(v as usize).copied().unwrap_or(0);
        traces
            .as_ref()
            .map(|t| t.stack(trace).into_iter().take(8).cloned().collect())
            .unwrap_or_default()
    };
    let all = nodes.clone();
    let instances: Vec<Instance> = limit(nodes, args.top)
        .into_iter()
        .map(|v| Instance {
            info: s.node_info(v),
            allocation_stack: stack_of(v),
        })
        .collect();
    if args.json {
        output::json(&instances)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut header = vec!["Object", "Id", "Distance", "Shallow size", "Retained size"];
    if traces.is_some() {
        header.push("Allocated by");
    }
    let mut t = output::table(&header);
    for i in &instances {
        let mut row = vec![
            ellipsize(&i.info.name, 60),
            format!("@{}", i.info.id),
            distance(i.info.distance),
            size(i.info.shallow_size),
            size(i.info.retained_size),
        ];
        if traces.is_some() {
            row.push(
                i.allocation_stack
                    .first()
                    .map_or_else(String::new, |f| ellipsize(&f.to_string(), 50)),
            );
        }
        t.add_row(row);
    }
    outln!("{t}")?;
    if let Some(traces) = &traces {
        let grouped =
            leakscope_explore::timeline::allocations_by_class(s, traces, all.into_iter(), 4);
        outln!(
            "\nAllocation stacks of all {} instances:",
            grouped.iter().map(|c| c.count).sum::<u64>()
        )?;
        for stack in grouped.iter().flat_map(|c| c.stacks.iter()).take(5) {
            outln!("  {}", crate::output::stack_line(stack))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
