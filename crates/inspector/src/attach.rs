//! Choosing and connecting to a target: by PID (SIGUSR1 opens the
//! inspector), by port or URL, or by launching the app with the inspector on
//! a free loopback port.

use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::cdp::Client;
use crate::discovery::{inspector_version, list_targets, listening_ports, port_listened};
use crate::error::{InspectorError, Result};

/// The inspector's default port, where SIGUSR1 opens it.
const DEFAULT_PORT: u16 = 9229;

/// How the user named the target.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// A running process; SIGUSR1 opens its inspector if needed.
    Pid(u32),
    /// An inspector port on loopback.
    Port(u16),
    /// `ws://host:port/uuid` or `http://host:port`.
    Url(String),
    /// `node app.js …`, started by us with `--inspect=127.0.0.1:0`.
    Launch(Vec<OsString>),
}

#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    /// Accept inspector endpoints that are not on loopback.
    pub allow_remote: bool,
    /// Extra `node` flags for a launched app, e.g. `--trace-gc`.
    pub node_flags: Vec<String>,
    /// Receives a launched app's stdout lines instead of our stderr.
    pub stdout_tap: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

/// A live session with a target, plus the app when we launched it.
pub struct Attached {
    pub client: Client,
    /// `process.pid` as the target reports it.
    pub pid: u32,
    pub ws_url: String,
    launched: Option<Child>,
    /// We opened the target's inspector (SIGUSR1): it is closed again when
    /// we are done, since an open inspector port gives code execution to
    /// anyone on the host. One that was open before stays open.
    opened_inspector: bool,
}

impl Attached {
    /// Whether leakscope opened the target's inspector (and closes it again).
    pub fn opened_inspector(&self) -> bool {
        self.opened_inspector
    }

    /// Closes the target's inspector if leakscope opened it, so the target
    /// listens on exactly the sockets it had before. This ends the session
    /// (the target closes it at once, without answering), so it is the last
    /// call; any other session on that inspector ends too.
    pub async fn close_opened_inspector(&self) {
        if !self.opened_inspector {
            return;
        }
        let close = self.client.call::<_, serde_json::Value>(
            "Runtime.evaluate",
            serde_json::json!({
                "expression": "require('inspector').close()",
                "includeCommandLineAPI": true,
            }),
        );
        let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
    }

    /// Whether leakscope launched the app (and stops it when done).
    pub fn launched(&self) -> bool {
        self.launched.is_some()
    }

    /// The app's HTTP address: the one TCP port it listens on besides the
    /// inspector, waited for up to 10 s after a launch.
    pub async fn http_url(&self) -> Result<String> {
        self.http_url_within(Duration::from_secs(10)).await
    }

    /// [`Attached::http_url`], waiting at most `wait` for a port to open.
    pub async fn http_url_within(&self, wait: Duration) -> Result<String> {
        let inspector: Option<u16> = self
            .ws_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).nth(1))
            .and_then(|p| p.parse().ok());
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let ports: Vec<u16> = crate::listening_ports(self.pid)
                .into_iter()
                .filter(|&p| Some(p) != inspector)
                .collect();
            match ports.as_slice() {
                [port] => return Ok(format!("http://127.0.0.1:{port}/")),
                [] if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                [] => return Err(InspectorError::NoAppPort { pid: self.pid }),
                many => {
                    return Err(InspectorError::SeveralAppPorts {
                        pid: self.pid,
                        ports: many.to_vec(),
                    })
                }
            }
        }
    }

    /// Where to send load: `given` as is when it is a URL, a path (`/api`)
    /// on the app's one HTTP port, or `/` there when not given.
    pub async fn load_url(&self, given: Option<&str>) -> Result<String> {
        Ok(match given {
            Some(path) if path.starts_with('/') => {
                format!("{}{path}", self.http_url().await?.trim_end_matches('/'))
            }
            Some(url) => url.to_owned(),
            None => self.http_url().await?,
        })
    }

    /// Closes the session and stops a launched app (SIGTERM, then SIGKILL
    /// after 5 s). A process we attached to keeps running. Returns the exit
    /// status of a launched app that ended on its own.
    pub async fn detach(mut self) -> Option<std::process::ExitStatus> {
        self.client.close();
        if let Some(mut child) = self.launched.take() {
            // An exiting app finishes once the session is gone.
            if let Ok(Ok(status)) =
                tokio::time::timeout(Duration::from_millis(500), child.wait()).await
            {
                return Some(status);
            }
            if let Some(pid) = child.id() {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        } else {
            // Give the close frame a moment to leave.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

/// Connects to the target and checks it is the process the user meant.
pub async fn attach(spec: &TargetSpec, options: &AttachOptions) -> Result<Attached> {
    let mut exiting = None;
    let mut opened_inspector = false;
    let (ws_url, expected_pid, launched) = match spec {
        TargetSpec::Pid(pid) => {
            let (url, opened) = open_by_pid(*pid).await?;
            opened_inspector = opened;
            (url, Some(*pid), None)
        }
        TargetSpec::Port(port) => {
            let addr = SocketAddr::from(([127, 0, 0, 1], *port));
            (first_target(addr).await?, None, None)
        }
        TargetSpec::Url(url) => (resolve_url(url, options).await?, None, None),
        TargetSpec::Launch(argv) => {
            let (child, url, waiting) = launch(argv, options).await?;
            exiting = Some(waiting);
            (url, None, Some(child))
        }
    };
    check_host(&ws_url, options)?;
    let connect = async {
        let client = tokio::time::timeout(Duration::from_secs(10), Client::connect(&ws_url))
            .await
            .map_err(|_| InspectorError::Timeout {
                what: format!("the inspector at {ws_url}"),
                secs: 10,
            })??;
        if let Some(exiting) = exiting {
            // An app that exits before `notifyWhenWaitingForDisconnect`
            // below takes effect only says so on stderr; it then answers
            // some calls (HeapProfiler.collectGarbage) never.
            let closer = client.closer();
            tokio::spawn(async move {
                if exiting.await.is_ok() {
                    closer.close();
                }
            });
        }
        let pid = target_pid(&client).await?;
        // Without this an app that exits while attached waits for us
        // forever, and we for its answers.
        let _ = client
            .call::<_, serde_json::Value>(
                "NodeRuntime.notifyWhenWaitingForDisconnect",
                serde_json::json!({"enabled": true}),
            )
            .await;
        Ok::<_, InspectorError>((client, pid))
    };
    let (client, pid, launched) = match launched {
        None => {
            let (client, pid) = connect.await?;
            (client, pid, None)
        }
        // A launched app may exit at any moment; say so instead of waiting.
        Some(mut child) => {
            let outcome = tokio::select! {
                connected = connect => Ok(connected),
                status = child.wait() => Err(status),
            };
            match outcome {
                Ok(Err(e)) => {
                    // An app exiting under us fails our first calls ("Cannot
                    // find context…"): the exit is the error worth telling.
                    return match tokio::time::timeout(Duration::from_secs(1), child.wait()).await {
                        Ok(Ok(status)) => Err(InspectorError::LaunchedAppExited {
                            status: status.to_string(),
                        }),
                        _ => Err(e),
                    };
                }
                Ok(Ok(connected)) => {
                    let (client, pid) = connected;
                    // The inspector answers while Node still boots; a turn
                    // of the event loop means the main script has run.
                    let started = client.evaluate("new Promise((r) => setImmediate(r))", true);
                    let _ = tokio::time::timeout(Duration::from_secs(10), started).await;
                    (client, pid, Some(child))
                }
                Err(status) => {
                    return Err(InspectorError::LaunchedAppExited {
                        status: status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                    })
                }
            }
        }
    };
    if let Some(expected) = expected_pid {
        if pid != expected {
            return Err(InspectorError::WrongProcess {
                expected,
                actual: pid,
            });
        }
    }
    Ok(Attached {
        client,
        pid,
        ws_url,
        launched,
        opened_inspector,
    })
}

/// `process.pid` of the target. A freshly launched app may not have its
/// main context yet (the answer is then empty), so ask again for a while.
async fn target_pid(client: &Client) -> Result<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = tokio::time::timeout(
            Duration::from_secs(2),
            client.eval_value::<Option<u32>>("process.pid"),
        )
        .await
        .unwrap_or(Ok(None));
        match answer {
            Ok(Some(pid)) => return Ok(pid),
            Ok(None) | Err(InspectorError::Exception(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(None) | Err(InspectorError::Exception(_)) => {
                return Err(InspectorError::NoProcessPid)
            }
            Err(e) => return Err(e),
        }
    }
}

fn check_host(ws_url: &str, options: &AttachOptions) -> Result<()> {
    let host = ws_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    let loopback = host
        .to_socket_addrs()
        .map(|mut addrs| addrs.all(|a| a.ip().is_loopback()))
        .unwrap_or(false);
    if loopback {
        return Ok(());
    }
    if options.allow_remote {
        to_stderr(&format!(
            "warning: {host} is not a loopback address; the inspector gives full code execution on that machine"
        ));
        Ok(())
    } else {
        Err(InspectorError::NotLoopback {
            host: host.to_owned(),
        })
    }
}

async fn resolve_url(url: &str, options: &AttachOptions) -> Result<String> {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        return Ok(url.to_owned());
    }
    let hostport = url
        .strip_prefix("http://")
        .unwrap_or(url)
        .trim_end_matches('/');
    let addr = hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| InspectorError::NotInspectorAddress {
            url: url.to_owned(),
        })?;
    check_host(&format!("http://{addr}"), options)?;
    first_target(addr).await
}

async fn first_target(addr: SocketAddr) -> Result<String> {
    let targets = list_targets(addr).await?;
    targets
        .into_iter()
        .find_map(|t| t.web_socket_debugger_url)
        .ok_or(InspectorError::NoDebuggableTarget { addr })
}

/// Whether the process looks like Node: SIGUSR1's default action kills a
/// process, so we never send it to anything else.
fn process_name(pid: u32) -> Result<String> {
    match kill(Pid::from_raw(pid as i32), None) {
        Ok(()) => {}
        Err(nix::errno::Errno::ESRCH) => return Err(InspectorError::NoSuchProcess { pid }),
        Err(nix::errno::Errno::EPERM) => return Err(InspectorError::NotPermitted { pid }),
        Err(source) => return Err(InspectorError::Signal { pid, source }),
    }
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    Ok(comm.trim().to_owned())
}

/// Whether `pid` runs the Node binary (by its name, or its executable when
/// `process.title` renamed it). SIGUSR1 goes to nothing else: its default
/// action kills a process.
pub fn is_node_process(pid: u32) -> bool {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    looks_like_node(pid, comm.trim())
}

fn looks_like_node(pid: u32, comm: &str) -> bool {
    if comm.starts_with("node") || comm.starts_with("nodejs") {
        return true;
    }
    // A renamed process (process.title) still runs the node binary.
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|exe| exe.starts_with("node"))
}

/// One SIGUSR1 at a time in this process: each opens a fixed port (9229
/// unless configured) until [`move_to_random_port`] frees it again.
static OPENING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Moves an inspector SIGUSR1 opened on a fixed port to a random loopback
/// port, so that port is free for the next process (watching many at once)
/// and nobody else can find it there. Closing ends our session without an
/// answer; the new port is found as a new listening socket.
const MOVE_TO_RANDOM_PORT: &str =
    "(() => { const i = require('inspector'); i.close(); i.open(0, '127.0.0.1'); })()";

/// Finds or opens the inspector of a running process and returns its URL,
/// and whether our SIGUSR1 opened it (a new listening socket appeared).
async fn open_by_pid(pid: u32) -> Result<(String, bool)> {
    let _turn = OPENING.lock().await;
    let comm = process_name(pid)?;
    if !looks_like_node(pid, &comm) {
        return Err(InspectorError::NotNode { pid, comm });
    }
    let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let before = listening_ports(pid);
    if before.contains(&DEFAULT_PORT) && inspector_version(loopback(DEFAULT_PORT)).await.is_some() {
        return Ok((first_target(loopback(DEFAULT_PORT)).await?, false));
    }
    if let Some(refusal) = sigusr1_refused(pid).await {
        // It may still run an inspector of its own (`--inspect=0`).
        for port in &before {
            if inspector_version(loopback(*port)).await.is_some() {
                return Ok((first_target(loopback(*port)).await?, false));
            }
        }
        return Err(refusal);
    }
    kill(Pid::from_raw(pid as i32), Signal::SIGUSR1)
        .map_err(|source| InspectorError::SendSigusr1 { pid, source })?;
    // The inspector opens within ~10 ms, even under a busy main thread; the
    // new listening socket tells its port (9229, or random with
    // --inspect-port=0). No new socket after a moment: it may have been
    // open already on a port of its own (SIGUSR1 then changes nothing), so
    // ask the ports it had; then keep waiting for a slow one (seconds on a
    // host whose cores are all busy: 1 of 60 attaches in bench/fleet.sh's
    // 20 processes on 2 cores missed a 3 s wait).
    let start = Instant::now();
    let mut probed_existing = false;
    while start.elapsed() < Duration::from_secs(10) {
        for &port in listening_ports(pid).difference(&before) {
            if inspector_version(loopback(port)).await.is_some() {
                let url = first_target(loopback(port)).await?;
                if configured_port(pid) == 0 {
                    return Ok((url, true));
                }
                let mut skip = before.clone();
                skip.insert(port);
                return Ok((move_to_random_port(pid, &url, &skip).await?, true));
            }
        }
        if !probed_existing && start.elapsed() > Duration::from_millis(300) {
            probed_existing = true;
            for port in &before {
                if inspector_version(loopback(*port)).await.is_some() {
                    return Ok((first_target(loopback(*port)).await?, false));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let port = configured_port(pid);
    if port != 0 && port_listened(pid, port) {
        return Err(InspectorError::InspectorPortTaken { pid, port });
    }
    Err(InspectorError::NoInspectorAfterSigusr1 { pid })
}

/// Why `pid` will not open its inspector on SIGUSR1, when its signal
/// dispositions say so: Node catches SIGUSR1 to open it, unless started
/// with `--disable-sigusr1` or under the permission model (which turns the
/// inspector off). Such a process either ignores the signal or, with no
/// handler, is killed by it, so it is never sent. `None` when it catches
/// SIGUSR1 (or `/proc` cannot tell). A process still starting up has no
/// handler yet either: one without those flags gets 2 s to install it.
async fn sigusr1_refused(pid: u32) -> Option<InspectorError> {
    let catches_usr1 = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())?;
        Some(caught & (1u64 << (Signal::SIGUSR1 as i32 - 1)) != 0)
    };
    if catches_usr1() != Some(false) {
        return None;
    }
    let args = node_args(pid);
    let has = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let flagged =
        has("--permission") || has("--experimental-permission") || has("--disable-sigusr1");
    if !flagged {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if catches_usr1() != Some(false) {
                return None;
            }
        }
    }
    Some(if has("--permission") || has("--experimental-permission") {
        InspectorError::PermissionModel { pid }
    } else if has("--disable-sigusr1") {
        InspectorError::Sigusr1Disabled { pid }
    } else {
        InspectorError::Sigusr1NotHandled { pid }
    })
}

/// Reopens the inspector at `url` on a random loopback port (see
/// [`MOVE_TO_RANDOM_PORT`]) and returns its new URL; `skip` are the ports
/// that are not it.
async fn move_to_random_port(
    pid: u32,
    url: &str,
    skip: &std::collections::BTreeSet<u16>,
) -> Result<String> {
    let client = tokio::time::timeout(Duration::from_secs(5), Client::connect(url))
        .await
        .map_err(|_| InspectorError::Timeout {
            what: format!("the inspector at {url}"),
            secs: 5,
        })??;
    let reopen = client.call::<_, serde_json::Value>(
        "Runtime.evaluate",
        serde_json::json!({"expression": MOVE_TO_RANDOM_PORT, "includeCommandLineAPI": true}),
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), reopen).await;
    client.close();
    let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        for &port in listening_ports(pid).difference(skip) {
            if inspector_version(loopback(port)).await.is_some() {
                return first_target(loopback(port)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(InspectorError::NotReopened { pid })
}

/// The port SIGUSR1 opens the inspector on: 9229 unless the command line or
/// NODE_OPTIONS say `--inspect-port=N` (or `--inspect=[host:]N`); 0 means a
/// random port, which is never taken.
fn configured_port(pid: u32) -> u16 {
    let mut port = DEFAULT_PORT;
    for arg in &node_args(pid) {
        let value = [
            "--inspect-port=",
            "--debug-port=",
            "--inspect=",
            "--inspect-brk=",
        ]
        .iter()
        .find_map(|flag| arg.strip_prefix(flag));
        if let Some(value) = value {
            let digits = value.rsplit(':').next().unwrap_or(value);
            if let Ok(p) = digits.parse() {
                port = p;
            }
        }
    }
    port
}

/// The process's command line followed by the words of its NODE_OPTIONS.
fn node_args(pid: u32) -> Vec<String> {
    let read = |file: &str| std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default();
    let cmdline = read("cmdline");
    let environ = read("environ");
    let mut args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    for var in environ.split(|&b| b == 0) {
        if let Some(options) = var.strip_prefix(b"NODE_OPTIONS=") {
            args.extend(
                String::from_utf8_lossy(options)
                    .split_whitespace()
                    .map(str::to_owned),
            );
        }
    }
    args
}

/// Starts the app with the inspector on a free loopback port. Its stdout and
/// stderr go to our stderr, so our stdout stays clean for `--json`.
/// The receiver fires when the app says it waits for its debugger to
/// disconnect, i.e. it is exiting.
async fn launch(
    argv: &[OsString],
    options: &AttachOptions,
) -> Result<(Child, String, oneshot::Receiver<()>)> {
    let (program, args) = argv.split_first().ok_or(InspectorError::NothingToLaunch)?;
    let inspect = "--inspect=127.0.0.1:0";
    let mut command = Command::new(program);
    let is_node = std::path::Path::new(program)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("node"));
    if is_node {
        command.args(&options.node_flags).arg(inspect).args(args);
    } else if let Some(flag) = options.node_flags.first() {
        return Err(InspectorError::NodeFlagsNeedNode {
            flag: flag.clone(),
            program: program.to_string_lossy().into_owned(),
        });
    } else {
        let mut options = std::env::var("NODE_OPTIONS").unwrap_or_default();
        options.push(' ');
        options.push_str(inspect);
        command.args(args).env("NODE_OPTIONS", options.trim());
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| InspectorError::Spawn {
            program: program.to_string_lossy().into_owned(),
            source,
        })?;
    let (url_tx, mut url_rx) = tokio::sync::mpsc::unbounded_channel();
    let (exiting_tx, exiting) = oneshot::channel();
    forward_lines(
        child.stdout.take().expect("piped"),
        None,
        None,
        options.stdout_tap.clone(),
    );
    forward_lines(
        child.stderr.take().expect("piped"),
        Some(url_tx),
        Some(exiting_tx),
        None,
    );
    let deadline = Duration::from_secs(15);
    let url = tokio::select! {
        url = url_rx.recv() => url,
        _ = tokio::time::sleep(deadline) => None,
        status = child.wait() => {
            let status = status?;
            return Err(InspectorError::ExitedBeforeInspector {
                program: program.to_string_lossy().into_owned(),
                status,
            });
        }
    };
    match url {
        Some(url) => Ok((child, url, exiting)),
        None => Err(InspectorError::Timeout {
            what: "the launched app's inspector".to_owned(),
            secs: deadline.as_secs(),
        }),
    }
}

/// Copies the app's output lines to our stderr (or to `tap`), minus the
/// inspector's own chatter; the `Debugger listening on ws://…` line yields
/// the URL.
fn forward_lines(
    stream: impl AsyncRead + Unpin + Send + 'static,
    url_tx: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    mut exiting: Option<oneshot::Sender<()>>,
    tap: Option<tokio::sync::mpsc::UnboundedSender<String>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("Debugger listening on ") {
                if let Some(tx) = &url_tx {
                    let _ = tx.send(url.trim().to_owned());
                }
                continue;
            }
            if line == "Waiting for the debugger to disconnect..." {
                if let Some(exiting) = exiting.take() {
                    let _ = exiting.send(());
                }
                continue;
            }
            if line.starts_with("For help, see: https://nodejs.org")
                || line == "Debugger attached."
                || line.starts_with("Debugger ending on ")
            {
                continue;
            }
            match &tap {
                Some(tap) => {
                    let _ = tap.send(line);
                }
                None => to_stderr(&line),
            }
        }
    });
}

/// A line on our stderr: a launched app's own output passing through to
/// where it would have gone, or a warning the user must see before a
/// session starts (no observer exists yet).
#[allow(
    clippy::print_stderr,
    reason = "the app's output and a pre-session warning have no observer to go to"
)]
fn to_stderr(line: &str) {
    eprintln!("{line}");
}
