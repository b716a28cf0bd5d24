//! Leak verdicts from a series of garbage collections.
//!
//! The input is one [`GcSample`] per GC: its kind, pause and the heap in use
//! right after it. Only the heap after a *full* GC says anything about live
//! data (a scavenge leaves old-space garbage in place), so both rules look at
//! full GCs only:
//!
//! * **consecutive growth**, memwatch's rule: the heap after a full GC grew
//!   on N full GCs in a row (N = 5 by default);
//! * **trend**: over a window of full GCs after warm-up, a least-squares line
//!   through the heap sizes rises steeply enough, fits well, and the last
//!   third of the window lies entirely above the first third. A cache that
//!   fills then stops, or a burst of short-lived garbage, fails one of those.
//!
//! Both ignore a warm-up (start-up code, JIT and caches filling) and need a
//! minimum growth in bytes, so a few kilobytes of drift never raise an alarm.
//! After an event the evidence is cleared: the next event needs new growth.
//! Full GCs less than a second apart (a forced GC runs two in a row) count as
//! one measurement: the lower heap of the two.

mod series;

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
    /// `estimated_base` minus the long-run base: positive while growing.
    pub usage_trend: f64,
    /// Heap after full GC, smoothed over about the last 10 full GCs.
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
    /// Full GCs the trend test needs at least.
    pub trend_min_samples: usize,
    /// The trend test looks at full GCs of this many last milliseconds.
    pub trend_window_ms: f64,
    /// Goodness of fit the trend needs (R²).
    pub trend_min_r2: f64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            consecutive: 5,
            warmup_ms: 5_000.0,
            warmup_full_gcs: 1,
            min_growth: 2 << 20,
            trend_min_samples: 5,
            trend_window_ms: 10.0 * 60_000.0,
            trend_min_r2: 0.8,
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
    ancient_base: f64,
    /// Post-full-GC (time, heap) since warm-up, for the trend test.
    window: Vec<(f64, u64)>,
    /// Start of the current growth streak and its length.
    streak: Option<(f64, u64)>,
    streak_len: usize,
    previous: Option<(f64, u64)>,
    last_major_ms: Option<f64>,
}

/// Full GCs closer than this are one measurement.
const SAME_MEASUREMENT_MS: f64 = 1000.0;

const RECENT_PERIOD: f64 = 10.0;
const ANCIENT_PERIOD: f64 = 120.0;

impl Detector {
    pub fn new(config: Config) -> Detector {
        Detector {
            config,
            stats: Stats::default(),
            first_at: None,
            ancient_base: 0.0,
            window: Vec::new(),
            streak: None,
            streak_len: 0,
            previous: None,
            last_major_ms: None,
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn observe(&mut self, gc: &GcSample) -> Observation {
        let first_at = *self.first_at.get_or_insert(gc.at_ms);
        if gc.kind != GcKind::Major {
            self.stats.num_inc_gc += 1;
            return Observation::default();
        }
        self.update_stats(gc);
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
        let warm = gc.at_ms - first_at >= self.config.warmup_ms
            && self.stats.num_full_gc as usize > self.config.warmup_full_gcs;
        if !warm {
            return observation;
        }
        observation.leaks.extend(self.consecutive_rule(gc));
        observation.leaks.extend(self.trend_rule(gc));
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
        // Plain means until the period is full, then exponential smoothing.
        s.estimated_base += (used - s.estimated_base) / n.min(RECENT_PERIOD);
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

    /// A second full GC right after another refines the same measurement.
    fn merge_into_last(&mut self, heap_used: u64) {
        if let Some(previous) = &mut self.previous {
            previous.1 = previous.1.min(heap_used);
        }
        if let Some(last) = self.window.last_mut() {
            last.1 = last.1.min(heap_used);
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
        if n < self.config.trend_min_samples {
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
        assert!((s.estimated_base - 12_000_000.0).abs() < 1.0);
    }

    #[test]
    fn fit_is_exact_on_a_line() {
        let fit = fit_line(&[(0.0, 1), (1.0, 3), (2.0, 5)]).unwrap();
        assert!((fit.slope - 2.0).abs() < 1e-12 && (fit.r2 - 1.0).abs() < 1e-12);
        assert!(fit_line(&[(1.0, 1), (1.0, 2)]).is_none());
    }
}
