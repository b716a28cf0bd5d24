use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use std::collections::HashMap;

use leakscope_snapshot::{Depth, Retainer, RetainerIndex};

use super::retainers::describe;
use crate::output::{ellipsize, size};

/// The bundled leaky server, written to a temp dir so the demo runs anywhere.
const LEAKY_SERVER: &str = include_str!("../../../../examples/leaky-server.js");

/// Demo: run the bundled leaky Node server under load, snapshot its heap and
/// show what leaks and who holds it. Needs `node` on PATH.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope demo\n  leakscope demo --requests 5000 --keep demo.heapsnapshot"
)]
pub struct Args {
    /// How many requests to drive through the server before the snapshot
    #[arg(long, default_value_t = 3000)]
    pub requests: u32,
    /// Keep the snapshot at this path
    #[arg(long, value_name = "FILE")]
    pub keep: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("leakscope-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&dir, &args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(dir: &std::path::Path, args: &Args) -> anyhow::Result<ExitCode> {
    let script = dir.join("leaky-server.js");
    std::fs::write(&script, LEAKY_SERVER)?;
    let snapshot = dir.join("demo.heapsnapshot");
    eprintln!(
        "leakscope demo: running examples/leaky-server.js under {} requests…",
        args.requests
    );
    let status = Command::new("node")
        .arg("--expose-gc")
        .arg(&script)
        .env("LEAKSCOPE_SELF_LOAD", args.requests.to_string())
        .env("LEAKSCOPE_SNAPSHOT", &snapshot)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| {
            anyhow::anyhow!("cannot run `node` (is Node.js installed and on PATH?): {e}")
        })?;
    anyhow::ensure!(
        status.success() && snapshot.exists(),
        "the demo server failed ({status})"
    );

    let s = crate::progress::load(&snapshot, Depth::Full, false)?;
    let rows = super::summary::sorted_rows(&s);
    let total = s.statistics.total.max(1);
    outln!(
        "Heap after {} requests: {} in {} objects\n",
        args.requests,
        size(s.statistics.total),
        s.node_count()
    )?;
    outln!(
        "{:<44} {:>8} {:>11} {:>11}",
        "Largest classes by retained size",
        "count",
        "shallow",
        "retained"
    )?;
    for r in rows.iter().take(12) {
        outln!(
            "{:<44} {:>8} {:>11} {:>11}  {:>4.1}%",
            ellipsize(&r.name, 44),
            r.count,
            size(r.shallow_size),
            size(r.retained_size),
            r.retained_size as f64 * 100.0 / total as f64
        )?;
    }
    if let Some(req) = rows.iter().find(|r| r.name == "IncomingMessage") {
        // Group every request's retaining path by its shape (classes and
        // edge names, element indexes blurred) and show the most common one.
        let index = RetainerIndex::build(&s.graph);
        let mut shapes: HashMap<String, (usize, Vec<Retainer>)> = HashMap::new();
        for &v in &req.instances {
            let path = s.retaining_path(&index, v, 100);
            let shape: Vec<String> = path
                .iter()
                .map(|r| {
                    let label = s.edge_label(r.edge);
                    let label = if label.starts_with('[') {
                        "[]".to_owned()
                    } else {
                        label
                    };
                    format!("{} {label}", s.class_name(r.from))
                })
                .collect();
            shapes.entry(shape.join(" ← ")).or_insert((0, path)).0 += 1;
        }
        let (count, path) = shapes
            .into_values()
            .max_by_key(|(count, _)| *count)
            .expect("at least one request");
        outln!(
            "\n{} IncomingMessage objects are alive after the load finished; {count} of them are held like this:",
            req.count
        )?;
        let start = path.last().map_or(0, |r| r.from);
        outln!(
            "  (GC roots)\n  {:<22} {}",
            "",
            ellipsize(&describe(&s, start), 70)
        )?;
        for r in path.iter().rev() {
            let to = s.graph.edge_to[r.edge];
            outln!(
                "  {:<22} {}",
                ellipsize(&s.edge_label(r.edge), 22),
                ellipsize(&describe(&s, to), 70)
            )?;
        }
    }
    if let Some(keep) = &args.keep {
        // Copy beside the target, then rename: never a half-written file.
        let partial = keep.with_extension("heapsnapshot.partial");
        std::fs::copy(&snapshot, &partial)?;
        std::fs::rename(&partial, keep)?;
        outln!("\nsnapshot kept at {}", keep.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
