//! A finished hunt as people read it: the verdict and how sure it is, over
//! everything [`session::run`](crate::session::run) measured. The CLI prints
//! it (text, JSON, HTML) and the web explorer shows it; both build it here so
//! they say the same thing.

use leakscope_inspector::{Client, GcWatch};
use serde::Serialize;

use crate::session::{LoadMode, Outcome};
use crate::verdict::Confidence;

/// The verdict on a hunt, with what it rests on.
#[derive(Debug, Serialize)]
pub struct Report {
    /// What was hunted in: a PID, a port, a command line.
    pub target: String,
    /// `leak` or `no leak: …`.
    pub verdict: &'static str,
    /// How sure the verdict is, and why.
    pub confidence: Confidence,
    pub confidence_reason: String,
    /// Over all rounds, when the hunt's own load counted requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub snapshots_kept: bool,
}

impl std::ops::Deref for Report {
    type Target = Outcome;
    fn deref(&self) -> &Outcome {
        &self.outcome
    }
}

impl Report {
    /// `outcome.snapshots` are dropped unless `snapshots_kept`: the caller
    /// deletes them.
    pub fn new(mut outcome: Outcome, target: String, snapshots_kept: bool) -> Self {
        if !snapshots_kept {
            outcome.snapshots.clear();
            for thread in &mut outcome.threads {
                thread.snapshots.clear();
            }
        }
        let scale = outcome.scale();
        let (confidence, confidence_reason) = confidence(&outcome);
        Report {
            target,
            verdict: if outcome.findings.is_empty() {
                "no leak: nothing grew steadily round after round"
            } else {
                "leak"
            },
            confidence,
            confidence_reason,
            requests_per_second: (scale.requests > 0 && scale.seconds > 0.0)
                .then(|| scale.requests as f64 / scale.seconds),
            outcome,
            snapshots_kept,
        }
    }
}

/// Undoes what the hunt opened in the target: the sampling profiler,
/// allocation tracking (without another snapshot) and the GC observer.
/// Safe to call after a hunt that failed half-way.
pub async fn close(client: &Client) {
    let _ = client.stop_sampling().await;
    // `--jit` profiles the first round; an error there leaves it running.
    let _ = client
        .call::<_, serde_json::Value>("Profiler.stop", serde_json::json!({}))
        .await;
    let _ = client
        .call::<_, serde_json::Value>("Profiler.disable", serde_json::json!({}))
        .await;
    let _ = client
        .call::<_, serde_json::Value>("HeapProfiler.disable", serde_json::json!({}))
        .await;
    let _ = client
        .call::<_, serde_json::Value>("NodeWorker.disable", serde_json::json!({}))
        .await;
    let _ = GcWatch::uninstall(client).await;
}

/// The verdict's confidence: a leak's is its strongest finding's; a clean
/// verdict is as good as the load that exercised the app.
fn confidence(o: &Outcome) -> (Confidence, String) {
    if let Some(best) = o.findings.iter().max_by_key(|f| match f.confidence {
        Confidence::High => 2,
        Confidence::Medium => 1,
        Confidence::Low => 0,
    }) {
        return (best.confidence, best.evidence.clone());
    }
    let requests: u64 = o.rounds.iter().map(|r| r.round.requests).sum();
    if let Some(stopped) = &o.stopped_by {
        return (
            Confidence::Low,
            format!("{stopped}; {} rounds, {requests} requests", o.rounds.len()),
        );
    }
    if !o.warnings.is_empty() {
        return (Confidence::Low, o.warnings[0].to_string());
    }
    let seconds: f64 = o.rounds.iter().map(|r| r.round.seconds).sum();
    let (level, work) = match o.load {
        LoadMode::Http => (
            if o.rounds.len() >= 3 && requests >= 3000 {
                Confidence::High
            } else {
                Confidence::Medium
            },
            format!("{requests} requests"),
        ),
        LoadMode::Command => (
            if o.rounds.len() >= 3 {
                Confidence::High
            } else {
                Confidence::Medium
            },
            format!("{seconds:.0} s under the load command"),
        ),
        // What the process happened to do in that time is all it saw.
        LoadMode::None => (
            Confidence::Medium,
            format!("{seconds:.0} s of the process's own work"),
        ),
    };
    (
        level,
        format!(
            "{} rounds, {work}: no group of objects grew in every round",
            o.rounds.len()
        ),
    )
}
