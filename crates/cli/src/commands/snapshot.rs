use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use leakscope_inspector::{Client, SnapshotProgress};

use crate::atomic::AtomicFile;
use crate::live::{block_on, with_target, TargetArgs};
use crate::output::size;

/// Take a heap snapshot of a live process (heapdump, headless). The chunks
/// stream straight to disk; the file appears only when complete.
#[derive(clap::Args)]
#[command(
    after_help = "The target is stopped while V8 writes the snapshot (about 0.1 s per MB of heap).\n\n\
Examples:\n  leakscope snapshot --pid 4242 -o app.heapsnapshot\n  leakscope snapshot --port 9229 -o app.heapsnapshot --gc\n  leakscope snapshot -o start.heapsnapshot -- node app.js"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where to write the .heapsnapshot
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Force a full memory-reducing GC first (V8 always runs one GC itself)
    #[arg(long)]
    pub gc: bool,
    /// Stream the snapshot over the inspector even when the target can
    /// write it to a shared disk itself (which stops it for less time)
    #[arg(long)]
    pub stream: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Report {
    path: PathBuf,
    bytes: u64,
    seconds: f64,
    heap_used_before: u64,
    pid: u32,
    /// `written-by-target` or `streamed`.
    method: &'static str,
}

/// How to take a snapshot.
#[derive(Clone, Copy)]
pub struct Capture {
    pub gc: bool,
    pub stream: bool,
    pub quiet: bool,
}

pub struct Captured {
    pub bytes: u64,
    pub seconds: f64,
    pub heap_used_before: u64,
    pub method: &'static str,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let report = block_on(with_target(
        &args.target,
        async |target| {
            let how = Capture {
                gc: args.gc,
                stream: args.stream,
                quiet: args.json,
            };
            let c = capture(&target.client, &args.output, how).await?;
            Ok(Report {
                path: args.output.clone(),
                bytes: c.bytes,
                seconds: c.seconds,
                heap_used_before: c.heap_used_before,
                pid: target.pid,
                method: c.method,
            })
        },
        async |_| {
            // Interrupted while the target writes: its file goes away once
            // the target closes it.
            let _ = std::fs::remove_file(target_written_temp(&args.output));
        },
    ))?;
    if args.json {
        crate::output::json(&report)?;
    } else {
        outln!(
            "wrote {} ({}) from PID {} in {:.1} s ({}); next: leakscope summary {}",
            report.path.display(),
            size(report.bytes),
            report.pid,
            report.seconds,
            report.method.replace('-', " "),
            report.path.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Takes a snapshot of the target into `path`. When the target shares our
/// file system it writes the file itself (`v8.writeHeapSnapshot`, which
/// stops it 35–60 % less time than streaming, design/inspector.md §8);
/// otherwise the chunks stream over the inspector. Warns before stopping a
/// big heap. The file appears only when complete.
pub async fn capture(client: &Client, path: &Path, how: Capture) -> anyhow::Result<Captured> {
    let used = client.get_heap_usage().await?.used_size as u64;
    if used > 100_000_000 && !how.quiet {
        eprintln!(
            "note: the heap holds {}; the target stops for roughly {:.0} s while V8 writes the snapshot",
            size(used),
            used as f64 / 1e6 * 0.1
        );
    }
    if how.gc {
        client.collect_garbage().await?;
    }
    let start = Instant::now();
    let bar = crate::progress::spinner(how.quiet);
    let written = if how.stream {
        None
    } else {
        write_by_target(client, path, &bar).await?
    };
    let (bytes, method) = match written {
        Some(bytes) => (bytes, "written-by-target"),
        None => (stream(client, path, &bar).await?, "streamed"),
    };
    bar.finish_and_clear();
    Ok(Captured {
        bytes,
        seconds: start.elapsed().as_secs_f64(),
        heap_used_before: used,
        method,
    })
}

/// Where the target writes before we rename into place.
fn target_written_temp(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Has the target write the snapshot beside `path`, if it sees the same
/// directory we do (checked with a probe file); `None` if it does not.
async fn write_by_target(
    client: &Client,
    path: &Path,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Option<u64>> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(&dir)
        .map_err(|e| anyhow::anyhow!("cannot write into {}: {e}", dir.display()))?;
    let probe = dir.join(format!(".leakscope-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| anyhow::anyhow!("cannot write into {}: {e}", dir.display()))?;
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
                let written = std::fs::metadata(&temp).map_or(0, |m| m.len());
                bar.set_message(format!("The target is writing its snapshot (it is stopped meanwhile): {}", size(written)));
            }
        }
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(e.into());
    }
    let bytes = std::fs::metadata(&temp)?.len();
    std::fs::rename(&temp, path)?;
    Ok(Some(bytes))
}

/// A progress line for a snapshot V8 streams to us.
pub fn describe(progress: SnapshotProgress) -> String {
    match progress {
        SnapshotProgress::Walking { done, total } => {
            format!("Walking the heap (the target is stopped): {done}/{total} objects")
        }
        SnapshotProgress::Writing { bytes } => format!("Writing {}", size(bytes)),
    }
}

/// Streams the snapshot's chunks over the inspector into `path`.
async fn stream(client: &Client, path: &Path, bar: &indicatif::ProgressBar) -> anyhow::Result<u64> {
    let mut file = AtomicFile::create(path)?;
    let bytes = client
        .take_heap_snapshot(file.writer(), &mut |p| bar.set_message(describe(p)))
        .await?;
    file.commit()?;
    Ok(bytes)
}
