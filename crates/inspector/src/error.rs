use std::net::SocketAddr;

use thiserror::Error;

/// Everything that can go wrong between leakscope and a target's inspector.
/// Each message is one line that says what happened and what to do, in the
/// library's terms (the CLI adds its flags: `leakscope`'s `hints`).
#[derive(Debug, Error)]
pub enum InspectorError {
    #[error("no process with PID {pid}")]
    NoSuchProcess { pid: u32 },
    #[error(
        "not allowed to signal PID {pid} (it belongs to another user; run leakscope as that user)"
    )]
    NotPermitted { pid: u32 },
    #[error("PID {pid}: {source}")]
    Signal {
        pid: u32,
        #[source]
        source: nix::errno::Errno,
    },
    /// SIGUSR1's default action kills a process, so only Node gets it.
    #[error("PID {pid} is `{comm}`, not a Node.js process; SIGUSR1 would likely kill it (if it runs an inspector, attach to its inspector port)")]
    NotNode { pid: u32, comm: String },
    #[error("PID {pid} runs under Node's permission model, which turns off its inspector and SIGUSR1: {} (it needs --allow-fs-write for its working directory)", snapshot_by_signal(*.pid))]
    PermissionModel { pid: u32 },
    #[error("PID {pid} was started with --disable-sigusr1, so SIGUSR1 cannot open its inspector: {}, or restart it with --inspect=127.0.0.1:0 and attach to that inspector port", snapshot_by_signal(*.pid))]
    Sigusr1Disabled { pid: u32 },
    #[error("PID {pid} does not handle SIGUSR1, so it cannot open its inspector (and the signal could kill it): {}, or restart it with --inspect=127.0.0.1:0 and attach to that inspector port", snapshot_by_signal(*.pid))]
    Sigusr1NotHandled { pid: u32 },
    #[error("cannot send SIGUSR1 to PID {pid}: {source}")]
    SendSigusr1 {
        pid: u32,
        #[source]
        source: nix::errno::Errno,
    },
    #[error("PID {pid} could not open its inspector: 127.0.0.1:{port} is taken by another process. Free that port, or start the app with NODE_OPTIONS=--inspect-port=0 so SIGUSR1 picks a free port")]
    InspectorPortTaken { pid: u32, port: u16 },
    #[error("PID {pid} did not open its inspector after SIGUSR1 (the app may handle SIGUSR1 itself, which stops Node from opening it). Restart it with --inspect=127.0.0.1:0 and attach to that inspector port or URL")]
    NoInspectorAfterSigusr1 { pid: u32 },
    #[error("PID {pid} did not reopen its inspector on a random port")]
    NotReopened { pid: u32 },
    #[error("the inspector found for PID {expected} belongs to PID {actual}; refusing to attach to the wrong process")]
    WrongProcess { expected: u32, actual: u32 },
    #[error("the target does not answer with its process.pid (is it a Node.js process, and still running?)")]
    NoProcessPid,
    /// The inspector gives code execution: a remote one must be allowed.
    #[error("{host} is not a loopback address; the inspector gives full code execution, so remote inspectors must be allowed explicitly")]
    NotLoopback { host: String },
    #[error(
        "`{url}` is not an inspector address (expected ws://HOST:PORT/ID or http://HOST:PORT)"
    )]
    NotInspectorAddress { url: String },
    #[error(
        "the inspector at {addr} lists no debuggable target (is another debugger holding it?)"
    )]
    NoDebuggableTarget { addr: SocketAddr },
    #[error("nothing to launch: the command line is empty")]
    NothingToLaunch,
    #[error("{flag} needs the command to start with `node` (got `{program}`)")]
    NodeFlagsNeedNode { flag: String, program: String },
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program}` exited ({status}) before opening its inspector")]
    ExitedBeforeInspector {
        program: String,
        status: std::process::ExitStatus,
    },
    /// `status` says how it ended, or why waiting for it failed.
    #[error("the launched app exited ({status}) before it could be inspected")]
    LaunchedAppExited { status: String },
    /// The app's HTTP port is found as its one listening socket.
    #[error("PID {pid} listens on no TCP port besides the inspector; name the app's URL")]
    NoAppPort { pid: u32 },
    #[error("PID {pid} listens on several ports ({ports:?}); name the app's URL, http://127.0.0.1:PORT/")]
    SeveralAppPorts { pid: u32, ports: Vec<u16> },
    #[error("{worker} has exited")]
    WorkerExited { worker: String },
    #[error("cannot reach the inspector at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the target closed the inspector connection (did the process exit?)")]
    Closed,
    #[error("{method} failed: {message}")]
    Protocol { method: String, message: String },
    #[error("the target threw: {0}")]
    Exception(String),
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout { what: String, secs: u64 },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("a snapshot now would need {}: the target could run out of memory and be killed, so it was not taken", .0.describe())]
    SnapshotUnaffordable(crate::capture::SnapshotEstimate),
}

/// How to get snapshots of a process whose inspector SIGUSR1 cannot open.
pub(crate) fn snapshot_by_signal(pid: u32) -> String {
    format!(
        "restart it with --heapsnapshot-signal=SIGUSR2, send `kill -USR2 {pid}` three times a few minutes apart and run `leakscope find-leaks` on the Heap.*.heapsnapshot files it writes"
    )
}

pub type Result<T, E = InspectorError> = std::result::Result<T, E>;
