use std::path::PathBuf;
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
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let report = block_on(with_target(
        &args.target,
        async |target| {
            let (bytes, seconds, heap_used_before) =
                capture(&target.client, &args.output, args.gc, args.json).await?;
            Ok(Report {
                path: args.output.clone(),
                bytes,
                seconds,
                heap_used_before,
                pid: target.pid,
            })
        },
        async |_| {},
    ))?;
    if args.json {
        crate::output::json(&report)?;
    } else {
        outln!(
            "wrote {} ({}) from PID {} in {:.1} s; next: leakscope summary {}",
            report.path.display(),
            size(report.bytes),
            report.pid,
            report.seconds,
            report.path.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Streams a snapshot of the target to `path`; returns bytes, seconds and
/// the heap in use beforehand. Warns before stopping a big heap.
pub async fn capture(
    client: &Client,
    path: &std::path::Path,
    gc: bool,
    quiet: bool,
) -> anyhow::Result<(u64, f64, u64)> {
    let mut file = AtomicFile::create(path)?;
    let usage = client.get_heap_usage().await?;
    let used = usage.used_size as u64;
    if used > 100_000_000 && !quiet {
        eprintln!(
            "note: the heap holds {}; the target stops for roughly {:.0} s while V8 writes the snapshot",
            size(used),
            used as f64 / 1e6 * 0.12
        );
    }
    if gc {
        client.collect_garbage().await?;
    }
    let bar = crate::progress::spinner(quiet);
    let start = Instant::now();
    let bytes = client
        .take_heap_snapshot(file.writer(), &mut |p| match p {
            SnapshotProgress::Walking { done, total } => {
                bar.set_message(format!("Walking the heap: {done}/{total} objects"))
            }
            SnapshotProgress::Writing { bytes } => {
                bar.set_message(format!("Writing {}", size(bytes)))
            }
        })
        .await?;
    bar.finish_and_clear();
    file.commit()?;
    Ok((bytes, start.elapsed().as_secs_f64(), used))
}
