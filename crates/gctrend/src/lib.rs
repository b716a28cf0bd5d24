//! Leak verdicts from a series of garbage collections.
//!
//! The input is one [`GcSample`] per GC: its kind, pause and the heap in use
//! right after it. Only the heap after a *full* GC says anything about live
//! data (a scavenge leaves old-space garbage in place), so every rule looks
//! at full GCs only:
//!
//! * **consecutive growth**, memwatch's rule: the heap after a full GC grew
//!   on N full GCs in a row (N = 5 by default);
//! * **trend**: over a window of full GCs after warm-up (five or more, over
//!   at least 30 s), a least-squares line through the heap sizes rises
//!   steeply enough, fits well, and the last third of the window lies
//!   entirely above the first third. A cache that fills then stops, or a
//!   burst of short-lived garbage, fails one of those;
//! * **rate**: over the last 20 s, the heap after full GC climbed by at
//!   least a tenth of itself along a good straight line, never fell back to
//!   where the window began and did not level off. A fast leak makes V8's
//!   own full GCs rare (its limit grows with the heap), so counting them
//!   takes minutes; with the forced probes of [`Detector::probe_after_ms`]
//!   this rule needs about 10 s of evidence.
//!
//! All ignore a warm-up (start-up code, JIT and caches filling) and need a
//! minimum growth in bytes, so a few kilobytes of drift never raise an alarm.
//! After an event the evidence is cleared: the next event needs new growth.
//! Full GCs less than a second apart (a forced GC runs two in a row) count as
//! one measurement: the lower heap of the two.

mod robust;
mod series;

use std::collections::VecDeque;

use serde::Serialize;

pub use series::{judge_series, SeriesConfig, SeriesPoint, SeriesVerdict};

/// What kind of collection, as V8 reports it to `PerformanceObserver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GcKind {
    /// Scavenge of the young generation.
    Minor,
    /// Mark-compact of the whole heap.
    Major,
    /// A step of incremental marking.
    Incremental,
    /// Processing of weak callbacks.
    Weakcb,
}

impl GcKind {
    /// From `perf_hooks` `detail.kind` (1, 4, 8, 16).
    pub fn from_perf_hooks(kind: u32) -> GcKind {
        match kind {
            4 => GcKind::Major,
            8 => GcKind::Incremental,
            16 => GcKind::Weakcb,
            _ => GcKind::Minor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GcKind::Minor => "minor",
            GcKind::Major => "major",
            GcKind::Incremental => "incremental",
            GcKind::Weakcb => "weakcb",
        }
    }
}

/// One garbage collection.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GcSample {
    /// Milliseconds on any clock that only moves forward.
    pub at_ms: f64,
    pub kind: GcKind,
    /// Main-thread pause.
    pub pause_ms: f64,
    /// Heap in use right after the GC.
    pub heap_used: u64,
    /// Whether the GC was forced (by `gc()`, the inspector or a tool) or
    /// asked to reduce memory; such GCs compact the heap.
    pub forced: bool,
}

/// memwatch's `stats` event, emitted after every full GC.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stats {
    pub num_full_gc: u64,
    pub num_inc_gc: u64,
    pub heap_compactions: u64,
    /// `estimated_base` minus the long-run base (the mean of all full GCs,
    /// smoothed over about 120 of them): positive while growing.
    pub usage_trend: f64,
    /// Heap after full GC, averaged over the later half of the full GCs so
    /// far, at most the last 10. memwatch averages all of the first 10, so
    /// its trend stays 0 until the 11th full GC however fast the heap grows.
    pub estimated_base: f64,
    /// Heap after the latest full GC.
    pub current_base: u64,
    pub min: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    ConsecutiveGrowth,
    Trend,
    Rate,
}

/// memwatch's `leak` event, plus which rule raised it.
#[derive(Debug, Clone, Serialize)]
pub struct LeakEvent {
    pub rule: Rule,
    pub start_ms: f64,
    pub end_ms: f64,
    /// Bytes the heap after full GC grew over the evidence.
    pub growth: i64,
    pub mb_per_hour: f64,
    pub reason: String,
}

/// How the heap after full GC moved over a whole watch: from the first
/// measurement after warm-up (or the first at all, when warm-up left fewer
/// than two) to the latest.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Growth {
    pub start_ms: f64,
    pub end_ms: f64,
    pub start_heap: u64,
    pub end_heap: u64,
    pub bytes: i64,
    pub mb_per_hour: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Full GCs in a row with growth for the consecutive rule.
    pub consecutive: usize,
    /// Ignore GCs in the first milliseconds of the series.
    pub warmup_ms: f64,
    /// Ignore this many full GCs at the start.
    pub warmup_full_gcs: usize,
    /// Growth below this never raises an event.
    pub min_growth: u64,
    /// Full GCs the trend test needs at least…
    pub trend_min_samples: usize,
    /// …spread over at least this long: with forced probes a second apart,
    /// five full GCs can sit on one rising edge of a sawtooth.
    pub trend_min_span_ms: f64,
    /// The trend test looks at full GCs of this many last milliseconds.
    pub trend_window_ms: f64,
    /// Goodness of fit the trend needs (R²).
    pub trend_min_r2: f64,
    /// The rate rule looks at measurements of this many last milliseconds.
    pub rate_window_ms: f64,
    /// Measurements the rate rule needs at least…
    pub rate_min_samples: usize,
    /// …spread over at least this long: two probes of a cache still
    /// filling look like a leak, eight seconds of them rarely do.
    pub rate_min_span_ms: f64,
    /// Growth over the rate window as a share of the heap where it began:
    /// what makes growth "strong" whatever the heap's size.
    pub rate_min_share: f64,
    /// Goodness of fit the rate rule needs (R²).
    pub rate_min_r2: f64,
    /// Force a full GC this long after the last one while full GCs find
    /// the heap growing but not climbing fast (0 = never force one).
    pub probe_every_ms: f64,
    /// …and this long while it climbs fast enough for the rate rule.
    pub probe_fast_ms: f64,
    /// Forced GCs may take at most this share of the target's time: the
    /// next probe waits for its expected pause divided by this.
    pub probe_max_share: f64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            consecutive: 5,
            warmup_ms: 5_000.0,
            warmup_full_gcs: 1,
            min_growth: 2 << 20,
            trend_min_samples: 5,
            trend_min_span_ms: 30_000.0,
            trend_window_ms: 10.0 * 60_000.0,
            trend_min_r2: 0.8,
            rate_window_ms: 20_000.0,
            rate_min_samples: 5,
            rate_min_span_ms: 8_000.0,
            rate_min_share: 0.10,
            rate_min_r2: 0.9,
            probe_every_ms: 5_000.0,
            probe_fast_ms: 1_000.0,
            probe_max_share: 0.10,
        }
    }
}

/// What one GC produced.
#[derive(Debug, Default)]
pub struct Observation {
    /// Present after a full GC.
    pub stats: Option<Stats>,
    pub leaks: Vec<LeakEvent>,
}

/// Feeds on GCs in order and raises leak events.
#[derive(Debug)]
pub struct Detector {
    config: Config,
    stats: Stats,
    first_at: Option<f64>,
    /// Heap after the last few full GCs, for `estimated_base`.
    recent: VecDeque<u64>,
    ancient_base: f64,
    /// Post-full-GC (time, heap) since warm-up, for the trend test.
    window: Vec<(f64, u64)>,
    /// The same over the rate rule's shorter window.
    rate_window: Vec<(f64, u64)>,
    /// Start of the current growth streak and its length.
    streak: Option<(f64, u64)>,
    streak_len: usize,
    previous: Option<(f64, u64)>,
    last_major_ms: Option<f64>,
    /// The first measurement, the first after warm-up, and the last two
    /// (warm-up included: their step says how fast the heap climbs now).
    first: Option<(f64, u64)>,
    first_warm: Option<(f64, u64)>,
    last_two: [Option<(f64, u64)>; 2],
    /// Pause per byte of heap of the latest forced full GC: what the next
    /// probe will cost.
    forced_ms_per_byte: Option<f64>,
    /// When the rate rule last fired: its evidence is spent, so probing
    /// goes back to the slow pace.
    rate_fired_ms: Option<f64>,
    /// The lowest heap after full GC since the last growth…
    low_since_growth: Option<u64>,
    /// …and whether the latest measurement was that growth: the only time
    /// a probe is worth its cost (see [`Detector::probe_after_ms`]).
    just_grew: bool,
}

/// Full GCs closer than this are one measurement.
const SAME_MEASUREMENT_MS: f64 = 1000.0;

const RECENT_PERIOD: usize = 10;
const ANCIENT_PERIOD: f64 = 120.0;

impl Detector {
    pub fn new(config: Config) -> Detector {
        Detector {
            config,
            stats: Stats::default(),
            first_at: None,
            recent: VecDeque::with_capacity(RECENT_PERIOD),
            ancient_base: 0.0,
            window: Vec::new(),
            rate_window: Vec::new(),
            streak: None,
            streak_len: 0,
            previous: None,
            last_major_ms: None,
            first: None,
            first_warm: None,
            last_two: [None; 2],
            forced_ms_per_byte: None,
            rate_fired_ms: None,
            low_since_growth: None,
            just_grew: false,
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The heap after full GC from the start of the watch (after warm-up)
    /// to now; `None` before two measurements.
    pub fn growth(&self) -> Option<Growth> {
        let (end_ms, end_heap) = self.last_two[1]?;
        let (start_ms, start_heap) = self
            .first_warm
            .filter(|w| w.0 < end_ms)
            .or(self.first)
            .filter(|f| f.0 < end_ms)?;
        let bytes = end_heap as i64 - start_heap as i64;
        Some(Growth {
            start_ms,
            end_ms,
            start_heap,
            end_heap,
            bytes,
            mb_per_hour: rate_mb_per_hour(bytes as f64, end_ms - start_ms),
        })
    }

    /// How long after the latest full GC a forced one is worth its cost, in
    /// milliseconds; `None` when none is. Forced GCs are costly beyond their
    /// pause: a few of them leave a server's hot code slower for minutes
    /// (+8–14 % CPU per request after five, measured 5 min later; V8's own
    /// full GCs do not do that), so the heap is measured by V8's own full
    /// GCs until one finds it grown by a quarter of `min_growth` over the
    /// lowest since the last growth, and probes go on only while each finds
    /// more growth. Short while the heap climbs fast enough for the rate
    /// rule to judge it soon, and never so short that forced pauses would
    /// take more than `probe_max_share` of the target's time.
    pub fn probe_after_ms(&self) -> Option<f64> {
        let c = &self.config;
        if c.probe_every_ms <= 0.0 || !self.just_grew {
            return None;
        }
        let gap = if self.climbing_fast() {
            c.probe_fast_ms.min(c.probe_every_ms)
        } else {
            c.probe_every_ms
        };
        let heap = self.last_two[1].map_or(0, |m| m.1) as f64;
        let cost = self.forced_ms_per_byte.unwrap_or(0.0) * heap;
        Some(gap.max(cost / c.probe_max_share))
    }

    /// Whether the last step between measurements, kept up over the rate
    /// window, would grow the heap by what the rate rule asks for.
    fn climbing_fast(&self) -> bool {
        let [Some((t0, h0)), Some((t1, h1))] = self.last_two else {
            return false;
        };
        let c = &self.config;
        if self
            .rate_fired_ms
            .is_some_and(|fired| t1 - fired < c.rate_window_ms)
        {
            return false;
        }
        let growth = (h1 as f64 - h0 as f64) / (t1 - t0) * c.rate_window_ms;
        growth >= self.rate_needs(h0)
    }

    /// The growth the rate rule needs over its window from `heap`.
    fn rate_needs(&self, heap: u64) -> f64 {
        (self.config.min_growth as f64).max(self.config.rate_min_share * heap as f64)
    }

    pub fn observe(&mut self, gc: &GcSample) -> Observation {
        let first_at = *self.first_at.get_or_insert(gc.at_ms);
        if gc.kind != GcKind::Major {
            self.stats.num_inc_gc += 1;
            return Observation::default();
        }
        self.update_stats(gc);
        if gc.forced && gc.heap_used > 0 {
            self.forced_ms_per_byte = Some(gc.pause_ms / gc.heap_used as f64);
        }
        let mut observation = Observation {
            stats: Some(self.stats),
            leaks: Vec::new(),
        };
        if self
            .last_major_ms
            .replace(gc.at_ms)
            .is_some_and(|t| gc.at_ms - t < SAME_MEASUREMENT_MS)
        {
            self.merge_into_last(gc.heap_used);
            return observation;
        }
        let measurement = (gc.at_ms, gc.heap_used);
        self.first.get_or_insert(measurement);
        self.last_two = [self.last_two[1], Some(measurement)];
        self.note_growth(gc.heap_used);
        let warm = gc.at_ms - first_at >= self.config.warmup_ms
            && self.stats.num_full_gc as usize > self.config.warmup_full_gcs;
        if !warm {
            return observation;
        }
        self.first_warm.get_or_insert(measurement);
        observation.leaks.extend(self.consecutive_rule(gc));
        observation.leaks.extend(self.trend_rule(gc));
        observation.leaks.extend(self.rate_rule(gc));
        observation
    }

    fn update_stats(&mut self, gc: &GcSample) {
        let s = &mut self.stats;
        s.num_full_gc += 1;
        if gc.forced {
            s.heap_compactions += 1;
        }
        let used = gc.heap_used as f64;
        let n = s.num_full_gc as f64;
        if self.recent.len() == RECENT_PERIOD {
            self.recent.pop_front();
        }
        self.recent.push_back(gc.heap_used);
        // The later half of what we have, so that it differs from the
        // long-run mean from the second full GC on.
        let k = (s.num_full_gc as usize).div_ceil(2).min(RECENT_PERIOD);
        s.estimated_base = self.recent.iter().rev().take(k).sum::<u64>() as f64 / k as f64;
        // A plain mean until the period is full, then exponential smoothing.
        self.ancient_base += (used - self.ancient_base) / n.min(ANCIENT_PERIOD);
        s.usage_trend = s.estimated_base - self.ancient_base;
        s.current_base = gc.heap_used;
        s.min = if n == 1.0 {
            gc.heap_used
        } else {
            s.min.min(gc.heap_used)
        };
        s.max = s.max.max(gc.heap_used);
    }

    /// Whether this measurement is a quarter of `min_growth` above the
    /// lowest since the last growth; if so it starts the next comparison.
    fn note_growth(&mut self, heap: u64) {
        let low = self.low_since_growth.unwrap_or(heap);
        self.just_grew = heap >= low.saturating_add(self.config.min_growth / 4);
        self.low_since_growth = Some(if self.just_grew { heap } else { low.min(heap) });
    }

    /// A second full GC right after another refines the same measurement.
    fn merge_into_last(&mut self, heap_used: u64) {
        let Some((at_ms, _)) = self.last_two[1] else {
            return;
        };
        let lists = [&mut self.window, &mut self.rate_window];
        let last = lists.into_iter().filter_map(|l| l.last_mut());
        let single = [
            &mut self.previous,
            &mut self.first,
            &mut self.first_warm,
            &mut self.last_two[1],
        ];
        for m in last.chain(single.into_iter().flatten()) {
            if m.0 == at_ms {
                m.1 = m.1.min(heap_used);
            }
        }
    }

    fn consecutive_rule(&mut self, gc: &GcSample) -> Option<LeakEvent> {
        let previous = self.previous.replace((gc.at_ms, gc.heap_used));
        let Some(previous) = previous.filter(|p| gc.heap_used > p.1) else {
            self.streak = None;
            self.streak_len = 0;
            return None;
        };
        let (start_ms, start_heap) = *self.streak.get_or_insert(previous);
        self.streak_len += 1;
        if self.streak_len < self.config.consecutive {
            return None;
        }
        let growth = gc.heap_used as i64 - start_heap as i64;
        if growth < self.config.min_growth as i64 {
            return None;
        }
        self.streak = None;
        self.streak_len = 0;
        let span = gc.at_ms - start_ms;
        let mb_per_hour = rate_mb_per_hour(growth as f64, span);
        Some(LeakEvent {
            rule: Rule::ConsecutiveGrowth,
            start_ms,
            end_ms: gc.at_ms,
            growth,
            mb_per_hour,
            reason: format!(
                "heap growth over {} consecutive GCs ({}) - {:.1} mb/hr",
                self.config.consecutive,
                duration(span),
                mb_per_hour
            ),
        })
    }

    fn trend_rule(&mut self, gc: &GcSample) -> Option<LeakEvent> {
        self.window.push((gc.at_ms, gc.heap_used));
        let horizon = gc.at_ms - self.config.trend_window_ms;
        let stale = self.window.iter().take_while(|(t, _)| *t < horizon).count();
        self.window.drain(..stale);
        let n = self.window.len();
        if n < self.config.trend_min_samples
            || gc.at_ms - self.window[0].0 < self.config.trend_min_span_ms
        {
            return None;
        }
        let fit = fit_line(&self.window)?;
        let (start_ms, end_ms) = (self.window[0].0, gc.at_ms);
        let growth = fit.slope * (end_ms - start_ms);
        let third = n / 3;
        let early_max = self.window[..third].iter().map(|s| s.1).max()?;
        let late_min = self.window[n - third..].iter().map(|s| s.1).min()?;
        let sustained = late_min > early_max;
        let enough = growth >= self.config.min_growth as f64 && growth >= 0.1 * fit.at(start_ms);
        if !(sustained && enough && fit.r2 >= self.config.trend_min_r2) {
            return None;
        }
        self.window.clear();
        let mb_per_hour = rate_mb_per_hour(growth, end_ms - start_ms);
        Some(LeakEvent {
            rule: Rule::Trend,
            start_ms,
            end_ms,
            growth: growth as i64,
            mb_per_hour,
            reason: format!(
                "heap after full GC grows {:.1} mb/hr over {} full GCs in {} (R² = {:.2})",
                mb_per_hour,
                n,
                duration(end_ms - start_ms),
                fit.r2
            ),
        })
    }

    fn rate_rule(&mut self, gc: &GcSample) -> Option<LeakEvent> {
        self.rate_window.push((gc.at_ms, gc.heap_used));
        let horizon = gc.at_ms - self.config.rate_window_ms;
        let stale = self
            .rate_window
            .iter()
            .take_while(|(t, _)| *t < horizon)
            .count();
        self.rate_window.drain(..stale);
        // The longest stretch up to now that passes: an outlier early in
        // the window only shortens the evidence.
        let (start, evidence) = (0..self.rate_window.len()).find_map(|s| {
            let w = &self.rate_window[s..];
            let needs = self.rate_needs(w[0].1);
            rate_evidence(w, &self.config, needs).map(|e| (s, e))
        })?;
        let n = self.rate_window.len() - start;
        let start_ms = self.rate_window[start].0;
        self.rate_window.clear();
        self.rate_fired_ms = Some(gc.at_ms);
        let span = gc.at_ms - start_ms;
        let mb_per_hour = rate_mb_per_hour(evidence.growth, span);
        Some(LeakEvent {
            rule: Rule::Rate,
            start_ms,
            end_ms: gc.at_ms,
            growth: evidence.growth as i64,
            mb_per_hour,
            reason: format!(
                "heap after full GC grows {:.1} mb/hr ({:.1} MB/s), {:.0}% in {} over {} full GCs (R² = {:.2})",
                mb_per_hour,
                mb_per_hour / 3600.0,
                100.0 * evidence.growth / evidence.fit.at(start_ms),
                duration(span),
                n,
                evidence.fit.r2
            ),
        })
    }
}

/// Why a stretch of measurements is a fast leak: its fit and growth.
struct RateEvidence {
    fit: Fit,
    growth: f64,
}

/// The rate rule's test of `w` (time order, at least two measurements).
fn rate_evidence(w: &[(f64, u64)], config: &Config, needs: f64) -> Option<RateEvidence> {
    let (first, last) = (w[0], w[w.len() - 1]);
    let span = last.0 - first.0;
    if w.len() < config.rate_min_samples || span < config.rate_min_span_ms {
        return None;
    }
    // Never back to where the window began: a spike or the top of a
    // sawtooth at its start would fail here.
    if w[1..].iter().any(|m| m.1 <= first.1) {
        return None;
    }
    let fit = fit_line(w)?;
    let growth = fit.slope * span;
    if fit.r2 < config.rate_min_r2 || growth < needs {
        return None;
    }
    // Still climbing at the end: the latest measurement is above all of
    // the first two thirds of the window by a twelfth of the growth, so a
    // cache that filled and stopped a while ago does not count. (A maximum,
    // not the thirds' minima: a late full GC of V8's own, which measures
    // garbage it had no time to mark, must not hide the climb.)
    let cut = first.0 + span * 2.0 / 3.0;
    let earlier = w.iter().take_while(|m| m.0 < cut).map(|m| m.1).max()?;
    let steady = last.1 as f64 >= earlier as f64 + growth / 12.0;
    steady.then_some(RateEvidence { fit, growth })
}

fn rate_mb_per_hour(bytes: f64, span_ms: f64) -> f64 {
    if span_ms <= 0.0 {
        return 0.0;
    }
    bytes / 1e6 / (span_ms / 3_600_000.0)
}

fn duration(ms: f64) -> String {
    if ms < 120_000.0 {
        format!("{:.0}s", ms / 1000.0)
    } else {
        format!("{:.1}m", ms / 60_000.0)
    }
}

/// A least-squares line `heap = intercept + slope * t`.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// Bytes per millisecond.
    pub slope: f64,
    pub intercept: f64,
    pub r2: f64,
}

impl Fit {
    pub fn at(&self, t: f64) -> f64 {
        self.intercept + self.slope * t
    }
}

/// Fits a line through `(t, y)` points; `None` with fewer than two distinct times.
pub fn fit_line(points: &[(f64, u64)]) -> Option<Fit> {
    let n = points.len() as f64;
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let (mut stt, mut sty, mut syy) = (0.0, 0.0, 0.0);
    for &(t, y) in points {
        let (dt, dy) = (t - mean_t, y as f64 - mean_y);
        stt += dt * dt;
        sty += dt * dy;
        syy += dy * dy;
    }
    if stt == 0.0 {
        return None;
    }
    let slope = sty / stt;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        sty * sty / (stt * syy)
    };
    Some(Fit {
        slope,
        intercept: mean_y - slope * mean_t,
        r2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn major(at_s: f64, mb: f64) -> GcSample {
        GcSample {
            at_ms: at_s * 1000.0,
            kind: GcKind::Major,
            pause_ms: 5.0,
            heap_used: (mb * 1e6) as u64,
            forced: false,
        }
    }

    fn run(series: &[(f64, f64)]) -> Vec<LeakEvent> {
        let mut d = Detector::new(Config::default());
        series
            .iter()
            .flat_map(|&(t, mb)| d.observe(&major(t, mb)).leaks)
            .collect()
    }

    #[test]
    fn steady_growth_raises_both_rules() {
        let series: Vec<_> = (0..12)
            .map(|i| (i as f64 * 4.0, 10.0 + i as f64 * 3.0))
            .collect();
        let leaks = run(&series);
        let consecutive = leaks
            .iter()
            .find(|l| l.rule == Rule::ConsecutiveGrowth)
            .unwrap();
        // Warm-up skips GCs before 5 s and the first one; the streak starts at 8 s.
        assert_eq!(consecutive.growth, 15_000_000);
        assert!(
            (consecutive.mb_per_hour - 2700.0).abs() < 1.0,
            "{consecutive:?}"
        );
        assert!(consecutive
            .reason
            .starts_with("heap growth over 5 consecutive GCs (20s)"));
        assert!(leaks.iter().any(|l| l.rule == Rule::Trend));
    }

    #[test]
    fn bounded_cache_that_fills_then_stops_is_not_a_leak() {
        // Fills during warm-up and a little after, then flat with noise.
        let mut series = vec![(0.0, 5.0), (2.0, 20.0), (4.0, 35.0), (6.0, 40.0)];
        series.extend((0..30).map(|i| (8.0 + i as f64 * 2.0, 40.0 + [0.3, -0.2, 0.1][i % 3])));
        assert!(run(&series).is_empty());
    }

    #[test]
    fn noise_and_small_drift_are_not_leaks() {
        // Grows on every GC, but only by 100 KB in all.
        let series: Vec<_> = (0..40)
            .map(|i| (i as f64 * 3.0, 8.0 + i as f64 * 0.0025))
            .collect();
        assert!(run(&series).is_empty());
        // Big swings of short-lived garbage, no growth underneath.
        let series: Vec<_> = (0..40)
            .map(|i| (i as f64 * 3.0, if i % 4 == 0 { 30.0 } else { 9.0 }))
            .collect();
        assert!(run(&series).is_empty());
    }

    #[test]
    fn back_to_back_full_gcs_are_one_measurement() {
        // A forced GC runs two full GCs; the second one's lower heap is the
        // measurement and must not break the growth streak.
        let mut series = Vec::new();
        for i in 0..10 {
            let t = i as f64 * 5.0;
            series.push((t, 10.0 + i as f64 * 4.0));
            series.push((t + 0.1, 9.5 + i as f64 * 4.0));
        }
        let leaks = run(&series);
        let first = leaks
            .iter()
            .find(|l| l.rule == Rule::ConsecutiveGrowth)
            .unwrap();
        // 13.5 MB (merged) at 5 s to 34 MB at 30 s.
        assert_eq!(first.growth, 20_500_000, "{first:?}");
    }

    #[test]
    fn minor_gcs_count_but_never_decide() {
        let mut d = Detector::new(Config::default());
        for i in 0..100 {
            let gc = GcSample {
                kind: GcKind::Minor,
                ..major(i as f64, 10.0 + i as f64)
            };
            assert!(d.observe(&gc).leaks.is_empty());
        }
        assert_eq!(d.stats().num_inc_gc, 100);
        assert_eq!(d.stats().num_full_gc, 0);
    }

    #[test]
    fn stats_follow_memwatch_meanings() {
        let mut d = Detector::new(Config::default());
        for (i, mb) in [10.0, 12.0, 11.0, 15.0].into_iter().enumerate() {
            d.observe(&major(i as f64, mb));
        }
        let s = d.stats();
        assert_eq!(
            (s.num_full_gc, s.current_base, s.min, s.max),
            (4, 15_000_000, 10_000_000, 15_000_000)
        );
        // The later half (11, 15) against the mean of all four.
        assert!((s.estimated_base - 13_000_000.0).abs() < 1.0);
        assert!((s.usage_trend - 1_000_000.0).abs() < 1.0);
    }

    #[test]
    fn usage_trend_and_growth_show_a_heap_that_doubled_in_few_gcs() {
        let mut d = Detector::new(Config::default());
        for (i, mb) in [50.0, 100.0, 120.0, 140.0, 160.0, 180.0, 200.0]
            .into_iter()
            .enumerate()
        {
            d.observe(&major(i as f64 * 4.0, mb));
        }
        // memwatch's plain means of the same samples would say 0.
        assert!(d.stats().usage_trend >= 30e6, "{:?}", d.stats());
        // From the first GC after warm-up (8 s, 120 MB) to the last.
        let g = d.growth().unwrap();
        assert_eq!(
            (g.start_heap, g.end_heap, g.bytes),
            (120e6 as u64, 200e6 as u64, 80e6 as i64)
        );
        assert!(
            (g.mb_per_hour - 80.0 / (16.0 / 3600.0)).abs() < 1e-6,
            "{g:?}"
        );
        // One measurement after warm-up: the growth starts at the first GC.
        let mut d = Detector::new(Config::default());
        d.observe(&major(0.0, 10.0));
        assert!(d.growth().is_none());
        d.observe(&major(6.0, 30.0));
        assert_eq!(d.growth().unwrap().start_heap, 10e6 as u64);
    }

    /// Measurements every `every` seconds from 0 to `until`, heap from `f`.
    fn probed(every: f64, until: f64, f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        (0..)
            .map(|i| i as f64 * every)
            .take_while(|&t| t <= until)
            .map(|t| (t, f(t)))
            .collect()
    }

    #[test]
    fn rate_rule_fires_in_seconds_on_a_fast_leak() {
        // 25 MB/s from 35 MB, a probe every 2 s; V8's own full GC every
        // 10 s measures 20 % more (garbage it did not finish marking), so
        // memwatch's streak breaks on the probe after it.
        let series = probed(2.0, 40.0, |t| {
            let live = 35.0 + 25.0 * t;
            if t > 0.0 && t % 10.0 == 0.0 {
                live * 1.2
            } else {
                live
            }
        });
        let leaks = run(&series);
        let first = &leaks[0];
        assert_eq!(first.rule, Rule::Rate, "{leaks:?}");
        // Warm from 6 s; five measurements over 8 s.
        assert_eq!((first.start_ms, first.end_ms), (6_000.0, 14_000.0));
        assert!(first.reason.contains("MB/s"), "{}", first.reason);
        assert!((first.mb_per_hour / 3600.0 - 25.0).abs() < 3.0, "{first:?}");
        let streak = leaks.iter().find(|l| l.rule == Rule::ConsecutiveGrowth);
        assert!(streak.is_none_or(|l| l.end_ms >= 20_000.0), "{leaks:?}");
        // Its evidence is spent: the next rate event needs a new window.
        let rates: Vec<_> = leaks.iter().filter(|l| l.rule == Rule::Rate).collect();
        assert!(rates.windows(2).all(|w| w[1].start_ms > w[0].end_ms));
    }

    #[test]
    fn rate_rule_is_quiet_on_fill_then_stop_sawtooth_spikes_and_warm_up() {
        let noise = |t: f64| [0.3, -0.2, 0.1, -0.3][(t as usize) % 4];
        let cases: [(&str, Vec<(f64, f64)>); 4] = [
            // A cache filling at 25 MB/s until 2 s after warm-up, then full.
            (
                "fill then stop",
                probed(1.0, 90.0, |t| 35.0 + 25.0 * t.min(7.0) + noise(t)),
            ),
            // Short-lived garbage caught by some full GCs and not others.
            (
                "sawtooth",
                probed(1.0, 90.0, |t| 50.0 + (t as usize % 5) as f64 * 3.0),
            ),
            (
                "spikes",
                probed(1.0, 90.0, |t| {
                    40.0 + noise(t)
                        + if (t as usize).is_multiple_of(13) {
                            30.0
                        } else {
                            0.0
                        }
                }),
            ),
            // Start-up: 10 → 110 MB in the first 5 s, flat afterwards.
            (
                "warm-up",
                probed(1.0, 90.0, |t| 10.0 + 20.0 * t.min(5.0) + noise(t)),
            ),
        ];
        for (name, series) in cases {
            let leaks = run(&series);
            assert!(leaks.is_empty(), "{name}: {leaks:?}");
        }
    }

    #[test]
    fn probes_come_fast_while_the_heap_climbs_and_stay_within_their_budget() {
        let config = Config::default();
        let mut d = Detector::new(config);
        assert_eq!(d.probe_after_ms(), None, "nothing measured yet");
        d.observe(&major(0.0, 50.0));
        assert_eq!(d.probe_after_ms(), None, "one measurement");
        d.observe(&major(60.0, 50.6));
        assert_eq!(d.probe_after_ms(), Some(5_000.0), "grew slowly");
        // 10 MB/s on 50 MB: 200 MB over the rate window.
        d.observe(&major(62.0, 70.0));
        assert_eq!(d.probe_after_ms(), Some(1_000.0), "climbing");
        // A forced GC of 90 MB paused 300 ms: the next waits 3 s or more.
        d.observe(&GcSample {
            forced: true,
            pause_ms: 300.0,
            ..major(64.0, 90.0)
        });
        assert_eq!(d.probe_after_ms(), Some(3_000.0));
        // … and longer as the heap grows.
        d.observe(&major(67.0, 120.0));
        assert!((d.probe_after_ms().unwrap() - 4_000.0).abs() < 1e-6);
        // Off.
        let d = Detector::new(Config {
            probe_every_ms: 0.0,
            ..config
        });
        assert_eq!(d.probe_after_ms(), None);
    }

    #[test]
    fn a_flat_heap_is_never_probed_and_growth_is_probed_until_it_stops() {
        let mut d = Detector::new(Config::default());
        // V8's own full GCs on a flat heap (noise of 0.2 MB): no probe.
        for i in 0..20 {
            d.observe(&major(90.0 * i as f64, 50.0 + 0.2 * (i % 2) as f64));
            assert_eq!(d.probe_after_ms(), None, "flat, GC {i}");
        }
        // Growth of half a MB (a quarter of min_growth) over the low point
        // brings probes; the first that finds no more growth ends them.
        d.observe(&major(1800.0, 50.6));
        assert_eq!(d.probe_after_ms(), Some(5_000.0));
        d.observe(&major(1805.0, 51.2));
        assert_eq!(d.probe_after_ms(), Some(5_000.0));
        d.observe(&major(1810.0, 51.3));
        assert_eq!(d.probe_after_ms(), None);
        // A slow leak (0.3 MB/min) seen by V8's own full GCs alone, one
        // every 90 s, still makes an event within the hour.
        let mut leaks = Vec::new();
        let mut probes = 0;
        let (mut t, mut mb) = (1810.0, 51.3);
        while t < 1810.0 + 3600.0 {
            let wait = d.probe_after_ms().map_or(90.0, |ms| {
                probes += 1;
                ms / 1000.0
            });
            t += wait;
            mb += 0.3 * wait / 60.0;
            leaks.extend(d.observe(&major(t, mb)).leaks);
        }
        assert!(!leaks.is_empty(), "0.3 MB/min over an hour is a leak");
        assert!(probes < 30, "{probes} probes for a slow leak");
    }

    #[test]
    fn probes_slow_down_once_the_rate_rule_fired() {
        let mut d = Detector::new(Config::default());
        let mut fired = false;
        for (t, mb) in probed(1.0, 30.0, |t| 35.0 + 25.0 * t) {
            fired |= d
                .observe(&major(t, mb))
                .leaks
                .iter()
                .any(|l| l.rule == Rule::Rate);
            if fired {
                assert_eq!(d.probe_after_ms(), Some(5_000.0), "at {t} s");
            }
        }
        assert!(fired);
    }

    #[test]
    fn fit_is_exact_on_a_line() {
        let fit = fit_line(&[(0.0, 1), (1.0, 3), (2.0, 5)]).unwrap();
        assert!((fit.slope - 2.0).abs() < 1e-12 && (fit.r2 - 1.0).abs() < 1e-12);
        assert!(fit_line(&[(1.0, 1), (1.0, 2)]).is_none());
    }
}
