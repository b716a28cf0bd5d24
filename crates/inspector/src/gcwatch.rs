//! Watching every GC of a target without changing its code: a
//! `PerformanceObserver('gc')` injected through `Runtime.evaluate` reports
//! each GC through a `Runtime.addBinding` function. Verified on Node 20 to
//! see exactly the GCs `--trace-gc` prints, at no measurable cost.
//!
//! The observer outlives the session, so [`GcWatch::uninstall`] must run on
//! the way out. It reads `entry.detail.kind`, never `entry.kind`, which
//! would print a deprecation warning in the target.

use serde::Deserialize;

use crate::cdp::{Client, Event};
use crate::error::Result;
use crate::protocol::BindingCalled;

const BINDING: &str = "__leakscope_gc";

/// GCs are reported in batches at most once a second (and at once after a
/// full GC): one binding call, one CDP message and one heap-space reading
/// per batch instead of per GC keeps a target doing 50+ scavenges a second
/// from paying for each. Every GC still gets its own entry. The event-loop
/// delay is sampled every 20 ms: each sample wakes an idle process.
const INSTALL: &str = r#"(() => {
  const g = globalThis, key = Symbol.for('leakscope.gcwatch');
  if (g[key]) return 'already installed';
  const req = typeof require === 'function' ? require : (m) => process.getBuiltinModule(m);
  const { PerformanceObserver, monitorEventLoopDelay } = req('perf_hooks');
  const v8 = req('v8');
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  let gcs = [], timer = null;
  const flush = () => {
    timer = null;
    if (gcs.length === 0) return;
    const batch = {
      gcs,
      spaces: v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size, s.space_size]),
      eld: [delay.min, delay.max, delay.mean, delay.percentile(50), delay.percentile(90), delay.percentile(99)],
    };
    gcs = [];
    delay.reset();
    try { g.__leakscope_gc(JSON.stringify(batch)); } catch {}
  };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const h = v8.getHeapStatistics();
      const kind = e.detail ? e.detail.kind : 0;
      gcs.push([performance.timeOrigin + e.startTime, e.duration, kind, e.detail ? e.detail.flags : 0,
        h.used_heap_size, h.total_heap_size, h.heap_size_limit, h.external_memory]);
      if (kind === 4) { if (timer) clearTimeout(timer); flush(); }
      else if (!timer) { timer = setTimeout(flush, 1000); timer.unref(); }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  g[key] = { uninstall() { observer.disconnect(); if (timer) clearTimeout(timer); delay.disable(); delete g[key]; return 'removed'; } };
  return 'installed';
})()"#;

const UNINSTALL: &str = r#"(() => {
  const g = globalThis, key = Symbol.for('leakscope.gcwatch');
  const r = g[key] ? g[key].uninstall() : 'not installed';
  delete g.__leakscope_gc;
  return r;
})()"#;

/// One GC as the target saw it.
#[derive(Debug, Clone)]
pub struct GcReport {
    /// Epoch milliseconds when the GC started.
    pub start_ms: f64,
    pub duration_ms: f64,
    /// `perf_hooks` kind: 1 minor, 4 major, 8 incremental, 16 weak callbacks.
    pub kind: u32,
    /// `perf_hooks` flags; 4 = forced, 16 = all available garbage.
    pub flags: u32,
    pub used: u64,
    pub total: u64,
    pub limit: u64,
    pub external: u64,
    /// `(space name, used, size)` per heap space, read when the batch of
    /// GCs this one came in was sent.
    pub spaces: Vec<(String, u64, u64)>,
    /// Event-loop delay over the batch's interval, in nanoseconds: min,
    /// max, mean, p50, p90, p99. NaN-free: zeros before the first sample.
    pub eld: Vec<f64>,
}

/// One GC as the observer sends it:
/// `[start, duration, kind, flags, used, total, limit, external]`.
type GcRow = (f64, f64, u32, u32, f64, f64, f64, f64);

/// What one binding call carries.
#[derive(Deserialize)]
struct Batch {
    gcs: Vec<GcRow>,
    spaces: Vec<(String, u64, u64)>,
    #[serde(default, deserialize_with = "lenient_numbers")]
    eld: Vec<f64>,
}

impl GcReport {
    /// The GC's kind as `perf_hooks` names its flag.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            1 => "scavenge",
            4 => "mark-compact",
            8 => "incremental",
            16 => "weak callbacks",
            _ => "other",
        }
    }
}

fn lenient_numbers<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<f64>, D::Error> {
    let values: Vec<Option<f64>> = Vec::deserialize(d)?;
    Ok(values.into_iter().map(|v| v.unwrap_or(0.0)).collect())
}

/// An installed GC observer.
pub struct GcWatch;

impl GcWatch {
    pub async fn install(client: &Client) -> Result<GcWatch> {
        client.add_binding(BINDING).await?;
        client.evaluate(INSTALL, false).await?;
        Ok(GcWatch)
    }

    /// The GC reports an event carries, in order; none if it is not ours.
    pub fn parse(event: &Event) -> Vec<GcReport> {
        if event.method != "Runtime.bindingCalled" {
            return Vec::new();
        }
        let Ok(called) = event.parse::<BindingCalled>() else {
            return Vec::new();
        };
        if called.name != BINDING {
            return Vec::new();
        }
        let Ok(batch) = serde_json::from_str::<Batch>(&called.payload) else {
            return Vec::new();
        };
        batch
            .gcs
            .into_iter()
            .map(
                |(start_ms, duration_ms, kind, flags, used, total, limit, external)| GcReport {
                    start_ms,
                    duration_ms,
                    kind,
                    flags,
                    used: used as u64,
                    total: total as u64,
                    limit: limit as u64,
                    external: external as u64,
                    spaces: batch.spaces.clone(),
                    eld: batch.eld.clone(),
                },
            )
            .collect()
    }

    /// Removes the observer and the binding from the target.
    pub async fn uninstall(client: &Client) -> Result<()> {
        client.evaluate(UNINSTALL, false).await?;
        client.remove_binding(BINDING).await
    }
}
