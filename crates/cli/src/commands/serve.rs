use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use leakscope_serve::live::Live;
use leakscope_serve::{LoadEvents, Workspace};

use crate::live::{with_shared_target, TargetArgs};

/// The web explorer: DevTools' Memory panel views (Summary, Comparison,
/// Containment, Dominators, Statistics, Retainers), allocation timelines,
/// heap-profile flame graphs and hunt reports in any browser.
#[derive(clap::Args)]
#[command(
    after_help = "Prints one URL with a per-run token; open it in a browser. Paths typed on the terminal \
                  (one per line) are added too, and the page can upload files.\n\n\
                  Examples:\n  leakscope serve before.heapsnapshot after.heapsnapshot\n  \
                  leakscope serve app.heapsnapshot --open\n  \
                  leakscope serve hunt-out/hunt.json\n  \
                  leakscope serve --listen 127.0.0.1:7474 big.heapsnapshot\n  \
                  leakscope serve --pid 4242\n  \
                  leakscope serve -- node server.js"
)]
pub struct Args {
    /// .heapsnapshot, .heaptimeline or .heapprofile files to analyse, or a
    /// hunt report (`hunt.json`, written by `leakscope hunt --keep`) with
    /// its snapshots
    pub files: Vec<PathBuf>,
    /// Live mode: a running target (`--pid`, `--port`, `--url`) or an app
    /// to launch (`-- node app.js`); the page gets buttons to take a
    /// snapshot, force a GC, record allocations and hunt for a leak, and a
    /// heap chart
    #[command(flatten)]
    pub target: TargetArgs,
    /// Address to listen on; port 0 picks a free port. A non-loopback
    /// address exposes the snapshots' contents to the network (still behind
    /// the token)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Open the URL in the default browser
    #[arg(long)]
    pub open: bool,
    /// The largest snapshot the page may upload (e.g. 500MB, 8GiB); a
    /// bigger one is refused before it is sent
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub max_upload: u64,
    /// In live mode, take snapshots even when the target lacks the memory
    /// V8 needs to build them (estimated first; it could be killed)
    #[arg(long)]
    pub force_snapshot: bool,
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
    #[command(flatten)]
    pub source_maps: crate::positions::SourceMapArgs,
}

/// Prints each load's outcome on stderr.
struct Printer;

impl LoadEvents for Printer {
    fn loaded(&self, name: &str, seconds: f64, nodes: usize) {
        say(&format!(
            "leakscope: {name} ready ({nodes} nodes, {seconds:.1} s)"
        ));
    }
    fn failed(&self, name: &str, error: &str) {
        say(&format!("leakscope: {name}: {error}"));
    }
}

/// Says who else can reach a server that is not on loopback, and how.
fn warn_exposed(addr: SocketAddr) {
    let reachable = if addr.ip().is_unspecified() {
        // The address this machine reaches the network from (a UDP
        // "connection" sends nothing).
        let probe = std::net::UdpSocket::bind((addr.ip(), 0))
            .and_then(|s| s.connect(("192.0.2.1", 9)).map(|()| s))
            .and_then(|s| s.local_addr());
        match probe {
            Ok(local) if !local.ip().is_unspecified() => {
                format!(
                    "every address of this machine (e.g. http://{}:{})",
                    local.ip(),
                    addr.port()
                )
            }
            _ => "every address of this machine".to_owned(),
        }
    } else {
        addr.to_string()
    };
    say(&format!(
        "leakscope: warning: listening on {reachable}: anyone on the network who has the token can read these snapshots{}",
        if addr.ip().is_unspecified() { " (open it there with the same #token=…)" } else { "" }
    ));
}

/// A line on stderr that is lost, not fatal, when nobody reads it any more
/// (a wrapper that read the URL and exited): `eprintln!` would panic the
/// loader thread, and its file would stay "loading" forever.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `500MB`, `8GiB`, `1048576`: a size in bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("{text:?} is not a size (e.g. 500MB, 8GiB): {e}"))
}

/// A private directory for uploads, removed when the server stops.
struct UploadDir(PathBuf);

impl UploadDir {
    fn create() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("leakscope-serve-{}", std::process::id()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(UploadDir(dir))
    }
}

impl Drop for UploadDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check_file(path: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => bail!("{}: not a file", path.display()),
        Err(e) => bail!("{}: {e}", path.display()),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    for file in &args.files {
        check_file(file)?;
    }
    let uploads = UploadDir::create()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            warn_exposed(addr);
        }
        let workspace = Workspace::new(
            Arc::new(Printer),
            args.cache.cache(),
            Arc::new(args.source_maps.positions()),
        );
        for file in &args.files {
            workspace.add_file(file, None);
        }
        let token = leakscope_serve::new_token();
        let url = leakscope_serve::url(addr, &token);
        let live = [
            !args.target.pid.is_empty(),
            args.target.port.is_some(),
            args.target.url.is_some(),
            !args.target.launch.is_empty(),
        ]
        .contains(&true);
        let serve = async |live: Option<Arc<Live>>| {
            let router = leakscope_serve::router(
                workspace.clone(),
                live,
                uploads.0.clone(),
                args.max_upload,
                token.clone(),
                addr,
            );
            println!("{url}");
            std::io::stdout().flush()?;
            if args.open {
                open_in_browser(&url, &uploads.0);
            }
            if std::io::stdin().is_terminal() {
                eprintln!("leakscope: type a snapshot's path and Enter to add it; Ctrl-C stops");
                add_typed_paths(workspace.clone());
            }
            // Ctrl-C or SIGTERM: stop serving, so the upload directory goes.
            leakscope_serve::run(listener, router, async {
                use tokio::signal::unix::{signal, SignalKind};
                match signal(SignalKind::terminate()) {
                    Ok(mut terminate) => tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = terminate.recv() => {}
                    },
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            })
            .await?;
            anyhow::Ok(())
        };
        if live {
            with_shared_target(
                &args.target.resolve()?,
                async |attached| {
                    say(&format!("leakscope: attached to process {}", attached.pid));
                    let live = Live::new(
                        attached,
                        workspace.clone(),
                        uploads.0.clone(),
                        args.force_snapshot,
                    );
                    tokio::spawn(Live::watch_heap(Arc::downgrade(&live)));
                    tokio::spawn(Live::watch_gcs(Arc::downgrade(&live)));
                    serve(Some(live)).await
                },
                // The GC observer, and a recording or hunt the page started
                // and nobody finished.
                async |client| leakscope_hunt::report::close(client).await,
            )
            .await?;
        } else {
            serve(None).await?;
        }
        say("leakscope: stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// Paths typed on the terminal join the workspace (the page itself can only
/// upload bytes: a browser never names a file for the server to read).
fn add_typed_paths(workspace: Arc<Workspace>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let path = PathBuf::from(line.trim());
            if path.as_os_str().is_empty() {
                continue;
            }
            match check_file(&path) {
                Ok(()) => {
                    workspace.add_file(&path, None);
                    say(&format!("leakscope: analysing {}", path.display()));
                }
                Err(e) => say(&format!("leakscope: {e}")),
            }
        }
    });
}

/// Opens `url` without putting it on a command line, where every local
/// user could read its token (`ps`): the browser is given a page in the
/// private directory `dir` (this user's alone) that sends it on.
fn open_in_browser(url: &str, dir: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let page = dir.join(".open.html");
    let html = format!(
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0;url={url}\">\
         <title>leakscope</title><a href=\"{url}\">open leakscope</a>\n"
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&page)
        .and_then(|mut f| std::io::Write::write_all(&mut f, html.as_bytes()));
    if written.is_err() {
        eprintln!(
            "leakscope: could not write {}; open the URL yourself",
            page.display()
        );
        return;
    }
    if std::process::Command::new(opener)
        .arg(&page)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_err()
    {
        eprintln!("leakscope: could not start {opener}; open the URL yourself");
    }
}
