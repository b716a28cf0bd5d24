//! A verdict on a whole recorded series of GCs (a `--trace-gc` log), where
//! the live detector judges GC by GC.
//!
//! The heap after a GC is live data plus garbage the GC did not reach (a
//! scavenge leaves old-space garbage; a spike of short-lived objects
//! inflates one GC). Its *lower envelope* is what is really kept, so the
//! series is cut into thirds of its time span and each third is judged by
//! its minimum. A leak raises every third above the one before; a cache
//! that fills and stops raises the first step only; bursts and sawtooth
//! garbage do not move the minima. Sparse logs (a few full GCs minutes
//! apart, an empty middle third) are judged on the thirds they have.

use serde::Serialize;

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
    /// Growth below this never counts as a leak.
    pub min_growth: u64,
    /// Nor growth below this share of the starting heap.
    pub min_share: f64,
    /// Each step between thirds must carry at least this share of an even
    /// step of the total growth.
    pub min_step: f64,
}

impl Default for SeriesConfig {
    fn default() -> Self {
        SeriesConfig {
            warmup_ms: 5_000.0,
            min_growth: 2 << 20,
            min_share: 0.10,
            min_step: 0.25,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesVerdict {
    pub leak_suspected: bool,
    /// One line, e.g. "leak suspected: heap after GC grows 21.5 MB/min over
    /// 10.4 min (10.9 → 235.7 MB), full-GC pauses grew 14.3×".
    pub summary: String,
    /// Lowest heap after GC in the first and the last third.
    pub start_heap: u64,
    pub end_heap: u64,
    pub growth: i64,
    /// In V8's megabytes (2^20 bytes), as the log prints them.
    pub mb_per_hour: f64,
    pub span_ms: f64,
    /// Fit of a line through the heap after each full GC (or each third's
    /// minimum when there are fewer than three full GCs).
    pub fit_r2: Option<f64>,
    /// Longest full-GC pause of the last third over that of the first.
    pub pause_growth: Option<f64>,
    pub gcs_judged: usize,
}

/// Judges a series ordered by time.
pub fn judge_series(points: &[SeriesPoint], config: &SeriesConfig) -> SeriesVerdict {
    let after_warmup: Vec<SeriesPoint> = points
        .iter()
        .copied()
        .filter(|p| p.at_ms >= config.warmup_ms)
        .collect();
    let points: &[SeriesPoint] = if after_warmup.len() >= 3 {
        &after_warmup
    } else {
        points
    };
    let mut verdict = SeriesVerdict {
        leak_suspected: false,
        summary: String::new(),
        start_heap: 0,
        end_heap: 0,
        growth: 0,
        mb_per_hour: 0.0,
        span_ms: 0.0,
        fit_r2: None,
        pause_growth: None,
        gcs_judged: points.len(),
    };
    if points.len() < 3 {
        verdict.summary = format!(
            "not enough GCs to judge ({}): run longer or under load",
            points.len()
        );
        return verdict;
    }
    let (t0, t1) = (points[0].at_ms, points[points.len() - 1].at_ms);
    let span = t1 - t0;
    verdict.span_ms = span;
    let third_of = |t: f64| {
        if span <= 0.0 {
            0
        } else {
            (((t - t0) / span * 3.0) as usize).min(2)
        }
    };
    // Lowest point and longest full-GC pause per third.
    let mut low: [Option<SeriesPoint>; 3] = [None; 3];
    let mut longest = [0.0f64; 3];
    for p in points {
        let k = third_of(p.at_ms);
        if low[k].is_none_or(|l| p.heap_used < l.heap_used) {
            low[k] = Some(*p);
        }
        if p.full {
            longest[k] = longest[k].max(p.pause_ms);
        }
    }
    let (Some(first), Some(last)) = (low[0], low[2]) else {
        verdict.summary = "not enough GCs to judge: all of them ran at about the same time".into();
        return verdict;
    };
    let growth = last.heap_used as i64 - first.heap_used as i64;
    verdict.start_heap = first.heap_used;
    verdict.end_heap = last.heap_used;
    verdict.growth = growth;
    let elapsed = (last.at_ms - first.at_ms).max(1.0);
    verdict.mb_per_hour = growth as f64 / MB / (elapsed / 3.6e6);
    if longest[0] > 0.0 && longest[2] > 0.0 {
        verdict.pause_growth = Some(longest[2] / longest[0]);
    }
    let full: Vec<(f64, u64)> = points
        .iter()
        .filter(|p| p.full)
        .map(|p| (p.at_ms, p.heap_used))
        .collect();
    let fitted: Vec<(f64, u64)> = if full.len() >= 3 {
        full
    } else {
        low.iter()
            .flatten()
            .map(|p| (p.at_ms, p.heap_used))
            .collect()
    };
    verdict.fit_r2 = crate::fit_line(&fitted).map(|f| f.r2);

    let enough = growth > 0
        && growth as u64 >= config.min_growth
        && growth as f64 >= config.min_share * first.heap_used as f64;
    let steady = match low[1] {
        None => true,
        Some(middle) => {
            let step = config.min_step * growth as f64 / 2.0;
            (middle.heap_used as f64 - first.heap_used as f64) >= step
                && (last.heap_used as f64 - middle.heap_used as f64) >= step
        }
    };
    let mb = |b: u64| b as f64 / MB;
    let range = format!("{:.1} → {:.1} MB", mb(first.heap_used), mb(last.heap_used));
    verdict.leak_suspected = enough && steady;
    verdict.summary = if verdict.leak_suspected {
        let mut s = format!(
            "leak suspected: heap after GC grows {} over {} ({range})",
            rate(verdict.mb_per_hour),
            crate::duration(span)
        );
        if let Some(g) = verdict.pause_growth.filter(|&g| g >= 1.5) {
            s.push_str(&format!(", full-GC pauses grew {g:.1}×"));
        }
        s
    } else if enough {
        format!(
            "no sustained growth: the heap grew ({range}) and then levelled off, as a cache that fills up does"
        )
    } else {
        format!(
            "no sustained growth: heap after GC {range} over {}",
            crate::duration(span)
        )
    };
    verdict
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
