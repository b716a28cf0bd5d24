use std::process::ExitCode;

use anyhow::Context;

use leakscope_snapshot::Cache;
use leakscope_usecase::report::{cache_cleared, cache_entries};

use crate::output::{self, size};

/// The analysis cache: which snapshots' analyses are kept, and room taken
#[derive(clap::Args)]
#[command(
    after_help = "The cache lets a second command on an unchanged snapshot skip its analysis. It lives in\n$LEAKSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/leakscope or ~/.cache/leakscope, and takes at most\n$LEAKSCOPE_CACHE_SIZE (default 16G). Commands that read snapshots take --no-cache.\n\nExamples:\n  leakscope cache\n  leakscope cache --clear\n  leakscope cache --json"
)]
pub struct Args {
    /// Remove every cached analysis
    #[arg(long)]
    pub clear: bool,
    /// Print JSON instead of a table (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<leakscope_report::CacheReport>();
    }
    let Some(cache) = Cache::user() else {
        anyhow::bail!("no cache directory: set LEAKSCOPE_CACHE_DIR (or HOME)");
    };
    if args.clear {
        let freed = cache
            .clear()
            .with_context(|| format!("cannot clear {}", cache.dir().display()))?;
        if args.json {
            output::json(&cache_cleared(cache.dir(), freed))?;
        } else {
            outln!("removed {} from {}", size(freed), cache.dir().display())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let entries = cache.entries();
    let bytes = entries.iter().map(|e| e.bytes).sum();
    if args.json {
        output::json(&cache_entries(cache.dir(), cache.max_bytes(), &entries))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = output::table(&["Snapshot", "On disk", "Retainers", "Last used"]);
    let now = std::time::SystemTime::now();
    for e in &entries {
        let ago = now.duration_since(e.last_used).unwrap_or_default();
        t.add_row(vec![
            e.snapshot.as_ref().map_or_else(
                || "(another version's entry)".to_owned(),
                |p| p.display().to_string(),
            ),
            size(e.bytes),
            if e.has_retainers { "yes" } else { "no" }.to_owned(),
            format!(
                "{} ago",
                humantime::format_duration(std::time::Duration::from_secs(ago.as_secs()))
            ),
        ]);
    }
    if !entries.is_empty() {
        outln!("{t}")?;
    }
    outln!(
        "{} {}, {} of at most {} in {}",
        entries.len(),
        if entries.len() == 1 {
            "analysis"
        } else {
            "analyses"
        },
        size(bytes),
        size(cache.max_bytes()),
        cache.dir().display()
    )?;
    Ok(ExitCode::SUCCESS)
}
