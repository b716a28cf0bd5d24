//! The user's own load: a shell command (k6, autocannon, a replay script, a
//! WebSocket client) run once per stretch of a session, in a process group
//! of its own so that stopping it stops everything it started.

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Lines of the command's output kept to explain a failure.
const TAIL_LINES: usize = 12;

/// A load command: `{url}` in it becomes the app's base URL, which is also
/// in the environment as `LEAKSCOPE_URL`.
#[derive(Debug, Clone)]
pub struct LoadCommand {
    pub command: String,
}

/// How one run of the load command ended.
#[derive(Debug, Clone, Serialize)]
pub struct CommandRun {
    /// `exit status 0`, `exit status 3`, `killed by signal 9`, or
    /// `stopped at the round's end`.
    pub status: String,
    /// It exited on its own with a non-zero status or a signal.
    pub failed: bool,
    /// The session stopped it (its time was up, or the heap grew enough).
    pub stopped: bool,
    pub seconds: f64,
    /// Its last lines of output (stdout and stderr, interleaved).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tail: Vec<String>,
}

/// A run in progress.
pub struct RunningCommand {
    child: Child,
    tail: Arc<Mutex<VecDeque<String>>>,
    started: Instant,
}

impl LoadCommand {
    /// Whether the command names the app's URL (then it must be known).
    pub fn uses_url(&self) -> bool {
        self.command.contains("{url}")
    }

    /// Starts the command through `sh -c`, `{url}` replaced by `url`.
    pub fn start(&self, url: Option<&str>) -> std::io::Result<RunningCommand> {
        let text = match url {
            Some(url) => self.command.replace("{url}", url),
            None => self.command.clone(),
        };
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&text)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(url) = url {
            command.env("LEAKSCOPE_URL", url);
        }
        let mut child = command.spawn()?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        keep_tail(child.stdout.take().expect("piped"), tail.clone());
        keep_tail(child.stderr.take().expect("piped"), tail.clone());
        Ok(RunningCommand {
            child,
            tail,
            started: Instant::now(),
        })
    }
}

impl RunningCommand {
    /// Waits for the command to exit on its own.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// The run, once [`RunningCommand::wait`] returned `status`.
    pub async fn exited(self, status: ExitStatus) -> CommandRun {
        self.run(describe(status), !status.success(), false).await
    }

    /// Stops the command and everything it started (SIGTERM to its process
    /// group, SIGKILL after 2 s).
    pub async fn stop(mut self) -> CommandRun {
        if let Some(pid) = self.child.id() {
            let group = Pid::from_raw(pid as i32);
            let _ = killpg(group, Signal::SIGTERM);
            if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
                .await
                .is_err()
            {
                let _ = killpg(group, Signal::SIGKILL);
                let _ = self.child.wait().await;
            }
        }
        self.run("stopped at the round's end".to_owned(), false, true)
            .await
    }

    async fn run(self, status: String, failed: bool, stopped: bool) -> CommandRun {
        let seconds = self.started.elapsed().as_secs_f64();
        // Its output pipes close with it: let the readers take the last lines.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let tail = self
            .tail
            .lock()
            .expect("tail lock")
            .iter()
            .cloned()
            .collect();
        CommandRun {
            status,
            failed,
            stopped,
            seconds,
            tail,
        }
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

fn keep_tail(stream: impl AsyncRead + Unpin + Send + 'static, tail: Arc<Mutex<VecDeque<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut tail = tail.lock().expect("tail lock");
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    });
}
