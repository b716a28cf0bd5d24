use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::ArgPredicate;
use leakscope_report::dominators::Dominator;
use leakscope_snapshot::Depth;

use crate::output::{self, ellipsize, size};

/// The biggest retainers: the top of the dominator tree by retained size.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope dominators app.heapsnapshot\n  leakscope dominators app.heapsnapshot --top 10 --depth 3 --json"
)]
pub struct Args {
    /// A .heapsnapshot or .heaptimeline file
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
    pub file: PathBuf,
    /// How many children to show per level
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// How many levels of the dominator tree to expand
    #[arg(long, default_value_t = 1)]
    pub depth: usize,
    /// Print JSON instead of a tree (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
}

fn print(nodes: &[Dominator], indent: usize, total: u64) -> std::io::Result<()> {
    for n in nodes {
        let i = &n.node;
        outln!(
            "{:indent$}{:>10} {:>5.1}%  {} @{}  [{}]",
            "",
            size(i.retained_size),
            i.retained_size as f64 * 100.0 / total as f64,
            ellipsize(&i.name, 70),
            i.id,
            i.class_name,
            indent = indent
        )?;
        print(&n.dominates, indent + 2, total)?;
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<leakscope_report::DominatorsReport>();
    }
    let s = args.cache.load(&args.file, Depth::Full, args.json)?;
    let tree = leakscope_usecase::report::dominators_report(&s, args.top, args.depth);
    if args.json {
        output::json(&tree)?;
    } else {
        let total = s.retained.of(s.root()).max(1);
        outln!(
            "{:>10} {:>6}  object (dominator tree, total {})",
            "retained",
            "%",
            size(total)
        )?;
        print(&tree.dominators, 0, total)?;
    }
    Ok(ExitCode::SUCCESS)
}
