use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::ArgPredicate;
use leakscope_snapshot::{AllocationTraces, Depth, HeapSnapshot};
use leakscope_usecase::report::{class_table, instance_list};

use crate::output::{self, distance, ellipsize, size};

/// The Summary view: objects grouped by class, largest retained size first.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope summary app.heapsnapshot\n  leakscope summary app.heapsnapshot --top 50 --json\n  leakscope summary app.heapsnapshot --class IncomingMessage"
)]
pub struct Args {
    /// A .heapsnapshot or .heaptimeline file
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
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
    /// Print JSON instead of a table (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
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
    if args.json_schema {
        return crate::output::schema::<leakscope_report::SummaryReport>();
    }
    let s = args.cache.load(&args.file, Depth::Full, args.json)?;
    if let Some(class) = &args.class {
        return instances(&s, class, &args);
    }
    let rows = limit(sorted_rows(&s), args.top);
    if args.json {
        output::json(&class_table(&s, &rows, args.nodes))?;
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
    let all = nodes.clone();
    let shown = limit(nodes, args.top);
    if args.json {
        output::json(&instance_list(s, &shown, traces.as_ref()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut header = vec!["Object", "Id", "Distance", "Shallow size", "Retained size"];
    if traces.is_some() {
        header.push("Allocated by");
    }
    let mut t = output::table(&header);
    for &v in &shown {
        let info = s.node_info(v);
        let mut row = vec![
            ellipsize(&info.name, 60),
            format!("@{}", info.id),
            distance(info.distance),
            size(info.shallow_size),
            size(info.retained_size),
        ];
        if let Some(traces) = &traces {
            let trace = s.graph.trace_node_id.get(v as usize).copied().unwrap_or(0);
            row.push(
                traces
                    .stack(trace)
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
