//! Live mode: the page's buttons on a running target — take a snapshot,
//! force a GC, record allocations for N seconds, hunt for a leak — and its
//! heap chart. The actions are the CLI's own library calls
//! (`leakscope-inspector`'s `capture`, `leakscope-hunt`'s session), one at
//! a time (each streams over the one session); what they write joins the
//! workspace like any other file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use leakscope_hunt::session::{self, Config, Observer};
use leakscope_inspector::capture::{record_allocations, write_snapshot, SnapshotOptions};
use leakscope_inspector::{Attached, GcWatch, InspectorError};
use serde::Serialize;

use crate::workspace::Workspace;

/// Heap points kept for the chart: an hour at one a second.
const HEAP_POINTS: usize = 3600;

/// GCs kept for the chart.
const GC_MARKS: usize = 10_000;

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeapPoint {
    pub seconds: f64,
    pub used: u64,
    pub total: u64,
}

/// One GC the target ran, as its GC observer reported it.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcMark {
    pub seconds: f64,
    pub kind: &'static str,
    pub pause_ms: f64,
    /// Heap used just after it.
    pub used: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveStatus {
    pub pid: u32,
    /// What is running now (a snapshot, a recording), if anything.
    pub activity: Option<String>,
    pub heap: Vec<HeapPoint>,
    pub gcs: Vec<GcMark>,
}

/// What a forced GC did.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcResult {
    pub used_before: u64,
    pub used_after: u64,
}

pub struct Live {
    attached: Arc<Attached>,
    workspace: Arc<Workspace>,
    /// Where captures are written (the server's private directory).
    dir: PathBuf,
    one_at_a_time: tokio::sync::Mutex<()>,
    activity: Mutex<Option<String>>,
    heap: Mutex<Vec<HeapPoint>>,
    gcs: Mutex<Vec<GcMark>>,
    started: Instant,
    /// `started` in the target's clock (ms since the epoch).
    started_epoch_ms: f64,
    captures: AtomicUsize,
    /// A hunt ran (and removed the GC observer) since the GC watcher last looked.
    hunted: AtomicBool,
    /// Take snapshots the target cannot afford (see
    /// `leakscope_inspector::capture::SnapshotEstimate`).
    force_snapshot: bool,
}

impl Live {
    pub fn new(
        attached: Arc<Attached>,
        workspace: Arc<Workspace>,
        dir: PathBuf,
        force_snapshot: bool,
    ) -> Arc<Live> {
        Arc::new(Live {
            force_snapshot,
            attached,
            workspace,
            dir,
            one_at_a_time: tokio::sync::Mutex::new(()),
            activity: Mutex::new(None),
            heap: Mutex::new(Vec::new()),
            gcs: Mutex::new(Vec::new()),
            started: Instant::now(),
            started_epoch_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64() * 1e3),
            captures: AtomicUsize::new(0),
            hunted: AtomicBool::new(false),
        })
    }

    /// Samples the target's heap every second until the session ends or
    /// the server lets go of `live` (the sampler never keeps it alive: the
    /// session must be free to detach).
    pub async fn watch_heap(live: std::sync::Weak<Live>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Some(live) = live.upgrade() else { return };
            let closed = live.attached.client.closed();
            if tokio::time::timeout(Duration::ZERO, closed).await.is_ok() {
                return;
            }
            // A snapshot stops the target: a late answer is still a point.
            let Ok(Ok(usage)) = tokio::time::timeout(
                Duration::from_secs(30),
                live.attached.client.get_heap_usage(),
            )
            .await
            else {
                continue;
            };
            let mut heap = live.heap.lock().expect("heap lock");
            if heap.len() == HEAP_POINTS {
                heap.remove(0);
            }
            heap.push(HeapPoint {
                seconds: live.started.elapsed().as_secs_f64(),
                used: usage.used_size as u64,
                total: usage.total_size as u64,
            });
        }
    }

    /// Records every GC the target runs (through the GC observer the CLI's
    /// `watch` uses) until the session ends or the server lets go of
    /// `live`. Events are read only between actions, which read their own
    /// (snapshot chunks, a hunt's GCs); a hunt removes the observer when it
    /// is done, so it is put back.
    pub async fn watch_gcs(live: std::sync::Weak<Live>) {
        let mut installed = false;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let Some(live) = live.upgrade() else { return };
            let client = &live.attached.client;
            if tokio::time::timeout(Duration::ZERO, client.closed())
                .await
                .is_ok()
            {
                return;
            }
            let _between_actions = live.one_at_a_time.lock().await;
            if !installed || live.hunted.swap(false, Ordering::Relaxed) {
                installed = GcWatch::install(client).await.is_ok();
            }
            while let Some(event) = client.try_next_event().await {
                for gc in GcWatch::parse(&event) {
                    let mut gcs = live.gcs.lock().expect("gcs lock");
                    if gcs.len() == GC_MARKS {
                        gcs.remove(0);
                    }
                    gcs.push(GcMark {
                        seconds: (gc.start_ms - live.started_epoch_ms) / 1e3,
                        kind: gc.kind_name(),
                        pause_ms: gc.duration_ms,
                        used: gc.used,
                    });
                }
            }
        }
    }

    pub fn status(&self) -> LiveStatus {
        LiveStatus {
            pid: self.attached.pid,
            activity: self.activity.lock().expect("activity lock").clone(),
            heap: self.heap.lock().expect("heap lock").clone(),
            gcs: self.gcs.lock().expect("gcs lock").clone(),
        }
    }

    fn set_activity(&self, what: Option<String>) {
        *self.activity.lock().expect("activity lock") = what;
    }

    fn next_path(&self, extension: &str) -> (PathBuf, String) {
        let n = self.captures.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("live-{}-{n}.{extension}", self.attached.pid);
        (self.dir.join(&name), name)
    }

    /// Takes a snapshot (after a forced GC, as DevTools does) and starts
    /// analysing it; returns its index in the workspace.
    pub async fn snapshot(&self) -> Result<usize, InspectorError> {
        let _one = self.one_at_a_time.lock().await;
        let (path, name) = self.next_path("heapsnapshot");
        self.set_activity(Some("taking a heap snapshot".into()));
        let written = write_snapshot(
            &self.attached.client,
            &path,
            SnapshotOptions {
                gc: true,
                stream: false,
                force: self.force_snapshot,
                // The page compares its snapshots by object id.
                may_count: false,
                measured_ratio: None,
            },
            &mut Busy(self),
        )
        .await;
        self.set_activity(None);
        written?;
        Ok(self.workspace.add_taken(&path, name))
    }

    pub async fn gc(&self) -> Result<GcResult, InspectorError> {
        let _one = self.one_at_a_time.lock().await;
        let client = &self.attached.client;
        let used = || async { client.get_heap_usage().await.map(|u| u.used_size as u64) };
        let used_before = used().await?;
        client.collect_garbage().await?;
        let used_after = used().await?;
        Ok(GcResult {
            used_before,
            used_after,
        })
    }

    /// Hunts for a leak as `leakscope hunt` does, sending load to `url`
    /// (a URL, or a path on the app's one HTTP port; `/` there by default),
    /// and adds the report with its snapshots to the workspace.
    pub async fn hunt(&self, url: Option<String>) -> Result<usize, String> {
        let _one = self.one_at_a_time.lock().await;
        let (dir, _) = self.next_path("hunt");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config = Config {
            drive: session::Drive::Http(session::LoadSpec {
                url,
                ..Default::default()
            }),
            out: dir.clone(),
            positions: Arc::clone(self.workspace.positions()),
            ..Config::default()
        };
        self.set_activity(Some("hunting: warming up".into()));
        let mut progress = Activity(self);
        let label = format!("PID {}", self.attached.pid);
        let report =
            leakscope_usecase::hunt::hunt_attached(&self.attached, &config, label, &mut progress)
                .await;
        self.hunted.store(true, Ordering::Relaxed);
        self.set_activity(None);
        let report = report.map_err(|e| e.to_string())?;
        let path = dir.join("hunt.json");
        let json = serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(self
            .workspace
            .add_taken(&path, format!("hunt of PID {}", self.attached.pid)))
    }

    /// Records allocations for `seconds` into a `.heaptimeline` and starts
    /// analysing it.
    pub async fn record(&self, seconds: u64) -> Result<usize, InspectorError> {
        let _one = self.one_at_a_time.lock().await;
        let (path, name) = self.next_path("heaptimeline");
        self.set_activity(Some(format!("recording allocations for {seconds} s")));
        let recorded = record_allocations(
            &self.attached.client,
            &path,
            Duration::from_secs(seconds),
            &mut leakscope_progress::Silent,
        )
        .await;
        self.set_activity(None);
        recorded?;
        Ok(self.workspace.add_taken(&path, name))
    }
}

/// A capture's progress, shown as the live bar's activity.
struct Busy<'a>(&'a Live);

impl Observer for Busy<'_> {
    fn note(&mut self, line: &str) {
        self.0.set_activity(Some(line.to_owned()));
    }
    fn progress(&mut self, what: &str) {
        self.0.set_activity(Some(what.to_owned()));
    }
}

/// A hunt's progress, shown as the live bar's activity.
struct Activity<'a>(&'a Live);

impl Observer for Activity<'_> {
    fn note(&mut self, line: &str) {
        self.0.set_activity(Some(format!("hunting: {line}")));
    }
    fn progress(&mut self, what: &str) {
        self.0.set_activity(Some(format!("hunting: {what}")));
    }
}
