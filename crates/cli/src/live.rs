//! What every live command shares: choosing the target, a runtime, Ctrl-C
//! handling that always runs the command's clean-up, and detaching.

use std::ffi::OsString;
use std::future::Future;

use leakscope_inspector::{attach, AttachOptions, Attached, Client, TargetSpec};

/// How to reach the target. Exactly one of `--pid`, `--port`, `--url` or a
/// command after `--`.
#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// A running Node process; SIGUSR1 opens its inspector if needed
    #[arg(long, value_name = "PID", conflicts_with_all = ["port", "url"])]
    pub pid: Option<u32>,
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
}

impl TargetArgs {
    pub fn spec(&self) -> anyhow::Result<TargetSpec> {
        let chosen = [
            self.pid.is_some(),
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
        Ok(if let Some(pid) = self.pid {
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
    let spec = target.spec()?;
    let options = AttachOptions {
        allow_remote: target.allow_remote,
    };
    let attached = interruptible(async { Ok(attach(&spec, &options).await?) }).await?;
    let result = interruptible(work(&attached)).await;
    // Clean-up gets its own bound: a dead target must not hang us.
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        cleanup(&attached.client),
    )
    .await;
    match (result, attached.detach().await) {
        (Err(e), Some(status)) if !e.is::<Interrupted>() => {
            Err(e.context(format!("the launched app exited ({status})")))
        }
        (result, _) => result,
    }
}
