use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::ArgPredicate;
use leakscope_snapshot::{Depth, HeapSnapshot};
use leakscope_usecase::report::{describe, retainers_report};

use crate::output::{self, distance, ellipsize, size};

/// The retaining path from the GC roots to an object, as DevTools' Retainers
/// pane expands it (first retainer by distance, repeatedly; weak edges skipped).
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope retainers app.heapsnapshot --class IncomingMessage\n  leakscope retainers app.heapsnapshot --id 12345 --json\n  leakscope retainers app.heapsnapshot --string 'Leaky Master'"
)]
// `--json-schema` stands for an object too: it needs none (clap's exclusive
// flag exempts required arguments, not groups).
#[command(group(clap::ArgGroup::new("target").required(true).args(["id", "class", "string", "json_schema"])))]
pub struct Args {
    /// A .heapsnapshot or .heaptimeline file
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
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
    /// Print JSON instead of text (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
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
    if args.json_schema {
        return crate::output::schema::<leakscope_report::RetainersReport>();
    }
    let s = args.cache.load(&args.file, Depth::Full, args.json)?;
    let targets = select(&s, &args)?;
    let report = retainers_report(&s, &targets, args.depth);
    if args.json {
        output::json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    for p in &report.paths {
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
