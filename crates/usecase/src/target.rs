//! A target's lifecycle: attach (or launch), run the work, and always undo
//! what the work opened in the target and detach, also after an error or
//! Ctrl-C; a launched app is stopped.

use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leakscope_inspector::{attach, AttachOptions, Attached, Client, InspectorError, TargetSpec};

/// The `--trace-gc` lines of a launched app, newline-terminated.
pub type GcLogSink = Arc<Mutex<Vec<u8>>>;

/// Which process to work on, and what a launched one should record.
#[derive(Debug, Clone)]
pub struct Target {
    pub spec: TargetSpec,
    /// Accept inspector endpoints off loopback (they give code execution).
    pub allow_remote: bool,
    /// Where a launched app's `--trace-gc` lines go (its other stdout lines
    /// still go to our stderr).
    pub gc_log: Option<GcLogSink>,
    /// Where a launched app writes V8's deoptimization and inline-cache
    /// log; V8's deopt lines on its stdout are dropped.
    pub v8_log: Option<PathBuf>,
}

impl Target {
    pub fn new(spec: TargetSpec) -> Target {
        Target {
            spec,
            allow_remote: false,
            gc_log: None,
            v8_log: None,
        }
    }

    /// Whether leakscope starts the app (and stops it at the end).
    pub fn is_launch(&self) -> bool {
        matches!(self.spec, TargetSpec::Launch(_))
    }

    /// The PID given, when the target was given by PID.
    pub fn pid(&self) -> Option<u32> {
        match self.spec {
            TargetSpec::Pid(pid) => Some(pid),
            _ => None,
        }
    }

    /// How reports name the target: `PID 4242`, `inspector port 9229`, a
    /// URL or the command line.
    pub fn label(&self) -> String {
        match &self.spec {
            TargetSpec::Pid(pid) => format!("PID {pid}"),
            TargetSpec::Port(port) => format!("inspector port {port}"),
            TargetSpec::Url(url) => url.clone(),
            TargetSpec::Launch(command) => command
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// A target that launches `command`.
    pub fn launch(command: Vec<OsString>) -> Target {
        Target::new(TargetSpec::Launch(command))
    }
}

/// Ctrl-C or SIGTERM ended the work.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// What only an app leakscope launches can give: its stdout and flags
/// are ours only then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LaunchOnly {
    #[error("a GC log")]
    GcLog,
    #[error("V8's log")]
    V8Log,
}

/// Why work on a target did not finish, in the lifecycle's own terms; the
/// work's own error is `E`.
#[derive(Debug, thiserror::Error)]
pub enum Failure<E> {
    /// A GC log or V8's log can only be asked of an app leakscope starts.
    #[error("{0} needs an app leakscope launches")]
    NeedsLaunch(LaunchOnly),
    #[error(transparent)]
    Attach(#[from] InspectorError),
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    #[error("cannot watch for Ctrl-C and SIGTERM")]
    Signals(#[source] std::io::Error),
    /// The work failed.
    #[error("{0}")]
    Work(E),
    /// The work failed, and the launched app had exited.
    #[error("the launched app exited ({status}): {error}")]
    AppExited { status: ExitStatus, error: E },
}

impl<E> Failure<E> {
    /// The same failure with the work's error converted.
    pub fn map<F>(self, convert: impl FnOnce(E) -> F) -> Failure<F> {
        match self {
            Failure::NeedsLaunch(what) => Failure::NeedsLaunch(what),
            Failure::Attach(e) => Failure::Attach(e),
            Failure::Interrupted(e) => Failure::Interrupted(e),
            Failure::Signals(e) => Failure::Signals(e),
            Failure::Work(e) => Failure::Work(convert(e)),
            Failure::AppExited { status, error } => Failure::AppExited {
                status,
                error: convert(error),
            },
        }
    }
}

/// Runs `work` until it finishes or the user interrupts (Ctrl-C, SIGTERM).
pub async fn interruptible<T, E>(
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, Failure<E>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).map_err(Failure::Signals)?;
    tokio::select! {
        result = work => result.map_err(Failure::Work),
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

/// Attaches, runs `work`, then always runs `cleanup` (also after Ctrl-C or
/// an error) and detaches, stopping a launched app.
pub async fn with_target<T, E>(
    target: &Target,
    work: impl AsyncFnOnce(&Attached) -> Result<T, E>,
    cleanup: impl AsyncFnOnce(&Client),
) -> Result<T, Failure<E>> {
    with_shared_target(target, async |attached| work(&attached).await, cleanup).await
}

/// [`with_target`] for work that hands the session to tasks of its own (the
/// web server's handlers): they must have let go of it when `work` ends.
pub async fn with_shared_target<T, E>(
    target: &Target,
    work: impl AsyncFnOnce(Arc<Attached>) -> Result<T, E>,
    cleanup: impl AsyncFnOnce(&Client),
) -> Result<T, Failure<E>> {
    let mut options = AttachOptions {
        allow_remote: target.allow_remote,
        ..AttachOptions::default()
    };
    if !target.is_launch() {
        if target.gc_log.is_some() {
            return Err(Failure::NeedsLaunch(LaunchOnly::GcLog));
        }
        if target.v8_log.is_some() {
            return Err(Failure::NeedsLaunch(LaunchOnly::V8Log));
        }
    }
    if let Some(log) = &target.v8_log {
        options.node_flags.extend(leakscope_jit::log_flags(log));
    }
    let gc_sink = target.gc_log.clone();
    if gc_sink.is_some() {
        options.node_flags.push("--trace-gc".to_owned());
    }
    let stdout_lines = (gc_sink.is_some() || target.v8_log.is_some()).then(|| {
        let (tap, lines) = tokio::sync::mpsc::unbounded_channel::<String>();
        options.stdout_tap = Some(tap);
        tokio::spawn(sort_stdout(lines, gc_sink))
    });
    let attached = interruptible(attach(&target.spec, &options)).await;
    drop(options);
    let attached = Arc::new(attached.map_err(attach_failure)?);
    let result = interruptible(work(attached.clone())).await;
    // Clean-up gets its own bound: a dead target must not hang us.
    let _ = tokio::time::timeout(Duration::from_secs(10), cleanup(&attached.client)).await;
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
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    match (result, exit) {
        (Err(Failure::Work(error)), Some(status)) => Err(Failure::AppExited { status, error }),
        (result, _) => result,
    }
}

/// A failed attach, as a failure of the work that wanted the target.
fn attach_failure<E>(failure: Failure<InspectorError>) -> Failure<E> {
    match failure {
        Failure::NeedsLaunch(what) => Failure::NeedsLaunch(what),
        Failure::Interrupted(e) => Failure::Interrupted(e),
        Failure::Signals(e) => Failure::Signals(e),
        Failure::Attach(e) | Failure::Work(e) | Failure::AppExited { error: e, .. } => {
            Failure::Attach(e)
        }
    }
}

/// A launched app's stdout, sorted: GC lines to the sink, V8's deopt lines
/// dropped, the app's own to our stderr (stdout is the face's).
async fn sort_stdout(
    mut lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    gc_sink: Option<GcLogSink>,
) {
    while let Some(line) = lines.recv().await {
        match &gc_sink {
            Some(sink) if leakscope_gclog::parse_line(line.as_bytes()).is_some() => {
                let mut sink = sink.lock().expect("not poisoned");
                sink.extend_from_slice(line.as_bytes());
                sink.push(b'\n');
            }
            _ if leakscope_jit::is_deopt_trace(&line) => {}
            _ => app_line(&line),
        }
    }
}

/// A launched app's own line, passed through to where it would have gone
/// without us (our stdout is the face's).
#[allow(
    clippy::print_stderr,
    reason = "the app's own output, passed through unchanged"
)]
fn app_line(line: &str) {
    eprintln!("{line}");
}
