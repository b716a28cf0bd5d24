use std::path::{Path, PathBuf};
use std::process::ExitCode;

use leakscope_inspector::{Client, RemoteObject};
use leakscope_snapshot::{Depth, HeapSnapshot, RetainerIndex};

use crate::live::{block_on, with_target, TargetArgs};

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
    #[arg(long, value_name = "N")]
    pub id: u64,
    /// The snapshot (of this process) the id comes from
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
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

/// The live object behind `id`: directly when V8 still knows the id, else
/// through the same holder in a fresh snapshot of this session.
async fn find_live(
    client: &Client,
    id: u64,
    snapshot: Option<&Path>,
    quiet: bool,
) -> anyhow::Result<RemoteObject> {
    if let Ok(object) = client.get_object_by_heap_object_id(id).await {
        return Ok(object);
    }
    let Some(old_path) = snapshot else {
        anyhow::bail!(
            "V8 no longer knows @{id} (ids only live as long as the inspector session that took the snapshot); pass --snapshot FILE, the snapshot the id comes from"
        );
    };
    let old = crate::progress::load(old_path, Depth::Full, quiet, None)?;
    let v = old
        .node_by_id(id as u32)
        .ok_or_else(|| anyhow::anyhow!("{} has no object @{id}", old_path.display()))?;
    let wanted = signature(&old, &old.retainer_index(), v);
    anyhow::ensure!(
        !wanted.1.is_empty(),
        "@{id} ({}) is only held by element indexes, so it cannot be found again in a new snapshot",
        wanted.0
    );
    let fresh_path = std::env::temp_dir().join(format!(
        "leakscope-clear-{}.heapsnapshot",
        std::process::id()
    ));
    let fresh = async {
        crate::capture::capture(client, &fresh_path, Default::default(), quiet).await?;
        crate::progress::load(&fresh_path, Depth::Full, quiet, None).map_err(anyhow::Error::from)
    }
    .await;
    let _ = std::fs::remove_file(&fresh_path);
    let fresh = fresh?;
    let index = fresh.retainer_index();
    let matches: Vec<u32> = (0..fresh.node_count() as u32)
        .filter(|&u| fresh.class_name(u) == wanted.0)
        .filter(|&u| {
            let held = signature(&fresh, &index, u).1;
            wanted.1.iter().any(|w| held.contains(w))
        })
        .collect();
    let describe = |(label, class): &(String, String)| format!("{class} {label}");
    let held_by = wanted.1.iter().map(describe).collect::<Vec<_>>().join(", ");
    match matches[..] {
        [u] => Ok(client
            .get_object_by_heap_object_id(fresh.graph.node_id[u as usize] as u64)
            .await?),
        [] => anyhow::bail!("no {} held by {held_by} is alive any more", wanted.0),
        _ => anyhow::bail!(
            "{} objects of class {} are held by {held_by}; cannot tell which one @{id} was",
            matches.len(),
            wanted.0
        ),
    }
}

/// How an object is held: its class, and the named references to it with
/// their holders' classes. Element indexes are left out: they shift.
fn signature(s: &HeapSnapshot, index: &RetainerIndex, v: u32) -> (String, Vec<(String, String)>) {
    let held_by = s
        .retainers(index, v)
        .iter()
        .map(|r| (s.edge_label(r.edge), s.class_name(r.from).to_owned()))
        .filter(|(label, _)| !label.starts_with('['))
        .collect();
    (s.class_name(v).to_owned(), held_by)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let id = args.id;
    let cleared = block_on(with_target(
        &args.target.resolve()?,
        async |target| {
            let object = find_live(&target.client, id, args.snapshot.as_deref(), args.json).await?;
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
