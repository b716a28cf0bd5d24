//! The snapshots a server holds: each loads on its own thread, reports its
//! progress for the page to show, and then answers queries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use leakscope_explore::{Explorer, NodeFilter, Progress};
use leakscope_profile::{FlameNode, SamplingProfile};
use leakscope_progress::Observer;
use leakscope_report::HuntReport;
use leakscope_snapshot::{Cache, ClassDiff};
use leakscope_sourcemap::Positions;
use serde::Serialize;

/// Told when a file has loaded or failed: events of the server's life,
/// not progress (the CLI prints them; loads' progress is each entry's state).
pub trait LoadEvents: Send + Sync {
    fn loaded(&self, name: &str, seconds: f64, nodes: usize);
    fn failed(&self, name: &str, error: &str);
}

/// Events nobody hears.
pub struct Silent;

impl LoadEvents for Silent {
    fn loaded(&self, _: &str, _: f64, _: usize) {}
    fn failed(&self, _: &str, _: &str) {}
}

enum State {
    Loading(Progress),
    Snapshot(Arc<RwLock<Explorer>>),
    Profile(Arc<FlameNode>),
    Hunt(Arc<HuntView>),
    Failed(String),
}

/// What a file holds, told by its JSON's first key: a snapshot (plain or
/// compressed) starts with `snapshot`, a sampling heap profile (`.heapprofile`) with the call tree's
/// `head`; anything else small enough may be a hunt report (`leakscope hunt
/// --json`, keys in any order).
#[derive(PartialEq)]
enum FileKind {
    Snapshot,
    Profile,
    Other,
}

/// Hunt reports are kilobytes; a bigger file is read as a snapshot, whose
/// reader says what is wrong with it.
const LARGEST_REPORT: u64 = 64 << 20;

fn sniff(path: &Path) -> FileKind {
    use std::io::Read;
    let mut start = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut start))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&start[..n]);
    let key = text.trim_start().trim_start_matches('{').trim_start();
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    if leakscope_snapshot::compressed::Encoding::of(&start[..n])
        != leakscope_snapshot::compressed::Encoding::Plain
    {
        // Compressed: only snapshots and timelines are read that way.
        FileKind::Snapshot
    } else if key.starts_with("\"head\"") {
        FileKind::Profile
    } else if key.starts_with("\"snapshot\"") || size > LARGEST_REPORT {
        FileKind::Snapshot
    } else {
        FileKind::Other
    }
}

/// Why a file sniffed as a sampling heap profile could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}")]
    Read(#[from] std::io::Error),
    #[error("not a sampling heap profile: {0}")]
    Parse(#[source] serde_json::Error),
}

fn load_profile(path: &Path, positions: &Positions) -> Result<FlameNode, ProfileError> {
    let text = std::fs::read_to_string(path)?;
    let mut profile = SamplingProfile::parse(&text).map_err(ProfileError::Parse)?;
    profile.map_positions(positions);
    Ok(profile.flame_tree())
}

/// A hunt's report and the workspace indexes of the snapshots it kept, in
/// round order (the findings' object ids are the last one's).
#[derive(Debug, Clone, Serialize)]
pub struct HuntView {
    pub report: HuntReport,
    pub snapshots: Vec<usize>,
}

fn load_hunt_report(path: &Path) -> Result<HuntReport, String> {
    let text = std::fs::read(path).map_err(|e| e.to_string())?;
    let neither = "not a heap snapshot, sampling heap profile or hunt report";
    let json: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{neither}: {e}"))?;
    if !HuntReport::looks_like(&json) {
        return Err(format!(
            "{neither}: a JSON object without a snapshot, a profile's head or a hunt's verdict"
        ));
    }
    leakscope_report::read::<HuntReport>(&text).map_err(|e| format!("a hunt report, but {e}"))
}

/// A load's progress, shown in its entry's state as it changes.
struct Shown<'a>(&'a Entry, Progress);

impl Observer for Shown<'_> {
    fn note(&mut self, _: &str) {}
    fn progress(&mut self, what: &str) {
        self.1.progress(what);
        *self.0.state.write().expect("state lock") = State::Loading(self.1.clone());
    }
    fn advanced(&mut self, done: u64) {
        self.1.advanced(done);
        *self.0.state.write().expect("state lock") = State::Loading(self.1.clone());
    }
}

struct Entry {
    name: String,
    size: u64,
    state: RwLock<State>,
    /// Warm-up and the work made ahead for it (Comparisons with its
    /// neighbours, their filters) are done: every view answers at once.
    settled: std::sync::atomic::AtomicBool,
}

/// How one snapshot is doing, as `/api/snapshots` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub index: usize,
    pub name: String,
    pub size: u64,
    /// `loading`, `ready` or `failed`.
    pub state: &'static str,
    /// `snapshot`, `profile` or `hunt` once ready.
    pub kind: Option<&'static str>,
    /// Every view answers at once (the slow first computations are done).
    pub warm: bool,
    pub bytes_read: u64,
    pub step: Option<String>,
    pub error: Option<String>,
}

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("no such snapshot")]
    NoSuchSnapshot,
    /// A query for a snapshot on a profile, or the other way round.
    #[error("{0}")]
    WrongKind(&'static str),
    #[error("still loading")]
    Loading,
    /// The file failed to load on its loader thread; this is its error's
    /// message, kept for every later query.
    #[error("{0}")]
    Failed(String),
}

/// A Comparison's rows, shared by every request for the same pair.
pub type Comparison = Arc<Vec<ClassDiff>>;

pub struct Workspace {
    entries: RwLock<Vec<Arc<Entry>>>,
    comparisons: Mutex<HashMap<(usize, usize), Comparison>>,
    /// One comparison at a time: each locks its base for writing, and two
    /// in opposite directions would wait for each other.
    comparing: Mutex<()>,
    observer: Arc<dyn LoadEvents>,
    /// Where the user's snapshot files' analyses are kept, if anywhere.
    cache: Option<Cache>,
    /// How positions in the application's code are shown (source maps).
    positions: Arc<Positions>,
}

/// Where a file comes from: what may be read from it and kept of it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Named by the user: its analysis is cached, a hunt report's paths followed.
    UserFile,
    /// Just taken from a live target: read once, not worth caching.
    Taken,
    /// Sent by the page: its paths are never followed.
    Upload,
}

impl Workspace {
    /// A workspace whose files' analyses go through `cache`, if given.
    pub fn new(
        observer: Arc<dyn LoadEvents>,
        cache: Option<Cache>,
        positions: Arc<Positions>,
    ) -> Arc<Self> {
        Arc::new(Workspace {
            entries: RwLock::new(Vec::new()),
            comparisons: Mutex::new(HashMap::new()),
            comparing: Mutex::new(()),
            observer,
            cache,
            positions,
        })
    }

    /// How positions in the application's code are shown.
    pub fn positions(&self) -> &Arc<Positions> {
        &self.positions
    }

    /// Starts loading `path` in the background; returns its index. `name`
    /// is what the page calls it (the file name unless given). A hunt
    /// report's snapshots are loaded too.
    pub fn add_file(self: &Arc<Self>, path: &Path, name: Option<String>) -> usize {
        self.load(path, name, Origin::UserFile)
    }

    /// As [`Workspace::add_file`], for a snapshot or report just taken from
    /// a live target (its analysis is not cached).
    pub fn add_taken(self: &Arc<Self>, path: &Path, name: String) -> usize {
        self.load(path, Some(name), Origin::Taken)
    }

    /// As [`Workspace::add_file`], for a file the page uploaded: a hunt
    /// report from the browser names paths, and the browser never chooses
    /// what the server reads, so its snapshots are not loaded.
    pub fn add_upload(self: &Arc<Self>, path: &Path, name: String) -> usize {
        self.load(path, Some(name), Origin::Upload)
    }

    fn load(self: &Arc<Self>, path: &Path, name: Option<String>, origin: Origin) -> usize {
        let follow_paths = origin != Origin::Upload;
        let cache = self.cache.clone().filter(|_| origin == Origin::UserFile);
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let name = name.unwrap_or_else(|| {
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        });
        let entry = Arc::new(Entry {
            name,
            size,
            state: RwLock::new(State::Loading(Progress::default())),
            settled: std::sync::atomic::AtomicBool::new(false),
        });
        let index = {
            let mut entries = self.entries.write().expect("entries lock");
            entries.push(entry.clone());
            entries.len() - 1
        };
        let path: PathBuf = path.to_owned();
        let observer = self.observer.clone();
        let workspace = self.clone();
        // Deep allocation stacks make deep flame trees: room to recurse.
        let loader = std::thread::Builder::new().stack_size(256 << 20);
        let spawned = loader.spawn(move || {
            let started = Instant::now();
            let kind = sniff(&path);
            let state = if kind == FileKind::Profile {
                match load_profile(&path, &workspace.positions) {
                    Ok(tree) => {
                        observer.loaded(&entry.name, started.elapsed().as_secs_f64(), 0);
                        State::Profile(Arc::new(tree))
                    }
                    Err(e) => {
                        let message = e.to_string();
                        observer.failed(&entry.name, &message);
                        State::Failed(message)
                    }
                }
            } else if kind == FileKind::Other {
                match load_hunt_report(&path) {
                    Ok(report) => {
                        observer.loaded(&entry.name, started.elapsed().as_secs_f64(), 0);
                        let snapshots = if follow_paths {
                            workspace.add_kept_snapshots(&report, &path)
                        } else {
                            Vec::new()
                        };
                        State::Hunt(Arc::new(HuntView { report, snapshots }))
                    }
                    Err(message) => {
                        observer.failed(&entry.name, &message);
                        State::Failed(message)
                    }
                }
            } else {
                let loaded = Explorer::load(
                    &path,
                    cache.as_ref(),
                    &mut Shown(&entry, Progress::default()),
                );
                match loaded {
                    Ok(explorer) => {
                        observer.loaded(
                            &entry.name,
                            started.elapsed().as_secs_f64(),
                            explorer.snapshot().node_count(),
                        );
                        let explorer = Arc::new(RwLock::new(explorer));
                        let warming = explorer.clone();
                        let workspace = workspace.clone();
                        let settling = entry.clone();
                        // The page can show the snapshot meanwhile; then the
                        // Comparison it opens by default is made ahead too.
                        std::thread::spawn(move || {
                            warming.read().expect("explorer lock").warm_up();
                            workspace.compare_neighbours(index);
                            settling
                                .settled
                                .store(true, std::sync::atomic::Ordering::Release);
                        });
                        State::Snapshot(explorer)
                    }
                    Err(e) => {
                        let message = e.to_string();
                        observer.failed(&entry.name, &message);
                        State::Failed(message)
                    }
                }
            };
            *entry.state.write().expect("state lock") = state;
        });
        if let Err(e) = spawned {
            self.observer.failed("loader", &e.to_string());
        }
        index
    }

    pub fn statuses(&self) -> Vec<Status> {
        let entries = self.entries.read().expect("entries lock");
        entries
            .iter()
            .enumerate()
            .map(|(index, e)| {
                let state = e.state.read().expect("state lock");
                let warm = match &*state {
                    State::Snapshot(_) => e.settled.load(std::sync::atomic::Ordering::Acquire),
                    State::Profile(_) | State::Hunt(_) => true,
                    _ => false,
                };
                let (label, kind, bytes_read, step, error) = match &*state {
                    State::Loading(p) => ("loading", None, p.bytes_read, p.step.clone(), None),
                    State::Snapshot(_) => ("ready", Some("snapshot"), e.size, None, None),
                    State::Profile(_) => ("ready", Some("profile"), e.size, None, None),
                    State::Hunt(_) => ("ready", Some("hunt"), e.size, None, None),
                    State::Failed(m) => ("failed", None, 0, None, Some(m.clone())),
                };
                Status {
                    index,
                    name: e.name.clone(),
                    size: e.size,
                    state: label,
                    kind,
                    warm,
                    bytes_read,
                    step,
                    error,
                }
            })
            .collect()
    }

    fn state_of<T>(
        &self,
        index: usize,
        ready: impl FnOnce(&State) -> Option<T>,
        expected: &'static str,
    ) -> Result<T, Unavailable> {
        let entry = self
            .entries
            .read()
            .expect("entries lock")
            .get(index)
            .cloned()
            .ok_or(Unavailable::NoSuchSnapshot)?;
        let state = entry.state.read().expect("state lock");
        match &*state {
            State::Loading(_) => Err(Unavailable::Loading),
            State::Failed(m) => Err(Unavailable::Failed(m.clone())),
            other => ready(other).ok_or(Unavailable::WrongKind(expected)),
        }
    }

    /// The loaded snapshot at `index`.
    pub fn explorer(&self, index: usize) -> Result<Arc<RwLock<Explorer>>, Unavailable> {
        self.state_of(
            index,
            |s| match s {
                State::Snapshot(e) => Some(e.clone()),
                _ => None,
            },
            "not a heap snapshot",
        )
    }

    /// The flame graph of the sampling heap profile at `index`.
    pub fn flame(&self, index: usize) -> Result<Arc<FlameNode>, Unavailable> {
        self.state_of(
            index,
            |s| match s {
                State::Profile(tree) => Some(tree.clone()),
                _ => None,
            },
            "not a sampling heap profile",
        )
    }

    /// The hunt report at `index`. An uploaded report's paths are never
    /// opened; its snapshots, uploaded too, are found by their file names.
    pub fn hunt(&self, index: usize) -> Result<Arc<HuntView>, Unavailable> {
        let view = self.state_of(
            index,
            |s| match s {
                State::Hunt(view) => Some(view.clone()),
                _ => None,
            },
            "not a hunt report",
        )?;
        let kept = &view.report.snapshots;
        if !view.snapshots.is_empty() || kept.is_empty() {
            return Ok(view);
        }
        let entries = self.entries.read().expect("entries lock");
        let uploaded: Option<Vec<usize>> = kept
            .iter()
            .map(|name| {
                let file = name.file_name()?.to_str()?;
                entries.iter().rposition(|e| e.name == file)
            })
            .collect();
        Ok(match uploaded {
            Some(snapshots) => Arc::new(HuntView {
                report: view.report.clone(),
                snapshots,
            }),
            None => view,
        })
    }

    /// Starts loading the snapshots a hunt report names (those still on
    /// disk; relative names are looked up beside the report too).
    fn add_kept_snapshots(self: &Arc<Self>, report: &HuntReport, at: &Path) -> Vec<usize> {
        let beside = at.parent().unwrap_or(Path::new("."));
        report
            .snapshots
            .iter()
            .filter_map(|name| {
                [
                    name.to_owned(),
                    beside.join(name),
                    beside.join(name.file_name()?),
                ]
                .into_iter()
                .find(|p| p.is_file())
            })
            .map(|path| self.add_file(&path, None))
            .collect()
    }

    /// Computes the Comparisons the page opens first that involve snapshot
    /// `index`: against the ready snapshot before it, and the next one's
    /// against it.
    fn compare_neighbours(&self, index: usize) {
        let snapshots: Vec<usize> = self
            .statuses()
            .into_iter()
            .filter(|s| s.kind == Some("snapshot"))
            .map(|s| s.index)
            .collect();
        let Some(at) = snapshots.iter().position(|&i| i == index) else {
            return;
        };
        if at > 0 {
            let _ = self.compare(snapshots[at - 1], index);
            self.warm_pair_filters(snapshots[at - 1], index);
        }
        if let Some(&next) = snapshots.get(at + 1) {
            let _ = self.compare(index, next);
            self.warm_pair_filters(index, next);
        }
    }

    /// Computes ahead the Summary filters the page offers on the later of
    /// two snapshots (by their ids: the order they were taken, whatever
    /// order they were given in): objects allocated before the earlier one,
    /// and between the two.
    fn warm_pair_filters(&self, one: usize, other: usize) {
        let (Ok(a), Ok(b)) = (self.explorer(one), self.explorer(other)) else {
            return;
        };
        let (a_max, b_max) = (
            a.read().expect("explorer lock").max_js_id(),
            b.read().expect("explorer lock").max_js_id(),
        );
        let (before, later, up_to) = if a_max <= b_max {
            (a_max, b, b_max)
        } else {
            (b_max, a, a_max)
        };
        let later = later.read().expect("explorer lock");
        later.warm_filter(NodeFilter::Ids {
            after: 0,
            up_to: before,
        });
        later.warm_filter(NodeFilter::Ids {
            after: before,
            up_to,
        });
    }

    /// The new and deleted objects of class `key` in the Comparison of
    /// `current` against `base`.
    pub fn comparison_members(
        &self,
        base: usize,
        current: usize,
        key: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Option<leakscope_explore::Page<leakscope_explore::MemberRow>>, Unavailable> {
        let diff = self.compare(base, current)?;
        let Some(class) = diff.iter().find(|d| d.key == key) else {
            return Ok(None);
        };
        let (b, c) = (self.explorer(base)?, self.explorer(current)?);
        let b = b.read().expect("explorer lock");
        let c = c.read().expect("explorer lock");
        Ok(Some(leakscope_explore::comparison_members(
            &b, &c, class, offset, limit,
        )))
    }

    /// The Comparison of `current` against `base`, computed once per pair.
    pub fn compare(&self, base: usize, current: usize) -> Result<Comparison, Unavailable> {
        let done = || {
            self.comparisons
                .lock()
                .expect("comparisons lock")
                .get(&(base, current))
                .cloned()
        };
        // A pair already compared answers without waiting for another
        // comparison in progress (one may run ahead in the background).
        if let Some(diff) = done() {
            return Ok(diff);
        }
        let _one_at_a_time = self.comparing.lock().expect("comparing lock");
        if let Some(diff) = done() {
            return Ok(diff);
        }
        let (b, c) = (self.explorer(base)?, self.explorer(current)?);
        let diff = if base == current {
            // A snapshot against itself: nothing new, nothing gone.
            Vec::new()
        } else {
            let mut b = b.write().expect("explorer lock");
            let c = c.read().expect("explorer lock");
            leakscope_explore::compare(&mut b, &c)
        };
        let diff = Arc::new(diff);
        self.comparisons
            .lock()
            .expect("comparisons lock")
            .insert((base, current), diff.clone());
        Ok(diff)
    }
}
