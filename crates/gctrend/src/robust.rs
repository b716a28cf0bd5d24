//! Rank-based trend statistics for noisy series: Mann–Kendall's test (is
//! there a monotonic trend at all?) and Theil–Sen's slope (how steep?).
//! Both look only at the order of pairs, so a few GCs that caught a burst
//! of garbage, or a dip, move them little where a least-squares line
//! swings.

/// Rising pairs minus falling pairs of `ys`, in time order.
fn kendall_s(ys: &[u64]) -> i64 {
    let mut s = 0i64;
    for (i, a) in ys.iter().enumerate() {
        for b in &ys[i + 1..] {
            s += (b > a) as i64 - (b < a) as i64;
        }
    }
    s
}

/// Mann–Kendall's one-sided p-value that `ys` (in time order) has no
/// upward trend: the normal approximation of S, with the tie correction
/// and a continuity correction.
pub fn mann_kendall(ys: &[u64]) -> f64 {
    let s = kendall_s(ys);
    // Variance of S under no trend, less what tied values take away.
    let mut sorted = ys.to_vec();
    sorted.sort_unstable();
    let ties: f64 = sorted
        .chunk_by(|a, b| a == b)
        .map(|g| {
            let t = g.len() as f64;
            t * (t - 1.0) * (2.0 * t + 5.0)
        })
        .sum();
    let n = ys.len() as f64;
    let var = (n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0;
    let z = match s.signum() {
        _ if var <= 0.0 => 0.0,
        1 => (s - 1) as f64 / var.sqrt(),
        -1 => (s + 1) as f64 / var.sqrt(),
        _ => 0.0,
    };
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Theil–Sen's line through `(t, y)`: the median of the slopes between
/// all pairs with distinct times, and the median intercept for it.
/// `None` when all times are equal.
pub fn theil_sen(points: &[(f64, u64)]) -> Option<(f64, f64)> {
    let mut slopes = Vec::with_capacity(points.len() * points.len() / 2);
    for (i, &(t0, y0)) in points.iter().enumerate() {
        for &(t1, y1) in &points[i + 1..] {
            if t1 != t0 {
                slopes.push((y1 as f64 - y0 as f64) / (t1 - t0));
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut intercepts: Vec<f64> = points.iter().map(|&(t, y)| y as f64 - slope * t).collect();
    Some((slope, median(&mut intercepts)?))
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let m = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[m]
    } else {
        (values[m - 1] + values[m]) / 2.0
    })
}

/// The complementary error function, to 1.2e-7 (Numerical Recipes'
/// Chebyshev fit): enough for a p-value.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mann_kendall_on_known_series() {
        // Strictly rising, n = 10: S = 45, var = 125, z = 44 / √125.
        let rising: Vec<u64> = (1..=10).collect();
        assert_eq!(kendall_s(&rising), 45);
        assert!((mann_kendall(&rising) - 4.15e-5).abs() < 1e-6);
        // Flat: no evidence at all; falling: none of a rise.
        assert_eq!(kendall_s(&[5; 8]), 0);
        assert!((mann_kendall(&[5; 8]) - 0.5).abs() < 1e-6);
        assert!(mann_kendall(&[9, 8, 7, 6, 5]) > 0.95);
        // Ties shrink the variance: 4 × 10 then 3 × 20 gives S = 12,
        // var = (798 − 156 − 66) / 18 = 32, z = 11 / √32.
        let tied = [10, 10, 10, 10, 20, 20, 20];
        assert_eq!(kendall_s(&tied), 12);
        assert!((mann_kendall(&tied) - 0.025_915).abs() < 1e-5);
    }

    #[test]
    fn theil_sen_ignores_an_outlier() {
        let mut points: Vec<(f64, u64)> = (0..9).map(|i| (i as f64, 100 + 2 * i)).collect();
        points[4].1 = 1000;
        let (slope, intercept) = theil_sen(&points).unwrap();
        assert!((slope - 2.0).abs() < 1e-9 && (intercept - 100.0).abs() < 1e-9);
        assert!(theil_sen(&[(1.0, 1), (1.0, 5)]).is_none());
    }

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (1.0, 0.157_299_2),
            (2.0, 0.004_677_7),
            (-1.0, 1.842_700_8),
        ] {
            assert!((erfc(x) - want).abs() < 1e-6, "erfc({x}) = {}", erfc(x));
        }
    }
}
