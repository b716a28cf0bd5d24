use std::path::PathBuf;
use std::process::ExitCode;

use leakscope_report::live::Cleared;
use leakscope_report::Document;
use leakscope_usecase::live::{self, LiveError};

use crate::live::{block_on, with_target, TargetArgs};
use crate::progress::Terminal;

/// Empty a live Array, Map or Set by its heap snapshot id (the `@N` that
/// `summary`, `retainers` and `dominators` print): the quick fix for a
/// leaking holder, without restarting the app.
#[derive(clap::Args)]
#[command(
    after_help = "V8 forgets snapshot ids when the inspector session that took the snapshot \
ends. So give --snapshot FILE, the snapshot the id comes from: leakscope then takes a fresh \
snapshot in its own session and finds the same holder there by how it is held (its class and \
the named references to it, e.g. `->pending` of a closure context).\n\n\
Examples:\n  leakscope retainers app.heapsnapshot --class IncomingMessage   # names the holder @12345\n  \
leakscope clear --pid 4242 --id 12345 --snapshot app.heapsnapshot"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Heap snapshot id of the Array, Map or Set to empty
    #[arg(long, value_name = "N", required_unless_present = "json_schema")]
    pub id: Option<u64>,
    /// The snapshot (of this process) the id comes from
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<Cleared>();
    }
    let id = *crate::output::given(&args.id, "--id N")?;
    let mut terminal = Terminal::new(args.json);
    let cleared = block_on(with_target(
        &args.target.resolve()?,
        async |target| {
            live::clear(&target.client, id, args.snapshot.as_deref(), &mut terminal)
                .await
                .map_err(said)
        },
        async |client| live::clear_cleanup(client).await,
    ));
    terminal.bar.finish_and_clear();
    let cleared = cleared?;
    if args.json {
        crate::output::json(&Cleared {
            schema_version: <Cleared as Document>::SCHEMA_VERSION,
            kind: cleared.kind,
            removed: cleared.removed,
        })?;
    } else {
        outln!(
            "emptied {} @{id}: removed {} entries",
            cleared.kind,
            cleared.removed
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A live action's failure in the CLI's words: the flag that helps.
fn said(e: LiveError) -> anyhow::Error {
    match e {
        LiveError::IdForgotten { id } => anyhow::anyhow!(
            "V8 no longer knows @{id} (ids only live as long as the inspector session that took the snapshot); pass --snapshot FILE, the snapshot the id comes from"
        ),
        LiveError::Inspector(e) => crate::capture::with_force_hint(e),
        e => e.into(),
    }
}
