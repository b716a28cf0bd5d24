//! Live actions on an attached target, the technique without the face:
//! empty a holder found by its snapshot id (`clear`), run an expression in
//! the frame of a line (`eval_at`), replace a script's source
//! (`set_source`). Each says what it did, or why not, in its own terms.

use std::path::{Path, PathBuf};
use std::time::Duration;

use leakscope_inspector::capture::write_snapshot;
use leakscope_inspector::{BindingCalled, Client, InspectorError, Observer, RemoteObject};
use leakscope_snapshot::{Depth, HeapSnapshot, RetainerIndex, SnapshotError};

/// Why a live action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Inspector(#[from] InspectorError),
    #[error("{}: {source}", .path.display())]
    Snapshot {
        path: PathBuf,
        #[source]
        source: SnapshotError,
    },
    /// The id came from a snapshot of an earlier session, and no snapshot
    /// was given to find the object again.
    #[error("V8 no longer knows @{id} (ids only live as long as the inspector session that took the snapshot); give the snapshot the id comes from")]
    IdForgotten { id: u64 },
    #[error("{} has no object @{id}", .path.display())]
    NoSuchObject { path: PathBuf, id: u64 },
    #[error("@{id} ({class}) is only held by element indexes, so it cannot be found again in a new snapshot")]
    OnlyIndexed { id: u64, class: String },
    #[error("no {class} held by {held_by} is alive any more")]
    Gone { class: String, held_by: String },
    #[error(
        "{count} objects of class {class} are held by {held_by}; cannot tell which one @{id} was"
    )]
    Ambiguous {
        id: u64,
        count: usize,
        class: String,
        held_by: String,
    },
    #[error("@{id} is a primitive, not an Array, Map or Set")]
    Primitive { id: u64 },
    #[error("@{id} is a {kind}, not an Array, Map or Set; nothing changed")]
    NotACollection { id: u64, kind: String },
    /// The target's answer was not what the injected function returns.
    #[error("unexpected answer from the target: {0}")]
    Answer(#[from] serde_json::Error),
    #[error("no loaded script matches `{file}` at line {line} (the app's own scripts: {})", .known.join(", "))]
    NoScriptAt {
        file: String,
        line: u32,
        known: Vec<String>,
    },
    #[error("{file}:{line} did not run within {} s (send the app traffic through that line)", .waited.as_secs())]
    LineDidNotRun {
        file: String,
        line: u32,
        waited: Duration,
    },
    #[error("the expression threw at {file}:{line}: {error}")]
    Threw {
        file: String,
        line: u32,
        error: String,
    },
    #[error("no loaded script matches `{0}`")]
    NoScript(String),
    #[error("the new source of {url} does not compile: {detail}")]
    CompileError { url: String, detail: String },
    #[error("a function of {0} is running (or paused) and blocks the edit; try again when the app is idle")]
    BlockedByActiveFunction(String),
    #[error("V8 refuses edits that change an ES module's top-level bindings ({0}); restart the app to apply it")]
    EsModuleTopLevel(String),
    #[error("V8 refused the edit of {url}: {status}")]
    Refused { url: String, status: String },
    #[error("V8 accepted the edit of {url} but it cannot take effect: {} still run(s) the old code (the edit changes which outer variables a closure uses). Restart the app to apply it", .stale.join(", "))]
    StaleHandlers { url: String, stale: Vec<String> },
}

// ---- clear ----

/// What [`clear`] emptied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    /// `Array`, `Map`, `Set` or a subclass's name.
    pub kind: String,
    pub removed: u64,
}

/// Empties the holder in place (reassigning would not reach a module's
/// variable) and says what it was.
const EMPTY: &str = "function () {
  if (Array.isArray(this)) { const n = this.length; this.length = 0; return { kind: 'Array', removed: n }; }
  if (this instanceof Map || this instanceof Set) { const n = this.size; this.clear(); return { kind: this.constructor.name, removed: n }; }
  return { kind: (this && this.constructor && this.constructor.name) || typeof this, removed: null };
}";

/// Empties the live Array, Map or Set with snapshot id `id`. An id from a
/// snapshot of an earlier session is found again through `snapshot` (the
/// file it comes from): a fresh snapshot, the same class held the same way.
pub async fn clear(
    client: &Client,
    id: u64,
    snapshot: Option<&Path>,
    observer: &mut dyn Observer,
) -> Result<Cleared, LiveError> {
    let object = find_live(client, id, snapshot, observer).await?;
    let object_id = object.object_id.ok_or(LiveError::Primitive { id })?;
    let result = client.call_function_on(&object_id, EMPTY).await?;
    #[derive(serde::Deserialize)]
    struct Answer {
        kind: String,
        removed: Option<u64>,
    }
    let answer: Answer = serde_json::from_value(result.value.unwrap_or_default())?;
    match answer.removed {
        Some(removed) => Ok(Cleared {
            kind: answer.kind,
            removed,
        }),
        None => Err(LiveError::NotACollection {
            id,
            kind: answer.kind,
        }),
    }
}

/// What [`clear`] leaves behind to undo: the object group its handles are in.
pub async fn clear_cleanup(client: &Client) {
    let _ = client.release_object_group().await;
}

/// The live object behind `id`: directly when V8 still knows the id, else
/// through the same holder in a fresh snapshot of this session.
async fn find_live(
    client: &Client,
    id: u64,
    snapshot: Option<&Path>,
    observer: &mut dyn Observer,
) -> Result<RemoteObject, LiveError> {
    if let Ok(object) = client.get_object_by_heap_object_id(id).await {
        return Ok(object);
    }
    let old_path = snapshot.ok_or(LiveError::IdForgotten { id })?;
    let old = load(old_path, observer)?;
    let v = old
        .node_by_id(id as u32)
        .ok_or_else(|| LiveError::NoSuchObject {
            path: old_path.to_owned(),
            id,
        })?;
    let (class, held_by) = signature(&old, &old.retainer_index(), v);
    if held_by.is_empty() {
        return Err(LiveError::OnlyIndexed { id, class });
    }
    let fresh_path = std::env::temp_dir().join(format!(
        "leakscope-clear-{}.heapsnapshot",
        std::process::id()
    ));
    let fresh = async {
        write_snapshot(client, &fresh_path, Default::default(), observer).await?;
        load(&fresh_path, observer)
    }
    .await;
    let _ = std::fs::remove_file(&fresh_path);
    let fresh = fresh?;
    let index = fresh.retainer_index();
    let matches: Vec<u32> = (0..fresh.node_count() as u32)
        .filter(|&u| fresh.class_name(u) == class)
        .filter(|&u| {
            let held = signature(&fresh, &index, u).1;
            held_by.iter().any(|w| held.contains(w))
        })
        .collect();
    let held_by = held_by
        .iter()
        .map(|(label, holder)| format!("{holder} {label}"))
        .collect::<Vec<_>>()
        .join(", ");
    match matches[..] {
        [u] => Ok(client
            .get_object_by_heap_object_id(fresh.graph.node_id[u as usize] as u64)
            .await?),
        [] => Err(LiveError::Gone { class, held_by }),
        _ => Err(LiveError::Ambiguous {
            id,
            count: matches.len(),
            class,
            held_by,
        }),
    }
}

fn load(path: &Path, observer: &mut dyn Observer) -> Result<HeapSnapshot, LiveError> {
    leakscope_snapshot::load(path, Depth::Full, observer).map_err(|source| LiveError::Snapshot {
        path: path.to_owned(),
        source,
    })
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

// ---- eval at a line ----

const BINDING: &str = "__leakscope_at";
const ONCE_KEY: &str = "Symbol.for('leakscope.at')";

/// Runs `expression` once in the frame of `file`:`line` (1-based) the next
/// time that line runs, through a conditional breakpoint that never pauses;
/// waits at most `wait`. Returns the value as a string.
pub async fn eval_at(
    client: &Client,
    file: &str,
    line: u32,
    expression: &str,
    wait: Duration,
    observer: &mut dyn Observer,
) -> Result<String, LiveError> {
    client.add_binding(BINDING).await?;
    let scripts = client.debugger_enable().await?;
    // Breakpoint conditions are evaluated like `eval` code in the frame, so
    // statements work; the completion value `false` keeps the app running.
    let condition = format!(
        "try {{ if (!globalThis[{ONCE_KEY}]) {{ globalThis[{ONCE_KEY}] = true; \
         globalThis.{BINDING}(JSON.stringify({{ ok: String(({expression})) }})); }} }} \
         catch (e) {{ globalThis.{BINDING}(JSON.stringify({{ error: String(e) }})); }} false"
    );
    let breakpoint = client
        .set_breakpoint_by_url(&url_regex(file), line - 1, &condition)
        .await?;
    if breakpoint.locations.is_empty() {
        let _ = client.remove_breakpoint(&breakpoint.breakpoint_id).await;
        let known = scripts
            .iter()
            .filter(|s| s.url.starts_with("file:") || s.url.starts_with('/'))
            .map(|s| s.url.rsplit('/').next().unwrap_or(&s.url).to_owned())
            .take(8)
            .collect();
        return Err(LiveError::NoScriptAt {
            file: file.to_owned(),
            line,
            known,
        });
    }
    observer.note(&format!(
        "waiting for {file}:{line} to run (send the app a request)…"
    ));
    let called = tokio::time::timeout(wait, async {
        while let Some(event) = client.next_event().await {
            if event.method == "Runtime.bindingCalled" {
                let called: BindingCalled = event.parse()?;
                if called.name == BINDING {
                    return Ok(called.payload);
                }
            }
        }
        Err(InspectorError::Closed)
    })
    .await;
    let _ = client.remove_breakpoint(&breakpoint.breakpoint_id).await;
    let payload = called.map_err(|_| LiveError::LineDidNotRun {
        file: file.to_owned(),
        line,
        waited: wait,
    })??;
    #[derive(serde::Deserialize)]
    struct Outcome {
        ok: Option<String>,
        error: Option<String>,
    }
    let outcome: Outcome = serde_json::from_str(&payload)?;
    match (outcome.ok, outcome.error) {
        (Some(value), _) => Ok(value),
        (None, error) => Err(LiveError::Threw {
            file: file.to_owned(),
            line,
            error: error.unwrap_or_default(),
        }),
    }
}

/// Undoes what [`eval_at`] opened: the binding, the once-flag, the debugger
/// and the object group.
pub async fn eval_at_cleanup(client: &Client) {
    let _ = client.remove_binding(BINDING).await;
    let _ = client
        .evaluate(
            &format!("delete globalThis.{BINDING}; delete globalThis[{ONCE_KEY}]"),
            false,
        )
        .await;
    let _ = client.debugger_disable().await;
    let _ = client.release_object_group().await;
}

/// A script URL pattern that matches `file` as a whole path suffix.
fn url_regex(file: &str) -> String {
    let mut escaped = String::from("(^|/)");
    for c in file.trim_start_matches("./").chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('$');
    escaped
}

// ---- set a script's source ----

/// What [`set_source`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSet {
    /// Checked only: V8 would accept it.
    WouldAccept { url: String },
    /// Replaced: functions run the new code from their next call.
    Replaced { url: String },
}

impl std::fmt::Display for SourceSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSet::WouldAccept { url } => write!(f, "V8 would accept the new source of {url}"),
            SourceSet::Replaced { url } => write!(
                f,
                "replaced the source of {url}; functions run the new code from their next call (top-level code does not run again)"
            ),
        }
    }
}

/// Finds handlers of the app's servers whose code the edit removed: V8
/// keeps running their old code when the edit changes what they capture.
const STALE_HANDLERS: &str = r#"(function (before, source) {
  const stale = [];
  for (const h of process._getActiveHandles()) {
    if (!h || typeof h.listeners !== 'function') continue;
    for (const event of ['request', 'connection', 'upgrade']) {
      for (const fn of h.listeners(event)) {
        const text = Function.prototype.toString.call(fn);
        if (before.includes(text) && !source.includes(text)) stale.push(fn.name || '(anonymous ' + event + ' listener)');
      }
    }
  }
  return stale;
})"#;

/// Replaces the source of the loaded script whose URL ends with `script`
/// (only checks with `dry_run`), retrying while a running function blocks
/// it, and refuses to call it done when the app's handlers keep old code.
pub async fn set_source(
    client: &Client,
    script: &str,
    source: &str,
    dry_run: bool,
) -> Result<SourceSet, LiveError> {
    let scripts = client.debugger_enable().await?;
    let wanted = script.trim_start_matches("./");
    // The first script with the URL is the live one; earlier edits leave
    // old versions behind under new ids.
    let found = scripts
        .iter()
        .find(|s| s.url == wanted || s.url.ends_with(&format!("/{wanted}")))
        .ok_or_else(|| LiveError::NoScript(script.to_owned()))?;
    let url = found.url.clone();
    let before = client.get_script_source(&found.script_id).await?;
    let (status, detail) = client
        .set_script_source(&found.script_id, source, true)
        .await?;
    check_status(&status, detail, &url)?;
    if dry_run {
        return Ok(SourceSet::WouldAccept { url });
    }
    let mut attempt = 0;
    loop {
        let (status, detail) = client
            .set_script_source(&found.script_id, source, false)
            .await?;
        // A function that just ran can block the edit for a moment.
        if status == "BlockedByActiveFunction" && attempt < 10 {
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        check_status(&status, detail, &url)?;
        break;
    }
    let check = format!(
        "{STALE_HANDLERS}({}, {})",
        serde_json::to_string(&before)?,
        serde_json::to_string(source)?
    );
    let stale: Vec<String> = client.eval_value(&check).await.unwrap_or_default();
    if !stale.is_empty() {
        return Err(LiveError::StaleHandlers { url, stale });
    }
    Ok(SourceSet::Replaced { url })
}

/// Undoes what [`set_source`] opened: the debugger.
pub async fn set_source_cleanup(client: &Client) {
    let _ = client.debugger_disable().await;
}

fn check_status(status: &str, detail: Option<String>, url: &str) -> Result<(), LiveError> {
    let url = url.to_owned();
    match status {
        "Ok" => Ok(()),
        "CompileError" => Err(LiveError::CompileError {
            url,
            detail: detail.unwrap_or_default(),
        }),
        "BlockedByActiveFunction" => Err(LiveError::BlockedByActiveFunction(url)),
        "BlockedByTopLevelEsModuleChange" => Err(LiveError::EsModuleTopLevel(url)),
        other => Err(LiveError::Refused {
            url,
            status: other.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::url_regex;

    #[test]
    fn the_url_pattern_is_an_anchored_path_suffix() {
        assert_eq!(url_regex("./a.b.js"), r"(^|/)a\.b\.js$");
        assert_eq!(url_regex("src/app.js"), r"(^|/)src/app\.js$");
    }
}
