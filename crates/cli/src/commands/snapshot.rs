use std::path::PathBuf;
use std::process::ExitCode;

use leakscope_inspector::capture::{target_written_temp, SnapshotOptions};
use leakscope_report::live::SnapshotTaken as Report;
use leakscope_report::Document;

use crate::capture::capture;
use crate::live::{block_on, with_target, TargetArgs};
use crate::output::size;

/// Take a heap snapshot of a live process (heapdump, headless). The chunks
/// stream straight to disk; the file appears only when complete.
#[derive(clap::Args)]
#[command(
    after_help = "The target is stopped while V8 writes the snapshot, and needs memory for it: both \
are estimated and printed first, and the snapshot is refused when the target (its container's \
limit, or the host) lacks the memory, unless --force-snapshot.\n\n\
Examples:\n  leakscope snapshot --pid 4242 -o app.heapsnapshot\n  leakscope snapshot --port 9229 -o app.heapsnapshot --gc\n  leakscope snapshot -o start.heapsnapshot -- node app.js"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where to write the .heapsnapshot
    #[arg(
        short,
        long,
        value_name = "FILE",
        required_unless_present = "json_schema"
    )]
    pub output: Option<PathBuf>,
    /// Force a full memory-reducing GC first (V8 always runs one GC itself)
    #[arg(long)]
    pub gc: bool,
    /// Stream the snapshot over the inspector even when the target can
    /// write it to a shared disk itself (which stops it for less time)
    #[arg(long)]
    pub stream: bool,
    /// Take it even when the target lacks the memory V8 needs to build it
    /// (estimated first: heaps of small objects need many times their size;
    /// the target could be killed)
    #[arg(long)]
    pub force_snapshot: bool,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<Report>();
    }
    let output = crate::output::given(&args.output, "-o FILE")?;
    let report = block_on(with_target(
        &args.target.resolve()?,
        async |target| {
            let options = SnapshotOptions {
                gc: args.gc,
                stream: args.stream,
                force: args.force_snapshot,
                may_count: true,
                measured_ratio: None,
            };
            let c = capture(&target.client, output, options, args.json).await?;
            Ok(Report {
                schema_version: <Report as Document>::SCHEMA_VERSION,
                path: output.clone(),
                bytes: c.bytes,
                seconds: c.seconds,
                heap_used_before: c.heap_used_before,
                pid: target.pid,
                method: c.method.to_owned(),
            })
        },
        async |_| {
            // Interrupted while the target writes: its file goes away once
            // the target closes it.
            let _ = std::fs::remove_file(target_written_temp(output));
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
