use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::builder::ArgPredicate;
use leakscope_profile::SamplingProfile;
use leakscope_usecase::report::{sample_report, SampleFiles};

use crate::live::{block_on, with_target, TargetArgs};
use crate::output::{ellipsize, parse_duration, size};

/// Sample heap allocations of a live process (cheap enough for production):
/// writes a `.heapprofile` (opens in DevTools), a flame graph SVG and a
/// gzipped pprof profile (`go tool pprof`, Pyroscope) into DIR.
#[derive(clap::Args)]
#[command(
    after_help = "The profile holds sampled allocations still alive at the end (add \
--include-collected for all of them). Stopping the sampler runs one full GC in the target.\n\n\
Examples:\n  leakscope sample --pid 4242 --duration 30s -o profiles/\n  \
leakscope sample --duration 20s -o out/ -- node app.js"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Directory for heap.heapprofile, heap-flamegraph.svg and heap.pb.gz
    #[arg(
        short,
        long,
        value_name = "DIR",
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
    pub output: PathBuf,
    /// How long to sample
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Average bytes between samples (V8's default: 32 KiB)
    #[arg(long, default_value_t = 32768)]
    pub interval: u64,
    /// Also keep samples of objects the GC has freed (all allocations)
    #[arg(long)]
    pub include_collected: bool,
    /// Functions to list
    #[arg(long, default_value_t = 10)]
    pub top: usize,
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
        return crate::output::schema::<leakscope_report::SampleReport>();
    }
    anyhow::ensure!(args.interval > 0, "--interval must be at least 1 byte");
    std::fs::create_dir_all(&args.output)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.output.display()))?;
    let profile_json = block_on(with_target(
        &args.target.resolve()?,
        async |target| {
            let client = &target.client;
            client
                .start_sampling(args.interval, args.include_collected)
                .await?;
            let bar = crate::progress::spinner(args.json);
            let start = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            while start.elapsed() < args.duration {
                tick.tick().await;
                bar.set_message(format!(
                    "Sampling allocations: {:.0}/{:.0} s",
                    start.elapsed().as_secs_f64(),
                    args.duration.as_secs_f64()
                ));
            }
            bar.finish_and_clear();
            Ok(client.stop_sampling().await?)
        },
        async |client| {
            // Harmless when sampling already stopped.
            let _ = client.stop_sampling().await;
        },
    ))?;
    let mut profile: SamplingProfile = serde_json::from_value(profile_json.clone())
        .map_err(|e| anyhow::anyhow!("the target sent a profile leakscope cannot read: {e}"))?;
    // The .heapprofile stays V8's; the flame graph, pprof and the list show
    // the sources the developer edits.
    let positions = args
        .source_maps
        .positions_for(args.target.pid.first().copied());
    profile.map_positions(&positions);
    let heapprofile = args.output.join("heap.heapprofile");
    let svg = args.output.join("heap-flamegraph.svg");
    let pprof = args.output.join("heap.pb.gz");
    crate::atomic::write(
        &heapprofile,
        serde_json::to_string(&profile_json)?.as_bytes(),
    )?;
    crate::atomic::write(&svg, &flame_graph(&profile)?)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    crate::atomic::write(
        &pprof,
        &leakscope_profile::to_pprof_gz(&profile, args.interval, now)?,
    )?;
    let top = profile.top_functions();
    if args.json {
        let files = SampleFiles {
            heapprofile,
            flamegraph: svg,
            pprof,
        };
        crate::output::json(&sample_report(
            files,
            &profile,
            &top[..top.len().min(args.top)],
            &positions.report(),
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::positions::print_warnings(&positions);
    outln!(
        "{} sampled ({} samples) still alive; top allocating functions:",
        size(profile.total_size()),
        profile.samples.len()
    )?;
    for f in top.iter().take(args.top) {
        outln!(
            "  {:>11}  {}",
            size(f.self_size),
            ellipsize(&f.function, 100)
        )?;
    }
    outln!(
        "wrote {}, {} and {}",
        heapprofile.display(),
        svg.display(),
        pprof.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// An SVG flame graph of live sampled bytes by allocation stack.
fn flame_graph(profile: &SamplingProfile) -> anyhow::Result<Vec<u8>> {
    let lines = profile.folded_stacks();
    let mut options = inferno::flamegraph::Options::default();
    options.title = "Live heap by allocation stack (sampled)".to_owned();
    options.count_name = "bytes".to_owned();
    options.name_type = "Function:".to_owned();
    let mut svg = Vec::new();
    if lines.is_empty() {
        anyhow::bail!("the profile holds no live samples (sample longer, under load, or with --include-collected)");
    }
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
        .map_err(|e| anyhow::anyhow!("cannot draw the flame graph: {e}"))?;
    Ok(svg)
}
