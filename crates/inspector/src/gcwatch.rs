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

const INSTALL: &str = r#"(() => {
  const g = globalThis, key = Symbol.for('leakscope.gcwatch');
  if (g[key]) return 'already installed';
  const req = typeof require === 'function' ? require : (m) => process.getBuiltinModule(m);
  const { PerformanceObserver, monitorEventLoopDelay } = req('perf_hooks');
  const v8 = req('v8');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const h = v8.getHeapStatistics();
      const payload = {
        t: performance.timeOrigin + e.startTime, d: e.duration,
        kind: e.detail ? e.detail.kind : 0, flags: e.detail ? e.detail.flags : 0,
        used: h.used_heap_size, total: h.total_heap_size, limit: h.heap_size_limit,
        external: h.external_memory,
        spaces: v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size, s.space_size]),
        eld: [delay.min, delay.max, delay.mean, delay.percentile(50), delay.percentile(90), delay.percentile(99)],
      };
      delay.reset();
      try { g.__leakscope_gc(JSON.stringify(payload)); } catch {}
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  g[key] = { uninstall() { observer.disconnect(); delay.disable(); delete g[key]; return 'removed'; } };
  return 'installed';
})()"#;

const UNINSTALL: &str = r#"(() => {
  const g = globalThis, key = Symbol.for('leakscope.gcwatch');
  const r = g[key] ? g[key].uninstall() : 'not installed';
  delete g.__leakscope_gc;
  return r;
})()"#;

/// One GC as the target saw it.
#[derive(Debug, Clone, Deserialize)]
pub struct GcReport {
    /// Epoch milliseconds when the GC started.
    #[serde(rename = "t")]
    pub start_ms: f64,
    #[serde(rename = "d")]
    pub duration_ms: f64,
    /// `perf_hooks` kind: 1 minor, 4 major, 8 incremental, 16 weak callbacks.
    pub kind: u32,
    /// `perf_hooks` flags; 4 = forced, 16 = all available garbage.
    pub flags: u32,
    pub used: u64,
    pub total: u64,
    pub limit: u64,
    #[serde(default)]
    pub external: u64,
    /// `(space name, used, size)` per heap space.
    pub spaces: Vec<(String, u64, u64)>,
    /// Event-loop delay since the previous GC, in nanoseconds: min, max,
    /// mean, p50, p90, p99. NaN-free: zeros before the first sample.
    #[serde(default, deserialize_with = "lenient_numbers")]
    pub eld: Vec<f64>,
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

    /// The GC report an event carries, if it is one of ours.
    pub fn parse(event: &Event) -> Option<GcReport> {
        if event.method != "Runtime.bindingCalled" {
            return None;
        }
        let called: BindingCalled = event.parse().ok()?;
        if called.name != BINDING {
            return None;
        }
        serde_json::from_str(&called.payload).ok()
    }

    /// Removes the observer and the binding from the target.
    pub async fn uninstall(client: &Client) -> Result<()> {
        client.evaluate(UNINSTALL, false).await?;
        client.remove_binding(BINDING).await
    }
}
