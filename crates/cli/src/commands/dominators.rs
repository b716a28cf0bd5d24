use std::path::PathBuf;
use std::process::ExitCode;

use leakscope_snapshot::{Depth, HeapSnapshot, NodeInfo};
use serde::Serialize;

use crate::output::{self, ellipsize, size};

/// The biggest retainers: the top of the dominator tree by retained size.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope dominators app.heapsnapshot\n  leakscope dominators app.heapsnapshot --top 10 --depth 3 --json"
)]
pub struct Args {
    /// A .heapsnapshot or .heaptimeline file
    pub file: PathBuf,
    /// How many children to show per level
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// How many levels of the dominator tree to expand
    #[arg(long, default_value_t = 1)]
    pub depth: usize,
    /// Print JSON instead of a tree
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
}

#[derive(Serialize)]
struct TreeNode {
    #[serde(flatten)]
    info: NodeInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dominates: Vec<TreeNode>,
}

fn children(s: &HeapSnapshot, v: u32, top: usize, depth: usize) -> Vec<TreeNode> {
    if depth == 0 {
        return Vec::new();
    }
    let mut kids = s.dominated_by(v).to_vec();
    kids.sort_by(|&a, &b| s.retained.of(b).cmp(&s.retained.of(a)).then(a.cmp(&b)));
    kids.truncate(top);
    kids.into_iter()
        .map(|k| TreeNode {
            info: s.node_info(k),
            dominates: children(s, k, top, depth - 1),
        })
        .collect()
}

fn print(nodes: &[TreeNode], indent: usize, total: u64) -> std::io::Result<()> {
    for n in nodes {
        let i = &n.info;
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
    let s = args.cache.load(&args.file, Depth::Full, args.json)?;
    let tree = children(&s, s.root(), args.top, args.depth.max(1));
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
        print(&tree, 0, total)?;
    }
    Ok(ExitCode::SUCCESS)
}
