use std::path::PathBuf;
use std::process::ExitCode;

use leakscope_snapshot::{Depth, HeapSnapshot, NodeInfo};
use serde::Serialize;

use crate::output::{self, distance, ellipsize, size};

/// The retaining path from the GC roots to an object, as DevTools' Retainers
/// pane expands it (first retainer by distance, repeatedly; weak edges skipped).
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope retainers app.heapsnapshot --class IncomingMessage\n  leakscope retainers app.heapsnapshot --id 12345 --json\n  leakscope retainers app.heapsnapshot --string 'Leaky Master'"
)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["id", "class", "string"])))]
pub struct Args {
    /// A .heapsnapshot or .heaptimeline file
    pub file: PathBuf,
    /// The object with this snapshot id (the @ number)
    #[arg(long)]
    pub id: Option<u32>,
    /// The largest instances of this class
    #[arg(long, value_name = "NAME")]
    pub class: Option<String>,
    /// String objects with this text (exact, else containing it)
    #[arg(long, value_name = "TEXT")]
    pub string: Option<String>,
    /// How many objects to show paths for (with --class / --string)
    #[arg(long, default_value_t = 3)]
    pub max: usize,
    /// Longest path to follow
    #[arg(long, default_value_t = 100)]
    pub depth: usize,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
}

#[derive(Serialize)]
struct Hop {
    /// The edge as DevTools prints it (`.name`, `[3]`, `->ctx`, `{internal}`).
    edge: String,
    #[serde(rename = "edgeType")]
    edge_type: String,
    /// The object the edge points to.
    to: NodeInfo,
}

#[derive(Serialize)]
struct PathJson {
    target: NodeInfo,
    /// The first object on the path, held directly by the GC roots when
    /// `fromRoots` is true.
    start: NodeInfo,
    #[serde(rename = "fromRoots")]
    from_roots: bool,
    hops: Vec<Hop>,
    chain: String,
}

/// `Class name` for an object, or just the class when the name adds nothing.
pub fn describe(s: &HeapSnapshot, v: u32) -> String {
    let class = s.class_name(v);
    let name = s.display_name(v);
    if name.is_empty() || name == class {
        class.to_owned()
    } else {
        format!("{class} {}", ellipsize(&name, 40))
    }
}

fn select(s: &HeapSnapshot, args: &Args) -> anyhow::Result<Vec<u32>> {
    let by_retained = |mut v: Vec<u32>| {
        v.sort_by(|&a, &b| s.retained.of(b).cmp(&s.retained.of(a)).then(a.cmp(&b)));
        v.truncate(args.max.max(1));
        v
    };
    if let Some(id) = args.id {
        return s
            .node_by_id(id)
            .map(|v| vec![v])
            .ok_or_else(|| anyhow::anyhow!("no object with id @{id} in {}", args.file.display()));
    }
    if let Some(class) = &args.class {
        let found: Vec<u32> = s
            .class_rows()
            .into_iter()
            .filter(|r| &r.name == class)
            .flat_map(|r| r.instances)
            .collect();
        anyhow::ensure!(
            !found.is_empty(),
            "no class named {class:?} in {}",
            args.file.display()
        );
        return Ok(by_retained(found));
    }
    let text = args.string.as_deref().unwrap_or_default();
    let nt = s.graph.node_types();
    let strings: Vec<u32> = (0..s.node_count() as u32)
        .filter(|&v| {
            let t = s.graph.node_type[v as usize];
            t == nt.string || t == nt.cons_string || t == nt.sliced_string
        })
        .collect();
    let exact: Vec<u32> = strings
        .iter()
        .copied()
        .filter(|&v| s.display_name(v) == text)
        .collect();
    let found = if exact.is_empty() {
        strings
            .into_iter()
            .filter(|&v| s.display_name(v).contains(text))
            .collect()
    } else {
        exact
    };
    anyhow::ensure!(
        !found.is_empty(),
        "no string containing {text:?} in {}",
        args.file.display()
    );
    Ok(by_retained(found))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let s = args.cache.load(&args.file, Depth::Full, args.json)?;
    let targets = select(&s, &args)?;
    let index = s.retainer_index();
    let mut out = Vec::new();
    for v in targets {
        let path = s.retaining_path(&index, v, args.depth);
        let start = path.last().map_or(v, |r| r.from);
        let from_roots = s.distances[start as usize] == 1;
        let mut hops = Vec::new();
        let mut chain = String::from(if from_roots {
            "(GC roots) → "
        } else {
            "… → "
        });
        chain.push_str(&describe(&s, start));
        for r in path.iter().rev() {
            let to = s.graph.edge_to(r.edge);
            let label = s.edge_label(r.edge);
            chain.push_str(&format!(" {label} → {}", describe(&s, to)));
            hops.push(Hop {
                edge: label,
                edge_type: s.graph.edge_type_name(r.edge).to_owned(),
                to: s.node_info(to),
            });
        }
        out.push(PathJson {
            target: s.node_info(v),
            start: s.node_info(start),
            from_roots,
            hops,
            chain,
        });
    }
    if args.json {
        output::json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for p in &out {
        let t = &p.target;
        outln!(
            "{} @{}  shallow {}, retained {}, distance {}",
            ellipsize(&t.name, 60),
            t.id,
            size(t.shallow_size),
            size(t.retained_size),
            distance(t.distance)
        )?;
        outln!(
            "  {}",
            if p.from_roots {
                "(GC roots)"
            } else {
                "… (no path from a user root)"
            }
        )?;
        outln!(
            "  {:<24} {} @{}",
            "",
            ellipsize(&describe(&s, s.node_by_id(p.start.id).unwrap_or(0)), 60),
            p.start.id
        )?;
        for h in &p.hops {
            outln!(
                "  {:<24} {} @{}",
                ellipsize(&h.edge, 24),
                ellipsize(
                    &format!(
                        "{} {}",
                        h.to.class_name,
                        if h.to.name == h.to.class_name {
                            ""
                        } else {
                            &h.to.name
                        }
                    ),
                    60
                ),
                h.to.id
            )?;
        }
        outln!("  chain: {}\n", p.chain)?;
    }
    Ok(ExitCode::SUCCESS)
}
