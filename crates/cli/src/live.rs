//! What every live command shares: choosing the target, a runtime, Ctrl-C
//! handling that always runs the command's clean-up, and detaching.

use std::ffi::OsString;
use std::future::Future;
use std::sync::Arc;

use leakscope_inspector::{attach, AttachOptions, Attached, Client, TargetSpec};

/// How to reach the target. Exactly one of `--pid`, `--port`, `--url` or a
/// command after `--`.
#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// A running Node process; SIGUSR1 opens its inspector if needed
    /// (`watch` takes several)
    #[arg(long, value_name = "PID", conflicts_with_all = ["port", "url"])]
    pub pid: Vec<u32>,
    /// An inspector already listening on 127.0.0.1:PORT
    #[arg(long, value_name = "PORT", conflicts_with = "url")]
    pub port: Option<u16>,
    /// An inspector URL (ws://HOST:PORT/ID or http://HOST:PORT)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Allow inspector endpoints off loopback (they give full code execution)
    #[arg(long)]
    pub allow_remote: bool,
    /// Launch this command with the inspector on a free loopback port and
    /// stop it at the end, e.g. `-- node app.js`
    #[arg(last = true, value_name = "COMMAND")]
    pub launch: Vec<OsString>,
    /// Where a launched app's `--trace-gc` lines go, when the command asked
    /// for them; its other stdout lines still go to our stderr.
    #[arg(skip)]
    pub gc_log: Option<GcLogSink>,
    /// Where a launched app writes V8's deoptimization and inline-cache
    /// log (`leakscope jit`); V8's deopt lines on its stdout are dropped.
    #[arg(skip)]
    pub v8_log: Option<std::path::PathBuf>,
}

/// The `--trace-gc` lines of a launched app, newline-terminated.
pub type GcLogSink = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;

impl TargetArgs {
    pub fn spec(&self) -> anyhow::Result<TargetSpec> {
        let chosen = [
            !self.pid.is_empty(),
            self.port.is_some(),
            self.url.is_some(),
            !self.launch.is_empty(),
        ];
        match chosen.iter().filter(|&&c| c).count() {
            0 => anyhow::bail!(
                "no target: give --pid PID, --port PORT, --url URL or `-- node app.js`"
            ),
            1 => {}
            _ => anyhow::bail!("give only one target: --pid, --port, --url or `-- node app.js`"),
        }
        if self.pid.len() > 1 {
            anyhow::bail!("give one --pid (only `watch` takes several)");
        }
        Ok(if let Some(&pid) = self.pid.first() {
            TargetSpec::Pid(pid)
        } else if let Some(port) = self.port {
            TargetSpec::Port(port)
        } else if let Some(url) = &self.url {
            TargetSpec::Url(url.clone())
        } else {
            TargetSpec::Launch(self.launch.clone())
        })
    }
}

/// Where the commands that drive load at a target (`hunt`, `jit`) send it.
#[derive(clap::Args, Clone, Default)]
pub struct LoadTarget {
    /// Where to send load: a URL, or a path on the one HTTP port the app
    /// listens on (the default is `/` there);
    /// `{seq}` becomes the request number
    #[arg(id = "load_url", long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// Requests to cycle through, `METHOD /path [BODY]` per line
    #[arg(long, value_name = "FILE")]
    pub request_file: Option<std::path::PathBuf>,
    /// Concurrent keep-alive connections
    #[arg(short = 'c', long, default_value_t = 20)]
    pub concurrency: usize,
}

impl LoadTarget {
    /// The load these flags ask for, `--request-file` read and checked.
    pub fn spec(&self) -> anyhow::Result<leakscope_load::LoadSpec> {
        anyhow::ensure!(self.concurrency > 0, "-c must be at least 1");
        let requests = match &self.request_file {
            None => None,
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
                let requests = leakscope_load::parse_request_file(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                Some(requests)
            }
        };
        Ok(leakscope_load::LoadSpec {
            url: self.url.clone(),
            requests,
            concurrency: self.concurrency,
        })
    }
}

/// Ctrl-C or SIGTERM ended the command; exit status 130.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Runs `work` until it finishes or the user interrupts.
pub async fn interruptible<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
        _ = terminate.recv() => Err(Interrupted.into()),
    }
}

/// A single-threaded runtime: the work is I/O-bound, and it keeps the
/// target's snapshot stream in one place.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// Attaches, runs `work`, then always runs `cleanup` (also after Ctrl-C or an
/// error) and detaches, stopping a launched app.
pub async fn with_target<T>(
    target: &TargetArgs,
    work: impl AsyncFnOnce(&Attached) -> anyhow::Result<T>,
    cleanup: impl AsyncFnOnce(&Client),
) -> anyhow::Result<T> {
    with_shared_target(target, async |attached| work(&attached).await, cleanup).await
}

/// [`with_target`] for work that hands the session to tasks of its own (the
/// web server's handlers): they must have let go of it when `work` ends.
pub async fn with_shared_target<T>(
    target: &TargetArgs,
    work: impl AsyncFnOnce(Arc<Attached>) -> anyhow::Result<T>,
    cleanup: impl AsyncFnOnce(&Client),
) -> anyhow::Result<T> {
    let spec = target.spec()?;
    let mut options = AttachOptions {
        allow_remote: target.allow_remote,
        ..AttachOptions::default()
    };
    if target.launch.is_empty() {
        if target.gc_log.is_some() {
            anyhow::bail!("--trace-gc needs an app leakscope launches (`-- node app.js`)");
        }
        anyhow::ensure!(
            target.v8_log.is_none(),
            "V8's log needs an app leakscope launches (`-- node app.js`)"
        );
    }
    if let Some(log) = &target.v8_log {
        options.node_flags.extend(leakscope_jit::log_flags(log));
    }
    let gc_sink = target.gc_log.clone();
    if gc_sink.is_some() {
        options.node_flags.push("--trace-gc".to_owned());
    }
    // A launched app's stdout, sorted: GC lines to the sink, V8's deopt
    // lines dropped, the app's own to our stderr.
    let stdout_lines = (gc_sink.is_some() || target.v8_log.is_some()).then(|| {
        let (tap, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
        options.stdout_tap = Some(tap);
        tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                match &gc_sink {
                    Some(sink) if leakscope_gclog::parse_line(line.as_bytes()).is_some() => {
                        let mut sink = sink.lock().expect("not poisoned");
                        sink.extend_from_slice(line.as_bytes());
                        sink.push(b'\n');
                    }
                    _ if leakscope_jit::is_deopt_trace(&line) => {}
                    _ => eprintln!("{line}"),
                }
            }
        })
    });
    let attached = interruptible(async { Ok(attach(&spec, &options).await?) }).await;
    drop(options);
    let attached = Arc::new(attached?);
    let result = interruptible(work(attached.clone())).await;
    // Clean-up gets its own bound: a dead target must not hang us.
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        cleanup(&attached.client),
    )
    .await;
    // Last: closing an inspector we opened ends the session.
    attached.close_opened_inspector().await;
    let exit = match Arc::try_unwrap(attached) {
        Ok(attached) => attached.detach().await,
        Err(still_shared) => {
            // A task kept the session: close it, so the target is free.
            still_shared.client.close();
            None
        }
    };
    if let Some(task) = stdout_lines {
        // The app is gone: its last lines are on their way.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
    }
    match (result, exit) {
        (Err(e), Some(status)) if !e.is::<Interrupted>() => {
            Err(e.context(format!("the launched app exited ({status})")))
        }
        (result, _) => result,
    }
}
