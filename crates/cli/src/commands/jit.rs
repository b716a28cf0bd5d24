//! `leakscope jit`: drive load at a server while the CPU and allocation
//! profilers run, read V8's deoptimization and inline-cache log of an app
//! it launched, and name the hot functions the JIT cannot make fast.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use leakscope_jit::session::{self, Config, Recording};
use leakscope_jit::Findings;
use leakscope_report::jit::JitReport;

use crate::jit_view;
use crate::live::{block_on, with_target, LoadTarget, TargetArgs};
use crate::output::parse_duration;
use crate::progress::Terminal;

/// Find the hot functions V8 cannot keep fast: drive HTTP load, profile
/// the CPU, and (for an app it launches) read V8's own log of
/// deoptimizations and inline caches.
#[derive(clap::Args)]
#[command(
    mut_arg("url", |a| a.long("inspector-url")),
    after_help = "Launching the app (`-- node app.js`) lets V8 log deoptimizations and inline-cache \
states; with --pid or --port only the CPU and allocation profiles are available.\n\
Exit status: 0 no JIT problem in a hot function, 1 some, 2 usage or target error.\n\n\
Examples:\n  leakscope jit -- node server.js\n  \
leakscope jit --url /api/cart --duration 30s -- node server.js\n  \
leakscope jit --pid 4242 --url http://127.0.0.1:3000/\n  \
leakscope jit --request-file requests.txt --json -- node app.js\n  \
leakscope jit --report jit.html -- node server.js"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadTarget,
    /// How long to profile under load
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before profiling, so the JIT has settled
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Hot functions to report at most
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    /// Write a single-file HTML report
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    #[command(flatten)]
    pub source_maps: crate::positions::SourceMapArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<leakscope_report::JitRunReport>();
    }
    anyhow::ensure!(!args.duration.is_zero(), "--duration must be more than 0");
    // A report file that cannot be written fails now, not after the run.
    let report_file = args
        .report
        .as_deref()
        .map(crate::atomic::AtomicFile::create)
        .transpose()?;
    let config = Config {
        load: args.load.spec()?,
        warmup: args.warmup,
        duration: args.duration,
        log_marks: !args.target.launch.is_empty(),
        ..Config::default()
    };
    // V8's log, for an app we launch; removed once read (it holds the
    // app's source).
    let log_dir = (!args.target.launch.is_empty())
        .then(|| std::env::temp_dir().join(format!("leakscope-jit-{}", std::process::id())));
    let mut target = args.target.resolve()?;
    if let Some(dir) = &log_dir {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        target.v8_log = Some(dir.join("v8.log"));
    }
    let mut terminal = Terminal::new(args.json);
    let recorded = block_on(with_target(
        &target,
        async |attached| Ok(session::record(attached, &config, &mut terminal).await?),
        async |client| session::stop_profilers(client).await,
    ));
    terminal.bar.finish_and_clear();
    let log = target.v8_log.as_ref().and_then(|path| {
        let trace = std::fs::read(leakscope_jit::deopt_trace_path(path)).ok();
        let file = std::fs::File::open(path).ok()?;
        leakscope_jit::read_log(file, trace.as_deref(), &leakscope_jit::LOG_MARKS).ok()
    });
    if let Some(dir) = &log_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let recording: Recording = recorded?;
    let findings = Findings::build(
        &recording.cpu,
        log.as_ref(),
        recording.allocations.as_ref(),
        args.top,
    );
    if let Some(too_short) = findings.too_short() {
        return Err(too_short.into());
    }
    let positions = args.source_maps.positions();
    let mut findings = findings;
    findings.map_positions(&positions);
    let findings = leakscope_usecase::report::jit_report(&findings);
    if !args.json {
        crate::positions::print_warnings(&positions);
    }
    if let Some(mut file) = report_file {
        use std::io::Write as _;
        file.write_all(jit_view::page(&run_line(&recording, &findings), &findings).as_bytes())?;
        file.commit()?;
    }
    if args.json {
        crate::output::json(&leakscope_usecase::report::jit_run_report(
            &recording,
            &findings,
            &positions.report(),
        ))?;
    } else {
        print(&recording, &findings)?;
    }
    Ok(if findings.hot.iter().any(|f| f.jit_problem) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// "Profiled 20 s of load at URL: N requests (…/s), CPU busy …, …% in GC (V8 …)"
fn run_line(recording: &Recording, findings: &JitReport) -> String {
    let load = &recording.load;
    format!(
        "Profiled {:.0} s of load at {}: {} requests ({:.0}/s), CPU busy {:.1} s, {:.0}% of it in GC{}",
        load.seconds,
        recording.url,
        load.completed,
        load.requests_per_second,
        findings.busy_ms / 1e3,
        findings.gc_share * 100.0,
        findings
            .v8_version
            .as_ref()
            .map_or(String::new(), |v| format!(" (V8 {v})"))
    )
}

fn print(recording: &Recording, findings: &JitReport) -> anyhow::Result<()> {
    outln!("{}", run_line(recording, findings))?;
    jit_view::print(findings)
}
