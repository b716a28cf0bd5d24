//! What every live command shares: the target flags, resolved into the
//! use case's [`Target`]; the lifecycle itself (Ctrl-C, clean-up, detach) is
//! `leakscope-usecase`'s, with its failures said in the CLI's words here.

use std::ffi::OsString;
use std::sync::Arc;

use leakscope_inspector::{Attached, Client, TargetSpec};
use leakscope_usecase::target::{Failure, LaunchOnly};
pub use leakscope_usecase::{block_on, Interrupted, Target};

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
}

impl TargetArgs {
    /// The target these flags name, checked.
    pub fn resolve(&self) -> anyhow::Result<Target> {
        Ok(Target {
            allow_remote: self.allow_remote,
            ..Target::new(self.spec()?)
        })
    }

    fn spec(&self) -> anyhow::Result<TargetSpec> {
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

/// Attaches, runs `work`, then always runs `cleanup` (also after Ctrl-C or an
/// error) and detaches, stopping a launched app.
pub async fn with_target<T>(
    target: &Target,
    work: impl AsyncFnOnce(&Attached) -> anyhow::Result<T>,
    cleanup: impl AsyncFnOnce(&Client),
) -> anyhow::Result<T> {
    leakscope_usecase::with_target(target, work, cleanup)
        .await
        .map_err(said)
}

/// [`with_target`] for work that hands the session to tasks of its own (the
/// web server's handlers): they must have let go of it when `work` ends.
pub async fn with_shared_target<T>(
    target: &Target,
    work: impl AsyncFnOnce(Arc<Attached>) -> anyhow::Result<T>,
    cleanup: impl AsyncFnOnce(&Client),
) -> anyhow::Result<T> {
    leakscope_usecase::with_shared_target(target, work, cleanup)
        .await
        .map_err(said)
}

/// A lifecycle failure in the CLI's words: the flag that asks for a launch,
/// and the launched app's exit as the context of the work's error.
pub fn said(failure: Failure<anyhow::Error>) -> anyhow::Error {
    match failure {
        Failure::NeedsLaunch(LaunchOnly::GcLog) => {
            anyhow::anyhow!("--trace-gc needs an app leakscope launches (`-- node app.js`)")
        }
        Failure::NeedsLaunch(what) => {
            anyhow::anyhow!("{what} needs an app leakscope launches (`-- node app.js`)")
        }
        Failure::Attach(e) => e.into(),
        Failure::Interrupted(e) => e.into(),
        Failure::Signals(e) => e.into(),
        Failure::Work(e) => e,
        Failure::AppExited { status, error } if !error.is::<Interrupted>() => {
            error.context(format!("the launched app exited ({status})"))
        }
        Failure::AppExited { error, .. } => error,
    }
}
