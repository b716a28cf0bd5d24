//! Heap snapshots into files. A file appears whole or not at all: it is
//! written under a temporary name beside its destination and renamed at the
//! end, so a target that dies mid-snapshot leaves nothing behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::cdp::Client;
use crate::error::{InspectorError, Result};
use crate::protocol::SnapshotProgress;
use crate::Observer;

/// An output file written under a temporary name and renamed into place by
/// [`AtomicFile::commit`]; dropped unfinished, the temporary goes away.
pub struct AtomicFile {
    temp: PathBuf,
    dest: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(dest: &Path) -> Result<AtomicFile> {
        let cannot = |reason: String| InspectorError::Write {
            path: dest.display().to_string(),
            reason,
        };
        let name = dest
            .file_name()
            .ok_or_else(|| cannot("not a file name".to_owned()))?;
        let temp = dest.with_file_name(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temp).map_err(|e| cannot(e.to_string()))?;
        Ok(AtomicFile {
            temp,
            dest: dest.to_owned(),
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("not committed")
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(mut self) -> Result<()> {
        let writer = self.writer.take().expect("not committed");
        let file = writer
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&self.temp, &self.dest)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// How to take a snapshot.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotOptions {
    /// Force a full memory-reducing GC first (V8 always runs one itself).
    pub gc: bool,
    /// Stream over the inspector even when the target could write the
    /// file itself.
    pub stream: bool,
    /// Take it even when the estimate says the target cannot afford it.
    pub force: bool,
    /// The estimate may count the heap's objects when its bounds cannot
    /// decide, which forgets the object ids of earlier snapshots and stops
    /// a sampling profile (see [`estimate_snapshot`]).
    pub may_count: bool,
    /// The memory an earlier snapshot of this heap took, per byte of heap
    /// ([`Captured::extra_memory`] over its heap): the best bound for the
    /// next one, whose heap has the same shape.
    pub measured_ratio: Option<f64>,
}

/// What a snapshot will cost the target, estimated before taking one from
/// what V8 reports of its heap. V8 builds the whole graph in the target's
/// memory before writing it, 300–550 bytes per object in ordinary
/// containers and up to 1.5 kB in arrays or Maps of millions: 12–13 times
/// the heap on heaps of small objects, 45 times on one huge array of small
/// values, under half the heap for big strings (bench/snapshot-cost.sh).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SnapshotEstimate {
    /// The heap V8 reports in use.
    pub heap_used: u64,
    /// Of it, in V8's large-object space (big arrays, strings): few
    /// objects per byte.
    pub large_objects: u64,
    /// Objects on the heap, when they were counted (only when the bounds
    /// below could not decide).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
    /// How long the target stops, for a heap of ordinary small objects…
    pub pause_seconds: f64,
    /// …and at most, whatever the heap's shape.
    pub pause_seconds_at_most: f64,
    /// Memory the target needs on top of what it uses while V8 builds and
    /// writes the snapshot, for a heap of ordinary small objects…
    pub extra_memory: u64,
    /// …and at most (from the object count when known).
    pub extra_memory_at_most: u64,
    /// About how big the file will be (at most three times the heap).
    pub file_bytes: u64,
    /// Memory still available to the target (its container's limit, or the
    /// host's), when it could tell.
    pub available_memory: Option<u64>,
}

/// The cost model, measured on Node 20 (`bench/snapshot-cost.sh`), per byte
/// of heap outside V8's large-object space and per byte inside it: a
/// typical heap of small objects, and a bound no measured shape exceeded.
mod cost {
    pub const PAUSE_PER_BYTE: f64 = 0.09 / 1e6;
    pub const PAUSE_PER_LARGE_BYTE: f64 = 0.024 / 1e6;
    pub const PAUSE_AT_MOST_PER_BYTE: f64 = 0.35 / 1e6;
    pub const PAUSE_AT_MOST_PER_LARGE_BYTE: f64 = 0.12 / 1e6;
    pub const MEMORY_PER_BYTE: f64 = 16.0;
    pub const MEMORY_PER_LARGE_BYTE: f64 = 5.0;
    pub const MEMORY_AT_MOST_PER_BYTE: f64 = 90.0;
    pub const MEMORY_AT_MOST_PER_LARGE_BYTE: f64 = 20.0;
    /// Per object counted: 1.45–1.5 kB measured at worst (one array of
    /// millions of small values).
    pub const MEMORY_AT_MOST_PER_OBJECT: f64 = 1600.0;
    pub const MEMORY_FIXED: f64 = 64e6;
    pub const FILE_PER_BYTE: f64 = 2.0;
    pub const FILE_PER_LARGE_BYTE: f64 = 0.3;
    /// Counting objects keeps an id per object in the target: about 75
    /// bytes each, roughly twice the heap.
    pub const COUNTING_PER_BYTE: f64 = 2.0;
}

/// A snapshot is refused when it could need more than this share of the
/// memory still available to the target.
const AFFORDABLE_SHARE: f64 = 0.9;

impl SnapshotEstimate {
    /// The estimate for a heap of `heap_used` bytes, `large_objects` of them
    /// in the large-object space, and `objects` objects when counted.
    pub fn of_heap(
        heap_used: u64,
        large_objects: u64,
        objects: Option<u64>,
        available_memory: Option<u64>,
    ) -> Self {
        let large = large_objects.min(heap_used) as f64;
        let small = heap_used as f64 - large;
        let bound = small * cost::MEMORY_AT_MOST_PER_BYTE
            + large * cost::MEMORY_AT_MOST_PER_LARGE_BYTE
            + cost::MEMORY_FIXED;
        let by_count = objects
            .map(|n| n as f64 * cost::MEMORY_AT_MOST_PER_OBJECT + cost::MEMORY_FIXED)
            .unwrap_or(f64::INFINITY);
        SnapshotEstimate {
            heap_used,
            large_objects: large as u64,
            objects,
            pause_seconds: small * cost::PAUSE_PER_BYTE + large * cost::PAUSE_PER_LARGE_BYTE,
            pause_seconds_at_most: small * cost::PAUSE_AT_MOST_PER_BYTE
                + large * cost::PAUSE_AT_MOST_PER_LARGE_BYTE,
            extra_memory: (small * cost::MEMORY_PER_BYTE
                + large * cost::MEMORY_PER_LARGE_BYTE
                + cost::MEMORY_FIXED) as u64,
            extra_memory_at_most: bound.min(by_count) as u64,
            file_bytes: (small * cost::FILE_PER_BYTE + large * cost::FILE_PER_LARGE_BYTE) as u64,
            available_memory,
        }
    }

    /// Bounded by what an earlier snapshot of the same heap took per byte,
    /// with half again for margin.
    pub fn with_measured_ratio(mut self, ratio: f64) -> Self {
        let measured = self.heap_used as f64 * ratio * 1.5 + cost::MEMORY_FIXED;
        self.extra_memory_at_most = self.extra_memory_at_most.min(measured as u64);
        self.extra_memory = self.extra_memory.min(self.extra_memory_at_most);
        self
    }

    /// Whether the target surely has the memory the snapshot needs (or it
    /// could not tell).
    pub fn affordable(&self) -> bool {
        self.available_memory
            .is_none_or(|a| self.extra_memory_at_most as f64 <= a as f64 * AFFORDABLE_SHARE)
    }

    /// Whether even a heap of ordinary objects would not fit: counting its
    /// objects cannot make it affordable.
    fn surely_unaffordable(&self) -> bool {
        self.available_memory
            .is_some_and(|a| self.extra_memory as f64 > a as f64 * AFFORDABLE_SHARE)
    }

    /// "about 41 s pause and 5.3 GB more memory for a 461 MB heap (at most
    /// 27 GB; 20.1 GB available to it)".
    pub fn describe(&self) -> String {
        let gb = |b: u64| {
            if b >= 1_000_000_000 {
                format!("{:.1} GB", b as f64 / 1e9)
            } else {
                format!("{:.0} MB", b as f64 / 1e6)
            }
        };
        let pause = if self.pause_seconds >= 1.0 {
            format!("{:.0} s", self.pause_seconds)
        } else {
            "under a second".to_owned()
        };
        let objects = self
            .objects
            .map(|n| format!(" of {:.1} M objects", n as f64 / 1e6))
            .unwrap_or_default();
        let mut bounds = vec![format!("at most {}", gb(self.extra_memory_at_most))];
        if let Some(a) = self.available_memory {
            bounds.push(format!("{} available to it", gb(a)));
        }
        format!(
            "about {pause} pause and {} more memory for a {} heap{objects} ({})",
            gb(self.extra_memory),
            gb(self.heap_used),
            bounds.join("; ")
        )
    }
}

/// The target's heap and the memory left to it: its container's limit when
/// it has one, else the host's available memory (Node's
/// `process.availableMemory()`, from 20.13).
const HEAP_AND_MEMORY: &str = r#"(() => {
  const req = typeof require === 'function' ? require : (m) => process.getBuiltinModule(m);
  const v8 = req('v8'), os = req('os');
  const large = v8.getHeapSpaceStatistics()
    .filter((s) => s.space_name.includes('large_object'))
    .reduce((sum, s) => sum + s.space_used_size, 0);
  const available = typeof process.availableMemory === 'function' ? process.availableMemory() : os.freemem();
  return { used: v8.getHeapStatistics().used_heap_size, large, available };
})()"#;

/// Estimates what a snapshot of the target's heap would cost it now. When
/// the shape-blind bounds cannot decide, and `may_count`, the heap's objects
/// are counted (V8's object-tracking start, about a second and twice the
/// heap in the target, then `HeapProfiler.disable`, which stops a sampling
/// profile and forgets object ids: callers that rely on them pass false).
pub async fn estimate_snapshot(client: &Client, may_count: bool) -> Result<SnapshotEstimate> {
    #[derive(serde::Deserialize)]
    struct Heap {
        used: u64,
        large: u64,
        available: Option<u64>,
    }
    let heap: Heap = client.eval_value(HEAP_AND_MEMORY).await?;
    let available = heap.available.filter(|&a| a > 0);
    let estimate = SnapshotEstimate::of_heap(heap.used, heap.large, None, available);
    let counting_fits = available.is_some_and(|a| {
        heap.used as f64 * cost::COUNTING_PER_BYTE <= a as f64 * (1.0 - AFFORDABLE_SHARE) * 5.0
    });
    if estimate.affordable() || estimate.surely_unaffordable() || !may_count || !counting_fits {
        return Ok(estimate);
    }
    let objects = count_objects(client).await.ok().flatten();
    Ok(SnapshotEstimate::of_heap(
        heap.used, heap.large, objects, available,
    ))
}

/// The number of objects on the target's heap, from the first
/// `HeapProfiler.heapStatsUpdate` of object tracking (without allocation
/// stacks); tracking is then stopped by disabling the domain, which takes no
/// snapshot. `None` if no update came within 10 s.
async fn count_objects(client: &Client) -> Result<Option<u64>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct StatsUpdate {
        stats_update: Vec<u64>,
    }
    client
        .call::<_, serde_json::Value>("HeapProfiler.enable", serde_json::json!({}))
        .await?;
    client
        .call::<_, serde_json::Value>(
            "HeapProfiler.startTrackingHeapObjects",
            serde_json::json!({ "trackAllocations": false }),
        )
        .await?;
    let wait = async {
        while let Some(event) = client.next_event().await {
            if event.method == "HeapProfiler.heapStatsUpdate" {
                if let Ok(update) = event.parse::<StatsUpdate>() {
                    // Triplets of fragment index, object count and bytes.
                    return Some(update.stats_update.chunks(3).map(|t| t[1]).sum::<u64>());
                }
            }
        }
        None
    };
    let counted = tokio::time::timeout(std::time::Duration::from_secs(10), wait)
        .await
        .ok()
        .flatten();
    client
        .call::<_, serde_json::Value>("HeapProfiler.disable", serde_json::json!({}))
        .await?;
    Ok(counted)
}

/// What a snapshot in progress reports.
#[derive(Debug, Clone, Copy)]
pub enum CaptureProgress {
    /// What it will cost the target, before it starts.
    Estimated(SnapshotEstimate),
    /// The target writes the file itself (and is stopped meanwhile).
    TargetWriting { bytes: u64 },
    /// V8 streams the snapshot to us.
    Streaming(SnapshotProgress),
}

impl std::fmt::Display for CaptureProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: u64| b as f64 / 1e6;
        match *self {
            CaptureProgress::Estimated(e) => write!(f, "Snapshot: {}", e.describe()),
            CaptureProgress::TargetWriting { bytes } => write!(
                f,
                "The target is writing its snapshot (it is stopped meanwhile): {:.1} MB",
                mb(bytes)
            ),
            CaptureProgress::Streaming(SnapshotProgress::Walking { done, total }) => write!(
                f,
                "Walking the heap (the target is stopped): {done}/{total} objects"
            ),
            CaptureProgress::Streaming(SnapshotProgress::Writing { bytes }) => {
                write!(f, "Writing {:.1} MB", mb(bytes))
            }
        }
    }
}

/// A snapshot written to disk.
#[derive(Debug, Clone, Copy)]
pub struct Captured {
    pub bytes: u64,
    pub seconds: f64,
    pub heap_used_before: u64,
    /// How much the target's peak memory rose above what it used before the
    /// snapshot (from `process.resourceUsage().maxRSS`; an earlier, higher
    /// peak makes it an over-estimate), when it could tell.
    pub extra_memory: Option<u64>,
    /// `written-by-target` or `streamed`.
    pub method: &'static str,
}

/// Where the target writes a snapshot for `path` before we rename it into
/// place (callers remove it when interrupted).
pub fn target_written_temp(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Takes a snapshot of the target into `path`. When the target shares our
/// file system it writes the file itself (`v8.writeHeapSnapshot`, which
/// stops it 35–60 % less time than streaming); otherwise the chunks stream
/// over the inspector. It is estimated first (told as a note, `snapshot: …`,
/// before the target stops) and refused when the target lacks the memory,
/// unless `options.force`; then `observer` follows the writing.
pub async fn write_snapshot(
    client: &Client,
    path: &Path,
    options: SnapshotOptions,
    observer: &mut dyn Observer,
) -> Result<Captured> {
    let progress = &mut |p: CaptureProgress| match p {
        CaptureProgress::Estimated(e) => observer.note(&format!("snapshot: {}", e.describe())),
        p => observer.progress(&p.to_string()),
    };
    if options.gc {
        client.collect_garbage().await?;
    }
    let mut estimate = estimate_snapshot(client, options.may_count).await?;
    if let Some(ratio) = options.measured_ratio {
        estimate = estimate.with_measured_ratio(ratio);
    }
    progress(CaptureProgress::Estimated(estimate));
    if !estimate.affordable() && !options.force {
        return Err(InspectorError::SnapshotUnaffordable(estimate));
    }
    let used = estimate.heap_used;
    let rss_before = client
        .eval_value::<u64>("process.memoryUsage().rss")
        .await
        .ok();
    let start = Instant::now();
    let written = if options.stream {
        None
    } else {
        write_by_target(client, path, progress).await?
    };
    let (bytes, method) = match written {
        Some(bytes) => (bytes, "written-by-target"),
        None => {
            let mut file = AtomicFile::create(path)?;
            let bytes = client
                .take_heap_snapshot(file.writer(), &mut |p| {
                    progress(CaptureProgress::Streaming(p));
                })
                .await?;
            file.commit()?;
            (bytes, "streamed")
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let peak = client
        .eval_value::<u64>("process.resourceUsage().maxRSS * 1024")
        .await
        .ok();
    Ok(Captured {
        bytes,
        seconds,
        heap_used_before: used,
        extra_memory: rss_before
            .zip(peak)
            .map(|(before, peak)| peak.saturating_sub(before)),
        method,
    })
}

/// Has the target write the snapshot beside `path`, if it sees the same
/// directory we do (checked with a probe file); `None` if it does not.
async fn write_by_target(
    client: &Client,
    path: &Path,
    progress: &mut dyn FnMut(CaptureProgress),
) -> Result<Option<u64>> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let cannot = |e: std::io::Error| InspectorError::Write {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    let dir = std::fs::canonicalize(&dir).map_err(cannot)?;
    let probe = dir.join(format!(".leakscope-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(cannot)?;
    let js = |p: &Path| serde_json::to_string(&p.to_string_lossy()).expect("string");
    let shared = client
        .eval_value::<bool>(&format!("require('fs').existsSync({})", js(&probe)))
        .await;
    let _ = std::fs::remove_file(&probe);
    if !matches!(shared, Ok(true)) {
        return Ok(None);
    }
    let temp = dir.join(target_written_temp(path).file_name().expect("file name"));
    let expression = format!("require('v8').writeHeapSnapshot({})", js(&temp));
    let write = client.evaluate(&expression, false);
    tokio::pin!(write);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    let result = loop {
        tokio::select! {
            result = &mut write => break result,
            _ = tick.tick() => {
                let bytes = std::fs::metadata(&temp).map_or(0, |m| m.len());
                progress(CaptureProgress::TargetWriting { bytes });
            }
        }
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    let bytes = std::fs::metadata(&temp)?.len();
    std::fs::rename(&temp, path)?;
    Ok(Some(bytes))
}

/// A finished allocation recording.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    pub bytes: u64,
    pub seconds_recorded: f64,
    /// `lastSeenObjectId` events received (about one per 50 ms).
    pub ticks: u64,
    pub last_object_id: u64,
}

/// Records allocations with their stacks for `duration` (DevTools'
/// allocation timeline) into a `.heaptimeline` at `path`, written under a
/// temporary name and renamed when complete. The caller stops tracking if
/// this is interrupted (`HeapProfiler.disable`).
pub async fn record_allocations(
    client: &Client,
    path: &Path,
    duration: std::time::Duration,
    observer: &mut dyn Observer,
) -> Result<Recorded> {
    let mut file = AtomicFile::create(path)?;
    client.start_tracking_heap_objects().await?;
    let start = Instant::now();
    let mut ticks = 0u64;
    let mut last_object_id = 0u64;
    let deadline = tokio::time::Instant::now() + duration;
    loop {
        tokio::select! {
            event = client.next_event() => {
                let event = event.ok_or(InspectorError::Closed)?;
                if event.method == "HeapProfiler.lastSeenObjectId" {
                    let seen: crate::LastSeenObjectId = event.parse()?;
                    ticks += 1;
                    last_object_id = seen.last_seen_object_id;
                    observer.progress(&format!(
                        "Recording: {:.1} s, last object id {last_object_id}",
                        start.elapsed().as_secs_f64()
                    ));
                }
            }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    let seconds_recorded = start.elapsed().as_secs_f64();
    let bytes = client
        .stop_tracking_heap_objects(file.writer(), &mut |p| {
            observer.progress(&CaptureProgress::Streaming(p).to_string());
        })
        .await?;
    file.commit()?;
    Ok(Recorded {
        bytes,
        seconds_recorded,
        ticks,
        last_object_id,
    })
}
