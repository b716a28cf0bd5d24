//! Progress on a TTY: a byte bar while reading, then the analysis step.
//! Quiet in `--json` mode, in CI and when stderr is not a terminal.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use leakscope_snapshot::{Cache, Depth, HeapSnapshot, SnapshotError};

fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Whether a command that reads snapshots may use the analysis cache.
#[derive(clap::Args, Debug, Clone)]
pub struct CacheArgs {
    /// Analyse the file afresh: neither read nor write the analysis cache
    /// (kept in $LEAKSCOPE_CACHE_DIR or ~/.cache/leakscope, at most
    /// $LEAKSCOPE_CACHE_SIZE, default 16G)
    #[arg(long)]
    pub no_cache: bool,
}

impl CacheArgs {
    pub fn cache(&self) -> Option<Cache> {
        if self.no_cache {
            None
        } else {
            Cache::user()
        }
    }

    /// [`load`] through the cache these flags allow.
    pub fn load(
        &self,
        path: &Path,
        depth: Depth,
        quiet: bool,
    ) -> Result<HeapSnapshot, SnapshotError> {
        load(path, depth, quiet, self.cache().as_ref())
    }
}

/// Loads and analyses a snapshot (through `cache` when given), drawing
/// progress unless `quiet`.
pub fn load(
    path: &Path,
    depth: Depth,
    quiet: bool,
    cache: Option<&Cache>,
) -> Result<HeapSnapshot, SnapshotError> {
    let total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = if wanted(quiet) {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{wide_bar}] {bytes}/{total_bytes}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    bar.set_message(format!("Reading {name}"));
    // LEAKSCOPE_TIMINGS=1 prints how long each step took (for profiling).
    let start = std::time::Instant::now();
    let mut shown = Loading {
        bar,
        timings: std::env::var_os("LEAKSCOPE_TIMINGS").is_some(),
        last: ("Reading".to_owned(), start),
    };
    let result = match cache {
        Some(cache) => leakscope_snapshot::load_cached(path, depth, cache, &mut shown),
        None => leakscope_snapshot::load(path, depth, &mut shown),
    };
    shown.bar.finish_and_clear();
    if shown.timings {
        eprintln!(
            "{:>8.2}s  {}\n{:>8.2}s  total",
            shown.last.1.elapsed().as_secs_f64(),
            shown.last.0,
            start.elapsed().as_secs_f64()
        );
    }
    result
}

/// A snapshot's load on the terminal: a byte bar while reading, then each
/// analysis step; with LEAKSCOPE_TIMINGS=1 how long each step took.
struct Loading {
    bar: ProgressBar,
    timings: bool,
    last: (String, std::time::Instant),
}

impl leakscope_snapshot::Observer for Loading {
    fn note(&mut self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    fn progress(&mut self, step: &str) {
        if self.timings {
            eprintln!(
                "{:>8.2}s  {}",
                self.last.1.elapsed().as_secs_f64(),
                self.last.0
            );
            self.last = (step.to_owned(), std::time::Instant::now());
        }
        self.bar
            .set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
        self.bar.set_message(step.to_owned());
        self.bar.tick();
    }

    fn advanced(&mut self, done: u64) {
        self.bar.set_position(done);
    }
}

/// A byte bar as an observer (`gc-log`'s read).
pub struct Bytes(pub ProgressBar);

impl leakscope_snapshot::Observer for Bytes {
    fn note(&mut self, line: &str) {
        self.0.suspend(|| eprintln!("{line}"));
    }
    fn progress(&mut self, what: &str) {
        self.0.set_message(what.to_owned());
    }
    fn advanced(&mut self, done: u64) {
        self.0.set_position(done);
    }
}

/// A spinner with a message, for live work whose total is unknown.
pub fn spinner(quiet: bool) -> ProgressBar {
    if !wanted(quiet) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A byte bar for reading a stream of known (or unknown) length.
pub fn bytes(total: Option<u64>, quiet: bool) -> ProgressBar {
    if !wanted(quiet) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("Reading [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

/// Progress of a live session: lines on stderr (not in `--json` mode) and a
/// spinner on a TTY; the observer of both the hunt and `jit`.
pub struct Terminal {
    quiet: bool,
    pub bar: ProgressBar,
}

impl Terminal {
    pub fn new(quiet: bool) -> Terminal {
        Terminal {
            quiet,
            bar: spinner(quiet),
        }
    }
}

impl leakscope_inspector::Observer for Terminal {
    fn note(&mut self, line: &str) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("{line}"));
        }
    }

    fn progress(&mut self, what: &str) {
        self.bar.set_message(what.to_owned());
    }
}
