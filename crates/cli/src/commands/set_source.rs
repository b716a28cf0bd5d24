use leakscope_usecase::live;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::live::{block_on, with_target, TargetArgs};

/// Replace a loaded script's source in a live process (live edit, as in
/// DevTools' Sources panel): function bodies change for their next call.
#[derive(clap::Args)]
#[command(
    after_help = "What V8 cannot do, and leakscope says so: top-level code never runs again; \
an edit that makes a function use outer variables it did not use before is accepted but the \
running function keeps its old code; adding top-level bindings to an ES module is refused. \
A function running right now blocks the edit for a moment: leakscope retries.\n\n\
Examples:\n  leakscope set-source --pid 4242 --script app.js --file app.fixed.js\n  \
leakscope set-source --port 9229 --script src/server.mjs --file fixed.mjs --dry-run"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The loaded script to replace: its URL, path or file name
    #[arg(long, value_name = "URL")]
    pub script: String,
    /// The new source text
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// Only check that V8 would accept it
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = std::fs::read_to_string(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let done = block_on(with_target(
        &args.target.resolve()?,
        async |target| {
            Ok(live::set_source(&target.client, &args.script, &source, args.dry_run).await?)
        },
        async |client| live::set_source_cleanup(client).await,
    ))?;
    outln!("{done}")?;
    Ok(ExitCode::SUCCESS)
}
