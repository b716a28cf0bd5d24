//! `leakscope watch`: memwatch, done from outside the process — one target
//! ([`one`]) or many at once ([`fleet`]), on the `leakscope-watch` library.

mod fleet;
mod one;
mod print;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use leakscope_gctrend::Config;
use leakscope_watch::metrics::{self, Metrics};
use leakscope_watch::{Settings, SnapshotPolicy, Snapshots};

use crate::live::TargetArgs;
use crate::output::parse_duration;

/// Watch every GC of live processes and raise leak events, memwatch-style:
/// heap and per-space sizes after each GC, pauses, event-loop delay,
/// `stats` after each full GC and `leak` when the heap after full GCs keeps
/// growing. One target, several `--pid`s, or every Node process of this
/// user (`--all`). Nothing in the apps changes; the observer is removed and
/// an inspector leakscope opened is closed on exit.
#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 when no leak event fired, 1 when one did, 2 on error, 130 on Ctrl-C.\n\n\
Examples:\n  leakscope watch --pid 4242\n  leakscope watch --pid 4242 --json --duration 10m > gc.jsonl\n  \
leakscope watch --duration 60s -- node app.js\n  \
leakscope watch --pid 4242 --pid 4343 --prometheus 127.0.0.1:9464 --metrics-token-file token\n  \
leakscope watch --all --match 'server\\.js' --snapshot-on-leak snapshots/ --cooldown 1h --snapshot-disk-cap 10GB\n\n\
Prometheus scrapes /metrics with `authorization: {type: Bearer, credentials_file: FILE}` and \
`honor_labels: true` (the series carry their own instance, pid and command labels); deploy/ \
has alert rules, a Grafana dashboard, a systemd unit and a Kubernetes sidecar."
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Every Node process this user owns, picking up new ones and dropping
    /// exited ones
    #[arg(long, conflicts_with_all = ["pid", "port", "url", "launch"])]
    pub all: bool,
    /// With --all: only processes whose command line matches this regex
    #[arg(long = "match", value_name = "REGEX", requires = "all")]
    pub matcher: Option<regex::Regex>,
    /// Stop after this long (e.g. 60s, 10m); default: until Ctrl-C
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Print JSON lines: one per GC, plus `stats` and `leak` events (with a
    /// `pid` field when watching several processes; schema: --json-schema)
    #[arg(long)]
    pub json: bool,
    /// Print the JSON Schema of one --json line and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
    /// Serve OpenMetrics on this loopback address, e.g. 127.0.0.1:9464
    #[arg(long, value_name = "ADDR")]
    pub prometheus: Option<SocketAddr>,
    /// The bearer token /metrics requires, in this file (created with a new
    /// token, mode 0600, when missing); default: a new token, printed
    #[arg(long, value_name = "FILE", requires = "prometheus")]
    pub metrics_token_file: Option<PathBuf>,
    /// The `instance` label of the metrics; default: the host name
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// Write a heap snapshot into this directory when a leak event fires
    #[arg(long, value_name = "DIR")]
    pub snapshot_on_leak: Option<PathBuf>,
    /// At most one snapshot per process this often (a snapshot stops the
    /// process for about 0.1 s per MB of heap)
    #[arg(long, default_value = "1h", value_parser = parse_duration, requires = "snapshot_on_leak")]
    pub cooldown: Duration,
    /// Keep the leak snapshots in the directory under this size, deleting
    /// the oldest first
    #[arg(long, default_value = "10GB", value_parser = parse_size, requires = "snapshot_on_leak")]
    pub snapshot_disk_cap: u64,
    /// Take the snapshot even when the process lacks the memory V8 needs to
    /// build it (estimated before each one; it could get killed)
    #[arg(long, requires = "snapshot_on_leak")]
    pub force_snapshot: bool,
    /// Full GCs in a row with a growing heap that make a leak event
    #[arg(long, default_value_t = 5)]
    pub consecutive: usize,
    /// Ignore GCs this early in the watch (start-up, JIT, caches filling)
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Growth below this (bytes, or e.g. 2MB) never makes a leak event
    #[arg(long, default_value = "2MB", value_parser = parse_size)]
    pub min_growth: u64,
    /// Once V8's own full GCs find the heap grown, force one this long after
    /// the last so the leak rules see the live heap sooner (0 = never): a
    /// leaking heap grows its GC limit, so full GCs get rare on their own.
    /// Probes go on while each finds more growth (every second while the
    /// heap climbs fast, never taking over a tenth of the app's time) and
    /// stop at the first that finds none; a flat heap is never probed
    /// (a few forced GCs leave a server's hot code slower for minutes)
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub probe_every: Duration,
    /// Run the launched app with `node --trace-gc` and analyse its GC log
    /// at the end (as `leakscope gc-log` does)
    #[arg(long)]
    pub trace_gc: bool,
}

fn parse_size(text: &str) -> Result<u64, String> {
    text.parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("`{text}` is not a size like 2MB ({e})"))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<leakscope_report::watch::WatchLine>();
    }
    if let Some(addr) = args.prometheus {
        if !addr.ip().is_loopback() && !args.target.allow_remote {
            anyhow::bail!("--prometheus {addr} is not a loopback address; pass --allow-remote to serve it there");
        }
    }
    let many = args.all || args.target.pid.len() > 1;
    if many && args.trace_gc {
        anyhow::bail!("--trace-gc needs an app leakscope launches (`-- node app.js`)");
    }
    let settings = Arc::new(Settings {
        detector: Config {
            consecutive: args.consecutive,
            warmup_ms: args.warmup.as_secs_f64() * 1000.0,
            min_growth: args.min_growth,
            probe_every_ms: args.probe_every.as_secs_f64() * 1000.0,
            ..Config::default()
        },
        snapshots: args
            .snapshot_on_leak
            .as_ref()
            .map(|dir| {
                Snapshots::new(SnapshotPolicy {
                    dir: dir.clone(),
                    cooldown: args.cooldown,
                    disk_cap: args.snapshot_disk_cap,
                    force: args.force_snapshot,
                })
            })
            .transpose()?,
    });
    let instance = args
        .instance
        .clone()
        .unwrap_or_else(leakscope_watch::processes::host_name);
    let leaks = if many {
        fleet::run(&args, settings, instance)?
    } else {
        one::run(&args, settings, instance)?
    };
    Ok(if leaks > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Starts the `/metrics` endpoint when asked; inside the runtime.
async fn serve_metrics(args: &Args) -> anyhow::Result<Option<Arc<Metrics>>> {
    let Some(addr) = args.prometheus else {
        return Ok(None);
    };
    let token = match &args.metrics_token_file {
        Some(file) => token_from_file(file)?,
        None => leakscope_serve::new_token(),
    };
    let registry = Metrics::new();
    metrics::serve(addr, registry.clone(), token.clone()).await?;
    match &args.metrics_token_file {
        Some(file) => eprintln!(
            "serving OpenMetrics on http://{addr}/metrics (bearer token in {})",
            file.display()
        ),
        None => eprintln!(
            "serving OpenMetrics on http://{addr}/metrics (Authorization: Bearer {token})"
        ),
    }
    Ok(Some(registry))
}

/// The token in `path`, or a new one written there (0600) when the file
/// does not exist yet: Prometheus reads the same file (`credentials_file`).
fn token_from_file(path: &std::path::Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_owned();
            anyhow::ensure!(
                token.len() >= 16,
                "{} holds no token of at least 16 characters",
                path.display()
            );
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let token = leakscope_serve::new_token();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
            writeln!(file, "{token}")?;
            Ok(token)
        }
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
}
