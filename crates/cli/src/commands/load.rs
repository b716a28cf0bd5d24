use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::builder::ArgPredicate;
use leakscope_load::{parse_request_file, Live, Plan, Report, Stop};

use crate::output::parse_duration;

/// Drive HTTP/1.1 load at a server (ab / wrk style): one task per
/// connection, keep-alive on by default, latency percentiles at the end.
#[derive(clap::Args)]
#[command(
    after_help = "`{seq}` in the URL, a request-file target or a body becomes the request's number \
(unique query strings, cache keys). Ctrl-C stops early and still reports what was sent (exit status 130).\n\n\
Examples:\n  leakscope load http://127.0.0.1:3000/ -c 50 -n 100000\n  \
leakscope load http://127.0.0.1:3000/search?q={seq} -c 10 --duration 30s\n  \
leakscope load http://127.0.0.1:3000 --request-file requests.txt -n 5000\n  \
leakscope load http://127.0.0.1:3000/orders -m POST -H 'content-type: application/json' --body '{\"id\": {seq}}'"
)]
pub struct Args {
    /// Server URL (plain http://); with --request-file, the base its paths go to
    #[arg(
        required_unless_present = "json_schema",
        default_value_if("json_schema", ArgPredicate::IsPresent, "-")
    )]
    pub url: String,
    /// Concurrent connections
    #[arg(short = 'c', long, default_value_t = 50)]
    pub concurrency: usize,
    /// Total requests (default 10000 unless --duration is given)
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Run this long (with -n: whichever ends first)
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Keep connections alive between requests (the default)
    #[arg(short = 'k', long, overrides_with = "no_keep_alive")]
    pub keep_alive: bool,
    /// A new connection for every request
    #[arg(long)]
    pub no_keep_alive: bool,
    /// HTTP method
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// Extra header, `Name: value` (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request body
    #[arg(long)]
    pub body: Option<String>,
    /// Requests to cycle through, one per line: `METHOD /path [BODY]`
    #[arg(long, value_name = "FILE", conflicts_with_all = ["method", "body"])]
    pub request_file: Option<PathBuf>,
    /// Per-request timeout
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Print the result as JSON (schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
}

impl Args {
    /// The request count and time bound the user asked for.
    fn stop(&self) -> anyhow::Result<Stop> {
        Ok(match (self.requests, self.duration) {
            (Some(0), _) => anyhow::bail!("-n must be at least 1"),
            (Some(n), None) => Stop::Requests(n),
            (None, Some(d)) => Stop::Duration(d),
            (Some(n), Some(d)) => Stop::Either(n, d),
            (None, None) => Stop::Requests(10_000),
        })
    }
}

/// Builds the plan from `url` plus method, headers, body or a request file.
async fn plan(
    url: &str,
    connections: usize,
    stop: Stop,
    request_file: Option<&PathBuf>,
) -> anyhow::Result<Plan> {
    let mut plan = Plan::new(url, connections, stop).await?;
    if let Some(file) = request_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        plan.requests =
            parse_request_file(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    Ok(plan)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<leakscope_report::LoadReport>();
    }
    anyhow::ensure!(args.concurrency > 0, "-c must be at least 1");
    let stop = args.stop()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let mut plan = plan(
            &args.url,
            args.concurrency,
            stop,
            args.request_file.as_ref(),
        )
        .await?;
        plan.keep_alive = !args.no_keep_alive;
        plan.timeout = args.timeout;
        if args.request_file.is_none() {
            let method = args.method.to_ascii_uppercase();
            let template = &mut plan.requests[0];
            template.method = method
                .parse()
                .map_err(|_| anyhow::anyhow!("bad method {:?}", args.method))?;
            if let Some(body) = &args.body {
                template.set_body(body);
            }
        }
        for template in &mut plan.requests {
            for header in &args.headers {
                template.header(header)?;
            }
        }
        let live = Arc::new(Live::default());
        tokio::spawn(stop_on_interrupt(live.clone()));
        let report = drive_with(&plan, args.json, &live).await;
        anyhow::Ok((report, live.cancel.load(Ordering::Relaxed)))
    })?;
    let (report, interrupted) = report;
    if args.json {
        crate::output::json(&leakscope_usecase::report::load_report(&report))?;
    } else {
        print(&report)?;
    }
    if interrupted {
        eprintln!("leakscope: interrupted; the report covers the requests sent until then");
        return Ok(ExitCode::from(130));
    }
    if report.completed == 0 {
        anyhow::bail!(
            "no request succeeded ({}); is the server at {} up?",
            report.main_error(),
            args.url
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C (or SIGTERM) ends the run as ab does: no new requests, the ones
/// in flight finish, and the report covers what was sent. A second one
/// leaves at once.
#[allow(
    clippy::exit,
    reason = "a second Ctrl-C is the user insisting: stop now, without the summary"
)]
async fn stop_on_interrupt(live: Arc<Live>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        if live.cancel.swap(true, Ordering::Relaxed) {
            std::process::exit(130);
        }
    }
}

/// Runs the plan with a progress line on a TTY.
async fn drive_with(plan: &Plan, quiet: bool, live: &Arc<Live>) -> Report {
    let bar = crate::progress::spinner(quiet);
    let run = plan.run(live);
    tokio::pin!(run);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            report = &mut run => {
                bar.finish_and_clear();
                return report;
            }
            _ = tick.tick() => bar.set_message(format!(
                "{} requests, {} errors",
                live.completed.load(Ordering::Relaxed),
                live.errors.load(Ordering::Relaxed)
            )),
        }
    }
}

fn print(r: &Report) -> anyhow::Result<()> {
    outln!(
        "{} requests in {:.2} s: {:.0} req/s, {} errors, {} connections",
        r.completed,
        r.seconds,
        r.requests_per_second,
        r.error_count,
        r.connections_opened
    )?;
    let statuses: Vec<String> = r
        .status_counts
        .iter()
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    if !statuses.is_empty() {
        outln!("status codes  {}", statuses.join(", "))?;
    }
    for (cause, n) in &r.errors {
        outln!("error         {cause}: {n}")?;
    }
    let l = &r.latency;
    outln!(
        "latency (ms)  mean {:.2}  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        l.mean_ms,
        l.p50_ms,
        l.p90_ms,
        l.p99_ms,
        l.max_ms
    )?;
    outln!(
        "received      {} of bodies",
        crate::output::size(r.body_bytes)
    )?;
    Ok(())
}
