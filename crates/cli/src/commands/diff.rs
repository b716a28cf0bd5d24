use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::ArgPredicate;
use leakscope_snapshot::Depth;

use crate::output::{self, ellipsize, size};

/// The Comparison view: per class, objects new in NEW and gone since OLD.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope diff before.heapsnapshot after.heapsnapshot\n  leakscope diff before.heapsnapshot after.heapsnapshot --top 0 --json\n\nObjects are matched by snapshot id, which is only stable between snapshots of the same process."
)]
pub struct Args {
    /// The baseline snapshot
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
    pub old: PathBuf,
    /// The later snapshot
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
    pub new: PathBuf,
    /// How many classes to show (0 = all)
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    /// Print JSON instead of a table (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<leakscope_report::DiffReport>();
    }
    let (old, new) = std::thread::scope(|scope| {
        let old = scope.spawn(|| args.cache.load(&args.old, Depth::Classes, true));
        let new = args.cache.load(&args.new, Depth::Classes, args.json);
        (old.join().expect("loader thread"), new)
    });
    let mut old = old?;
    let new = new?;
    let mut rows = leakscope_snapshot::compare(&mut old, &new);
    if args.top > 0 {
        rows.truncate(args.top);
    }
    if args.json {
        output::json(&leakscope_usecase::report::diff_report(&rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = output::table(&[
        "Constructor",
        "# New",
        "# Deleted",
        "# Delta",
        "Alloc. size",
        "Freed size",
        "Size delta",
    ]);
    for r in &rows {
        t.add_row(vec![
            ellipsize(&r.name, 60),
            r.added_count.to_string(),
            r.removed_count.to_string(),
            format!("{:+}", r.count_delta),
            size(r.added_size),
            size(r.removed_size),
            format!(
                "{}{}",
                if r.size_delta < 0 { "-" } else { "+" },
                size(r.size_delta.unsigned_abs())
            ),
        ]);
    }
    outln!("{t}")?;
    Ok(ExitCode::SUCCESS)
}
