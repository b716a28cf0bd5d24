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

/// The `node` flags that make V8 write what [`findings`] reads to `log`.
pub fn log_flags(log: &std::path::Path) -> Vec<String> {
    vec![
        "--log-deopt".to_owned(),
        "--log-ic".to_owned(),
        "--no-logfile-per-isolate".to_owned(),
        format!("--logfile={}", log.display()),
    ]
}

/// Functions [`session::record`] has the app evaluate when load starts
/// and when profiling starts: V8's log notes their creation on its own
/// clock, which dates each deoptimization as start-up, warm-up or load.
pub const LOG_MARKS: [&str; 2] = ["leakscope_load_starts", "leakscope_profiling_starts"];

/// Reads V8's log of a recording, with its [`LOG_MARKS`].
pub fn read_log(reader: impl std::io::Read) -> std::io::Result<leakscope_v8log::JitReport> {
    leakscope_v8log::JitLog::with_marks(LOG_MARKS).read_from(reader)
}

/// V8 prints a line per deoptimization on stdout with `--log-deopt`; these
/// are not the app's output.
pub fn is_deopt_trace(line: &str) -> bool {
    line.starts_with("[bailout (kind: ")
}
