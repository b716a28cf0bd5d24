//! A verdict on a whole recorded series of GCs (a `--trace-gc` log), where
//! the live detector judges GC by GC.
//!
//! The heap after a GC is live data plus garbage the GC did not reach (a
//! scavenge leaves old-space garbage; a spike of short-lived objects
//! inflates one GC; incremental marking keeps what died while it ran), so
//! from one full GC to the next it swings by more than a slow leak adds.
//!
//! With five or more full GCs after warm-up, spread over all three thirds
//! of the span, the verdict is a rank test on the heap after them:
//! Mann–Kendall's test says whether it rises at all (one-sided, p ≤ 0.05),
//! Theil–Sen's slope how much (at least 512 KiB and a tenth of the heap
//! over the span); the later half of those GCs must still rise at a
//! quarter of that slope, so a cache that fills and stops is not a leak;
//! and the lowest of them in the last third must be above the lowest in
//! the first, so a sawtooth of garbage (which rises in ranks, then falls
//! back) is not one either. One low GC in the wrong third no longer hides
//! a leak, as it did when the thirds' minima alone decided.
//!
//! With fewer full GCs, or clumps of them at the start and the end, the
//! series is cut into thirds of its time span and each third is judged by
//! its minimum, the *lower envelope* of every GC: a leak raises every
//! third above the one before; a cache that fills and stops raises the
//! first step only; bursts and sawtooth garbage do not move the minima.
//! Sparse logs (a few full GCs minutes apart, an empty middle third) are
//! judged on the thirds they have.

use serde::Serialize;

use crate::robust::{mann_kendall, theil_sen};

/// V8's `--trace-gc` megabyte (2^20 bytes): summaries use the log's units.
const MB: f64 = 1024.0 * 1024.0;

/// One GC of the series.
#[derive(Debug, Clone, Copy)]
pub struct SeriesPoint {
    pub at_ms: f64,
    pub heap_used: u64,
    pub full: bool,
    pub pause_ms: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct SeriesConfig {
    /// GCs before this time (since the process started) are warm-up,
    /// unless fewer than three would remain.
    pub warmup_ms: f64,
    /// Growth below this never counts as a leak: five times the 0.1 MB the
    /// log prints. The share below decides on heaps over 5 MB.
    pub min_growth: u64,
    /// Nor growth below this share of the starting heap: what matters on a
    /// 5 MB heap is noise on a 500 MB one.
    pub min_share: f64,
    /// Each step between thirds must carry at least this share of an even
    /// step of the total growth; with the trend test, the later half of
    /// the full GCs must rise at this share of the whole slope.
    pub min_step: f64,
    /// Full GCs after warm-up the trend test needs; fewer are judged by
    /// the thirds' minima.
    pub trend_min_full: usize,
    /// One-sided significance level of Mann–Kendall's test.
    pub trend_alpha: f64,
}

impl Default for SeriesConfig {
    fn default() -> Self {
        SeriesConfig {
            warmup_ms: 5_000.0,
            min_growth: 512 << 10,
            min_share: 0.10,
            min_step: 0.25,
            trend_min_full: 5,
            trend_alpha: 0.05,
        }
    }
}

/// Full GCs the trend test ranks at most: a day's log has tens of
/// thousands, and the test is quadratic. More are thinned to the lowest
/// heap per run of consecutive full GCs.
const MAX_RANKED: usize = 256;

#[derive(Debug, Clone, Serialize)]
pub struct SeriesVerdict {
    pub leak_suspected: bool,
    /// One line, e.g. "leak suspected: heap after GC grows 21.5 MB/min over
    /// 10.4 min (10.9 → 235.7 MB), full-GC pauses grew 14.3×".
    pub summary: String,
    /// Theil–Sen's line at the first and the last full GC when the trend
    /// test found a leak; else the lowest heap after GC in the first and
    /// the last third.
    pub start_heap: u64,
    pub end_heap: u64,
    pub growth: i64,
    /// In V8's megabytes (2^20 bytes), as the log prints them.
    pub mb_per_hour: f64,
    pub span_ms: f64,
    /// Fit of a line through the heap after each full GC (or each third's
    /// minimum when there are fewer than three full GCs).
    pub fit_r2: Option<f64>,
    /// Mann–Kendall's one-sided p-value that the heap after full GC does
    /// not rise; present when there were enough full GCs for the test.
    pub trend_p: Option<f64>,
    /// Longest full-GC pause of the last third over that of the first.
    pub pause_growth: Option<f64>,
    pub gcs_judged: usize,
}

/// Judges a series ordered by time.
pub fn judge_series(points: &[SeriesPoint], config: &SeriesConfig) -> SeriesVerdict {
    let points = without_warmup(points, config);
    let mut verdict = SeriesVerdict::unjudged(points.len());
    if points.len() < 3 {
        verdict.summary = format!(
            "not enough GCs to judge ({}): run longer or under load",
            points.len()
        );
        return verdict;
    }
    let thirds = Thirds::of(&points);
    verdict.span_ms = thirds.span;
    let (Some(first), Some(last)) = (thirds.low[0], thirds.low[2]) else {
        verdict.summary = "not enough GCs to judge: all of them ran at about the same time".into();
        return verdict;
    };
    verdict.pause_growth = thirds.pause_growth();
    let full: Vec<(f64, u64)> = points
        .iter()
        .filter(|p| p.full)
        .map(|p| (p.at_ms, p.heap_used))
        .collect();
    verdict.fit_r2 = fit_r2(&full, &thirds);
    let decision = decide(&full, &thirds, (first, last), config);
    verdict.leak_suspected = decision.leak;
    verdict.trend_p = decision.trend_p;
    verdict.set_growth(decision.judged);
    verdict.summary = summary(&verdict, &decision, thirds.span, full.len());
    verdict
}

/// The GCs after warm-up, unless fewer than three would remain.
fn without_warmup(points: &[SeriesPoint], config: &SeriesConfig) -> Vec<SeriesPoint> {
    let after_warmup: Vec<SeriesPoint> = points
        .iter()
        .copied()
        .filter(|p| p.at_ms >= config.warmup_ms)
        .collect();
    if after_warmup.len() >= 3 {
        after_warmup
    } else {
        points.to_vec()
    }
}

impl SeriesVerdict {
    /// No leak, no numbers yet: `gcs` GCs to judge.
    fn unjudged(gcs: usize) -> SeriesVerdict {
        SeriesVerdict {
            leak_suspected: false,
            summary: String::new(),
            start_heap: 0,
            end_heap: 0,
            growth: 0,
            mb_per_hour: 0.0,
            span_ms: 0.0,
            fit_r2: None,
            trend_p: None,
            pause_growth: None,
            gcs_judged: gcs,
        }
    }

    /// Start, end and rate from the heap at `start` and `end`, `elapsed`
    /// milliseconds apart.
    fn set_growth(&mut self, (start, end, elapsed): (f64, f64, f64)) {
        self.start_heap = start.max(0.0).round() as u64;
        self.end_heap = end.max(0.0).round() as u64;
        self.growth = self.end_heap as i64 - self.start_heap as i64;
        self.mb_per_hour = (end - start) / MB / (elapsed.max(1.0) / 3.6e6);
    }
}

/// The series cut into thirds of its time span.
struct Thirds {
    t0: f64,
    span: f64,
    /// Lowest point per third: the lower envelope of every GC.
    low: [Option<SeriesPoint>; 3],
    /// Longest full-GC pause per third.
    longest: [f64; 3],
}

impl Thirds {
    fn of(points: &[SeriesPoint]) -> Thirds {
        let (t0, t1) = (points[0].at_ms, points[points.len() - 1].at_ms);
        let mut thirds = Thirds {
            t0,
            span: t1 - t0,
            low: [None; 3],
            longest: [0.0; 3],
        };
        for p in points {
            let k = thirds.third_of(p.at_ms);
            if thirds.low[k].is_none_or(|l| p.heap_used < l.heap_used) {
                thirds.low[k] = Some(*p);
            }
            if p.full {
                thirds.longest[k] = thirds.longest[k].max(p.pause_ms);
            }
        }
        thirds
    }

    fn third_of(&self, t: f64) -> usize {
        if self.span <= 0.0 {
            0
        } else {
            (((t - self.t0) / self.span * 3.0) as usize).min(2)
        }
    }

    /// Longest full-GC pause of the last third over that of the first.
    fn pause_growth(&self) -> Option<f64> {
        (self.longest[0] > 0.0 && self.longest[2] > 0.0).then(|| self.longest[2] / self.longest[0])
    }
}

/// Fit of a line through the heap after each full GC, or through each
/// third's minimum when there are fewer than three full GCs.
fn fit_r2(full: &[(f64, u64)], thirds: &Thirds) -> Option<f64> {
    let fitted: Vec<(f64, u64)> = if full.len() >= 3 {
        full.to_vec()
    } else {
        thirds
            .low
            .iter()
            .flatten()
            .map(|p| (p.at_ms, p.heap_used))
            .collect()
    };
    crate::fit_line(&fitted).map(|f| f.r2)
}

/// What the series shows, before it is put in words.
struct Decision {
    leak: bool,
    /// The heap at the start and the end of what was judged, and the
    /// milliseconds between them.
    judged: (f64, f64, f64),
    trend_p: Option<f64>,
    /// The thirds' minima rose by the floor (what a cache that filled
    /// shows too).
    grew: bool,
    /// Growth shaped like a leak whose trend is not significant yet: too
    /// few full GCs for the rank test to tell it from noise.
    too_few_to_tell: bool,
}

/// The trend test on the full GCs when there are enough of them in every
/// third, else the thirds' minima.
fn decide(
    full: &[(f64, u64)],
    thirds: &Thirds,
    (first, last): (SeriesPoint, SeriesPoint),
    config: &SeriesConfig,
) -> Decision {
    let growth = last.heap_used as i64 - first.heap_used as i64;
    let floor = |heap: f64| (config.min_growth as f64).max(config.min_share * heap);
    let grew = growth > 0 && growth as f64 >= floor(first.heap_used as f64);
    // Lowest full GC per third; full GCs in every third, or the log is cut
    // to its start and end (two clumps), two measurements however many GCs
    // each holds.
    let mut full_low = [u64::MAX; 3];
    for &(t, heap) in full {
        let k = thirds.third_of(t);
        full_low[k] = full_low[k].min(heap);
    }
    let ranked = full.len() >= config.trend_min_full && full_low.iter().all(|&l| l < u64::MAX);
    // By the minima unless the trend test finds the leak.
    let mut decision = Decision {
        leak: false,
        judged: (
            first.heap_used as f64,
            last.heap_used as f64,
            last.at_ms - first.at_ms,
        ),
        trend_p: None,
        grew,
        too_few_to_tell: false,
    };
    if ranked {
        let trend = trend(full);
        decision.trend_p = Some(trend.p_rising);
        // Significant, beyond the floor, still rising in the later half,
        // and the lowest full GC of the last third above that of the
        // first: a sawtooth of garbage rises in ranks but comes back down.
        let shaped = trend.end - trend.start >= floor(trend.start)
            && trend.late_share >= config.min_step
            && full_low[2] > full_low[0];
        decision.leak = shaped && trend.p_rising <= config.trend_alpha;
        decision.too_few_to_tell = shaped && !decision.leak;
        if decision.leak {
            decision.judged = (trend.start, trend.end, full[full.len() - 1].0 - full[0].0);
        }
    } else {
        decision.leak = grew
            && match thirds.low[1] {
                None => true,
                Some(middle) => {
                    let step = config.min_step * growth as f64 / 2.0;
                    (middle.heap_used as f64 - first.heap_used as f64) >= step
                        && (last.heap_used as f64 - middle.heap_used as f64) >= step
                }
            };
    }
    decision
}

/// The verdict in one line.
fn summary(verdict: &SeriesVerdict, decision: &Decision, span: f64, full_gcs: usize) -> String {
    let mb = |b: u64| b as f64 / MB;
    let range = format!(
        "{:.1} → {:.1} MB",
        mb(verdict.start_heap),
        mb(verdict.end_heap)
    );
    if verdict.leak_suspected {
        let mut s = format!(
            "leak suspected: heap after GC grows {} over {} ({range})",
            rate(verdict.mb_per_hour),
            crate::duration(span),
        );
        if let Some(g) = verdict.pause_growth.filter(|&g| g >= 1.5) {
            s.push_str(&format!(", full-GC pauses grew {g:.1}×"));
        }
        s
    } else if decision.too_few_to_tell {
        format!(
            "no significant growth yet: the heap after GC rose ({range}) over {}, but {full_gcs} full GCs cannot tell it from noise (trend p {:.2}); record longer",
            crate::duration(span),
            verdict.trend_p.unwrap_or(1.0),
        )
    } else if decision.grew {
        format!(
            "no sustained growth: the heap grew ({range}) and then levelled off, as a cache that fills up does"
        )
    } else {
        format!(
            "no sustained growth: heap after GC {range} over {}",
            crate::duration(span)
        )
    }
}

/// The trend test's view of the heap after full GC.
struct Trend {
    p_rising: f64,
    /// Theil–Sen's line at the first and the last full GC.
    start: f64,
    end: f64,
    /// The later half's Theil–Sen slope over the whole series' slope.
    late_share: f64,
}

fn trend(full: &[(f64, u64)]) -> Trend {
    let thinned: Vec<(f64, u64)>;
    let full = if full.len() > MAX_RANKED {
        thinned = full
            .chunks(full.len().div_ceil(MAX_RANKED))
            .map(|run| {
                *run.iter()
                    .min_by_key(|p| p.1)
                    .expect("chunks are not empty")
            })
            .collect();
        &thinned[..]
    } else {
        full
    };
    let heaps: Vec<u64> = full.iter().map(|p| p.1).collect();
    let p_rising = mann_kendall(&heaps);
    let (t0, t1) = (full[0].0, full[full.len() - 1].0);
    let (slope, intercept) = theil_sen(full).unwrap_or((0.0, heaps[0] as f64));
    let late = theil_sen(&full[full.len() / 2..]).map_or(0.0, |l| l.0);
    Trend {
        p_rising,
        start: intercept + slope * t0,
        end: intercept + slope * t1,
        late_share: if slope > 0.0 { late / slope } else { 0.0 },
    }
}

/// "21.5 MB/min" or "120 MB/hour".
fn rate(mb_per_hour: f64) -> String {
    if mb_per_hour >= 60.0 {
        format!("{:.1} MB/min", mb_per_hour / 60.0)
    } else {
        format!("{mb_per_hour:.1} MB/hour")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(f64, f64)]) -> Vec<SeriesPoint> {
        points
            .iter()
            .map(|&(s, mb)| SeriesPoint {
                at_ms: s * 1000.0,
                heap_used: (mb * MB) as u64,
                full: true,
                pause_ms: mb,
            })
            .collect()
    }

    #[test]
    fn steady_growth_is_a_leak() {
        let points: Vec<(f64, f64)> = (0..30)
            .map(|i| (10.0 + i as f64 * 10.0, 20.0 + i as f64 * 2.0))
            .collect();
        let v = judge_series(&series(&points), &SeriesConfig::default());
        assert!(v.leak_suspected, "{}", v.summary);
        assert!((v.mb_per_hour - 720.0).abs() < 30.0, "{}", v.mb_per_hour);
        assert!(v.fit_r2.unwrap() > 0.99);
    }

    #[test]
    fn a_cache_that_fills_then_stops_is_not() {
        let points: Vec<(f64, f64)> = (0..30)
            .map(|i| (10.0 + i as f64 * 10.0, 20.0 + (i.min(8) as f64) * 5.0))
            .collect();
        let v = judge_series(&series(&points), &SeriesConfig::default());
        assert!(!v.leak_suspected, "{}", v.summary);
        assert!(v.summary.contains("levelled off"), "{}", v.summary);
    }

    #[test]
    fn spikes_and_sawtooth_do_not_move_the_floor() {
        let points: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                (
                    10.0 + i as f64,
                    30.0 + (i % 10) as f64 * 4.0 + if i == 40 { 80.0 } else { 0.0 },
                )
            })
            .collect();
        let v = judge_series(&series(&points), &SeriesConfig::default());
        assert!(!v.leak_suspected, "{}", v.summary);
    }

    /// Issue #11: heap after Mark-Compact over 25 s of a slow leak under
    /// churn. The thirds' minima (5.4, 5.1, 5.8 MB) did not rise in step.
    const NOISY_SLOW_LEAK: [f64; 10] = [5.5, 5.4, 5.6, 5.1, 5.8, 5.9, 5.8, 6.5, 6.6, 7.5];

    fn every(seconds: f64, from: f64, mbs: &[f64]) -> Vec<(f64, f64)> {
        mbs.iter()
            .enumerate()
            .map(|(i, &mb)| (from + i as f64 * seconds, mb))
            .collect()
    }

    #[test]
    fn a_noisy_slow_leak_is_a_leak() {
        let points = every(25.0 / 9.0, 5.5, &NOISY_SLOW_LEAK);
        let v = judge_series(&series(&points), &SeriesConfig::default());
        assert!(v.leak_suspected, "{}", v.summary);
        assert!(v.trend_p.unwrap() < 0.01, "{v:?}");
        assert!(
            v.summary.starts_with("leak suspected: heap after GC grows"),
            "{}",
            v.summary
        );
    }

    /// Six full GCs of the same leak on a loaded machine: shaped like a
    /// leak, but Mann–Kendall's p is 0.07. Not "levelled off", which it
    /// did not: undecided, and the summary says how to decide.
    #[test]
    fn too_few_full_gcs_are_undecided_not_levelled_off() {
        let points = every(3.6, 5.5, &[6.4, 6.7, 6.1, 7.7, 7.3, 9.0]);
        let v = judge_series(&series(&points), &SeriesConfig::default());
        assert!(!v.leak_suspected, "{}", v.summary);
        assert!(v.trend_p.unwrap() > 0.05, "{v:?}");
        assert!(
            v.summary.starts_with("no significant growth yet")
                && v.summary.contains("6 full GCs")
                && v.summary.ends_with("record longer"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn noise_without_growth_is_not() {
        let noise = [
            0.0, 0.4, -0.3, 0.2, 0.5, -0.4, 0.1, -0.2, 0.3, -0.1, 0.4, -0.5,
        ];
        let flat: Vec<f64> = (0..24).map(|i| 5.5 + noise[i % 12]).collect();
        let v = judge_series(&series(&every(1.2, 5.0, &flat)), &SeriesConfig::default());
        assert!(!v.leak_suspected, "{}", v.summary);
        // The same noise over a cache that fills to 9 MB in the first
        // third, then stops.
        let filling: Vec<f64> = (0..24)
            .map(|i| 5.5 + 0.5 * (i.min(7) as f64) + noise[i % 12])
            .collect();
        let v = judge_series(
            &series(&every(1.2, 5.0, &filling)),
            &SeriesConfig::default(),
        );
        assert!(!v.leak_suspected, "{}", v.summary);
        assert!(v.summary.contains("levelled off"), "{}", v.summary);
    }

    #[test]
    fn growth_is_measured_against_the_heap() {
        // 500 → 503 MB, steadily: significant, but 0.6 % of the heap.
        let big: Vec<f64> = (0..20).map(|i| 500.0 + i as f64 * 0.15).collect();
        let v = judge_series(&series(&every(2.0, 6.0, &big)), &SeriesConfig::default());
        assert!(!v.leak_suspected, "{}", v.summary);
        assert!(v.trend_p.unwrap() < 0.001);
        // 5 → 6.5 MB the same way is a leak, if below the old 2 MiB floor.
        let small: Vec<f64> = (0..20).map(|i| 5.0 + i as f64 * 0.08).collect();
        let v = judge_series(&series(&every(2.0, 6.0, &small)), &SeriesConfig::default());
        assert!(v.leak_suspected, "{}", v.summary);
    }

    #[test]
    fn long_series_are_ranked_thinned() {
        // A day of full GCs: 100 000 of them, each 25 kB above the last
        // with garbage on top of every third one.
        let points: Vec<SeriesPoint> = (0..100_000u64)
            .map(|i| SeriesPoint {
                at_ms: 10_000.0 + i as f64 * 800.0,
                heap_used: (20 << 20) + i * 25_000 + if i % 3 == 0 { 4 << 20 } else { 0 },
                full: true,
                pause_ms: 5.0,
            })
            .collect();
        let v = judge_series(&points, &SeriesConfig::default());
        assert!(v.leak_suspected, "{}", v.summary);
    }

    #[test]
    fn too_few_gcs() {
        let v = judge_series(
            &series(&[(10.0, 5.0), (20.0, 50.0)]),
            &SeriesConfig::default(),
        );
        assert!(!v.leak_suspected);
        assert!(v.summary.starts_with("not enough GCs"));
    }
}
