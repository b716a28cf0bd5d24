use std::process::ExitCode;

use crate::live::{block_on, with_target, TargetArgs};

/// Empty a live Array, Map or Set by its heap snapshot id (the `@N` that
/// `summary`, `retainers` and `dominators` print): the quick fix for a
/// leaking holder, without restarting the app.
#[derive(clap::Args)]
#[command(
    after_help = "The id must come from a snapshot of the same process; ids stay valid \
while the process lives.\n\n\
Examples:\n  leakscope retainers app.heapsnapshot --class IncomingMessage   # names the holder @12345\n  leakscope clear --pid 4242 --id 12345"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Heap snapshot id of the Array, Map or Set to empty
    #[arg(long, value_name = "N")]
    pub id: u64,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// Empties the holder in place (reassigning would not reach a module's
/// variable) and says what it was.
const EMPTY: &str = "function () {
  if (Array.isArray(this)) { const n = this.length; this.length = 0; return { kind: 'Array', removed: n }; }
  if (this instanceof Map || this instanceof Set) { const n = this.size; this.clear(); return { kind: this.constructor.name, removed: n }; }
  return { kind: (this && this.constructor && this.constructor.name) || typeof this, removed: null };
}";

#[derive(serde::Serialize, serde::Deserialize)]
struct Cleared {
    kind: String,
    removed: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let id = args.id;
    let cleared = block_on(with_target(
        &args.target,
        async |target| {
            let object = target
                .client
                .get_object_by_heap_object_id(id)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "no live object @{id} in PID {} ({e}); the id must come from a snapshot of this process, and the object may have been freed",
                        target.pid
                    )
                })?;
            let object_id = object
                .object_id
                .ok_or_else(|| anyhow::anyhow!("@{id} is a primitive, not an Array, Map or Set"))?;
            let result = target.client.call_function_on(&object_id, EMPTY).await?;
            let cleared: Cleared = serde_json::from_value(result.value.unwrap_or_default())?;
            Ok(cleared)
        },
        async |client| {
            let _ = client.release_object_group().await;
        },
    ))?;
    let Some(removed) = cleared.removed else {
        anyhow::bail!(
            "@{id} is a {}, not an Array, Map or Set; nothing changed",
            cleared.kind
        );
    };
    if args.json {
        crate::output::json(&cleared)?;
    } else {
        outln!("emptied {} @{id}: removed {removed} entries", cleared.kind)?;
    }
    Ok(ExitCode::SUCCESS)
}
