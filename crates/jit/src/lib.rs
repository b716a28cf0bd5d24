//! `leakscope jit` as a library: which functions cost CPU under load, and
//! what V8 says about them — optimized or not, deoptimized where and why,
//! which property accesses went megamorphic, what they allocate.
//!
//! [`session::record`] drives load at an attached app while the inspector's
//! CPU profiler and sampling heap profiler run; [`findings::Findings::build`]
//! joins that with the V8 log of a launched app (`leakscope-v8log`). The CLI
//! and the hunt both call these and print or render the result.

pub mod findings;
pub mod session;

pub use findings::{DeoptSite, Findings, FunctionRef, HotFunction, PhaseCounts, TooShort};
pub use session::{record, Config, Observer, Recording};

/// The `node` flags that make V8 write what [`findings`] reads to `log`,
/// and its deoptimization trace to [`deopt_trace_path`]: V8 writes nothing
/// to its log while the inspector's CPU profiler runs, but still traces
/// each deoptimization (where, why, inlined where).
pub fn log_flags(log: &std::path::Path) -> Vec<String> {
    vec![
        "--log-deopt".to_owned(),
        "--log-ic".to_owned(),
        "--no-logfile-per-isolate".to_owned(),
        format!("--logfile={}", log.display()),
        "--trace-deopt-verbose".to_owned(),
        "--redirect-code-traces".to_owned(),
        format!(
            "--redirect-code-traces-to={}",
            deopt_trace_path(log).display()
        ),
    ]
}

/// Where [`log_flags`] has V8 trace deoptimizations, beside `log`.
pub fn deopt_trace_path(log: &std::path::Path) -> std::path::PathBuf {
    log.with_extension("deopts")
}

/// Functions [`session::record`] has the app evaluate when load starts
/// and when profiling starts: V8's log notes their creation on its own
/// clock, which dates each deoptimization as start-up, warm-up or load.
pub const LOG_MARKS: [&str; 2] = ["leakscope_load_starts", "leakscope_profiling_starts"];

/// Reads V8's log of a recording with `marks` (the [`LOG_MARKS`] when
/// [`session::record`] made them, else none), and the deoptimization trace
/// written beside it, if any.
pub fn read_log(
    reader: impl std::io::Read,
    deopt_trace: Option<&[u8]>,
    marks: &[&str],
) -> std::io::Result<leakscope_v8log::JitReport> {
    let mut log = leakscope_v8log::JitLog::with_marks(marks.iter().copied());
    log.feed_from(reader)?;
    if let Some(trace) = deopt_trace {
        log.add_deopt_traces(trace);
    }
    Ok(log.finish())
}

/// V8 prints a line per deoptimization on stdout with `--log-deopt`, and
/// the tails of its "marking dependent code" notes with
/// `--trace-deopt-verbose` (their heads go to the trace file); these are
/// not the app's output.
pub fn is_deopt_trace(line: &str) -> bool {
    line.starts_with("[bailout (kind: ")
        || line.starts_with("[marking dependent code")
        || (line.starts_with(") (opt id ") && line.contains(" for deoptimization, reason: "))
}
