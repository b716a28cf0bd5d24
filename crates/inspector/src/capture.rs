//! Heap snapshots into files. A file appears whole or not at all: it is
//! written under a temporary name beside its destination and renamed at the
//! end, so a target that dies mid-snapshot leaves nothing behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cdp::Client;
use crate::error::{InspectorError, Result};
use crate::protocol::SnapshotProgress;

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
        let file = writer.into_inner().map_err(|e| e.into_error())?;
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
}

/// What a snapshot in progress reports.
#[derive(Debug, Clone, Copy)]
pub enum CaptureProgress {
    /// The target writes the file itself (and is stopped meanwhile).
    TargetWriting { bytes: u64 },
    /// V8 streams the snapshot to us.
    Streaming(SnapshotProgress),
}

impl std::fmt::Display for CaptureProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: u64| b as f64 / 1e6;
        match *self {
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

/// Roughly how long, in seconds, the target stops while V8 writes a
/// snapshot of a heap holding `heap_used` bytes (about 0.1 s per MB).
pub fn pause_estimate_secs(heap_used: u64) -> f64 {
    heap_used as f64 / 1e6 * 0.1
}

/// A snapshot written to disk.
#[derive(Debug, Clone, Copy)]
pub struct Captured {
    pub bytes: u64,
    pub seconds: f64,
    pub heap_used_before: u64,
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
/// over the inspector.
pub async fn write_snapshot(
    client: &Client,
    path: &Path,
    options: SnapshotOptions,
    progress: &mut dyn FnMut(CaptureProgress),
) -> Result<Captured> {
    let used = client.get_heap_usage().await?.used_size as u64;
    if options.gc {
        client.collect_garbage().await?;
    }
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
                    progress(CaptureProgress::Streaming(p))
                })
                .await?;
            file.commit()?;
            (bytes, "streamed")
        }
    };
    Ok(Captured {
        bytes,
        seconds: start.elapsed().as_secs_f64(),
        heap_used_before: used,
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

/// What an allocation recording in progress reports.
#[derive(Debug, Clone, Copy)]
pub enum RecordProgress {
    /// Seconds recorded and the last object id V8 reported.
    Recording { seconds: f64, last_object_id: u64 },
    /// The final snapshot, with allocation stacks, is streaming.
    Writing(SnapshotProgress),
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
    progress: &mut dyn FnMut(RecordProgress),
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
                    progress(RecordProgress::Recording {
                        seconds: start.elapsed().as_secs_f64(),
                        last_object_id,
                    });
                }
            }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    let seconds_recorded = start.elapsed().as_secs_f64();
    let bytes = client
        .stop_tracking_heap_objects(file.writer(), &mut |p| progress(RecordProgress::Writing(p)))
        .await?;
    file.commit()?;
    Ok(Recorded {
        bytes,
        seconds_recorded,
        ticks,
        last_object_id,
    })
}
