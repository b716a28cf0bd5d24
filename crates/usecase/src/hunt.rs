//! The whole hunt, from a target to its published report: attach or launch, the
//! session's rounds, the clean-up, then what the launched app's GC log and
//! V8's log add. The CLI and the web server both end up here, so a hunt's
//! report is the same whoever asked for it.

use std::path::PathBuf;

use leakscope_hunt::session::{self, Config, HuntError, Observer, Outcome};
use leakscope_hunt::Report;
use leakscope_inspector::Attached;
use leakscope_jit::Findings;
use leakscope_report::HuntReport;

use crate::target::{with_target, Failure, GcLogSink, Target};

/// A hunt to run.
pub struct HuntRequest {
    pub target: Target,
    /// How the report names the target (`PID 4242`, the command line…).
    pub label: String,
    pub config: Config,
    /// Run a launched app with `--trace-gc` and analyse its GC log.
    pub trace_gc: bool,
    /// Keep the snapshots (the report then names them).
    pub keep: bool,
}

/// Hunts in `request.target`, and always leaves it as found (a launched app
/// is stopped).
pub async fn hunt(
    request: &HuntRequest,
    observer: &mut dyn Observer,
) -> Result<HuntReport, Failure<HuntError>> {
    let config = &request.config;
    let mut target = request.target.clone();
    let gc_log = request.trace_gc.then(GcLogSink::default);
    target.gc_log = gc_log.clone();
    // V8's log for the CPU profile, beside the snapshots (removed once
    // read: it holds the app's source).
    let v8_log = (config.cpu_profile && target.is_launch()).then(|| config.out.join("v8.log"));
    target.v8_log = v8_log.clone();
    let outcome = with_target(
        &target,
        async |attached| session::run(attached, config, observer).await,
        async |client| leakscope_hunt::report::close(client).await,
    )
    .await;
    let log = v8_log.as_deref().and_then(read_v8_log);
    let mut outcome = outcome?;
    let jit = outcome.cpu_profile.take().map(|cpu| {
        let mut findings = Findings::build(&cpu, log.as_ref(), None, 15);
        findings.map_positions(&config.positions);
        findings
    });
    let gc_log = gc_log.map(|sink| analyse_gc_log(&sink, outcome.baseline_ms));
    let report = Report::new(outcome, request.label.clone(), request.keep);
    Ok(crate::report::hunt_report(
        &report,
        gc_log.as_deref(),
        jit.as_ref(),
    ))
}

/// Hunts in a target the caller holds (the web server's live mode), and
/// undoes what the hunt opened in it; the session stays attached.
pub async fn hunt_attached(
    attached: &Attached,
    config: &Config,
    label: String,
    observer: &mut dyn Observer,
) -> Result<HuntReport, HuntError> {
    let outcome: Result<Outcome, HuntError> = session::run(attached, config, observer).await;
    leakscope_hunt::report::close(&attached.client).await;
    let report = Report::new(outcome?, label, true);
    Ok(crate::report::hunt_report(&report, None, None))
}

/// V8's log and its deopt trace, read then removed.
fn read_v8_log(path: &std::path::Path) -> Option<leakscope_v8log::JitReport> {
    let trace_path: PathBuf = leakscope_jit::deopt_trace_path(path);
    let trace = std::fs::read(&trace_path).ok();
    let read = std::fs::File::open(path)
        .ok()
        .map(|file| leakscope_jit::read_log(file, trace.as_deref(), &[]));
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(trace_path);
    read.and_then(Result::ok)
}

/// The launched app's GC log, judged from the hunt's baseline on (its
/// warm-up ends there).
fn analyse_gc_log(sink: &GcLogSink, baseline_ms: f64) -> Vec<leakscope_gclog::ProcessReport> {
    let lines = sink.lock().expect("not poisoned");
    let config = leakscope_gclog::SeriesConfig {
        warmup_ms: baseline_ms,
        ..Default::default()
    };
    leakscope_gclog::read(&lines[..], &mut leakscope_inspector::Silent)
        .map(|log| log.reports_with(&config))
        .unwrap_or_default()
}
