//! Watching one attached process: every GC, the leak rules, probe GCs, and
//! a snapshot when a leak event fires.

use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use leakscope_gctrend::{Config, Detector, GcKind, GcSample, Growth, LeakEvent, Stats};
use leakscope_inspector::capture::{
    estimate_snapshot, write_snapshot, SnapshotEstimate, SnapshotOptions,
};
use leakscope_inspector::{Attached, Client, GcReport, GcWatch, InspectorError};

use crate::error::{SinkError, WatchError};
use crate::metrics::ProcessMetrics;
use crate::snapshots::Snapshots;

/// How to watch.
pub struct Settings {
    /// The leak rules; `probe_every_ms` 0 never forces a GC.
    pub detector: Config,
    /// Where snapshots go when a leak event fires, if anywhere.
    pub snapshots: Option<Snapshots>,
}

/// What a watched process did.
#[derive(Debug)]
pub enum Event {
    Gc {
        report: GcReport,
        kind: GcKind,
    },
    /// memwatch's `stats`, after each full GC, with the growth so far.
    Stats {
        stats: Stats,
        growth: Option<Growth>,
        /// Share of the last minute spent in GC.
        gc_time_ratio: f64,
    },
    Leak(LeakEvent),
    /// A snapshot is about to stop the process, at this cost.
    SnapshotStarting {
        estimate: SnapshotEstimate,
    },
    Snapshot {
        path: PathBuf,
        bytes: u64,
        /// Older leak snapshots deleted to stay under the disk cap.
        deleted: Vec<PathBuf>,
    },
    /// A leak event that took no snapshot, and why.
    SnapshotSkipped {
        reason: String,
    },
}

/// How the watch of one process ended.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub stats: Stats,
    pub growth: Option<Growth>,
    pub leak_events: u64,
}

/// One plain full GC, like `global.gc()` under `--expose-gc`. Cheaper for
/// the target than `HeapProfiler.collectGarbage`, whose memory-reducing GCs
/// also drop compiled code: measured 4.4 % more CPU per request under load
/// against 0.2 % for this (BENCHMARKS.md). The `gc` function comes from a
/// fresh context created while the flag is briefly on; it is kept under a
/// symbol so later probes reuse it.
const FULL_GC: &str = r#"(() => {
  const key = Symbol.for('leakscope.gc');
  if (!globalThis[key]) {
    const v8 = require('v8');
    v8.setFlagsFromString('--expose-gc');
    globalThis[key] = require('vm').runInNewContext('gc');
    v8.setFlagsFromString('--no-expose-gc');
  }
  globalThis[key]();
})()"#;

/// Takes out of the target what [`watch`] put in: the GC observer, its
/// binding and the probe's `gc` function. Bounded, so a dead target cannot
/// hang the way out.
pub async fn remove_from(client: &Client) {
    let remove = async {
        let _ = GcWatch::uninstall(client).await;
        let _ = client
            .evaluate("delete globalThis[Symbol.for('leakscope.gc')]", false)
            .await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), remove).await;
}

/// GC pauses of the last minute, for the share of time spent in GC.
struct GcTime {
    window: VecDeque<(f64, f64)>,
    first_ms: Option<f64>,
}

impl GcTime {
    const WINDOW_MS: f64 = 60_000.0;

    fn add(&mut self, end_ms: f64, pause_ms: f64) -> f64 {
        self.first_ms.get_or_insert(end_ms - pause_ms);
        self.window.push_back((end_ms, pause_ms));
        while self
            .window
            .front()
            .is_some_and(|&(t, _)| t < end_ms - Self::WINDOW_MS)
        {
            self.window.pop_front();
        }
        let span = (end_ms - self.first_ms.unwrap_or(end_ms)).clamp(1000.0, Self::WINDOW_MS);
        (self.window.iter().map(|w| w.1).sum::<f64>() / span).min(1.0)
    }
}

/// Watches `target` until `stop` resolves, telling `sink` every event;
/// the caller runs [`remove_from`] afterwards (also when this fails or is
/// dropped). Ends with an error when the target goes away.
pub async fn watch(
    target: &Attached,
    settings: &Settings,
    mut metrics: Option<&mut ProcessMetrics>,
    stop: impl Future<Output = ()>,
    sink: &mut dyn FnMut(Event) -> Result<(), SinkError>,
) -> Result<Summary, WatchError> {
    let client = &target.client;
    GcWatch::install(client).await?;
    let mut detector = Detector::new(settings.detector);
    let min_growth = settings.detector.min_growth;
    let mut leaks = 0u64;
    // The detector says how long after a full GC a probe is due; checked
    // four times a second, so a due probe is never a whole interval late.
    let mut probe = tokio::time::interval(Duration::from_millis(250));
    probe.tick().await;
    let mut last_full_gc = Instant::now();
    let mut latest_used = 0u64;
    let mut gc_time = GcTime {
        window: VecDeque::new(),
        first_ms: None,
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            event = client.next_event() => {
                let event = event.ok_or(InspectorError::Closed)?;
                for gc in GcWatch::parse(&event) {
                    let kind = GcKind::from_perf_hooks(gc.kind);
                    let sample = GcSample {
                        at_ms: gc.start_ms + gc.duration_ms,
                        kind,
                        pause_ms: gc.duration_ms,
                        heap_used: gc.used,
                        forced: gc.flags & (4 | 16) != 0,
                    };
                    let gc_time_ratio = gc_time.add(sample.at_ms, gc.duration_ms);
                    let observation = detector.observe(&sample);
                    latest_used = gc.used;
                    if kind == GcKind::Major {
                        last_full_gc = Instant::now();
                    }
                    if let Some(m) = metrics.as_deref_mut() {
                        m.record_gc(&gc, kind.as_str());
                        let per_hour = detector.growth().map_or(0.0, |g| g.mb_per_hour * 1e6);
                        m.set_trend(per_hour, gc_time_ratio);
                    }
                    sink(Event::Gc { report: gc, kind }).map_err(WatchError::Sink)?;
                    if let Some(stats) = observation.stats {
                        let growth = detector.growth();
                        sink(Event::Stats { stats, growth, gc_time_ratio }).map_err(WatchError::Sink)?;
                    }
                    for leak in observation.leaks {
                        leaks += 1;
                        if let Some(m) = metrics.as_deref() {
                            m.record_leak();
                        }
                        sink(Event::Leak(leak)).map_err(WatchError::Sink)?;
                        if let Some(snapshots) = &settings.snapshots {
                            snapshot_on_leak(target, snapshots, latest_used, metrics.as_deref(), sink).await?;
                        }
                    }
                }
            }
            _ = probe.tick() => {
                let Some(after_ms) = detector.probe_after_ms() else { continue };
                let base = detector.stats().current_base;
                if last_full_gc.elapsed().as_secs_f64() * 1000.0 >= after_ms
                    && latest_used > base.saturating_add(min_growth / 2)
                {
                    client.evaluate(FULL_GC, false).await?;
                    last_full_gc = Instant::now();
                }
            }
            _ = &mut stop => break,
        }
    }
    Ok(Summary {
        stats: detector.stats(),
        growth: detector.growth(),
        leak_events: leaks,
    })
}

async fn snapshot_on_leak(
    target: &Attached,
    snapshots: &Snapshots,
    heap_used: u64,
    metrics: Option<&ProcessMetrics>,
    sink: &mut dyn FnMut(Event) -> Result<(), SinkError>,
) -> Result<(), WatchError> {
    let path = match snapshots.permit(target.pid, heap_used) {
        Ok(path) => path,
        Err(why) => {
            return sink(Event::SnapshotSkipped {
                reason: why.to_string(),
            })
            .map_err(WatchError::Sink)
        }
    };
    let estimate = estimate_snapshot(&target.client, true).await?;
    if !estimate.affordable() && !snapshots.force() {
        return sink(Event::SnapshotSkipped {
            reason: format!(
                "no snapshot: it would need {}, and could get the process killed",
                estimate.describe()
            ),
        })
        .map_err(WatchError::Sink);
    }
    sink(Event::SnapshotStarting { estimate }).map_err(WatchError::Sink)?;
    let captured = write_snapshot(
        &target.client,
        &path,
        SnapshotOptions {
            force: true,
            ..SnapshotOptions::default()
        },
        &mut leakscope_inspector::Silent,
    )
    .await?;
    if let Some(m) = metrics {
        m.record_snapshot();
    }
    let deleted = snapshots.enforce_cap(&path);
    sink(Event::Snapshot {
        path,
        bytes: captured.bytes,
        deleted,
    })
    .map_err(WatchError::Sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gc_time_share_covers_the_last_minute() {
        let mut t = GcTime {
            window: VecDeque::new(),
            first_ms: None,
        };
        // 10 ms of GC every 100 ms: 10 %.
        let mut ratio = 0.0;
        for i in 1..=1000 {
            ratio = t.add(i as f64 * 100.0, 10.0);
        }
        assert!((ratio - 0.1).abs() < 0.002, "{ratio}");
        // A quiet minute later one short GC barely counts.
        let ratio = t.add(200_000.0, 6.0);
        assert!(ratio < 0.001, "{ratio}");
    }
}
