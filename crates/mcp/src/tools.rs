//! The tools: each takes JSON arguments described for an agent, answers
//! with a short text and the exact numbers as structured content, and turns
//! every failure into a tool error the agent can read.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use leakscope_explore::{EdgeRow, Explorer, Observer, Page, Progress, Row};
use leakscope_hunt::session::{Config, Drive, LoadCommand, LoadSpec};
use leakscope_hunt::Rules;
use leakscope_inspector::capture::{write_snapshot, SnapshotOptions};
use leakscope_inspector::Silent;
use leakscope_inspector::{attach, AttachOptions, TargetSpec};
use leakscope_report::{FindLeaksReport as Judgement, HuntReport as Report};
use leakscope_snapshot::{Cache, Depth};
use leakscope_sourcemap::Positions;
use leakscope_usecase::find_leaks::{find_leaks, FindLeaksRequest};
use leakscope_usecase::hunt::HuntRequest;
use leakscope_usecase::Target;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ProgressNotificationParam, ProgressToken,
    RequestMetaObject, ServerCapabilities, ServerConfig,
};
use rmcp::{tool, tool_handler, tool_router, ErrorData, Peer, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::format::{cut, distance, signed_size, size};
use crate::loaded::{Loaded, Shared};
use crate::Options;

/// Rows an answer lists at most.
const MAX_TOP: usize = 500;

/// The server: loaded snapshots and what it needs to hunt.
#[derive(Clone)]
pub struct Leakscope {
    tool_router: ToolRouter<Self>,
    loaded: Arc<Loaded>,
    cache: Option<Cache>,
    positions: Arc<Positions>,
    /// One hunt or snapshot at a time: each takes over a target.
    capturing: Arc<tokio::sync::Mutex<()>>,
}

/// A tool's answer, or the error the agent sees.
type Answer = Result<CallToolResult, ErrorData>;

fn answer(text: String, structured: Value) -> Answer {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    Ok(result)
}

/// Runs `work` on a thread of its own with its own runtime: the capture
/// and hunt futures report progress through plain `FnMut`s and are not
/// `Send`. Its progress lines reach `reporter` as they come.
async fn on_own_thread<T: Send + 'static>(
    reporter: &Reporter,
    work: impl AsyncFnOnce(tokio::sync::mpsc::UnboundedSender<String>) -> T + Send + 'static,
) -> Result<T, ErrorData> {
    let (lines, mut updates) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            let _ = done.send(runtime.block_on(work(lines)));
        }
    });
    let mut step = 0.0;
    while let Some(line) = updates.recv().await {
        step += 1.0;
        reporter.say(step, None, line).await;
    }
    result
        .await
        .map_err(|_| ErrorData::internal_error("the capture thread stopped", None))
}

fn refuse(message: impl Into<String>) -> Answer {
    Ok(CallToolResult::error(vec![ContentBlock::text(
        message.into(),
    )]))
}

fn top(n: Option<usize>, default: usize) -> usize {
    n.unwrap_or(default).clamp(1, MAX_TOP)
}

/// Progress notifications for one call, when the client asked for them.
#[derive(Clone)]
struct Reporter {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
}

impl Reporter {
    fn new(meta: &RequestMetaObject, peer: Peer<RoleServer>) -> Self {
        Reporter {
            peer,
            token: meta.get_progress_token(),
        }
    }

    async fn say(&self, done: f64, total: Option<f64>, message: String) {
        let Some(token) = &self.token else { return };
        let mut param = ProgressNotificationParam::new(token.clone(), done).with_message(message);
        if let Some(total) = total {
            param = param.with_total(total);
        }
        let _ = self.peer.notify_progress(param).await;
    }
}

// ---- arguments ---------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SummaryArgs {
    /// Path of a .heapsnapshot or .heaptimeline file (plain, .gz or .zst).
    pub path: String,
    /// Only classes whose name contains this text (any case).
    pub class_filter: Option<String>,
    /// How many classes to list, largest retained size first (default 25).
    pub top: Option<usize>,
    /// Skip this many classes first (paging; default 0).
    pub offset: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CompareArgs {
    /// The earlier snapshot of the process.
    pub base: String,
    /// The later snapshot of the same process (objects are matched by id).
    pub current: String,
    /// Only classes whose name contains this text (any case).
    pub class_filter: Option<String>,
    /// How many changed classes to list, largest size delta first (default 25).
    pub top: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RetainersArgs {
    /// Path of the snapshot.
    pub path: String,
    /// The object's id, as in `@12345` (give one of id, class, string).
    pub id: Option<u32>,
    /// A class (constructor) name: its largest instance by retained size.
    pub class: Option<String>,
    /// Text a string contains: the most retaining such string.
    pub string: Option<String>,
    /// How many direct retainers to list (default 10).
    pub top: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DominatorsArgs {
    /// Path of the snapshot.
    pub path: String,
    /// The object whose dominated children to list (default: the root, i.e.
    /// the biggest retainers in the heap).
    pub id: Option<u32>,
    /// How many to list, largest retained size first (default 20).
    pub top: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PathArgs {
    /// Path of the snapshot.
    pub path: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StringsArgs {
    /// Path of the snapshot.
    pub path: String,
    /// How many duplicated strings to list, most wasted bytes first (default 20).
    pub top: Option<usize>,
    /// Skip this many first (paging; default 0).
    pub offset: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindLeaksArgs {
    /// Three or more snapshots of one process, oldest first.
    pub paths: Vec<String>,
    /// Calls (requests, operations) each interval between two snapshots
    /// made, if known: rates are then per call.
    pub calls: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct HuntArgs {
    /// Launch this app with the inspector and stop it at the end, e.g.
    /// ["node", "server.js"] (give this or pid).
    pub command: Option<Vec<String>>,
    /// A running Node process to attach to (its inspector is opened with
    /// SIGUSR1 and closed again at the end).
    pub pid: Option<u32>,
    /// Where to send HTTP load: a URL, or a path on the one port the app
    /// listens on (default `/`).
    pub url: Option<String>,
    /// Send no load: each round is the process's own work (queue
    /// consumers, workers); rates are per second.
    pub no_load: Option<bool>,
    /// Your own load command, run through `sh -c` once per round; `{url}`
    /// becomes the app's base URL.
    pub load_cmd: Option<String>,
    /// The whole hunt's time limit in seconds (default 90).
    pub budget_seconds: Option<u64>,
    /// Rounds of load, each followed by a GC and a snapshot (default 3).
    pub rounds: Option<usize>,
    /// Requests per round (default 3000).
    pub requests: Option<u64>,
    /// Keep the snapshots (and hunt.json) in this directory, for the other
    /// tools; by default they are deleted.
    pub keep_dir: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SnapshotArgs {
    /// The running Node process.
    pub pid: u32,
    /// Where to write the .heapsnapshot (must not exist yet).
    pub path: String,
    /// Take it even when the process lacks the memory V8 needs to build it
    /// (estimated first; the process could be killed).
    pub force: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TimelineArgs {
    /// Path of a .heaptimeline (an allocation recording).
    pub path: String,
    /// Start of the window, seconds into the recording (default 0).
    pub from_seconds: Option<f64>,
    /// End of the window (default: the end of the recording).
    pub to_seconds: Option<f64>,
    /// How many classes to list (default 15).
    pub top: Option<usize>,
}

// ---- tools -------------------------------------------------------------------

#[tool_router]
impl Leakscope {
    pub fn new(options: Options) -> Self {
        Leakscope {
            tool_router: Self::tool_router(),
            loaded: Arc::new(Loaded::new(options.cache.clone())),
            cache: options.cache,
            positions: options.positions,
            capturing: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Loads `path` on the blocking pool, reporting progress.
    async fn explorer(&self, path: &str, reporter: &Reporter) -> Result<Shared, String> {
        let loaded = self.loaded.clone();
        let path = PathBuf::from(path);
        let (sender, mut updates) = tokio::sync::mpsc::unbounded_channel::<Progress>();
        let size = std::fs::metadata(&path).map(|m| m.len() as f64).ok();
        let task = tokio::task::spawn_blocking(move || {
            loaded.get(&path, &mut Forwarded(sender, Progress::default()))
        });
        let forward = {
            let reporter = reporter.clone();
            async move {
                let mut last: (u64, Option<String>) = (0, None);
                while let Some(p) = updates.recv().await {
                    // One notification per 5 % read, and per analysis step.
                    let bucket =
                        size.map_or(0, |s| (p.bytes_read as f64 * 20.0 / s.max(1.0)) as u64);
                    if (bucket, &p.step) != (last.0, &last.1) {
                        last = (bucket, p.step.clone());
                        let message = p
                            .step
                            .unwrap_or_else(|| format!("reading: {} read", size_of(p.bytes_read)));
                        reporter.say(p.bytes_read as f64, size, message).await;
                    }
                }
            }
        };
        let (loaded, ()) = tokio::join!(task, forward);
        loaded.map_err(|e| e.to_string())?
    }

    /// DevTools' Summary view: classes by retained size, with counts,
    /// shallow and retained sizes and distances.
    #[tool(
        description = "The Summary view of a V8 heap snapshot (Chrome DevTools' numbers): classes (constructors) with instance count, shallow size, retained size and distance from the GC roots, largest retained size first. Use it first to see what fills a heap. Files of several GB are fine: the first call reads the file (seconds), later calls on it answer at once.",
        annotations(read_only_hint = true)
    )]
    async fn summary(
        &self,
        Parameters(a): Parameters<SummaryArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let reporter = Reporter::new(&meta, peer);
        let explorer = match self.explorer(&a.path, &reporter).await {
            Ok(e) => e,
            Err(e) => return refuse(e),
        };
        let e = explorer.read().expect("explorer lock");
        let classes = e.classes(a.class_filter.as_deref().unwrap_or(""), None);
        let overview = e.overview();
        let (offset, n) = (a.offset.unwrap_or(0), top(a.top, 25));
        let shown: Vec<_> = classes.iter().skip(offset).take(n).collect();
        let mut text = format!(
            "{}: {} objects, {} retained from the root, {} classes{}\n",
            a.path,
            overview.node_count,
            size(overview.root_retained_size),
            classes.len(),
            a.class_filter
                .as_deref()
                .map(|f| format!(" matching {f:?}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            text,
            "{:<40} {:>9} {:>10} {:>10} {:>5}",
            "class", "count", "shallow", "retained", "dist"
        );
        for c in &shown {
            let _ = writeln!(
                text,
                "{:<40} {:>9} {:>10} {:>10} {:>5}",
                cut(&c.name, 40),
                c.count,
                size(c.shallow_size),
                size(c.retained_size),
                distance(c.distance)
            );
        }
        if offset + shown.len() < classes.len() {
            let _ = writeln!(
                text,
                "… {} more (offset {})",
                classes.len() - offset - shown.len(),
                offset + shown.len()
            );
        }
        answer(
            text,
            json!({
                "nodes": overview.node_count,
                "rootRetainedSize": overview.root_retained_size,
                "totalClasses": classes.len(),
                "offset": offset,
                "classes": shown,
            }),
        )
    }

    /// DevTools' Comparison view between two snapshots of one process.
    #[tool(
        description = "Compare two heap snapshots of the same process (DevTools' Comparison view): per class, objects new in `current`, deleted since `base`, and the size delta, largest growth first. Use it to see what a workload added between two snapshots.",
        annotations(read_only_hint = true)
    )]
    async fn compare(
        &self,
        Parameters(a): Parameters<CompareArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let reporter = Reporter::new(&meta, peer);
        let base = match self.explorer(&a.base, &reporter).await {
            Ok(e) => e,
            Err(e) => return refuse(e),
        };
        let current = match self.explorer(&a.current, &reporter).await {
            Ok(e) => e,
            Err(e) => return refuse(e),
        };
        if Arc::ptr_eq(&base, &current) {
            return refuse("base and current are the same file: give two snapshots of one process");
        }
        let diff = tokio::task::spawn_blocking(move || {
            let mut b = base.write().expect("explorer lock");
            let c = current.read().expect("explorer lock");
            leakscope_explore::compare(&mut b, &c)
        })
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let filter = a.class_filter.unwrap_or_default().to_lowercase();
        let rows: Vec<_> = diff
            .iter()
            .filter(|d| d.name.to_lowercase().contains(&filter))
            .collect();
        let n = top(a.top, 25);
        let mut text = format!(
            "{} classes changed from {} to {}\n",
            rows.len(),
            a.base,
            a.current
        );
        let _ = writeln!(
            text,
            "{:<40} {:>9} {:>9} {:>10} {:>10}",
            "class", "new", "deleted", "Δ count", "Δ size"
        );
        for d in rows.iter().take(n) {
            let _ = writeln!(
                text,
                "{:<40} {:>9} {:>9} {:>10} {:>10}",
                cut(&d.name, 40),
                d.added_count,
                d.removed_count,
                d.count_delta,
                signed_size(d.size_delta)
            );
        }
        answer(
            text,
            json!({ "changedClasses": rows.len(), "classes": rows.iter().take(n).collect::<Vec<_>>() }),
        )
    }

    /// The retaining path and direct retainers of one object.
    #[tool(
        description = "Who keeps an object alive: its retaining path from the GC roots (as DevTools opens it), up to three paths through different direct retainers, and its direct retainers. Pick the object by `id` (@12345 in other answers), by `class` (its largest instance) or by `string` (a string containing that text).",
        annotations(read_only_hint = true)
    )]
    async fn retainers(
        &self,
        Parameters(a): Parameters<RetainersArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let picked = [a.id.is_some(), a.class.is_some(), a.string.is_some()]
            .iter()
            .filter(|&&x| x)
            .count();
        if picked != 1 {
            return refuse("give exactly one of id, class or string");
        }
        let reporter = Reporter::new(&meta, peer);
        let explorer = match self.explorer(&a.path, &reporter).await {
            Ok(e) => e,
            Err(e) => return refuse(e),
        };
        let e = explorer.read().expect("explorer lock");
        let target = match pick(&e, &a) {
            Ok(t) => t,
            Err(why) => return refuse(why),
        };
        let id = target.node.id;
        let path = e.retaining_path(id).unwrap_or_default();
        let paths = e.retaining_paths(id, 3).unwrap_or_default();
        let direct = e.retainers(id, 0, top(a.top, 10)).unwrap_or_else(|| Page {
            total: 0,
            offset: 0,
            items: Vec::new(),
        });
        let mut text = format!(
            "{} @{id}: shallow {}, retained {}, distance {}\n",
            target.node.name,
            size(target.node.shallow_size),
            size(target.node.retained_size),
            distance(target.node.distance)
        );
        let _ = writeln!(
            text,
            "retaining path (from the object up to a GC root):\n  {}",
            path_line(id, &path)
        );
        for (i, p) in paths.iter().enumerate().skip(1) {
            let _ = writeln!(text, "path {}: {}", i + 1, path_line(id, p));
        }
        let _ = writeln!(text, "direct retainers ({} in all):", direct.total);
        for r in &direct.items {
            let _ = writeln!(
                text,
                "  {} :: {} @{} (distance {}, retained {})",
                r.edge,
                cut(&r.row.node.name, 60),
                r.row.node.id,
                distance(r.row.node.distance),
                size(r.row.node.retained_size)
            );
        }
        answer(
            text,
            json!({ "object": target, "retainingPath": path, "paths": paths, "retainers": direct }),
        )
    }

    /// The dominator tree: what holds the most memory exclusively.
    #[tool(
        description = "The biggest retainers: children of an object (by default the root) in the dominator tree, largest retained size first. Retained size is the memory freed if that object were gone; use it to find what holds most of a heap.",
        annotations(read_only_hint = true)
    )]
    async fn dominators(
        &self,
        Parameters(a): Parameters<DominatorsArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let reporter = Reporter::new(&meta, peer);
        let explorer = match self.explorer(&a.path, &reporter).await {
            Ok(e) => e,
            Err(e) => return refuse(e),
        };
        let e = explorer.read().expect("explorer lock");
        let id = a.id.unwrap_or_else(|| e.overview().root_id);
        let Some(page) = e.dominated(id, 0, top(a.top, 20)) else {
            return refuse(format!("no object @{id} in {}", a.path));
        };
        let mut text = format!(
            "{} objects dominated by @{id}, largest first:\n",
            page.total
        );
        for r in &page.items {
            let _ = writeln!(
                text,
                "  {} @{}: retained {} ({} dominated)",
                cut(&r.node.name, 60),
                r.node.id,
                size(r.node.retained_size),
                r.children
            );
        }
        answer(text, json!(page))
    }

    /// DevTools' Statistics view.
    #[tool(
        description = "The Statistics view of a heap snapshot: bytes in code, strings, JS arrays, typed arrays, system objects and the total.",
        annotations(read_only_hint = true)
    )]
    async fn statistics(
        &self,
        Parameters(a): Parameters<PathArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let reporter = Reporter::new(&meta, peer);
        let explorer = match self.explorer(&a.path, &reporter).await {
            Ok(e) => e,
            Err(e) => return refuse(e),
        };
        let s = explorer
            .read()
            .expect("explorer lock")
            .overview()
            .statistics;
        let text = format!(
            "total {}: code {}, strings {}, JS arrays {}, typed arrays {}, system {}\n",
            size(s.total),
            size(s.v8heap.code),
            size(s.v8heap.strings),
            size(s.v8heap.js_arrays),
            size(s.native.typed_arrays),
            size(s.v8heap.system)
        );
        answer(text, json!(s))
    }

    /// Strings stored more than once.
    #[tool(
        description = "Duplicated strings in a heap snapshot: texts stored more than once, with their copies, total size and the bytes wasted by the copies, most waste first.",
        annotations(read_only_hint = true)
    )]
    async fn duplicated_strings(
        &self,
        Parameters(a): Parameters<StringsArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let reporter = Reporter::new(&meta, peer);
        let explorer = match self.explorer(&a.path, &reporter).await {
            Ok(e) => e,
            Err(e) => return refuse(e),
        };
        let page = explorer
            .read()
            .expect("explorer lock")
            .duplicate_strings(a.offset.unwrap_or(0), top(a.top, 20));
        let mut text = format!("{} duplicated strings, most waste first:\n", page.total);
        for d in &page.items {
            let _ = writeln!(
                text,
                "  {:?}: {} copies, {} in all, {} wasted",
                cut(&d.text, 80),
                d.count,
                size(d.total_size),
                size(d.wasted_size)
            );
        }
        answer(text, json!(page))
    }

    /// The hunt's verdict on snapshots already taken.
    #[tool(
        description = "Find memory leaks in three or more heap snapshots of one process, oldest first (e.g. from `node --heapsnapshot-signal=SIGUSR2`): what every interval added and still holds, grouped by the object that holds it, named as a developer would (\"Array `pending` (module scope of app.js)\"), with the retaining path and the growth rate.",
        annotations(read_only_hint = true)
    )]
    async fn find_leaks(
        &self,
        Parameters(a): Parameters<FindLeaksArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let reporter = Reporter::new(&meta, peer);
        let request = FindLeaksRequest {
            files: a.paths.iter().map(PathBuf::from).collect(),
            calls: a.calls,
            positions: self.positions.clone(),
        };
        let cache = self.cache.clone();
        let (sender, mut notes) = tokio::sync::mpsc::unbounded_channel::<String>();
        let count = request.files.len() as f64;
        let task = tokio::task::spawn_blocking(move || {
            find_leaks(
                &request,
                &mut |path| match &cache {
                    Some(cache) => {
                        leakscope_snapshot::load_cached(path, Depth::Full, cache, &mut Silent)
                    }
                    None => leakscope_snapshot::load(path, Depth::Full, &mut Silent),
                },
                &mut Notes(sender),
            )
        });
        let forward = async {
            let mut done = 0.0;
            while let Some(note) = notes.recv().await {
                reporter.say(done, Some(count), note).await;
                done += 1.0;
            }
        };
        let (judged, ()) = tokio::join!(task, forward);
        match judged.map_err(|e| ErrorData::internal_error(e.to_string(), None))? {
            Ok(j) => answer(
                judgement_text(&j),
                serde_json::to_value(&j).unwrap_or_default(),
            ),
            Err(e) => refuse(e.to_string()),
        }
    }

    /// The whole hunt on a live process.
    #[tool(
        description = "Hunt for a memory leak in a Node.js process, end to end: launch `command` (or attach to `pid`), drive HTTP load in rounds (or `no_load`, or your `load_cmd`), snapshot after a GC each round, and name what grows, who holds it, the bytes per request and where it was allocated. Takes up to `budget_seconds` (default 90). A launched app is stopped at the end; an attached one is left as it was found.",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            open_world_hint = true
        )
    )]
    async fn hunt(
        &self,
        Parameters(a): Parameters<HuntArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let spec = match (&a.command, a.pid) {
            (Some(command), None) if !command.is_empty() => {
                TargetSpec::Launch(command.iter().map(Into::into).collect())
            }
            (None, Some(pid)) => TargetSpec::Pid(pid),
            _ => return refuse("give either command (e.g. [\"node\", \"server.js\"]) or pid"),
        };
        let drive = match (a.no_load.unwrap_or(false), &a.load_cmd) {
            (true, Some(_)) => return refuse("no_load and load_cmd exclude each other"),
            (true, None) => Drive::Idle,
            (false, Some(command)) => Drive::Command {
                command: LoadCommand {
                    command: command.clone(),
                },
                url: a.url.clone(),
            },
            (false, None) => Drive::Http(LoadSpec {
                url: a.url.clone(),
                ..LoadSpec::default()
            }),
        };
        let keep = a.keep_dir.as_ref().map(PathBuf::from);
        let out = keep.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("leakscope-mcp-hunt-{}", std::process::id()))
        });
        if let Err(e) = std::fs::create_dir_all(&out) {
            return refuse(format!("cannot create {}: {e}", out.display()));
        }
        let rounds = a.rounds.unwrap_or(3).clamp(2, 20);
        let config = Config {
            drive,
            min_rounds: rounds,
            max_rounds: rounds.max(Rules::default().confirm_rounds),
            round_requests: a.requests.unwrap_or(3000).max(1),
            budget: Duration::from_secs(a.budget_seconds.unwrap_or(90).clamp(10, 3600)),
            out: out.clone(),
            positions: self.positions.clone(),
            ..Config::default()
        };
        let reporter = Reporter::new(&meta, peer);
        let _one = self.capturing.lock().await;
        let target = Target::new(spec);
        let request = HuntRequest {
            label: target.label(),
            target,
            config,
            trace_gc: false,
            keep: keep.is_some(),
        };
        let hunted = on_own_thread(&reporter, async move |lines| {
            let _ = lines.send("attaching".to_owned());
            // Whatever happens, the target is left as it was found.
            leakscope_usecase::hunt::hunt(&request, &mut Lines(lines))
                .await
                .map_err(|e| e.to_string())
        })
        .await?;
        if keep.is_none() {
            let _ = std::fs::remove_dir_all(&out);
        }
        let report = match hunted {
            Ok(report) => report,
            Err(e) => return refuse(e),
        };
        if let Some(dir) = &keep {
            if let Ok(bytes) = serde_json::to_vec_pretty(&report) {
                let _ = std::fs::write(dir.join("hunt.json"), bytes);
            }
        }
        let mut structured = serde_json::to_value(&report).unwrap_or_default();
        if let Some(o) = structured.as_object_mut() {
            // Every GC of the hunt: long, and in the text's figures already.
            o.remove("gcs");
        }
        answer(report_text(&report), structured)
    }

    /// A heap snapshot of a running process, into a file.
    #[tool(
        description = "Take a heap snapshot of a running Node.js process (after a full GC) into a new .heapsnapshot file, for the other tools. The process pauses while V8 writes it (about a second per 100 MB of heap); it is refused when the process lacks the memory to build it unless `force`. The inspector it opens is closed again.",
        annotations(read_only_hint = false, destructive_hint = false)
    )]
    async fn snapshot(
        &self,
        Parameters(a): Parameters<SnapshotArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let path = PathBuf::from(&a.path);
        if path.exists() {
            return refuse(format!(
                "{} exists already: name a new file",
                path.display()
            ));
        }
        let reporter = Reporter::new(&meta, peer);
        let _one = self.capturing.lock().await;
        let (pid, force, file) = (a.pid, a.force.unwrap_or(false), path.clone());
        let written = on_own_thread(&reporter, async move |lines| {
            let attached = attach(&TargetSpec::Pid(pid), &AttachOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            let written = write_snapshot(
                &attached.client,
                &file,
                SnapshotOptions {
                    gc: true,
                    stream: false,
                    force,
                    may_count: true,
                    measured_ratio: None,
                },
                &mut Lines(lines.clone()),
            )
            .await;
            attached.close_opened_inspector().await;
            let _ = attached.detach().await;
            written.map_err(|e| e.to_string())
        })
        .await?;
        if let Err(e) = written {
            return refuse(e);
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        answer(
            format!(
                "wrote {} ({}) from PID {}\n",
                path.display(),
                size(bytes),
                a.pid
            ),
            json!({ "path": path, "bytes": bytes, "pid": a.pid }),
        )
    }

    /// An allocation recording's timeline and what a window allocated.
    #[tool(
        description = "Query an allocation timeline (.heaptimeline, recorded with allocation tracking): what objects allocated between `from_seconds` and `to_seconds` into the recording are still alive, by class and allocation stack (function file:line). Without a window: the whole recording.",
        annotations(read_only_hint = true)
    )]
    async fn timeline(
        &self,
        Parameters(a): Parameters<TimelineArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Answer {
        let reporter = Reporter::new(&meta, peer);
        let explorer = match self.explorer(&a.path, &reporter).await {
            Ok(e) => e,
            Err(e) => return refuse(e),
        };
        let e = explorer.read().expect("explorer lock");
        let Some(timeline) = e.timeline() else {
            return refuse(format!(
                "{} is not an allocation recording (.heaptimeline): it has no time samples",
                a.path
            ));
        };
        let from = a.from_seconds.unwrap_or(0.0).max(0.0);
        let to = a
            .to_seconds
            .unwrap_or(timeline.recording_seconds)
            .min(timeline.recording_seconds);
        if to < from {
            return refuse(format!("to_seconds ({to}) is before from_seconds ({from})"));
        }
        let Some(mut allocated) = e.allocated(from, to, 4, &self.positions) else {
            return refuse(format!("{} has no allocation stacks", a.path));
        };
        allocated.classes.truncate(top(a.top, 15));
        let mut text = format!(
            "recording of {:.1} s; allocated between {from:.1} s and {to:.1} s and still alive: {} objects, {}\n",
            timeline.recording_seconds,
            allocated.objects,
            size(allocated.shallow_size)
        );
        for c in &allocated.classes {
            let _ = writeln!(
                text,
                "  {} × {} ({})",
                c.count,
                cut(&c.name, 50),
                size(c.shallow_size)
            );
            if let Some(stack) = c.stacks.first() {
                let frames: Vec<String> = stack
                    .frames
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {}:{}:{}",
                            if f.function.is_empty() {
                                "(anonymous)"
                            } else {
                                &f.function
                            },
                            f.script,
                            f.line,
                            f.column
                        )
                    })
                    .collect();
                let _ = writeln!(text, "      allocated at {}", frames.join(" ← "));
            }
        }
        answer(
            text,
            json!({ "recordingSeconds": timeline.recording_seconds, "bars": timeline.bars, "allocated": allocated }),
        )
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Leakscope {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("leakscope", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "leakscope finds memory leaks in Node.js. For a running app, call hunt (it names the object that holds a leak). \
                 For snapshot files: summary first, then compare two snapshots of one process, retainers of a suspect, dominators, \
                 find_leaks on three or more snapshots. Answers contain the app's heap contents (its strings).",
            )
    }
}

/// The object a retainers call names.
fn pick(e: &Explorer, a: &RetainersArgs) -> Result<Row, String> {
    if let Some(id) = a.id {
        return e
            .node(id)
            .ok_or_else(|| format!("no object @{id} in {}", a.path));
    }
    if let Some(class) = &a.class {
        let classes = e.classes(class, None);
        let row = classes
            .iter()
            .find(|c| c.name == *class)
            .or(classes.first())
            .ok_or_else(|| format!("no class named like {class:?} in {}", a.path))?;
        return e
            .instances(&row.key, None, 0, 1)
            .and_then(|p| p.items.into_iter().next())
            .ok_or_else(|| format!("class {} has no instance", row.name));
    }
    let text = a.string.as_deref().unwrap_or_default();
    e.search(text, 0, 1)
        .items
        .into_iter()
        .next()
        .ok_or_else(|| format!("no string contains {text:?} in {}", a.path))
}

fn path_line(id: u32, path: &[EdgeRow]) -> String {
    let mut line = format!("@{id}");
    for step in path {
        let _ = write!(
            line,
            " ← {} {} @{}",
            step.edge,
            cut(&step.row.node.name, 50),
            step.row.node.id
        );
    }
    line
}

fn size_of(bytes: u64) -> String {
    size(bytes)
}

/// A finding in a line or two.
fn finding_lines(text: &mut String, i: usize, f: &leakscope_report::common::Finding) {
    let rate = match (f.bytes_per_request, f.bytes_per_second) {
        (Some(r), _) => format!("{}/request", size(r.round() as u64)),
        (None, Some(s)) => format!("{}/s", size(s.round() as u64)),
        _ => format!("{} in all", size(f.bytes)),
    };
    let _ = writeln!(
        text,
        "LEAK {}: {} grows by {rate}{}; {} × {} added ({} in all); confidence {:?}",
        i + 1,
        f.holder,
        f.mb_per_hour
            .map(|m| format!(" ({m:.1} MB/hour)"))
            .unwrap_or_default(),
        f.leaked_items.count,
        f.leaked_items.name,
        size(f.bytes),
        f.confidence
    );
    let _ = writeln!(text, "  path: {}", f.path_text());
    if let Some(package) = &f.package {
        let _ = writeln!(text, "  package: {package}");
    }
    let _ = writeln!(text, "  evidence: {}", f.evidence);
}

fn judgement_text(j: &Judgement) -> String {
    let mut text = format!("{} snapshots judged: {}\n", j.snapshots.len(), j.verdict);
    for (i, f) in j.findings.iter().enumerate() {
        finding_lines(&mut text, i, f);
    }
    for w in &j.warnings {
        let _ = writeln!(text, "warning: {w}");
    }
    text
}

fn report_text(r: &Report) -> String {
    let mut text = format!(
        "hunt of {}: {} ({} rounds in {:.0} s; confidence {:?}: {})\n",
        r.target,
        if r.findings.is_empty() {
            "no leak"
        } else {
            "leak found"
        },
        r.rounds.len(),
        r.seconds,
        r.confidence,
        r.confidence_reason
    );
    for (i, f) in r.findings.iter().enumerate() {
        finding_lines(&mut text, i, f);
        if let Some(a) = &f.allocation {
            let _ = writeln!(text, "  allocated at: {}", a.stack.join(" ← "));
        }
    }
    for w in &r.warnings {
        let _ = writeln!(text, "warning: {w}");
    }
    text
}

/// find-leaks' notes, as progress.
struct Notes(tokio::sync::mpsc::UnboundedSender<String>);

impl leakscope_inspector::Observer for Notes {
    fn note(&mut self, line: &str) {
        let _ = self.0.send(line.to_owned());
    }
    fn progress(&mut self, what: &str) {
        let _ = self.0.send(what.to_owned());
    }
}

/// A load's progress, sent on to the notifier as it changes.
struct Forwarded(tokio::sync::mpsc::UnboundedSender<Progress>, Progress);

impl Observer for Forwarded {
    fn note(&mut self, _: &str) {}
    fn progress(&mut self, what: &str) {
        self.1.progress(what);
        let _ = self.0.send(self.1.clone());
    }
    fn advanced(&mut self, done: u64) {
        self.1.advanced(done);
        let _ = self.0.send(self.1.clone());
    }
}

/// A hunt's notes and steps, sent on as progress lines.
struct Lines(tokio::sync::mpsc::UnboundedSender<String>);

impl leakscope_inspector::Observer for Lines {
    fn note(&mut self, line: &str) {
        let _ = self.0.send(line.to_owned());
    }
    fn progress(&mut self, what: &str) {
        let _ = self.0.send(what.to_owned());
    }
}
