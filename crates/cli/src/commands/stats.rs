use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::ArgPredicate;
use leakscope_snapshot::Depth;

use crate::output::{self, ellipsize, size};

/// The Statistics view (code, strings, JS arrays, typed arrays, system) and
/// the duplicated strings that waste memory.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  leakscope stats app.heapsnapshot\n  leakscope stats app.heapsnapshot --top 50 --json"
)]
pub struct Args {
    /// A .heapsnapshot or .heaptimeline file
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
    pub file: PathBuf,
    /// How many duplicated strings to list (0 = all)
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    /// Print JSON instead of tables (schema: --json-schema)
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
        return crate::output::schema::<leakscope_report::StatsReport>();
    }
    let s = args.cache.load(&args.file, Depth::Full, args.json)?;
    let mut dups = s.duplicate_strings();
    if args.top > 0 {
        dups.truncate(args.top);
    }
    let st = &s.statistics;
    if args.json {
        output::json(&leakscope_usecase::report::stats_report(st, &dups))?;
        return Ok(ExitCode::SUCCESS);
    }
    let v8 = &st.v8heap;
    let other = v8
        .total
        .saturating_sub(v8.code + v8.strings + v8.js_arrays + v8.system);
    let mut t = output::table(&["Category", "Size", "%"]);
    let pct = |x: u64| format!("{:.1}", x as f64 * 100.0 / st.total.max(1) as f64);
    for (name, value) in [
        ("Code", v8.code),
        ("Strings", v8.strings),
        ("JS arrays", v8.js_arrays),
        ("Typed arrays", st.native.typed_arrays),
        ("System objects", v8.system),
        ("Other JS objects", other),
        (
            "Other non-JS objects",
            st.native.total.saturating_sub(st.native.typed_arrays),
        ),
        ("Total", st.total),
    ] {
        t.add_row(vec![name.to_owned(), size(value), pct(value)]);
    }
    outln!("{t}")?;
    if dups.is_empty() {
        outln!("No duplicated strings.")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = output::table(&["Duplicated string", "Copies", "Total", "Wasted"]);
    for d in &dups {
        t.add_row(vec![
            ellipsize(&format!("{:?}", d.text), 70),
            d.count.to_string(),
            size(d.total_size),
            size(d.wasted_size),
        ]);
    }
    outln!("{t}")?;
    Ok(ExitCode::SUCCESS)
}
