//! `leakscope hunt`: launch or attach, warm up, then rounds of load each
//! followed by a forced GC and a heap snapshot; the snapshots decide.

mod html;
mod plots;
mod text;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use leakscope_hunt::session::{self, Config, Drive, LoadCommand, Snapshots};
use leakscope_hunt::Rules;
use leakscope_report::HuntReport;
use leakscope_usecase::hunt::HuntRequest;
use leakscope_usecase::Target;

use crate::live::{block_on, LoadTarget, TargetArgs};
use crate::output::parse_duration;
use crate::progress::Terminal;

/// The report `--keep` writes beside the snapshots.
pub const SAVED_REPORT: &str = "hunt.json";

/// The bundled leaky server the hunt runs when given no target.
const DEMO_SERVER: &str = include_str!("../../../../../examples/leaky-server.js");

/// Find a memory leak in a Node process, end to end: launch it (or attach),
/// drive HTTP load in rounds (or run your own load command, or let it do its
/// own work), snapshot every thread's heap after a GC each round, and name
/// what grows, who holds it and which code allocated it.
#[derive(clap::Args)]
#[command(
    // `--url` is where the load goes, as in `leakscope load`.
    mut_arg("url", |a| a.long("inspector-url")),
    after_help = "With no target, hunts in the bundled leaky example server (the demo exits 0 \
when it finds that leak).\nExit status: 0 no leak, 1 leak found, 2 usage or target error.\n\n\
Examples:\n  leakscope hunt\n  leakscope hunt -- node server.js\n  \
leakscope hunt --pid 4242 --url http://127.0.0.1:3000/api/items\n  \
leakscope hunt --request-file requests.txt --report hunt.html -- node app.js\n  \
leakscope hunt --no-load --round-time 30s --budget 5m --pid 4242     # a queue consumer, no traffic added\n  \
leakscope hunt --load-cmd 'node ws-client.js {url}' -- node ws-server.js\n  \
leakscope hunt --load-cmd 'k6 run -d 10s load.js' -- node server.js  # k6 reads LEAKSCOPE_URL"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadTarget,
    /// Add no traffic: each round is --round-time of the process's own work
    /// (a queue consumer, a worker, a production process); rates are per
    /// second and per hour
    #[arg(long, conflicts_with_all = ["load_cmd", "load_url", "request_file", "concurrency", "requests", "warmup"])]
    pub no_load: bool,
    /// Your own load, run through `sh -c` once per round (and once to warm
    /// up): a round ends when it exits, or at --round-time when it is
    /// stopped. `{url}` in it becomes the app's base URL
    /// (http://127.0.0.1:PORT, or --url), also in LEAKSCOPE_URL
    #[arg(long, value_name = "CMD", conflicts_with_all = ["request_file", "concurrency", "requests", "warmup"])]
    pub load_cmd: Option<String>,
    /// Judge the main thread's heap only (every worker thread's heap is
    /// judged on its own by default)
    #[arg(long)]
    pub no_workers: bool,
    /// Take snapshots even when the target lacks the memory V8 needs to
    /// build them (estimated before each one; it could be killed)
    #[arg(long, conflicts_with = "no_snapshot")]
    pub force_snapshot: bool,
    #[command(flatten)]
    pub source_maps: crate::positions::SourceMapArgs,
    /// Judge the rounds without snapshots, from the sampling heap
    /// profiler's live allocations (a GC each round, no pause for a
    /// snapshot): names where the kept memory was allocated, not its
    /// holder. Heaps too big to snapshot every round are hunted this way,
    /// with one snapshot at the end when the target can afford it
    #[arg(long, conflicts_with = "one_snapshot")]
    pub no_snapshot: bool,
    /// Judge the rounds by the sampling heap profiler and take a single
    /// snapshot at the end to name the holders: one pause instead of one
    /// per round, for production processes
    #[arg(long)]
    pub one_snapshot: bool,
    /// Rounds of load, each followed by GC and a snapshot (more run when a
    /// small suspect needs confirming)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=20))]
    pub rounds: u32,
    /// Requests per round (a round also ends after --round-time, or when
    /// the heap grew by 32 MB)
    #[arg(long, default_value_t = 3000)]
    pub requests: u64,
    /// Longest round (with --no-load, each round's length)
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub round_time: Duration,
    /// The whole hunt, analysis included: rounds shrink to fit, and the
    /// verdict says when this stopped it
    #[arg(long, default_value = "90s", value_parser = parse_duration)]
    pub budget: Duration,
    /// Requests before the baseline snapshot (JIT, pools and bounded caches
    /// settle); the warm-up also ends after 8 s
    #[arg(long, default_value_t = 1500)]
    pub warmup: u64,
    /// Keep the snapshots in this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Keep the snapshots and the report (`hunt.json`, for `leakscope
    /// serve`) in --out, or in a directory named in the output
    #[arg(long)]
    pub keep: bool,
    /// Write a single-file HTML report with plots
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Record allocation stacks during one round, if a short probe shows the
    /// app can afford it (it runs a full GC every 50 ms; Node 20's tracker
    /// has crashed some apps under load)
    #[arg(long)]
    pub tracking: bool,
    /// Run the launched app with `node --trace-gc` and analyse its GC log
    /// (as `leakscope gc-log` does)
    #[arg(long)]
    pub trace_gc: bool,
    /// Also profile the CPU during the first round and report the hot
    /// functions V8 cannot keep fast (as `leakscope jit` does; V8's
    /// deoptimization and inline-cache log needs a launched app)
    #[arg(long)]
    pub jit: bool,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output (and of `hunt.json`) and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    #[command(flatten)]
    pub gate: crate::gate::GateArgs,
}

/// What the flags ask for, checked: the hunt's request, and what the
/// command does with its report.
struct Resolved {
    request: HuntRequest,
    /// The bundled demo's directory, when hunting in it.
    demo_dir: Option<PathBuf>,
    /// The snapshots' directory is ours to remove (no `--out`).
    own_out: bool,
    gate: crate::gate::Gate,
    report_file: Option<crate::atomic::AtomicFile>,
}

impl Resolved {
    /// Flags → the hunt's request. Anything unusable (a request file, an
    /// HTML report's path, a gate's pattern or baseline) fails here, not
    /// after the hunt.
    fn from_args(args: &Args) -> anyhow::Result<Resolved> {
        anyhow::ensure!(args.requests > 0, "--requests must be at least 1");
        let is_demo = args.target.launch.is_empty()
            && args.target.pid.is_empty()
            && args.target.port.is_none()
            && args.target.url.is_none();
        let (target, label, demo_dir) = if is_demo {
            anyhow::ensure!(
                args.load.url.is_none()
                    && args.load.request_file.is_none()
                    && args.load_cmd.is_none()
                    && !args.no_load,
                "--url, --request-file, --load-cmd and --no-load need a target: --pid PID, --port PORT, --inspector-url URL or `-- node app.js`"
            );
            let demo_dir =
                std::env::temp_dir().join(format!("leakscope-hunt-demo-{}", std::process::id()));
            std::fs::create_dir_all(&demo_dir)?;
            let script = demo_dir.join("leaky-server.js");
            std::fs::write(&script, DEMO_SERVER)?;
            let target = Target {
                allow_remote: args.target.allow_remote,
                ..Target::launch(vec!["node".into(), script.into()])
            };
            let label = "the bundled example examples/leaky-server.js".to_owned();
            (target, label, Some(demo_dir))
        } else {
            let target = args.target.resolve()?;
            let label = target.label();
            (target, label, None)
        };
        if args.trace_gc && !target.is_launch() {
            anyhow::bail!("--trace-gc needs an app leakscope launches (`-- node app.js`)");
        }
        let gate = crate::gate::Gate::new(&args.gate)?;
        let report_file = args
            .report
            .as_deref()
            .map(crate::atomic::AtomicFile::create)
            .transpose()?;
        let drive = if args.no_load {
            Drive::Idle
        } else if let Some(command) = &args.load_cmd {
            anyhow::ensure!(!command.trim().is_empty(), "--load-cmd is empty");
            Drive::Command {
                command: LoadCommand {
                    command: command.clone(),
                },
                url: args.load.url.clone(),
            }
        } else {
            Drive::Http(args.load.spec()?)
        };
        let out = match &args.out {
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join(format!("leakscope-hunt-{}", std::process::id())),
        };
        std::fs::create_dir_all(&out)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
        // Absolute, so that a kept report names snapshots `serve` finds from anywhere.
        let out = out.canonicalize().unwrap_or(out);
        let config = Config {
            drive,
            warmup_requests: args.warmup,
            min_rounds: args.rounds as usize,
            max_rounds: (args.rounds as usize).max(Rules::default().confirm_rounds),
            round_requests: args.requests,
            round_time: args.round_time,
            budget: args.budget,
            tracking: args.tracking,
            out,
            rules: Rules::default(),
            cpu_profile: args.jit,
            workers: !args.no_workers,
            force_snapshot: args.force_snapshot,
            positions: std::sync::Arc::new(args.source_maps.positions_for(target.pid())),
            snapshots: if args.no_snapshot {
                Snapshots::None
            } else if args.one_snapshot {
                Snapshots::One
            } else {
                Snapshots::EachRound
            },
        };
        Ok(Resolved {
            request: HuntRequest {
                target,
                label,
                config,
                trace_gc: args.trace_gc,
                keep: args.keep,
            },
            demo_dir,
            own_out: args.out.is_none(),
            gate,
            report_file,
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<HuntReport>();
    }
    let Resolved {
        request,
        demo_dir,
        own_out,
        gate,
        report_file,
    } = Resolved::from_args(&args)?;
    let mut terminal = Terminal::new(args.json);
    let result = block_on(leakscope_usecase::hunt::hunt(&request, &mut terminal));
    terminal.bar.finish_and_clear();
    if let Some(dir) = &demo_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let out = &request.config.out;
    if !args.keep {
        remove_snapshots(out, own_out);
    }
    let hunt = result.map_err(|failure| {
        crate::live::said(failure.map(|e| match e {
            session::HuntError::Inspector(e) => crate::capture::with_force_hint(e),
            e => e.into(),
        }))
    })?;
    render(&args, &hunt, out, report_file)?;
    if demo_dir.is_some() {
        // The demo is meant to find its leak; success is finding it.
        if !args.json {
            outln!("\nThat was the bundled demo. On your own server: leakscope hunt -- node server.js (exit status 1 when it finds a leak)")?;
        }
        return Ok(if hunt.findings.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    Ok(ExitCode::from(gate.finish(
        "hunt",
        &hunt.findings,
        hunt.seconds,
    )?))
}

/// The report, wherever the flags want it: `hunt.json` beside kept
/// snapshots, an HTML file, and JSON or text on stdout.
fn render(
    args: &Args,
    hunt: &HuntReport,
    out: &Path,
    report_file: Option<crate::atomic::AtomicFile>,
) -> anyhow::Result<()> {
    if args.keep {
        // Beside its snapshots, for `leakscope serve DIR/hunt.json`.
        crate::atomic::write(&out.join(SAVED_REPORT), &serde_json::to_vec_pretty(hunt)?)?;
    }
    if let Some(mut file) = report_file {
        file.write_all(html::render(hunt).as_bytes())?;
        file.commit()?;
    }
    if args.json {
        crate::output::json(hunt)?;
    } else {
        text::print(hunt, args.report.as_deref())?;
    }
    Ok(())
}

/// Deletes the hunt's snapshots (and the directory when we made it).
fn remove_snapshots(out: &Path, ours: bool) {
    if ours {
        let _ = std::fs::remove_dir_all(out);
        return;
    }
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("hunt-") && name.ends_with(".heapsnapshot") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
