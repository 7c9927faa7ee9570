//! Small-sample statistics for comparing runs: the Student t distribution (statrs), confidence
//! intervals, the paired t-test and Holm's step-down correction for several comparisons.
//!
//! The functions return `None` instead of panicking or producing NaN on degenerate input.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Student's t distribution with `df` degrees of freedom, `None` unless `df` is finite and > 0.
fn students_t(df: f64) -> Option<StudentsT> {
    if !(df.is_finite() && df > 0.0) {
        return None;
    }
    StudentsT::new(0.0, 1.0, df).ok()
}

/// Cumulative distribution function of Student's t distribution with `df > 0`
/// degrees of freedom. Returns `None` for `df <= 0` or non-finite input
/// (infinite `t` is fine).
pub fn t_cdf(t: f64, df: f64) -> Option<f64> {
    if t.is_nan() {
        return None;
    }
    let dist = students_t(df)?;
    if t.is_infinite() {
        return Some(if t > 0.0 { 1.0 } else { 0.0 });
    }
    Some(dist.cdf(t))
}

/// Quantile (inverse CDF) of Student's t distribution: the `t` with
/// `t_cdf(t, df) == p`, for `0 < p < 1`.
pub fn t_quantile(p: f64, df: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let q = students_t(df)?.inverse_cdf(p);
    q.is_finite().then_some(q)
}

/// Holm's step-down adjustment of `p_values` (one per comparison of a family), in the input
/// order: with the p-values sorted ascending, `p_(i)` becomes `max_{j <= i} min(1, (m - j) p_(j))`
/// for `m` comparisons (0-based `j`). Rejecting where the adjusted value is below α controls the
/// family-wise error rate at α, with no assumption about how the comparisons depend on each
/// other. `None` if a p-value is outside `[0, 1]` or NaN.
pub fn holm(p_values: &[f64]) -> Option<Vec<f64>> {
    if p_values.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return None;
    }
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    Some(adjusted)
}

/// Mean, sample standard deviation and Student-t confidence interval of a
/// set of measurements.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1 denominator); 0 for a single value.
    pub std: f64,
    /// Half width of the 95 % confidence interval of the mean
    /// (`t_{0.975, n-1} * std / sqrt(n)`); `None` with fewer than 2 values.
    pub ci95: Option<f64>,
}

/// Summarizes `values` (mean, sample std, 95 % CI half width). `None` if empty
/// or if any value is not finite.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let ci95 = if n > 1 {
        t_quantile(0.975, (n - 1) as f64).map(|q| q * std / (n as f64).sqrt())
    } else {
        None
    };
    Some(Summary { n, mean, std, ci95 })
}

/// Result of a paired two-sided t-test of `a - b`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PairedTest {
    /// Number of pairs.
    pub n: usize,
    /// Mean of the differences `a_i - b_i`.
    pub mean_diff: f64,
    /// Sample standard deviation of the differences.
    pub std_diff: f64,
    /// The t statistic (`None` when the differences have zero variance).
    pub t: Option<f64>,
    /// Two-sided p-value. With zero-variance differences it is 1 when the
    /// mean difference is 0 and 0 otherwise (a perfectly consistent gap);
    /// `None` with fewer than 2 pairs.
    pub p_value: Option<f64>,
}

/// Paired two-sided Student t-test of `a` against `b` (same length, element
/// `i` of both measured under the same conditions, e.g. same fold and seed).
/// Returns `None` when the lengths differ, fewer than 1 pair is given, or a
/// value is not finite.
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Option<PairedTest> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let s = summarize(&d)?;
    if s.n < 2 {
        return Some(PairedTest {
            n: s.n,
            mean_diff: s.mean,
            std_diff: 0.0,
            t: None,
            p_value: None,
        });
    }
    let se = s.std / (s.n as f64).sqrt();
    // Differences identical up to rounding: no spread to test against.
    if se <= 1e-12 * (1.0 + s.mean.abs()) {
        let p = if s.mean.abs() <= 1e-12 { 1.0 } else { 0.0 };
        return Some(PairedTest {
            n: s.n,
            mean_diff: s.mean,
            std_diff: s.std,
            t: None,
            p_value: Some(p),
        });
    }
    let t = s.mean / se;
    let df = (s.n - 1) as f64;
    let p = t_cdf(-t.abs(), df).map(|c| (2.0 * c).min(1.0));
    Some(PairedTest {
        n: s.n,
        mean_diff: s.mean,
        std_diff: s.std,
        t: Some(t),
        p_value: p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
    }

    // Reference values: scipy.stats.t.cdf(t, df).
    #[test]
    fn t_cdf_matches_scipy() {
        let cases = [
            (0.0, 4.0, 0.5),
            (1.0, 1.0, 0.75),
            (2.0, 4.0, 0.941_941_738_241_592_2),
            (-1.5, 9.0, 0.083_925_328_028_537_53),
            (2.776_445_105_197_793, 4.0, 0.975),
            (3.0, 29.0, 0.997_250_403_933_048_3),
            (-0.5, 2.0, 0.333_333_333_333_333_37),
        ];
        for (t, df, want) in cases {
            close(t_cdf(t, df).unwrap(), want, 1e-12);
        }
        assert_eq!(t_cdf(f64::INFINITY, 3.0), Some(1.0));
        assert_eq!(t_cdf(1.0, 0.0), None);
        assert_eq!(t_cdf(f64::NAN, 3.0), None);
    }

    // Reference values: scipy.stats.t.ppf(0.975, df).
    #[test]
    fn t_quantile_matches_scipy() {
        let cases = [
            (1.0, 12.706_204_736_174_694),
            (2.0, 4.302_652_729_749_462),
            (4.0, 2.776_445_105_197_793_4),
            (9.0, 2.262_157_162_798_205),
            (29.0, 2.045_229_642_132_703),
        ];
        for (df, want) in cases {
            close(t_quantile(0.975, df).unwrap(), want, 1e-9);
        }
        close(
            t_quantile(0.025, 4.0).unwrap(),
            -2.776_445_105_197_793_4,
            1e-9,
        );
        assert_eq!(t_quantile(1.0, 4.0), None);
    }

    // Reference: numpy mean / std(ddof=1) and t.ppf(0.975, 4) * s / sqrt(5).
    #[test]
    fn summary_and_ci() {
        let s = summarize(&[0.80, 0.82, 0.79, 0.85, 0.81]).unwrap();
        assert_eq!(s.n, 5);
        close(s.mean, 0.814, 1e-12);
        close(s.std, 0.023_021_728_866_442_645, 1e-12);
        close(s.ci95.unwrap(), 0.028_585_251_909_870_18, 1e-9);
        let one = summarize(&[0.5]).unwrap();
        assert_eq!((one.std, one.ci95), (0.0, None));
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[1.0, f64::NAN]), None);
    }

    // Reference: scipy.stats.ttest_rel(a, b) -> statistic 3.88197983532378,
    // pvalue 0.017811325477956916.
    #[test]
    fn paired_test_matches_scipy() {
        let a = [0.80, 0.82, 0.79, 0.85, 0.81];
        let b = [0.75, 0.80, 0.78, 0.79, 0.77];
        let r = paired_t_test(&a, &b).unwrap();
        close(r.t.unwrap(), 3.881_979_835_323_78, 1e-9);
        close(r.p_value.unwrap(), 0.017_811_325_477_956_916, 1e-10);
        close(r.mean_diff, 0.036, 1e-12);
        // Antisymmetric.
        let r2 = paired_t_test(&b, &a).unwrap();
        close(r2.t.unwrap(), -3.881_979_835_323_78, 1e-9);
        close(r2.p_value.unwrap(), r.p_value.unwrap(), 1e-14);
    }

    // Reference: statsmodels.stats.multitest.multipletests(p, method="holm")[1] for
    // p = [0.01, 0.04, 0.03, 0.005]: [0.03, 0.06, 0.06, 0.02] (by hand: sorted 0.005, 0.01,
    // 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04, then the running maximum).
    #[test]
    fn holm_matches_statsmodels() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]).unwrap();
        for (got, want) in adj.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            close(*got, want, 1e-15);
        }
        // Capped at 1; a single comparison is unchanged; ties keep their order.
        assert_eq!(holm(&[0.6, 0.7]).unwrap(), [1.0, 1.0]);
        assert_eq!(holm(&[0.2]).unwrap(), [0.2]);
        assert_eq!(holm(&[0.02, 0.02]).unwrap(), [0.04, 0.04]);
        assert_eq!(holm(&[]).unwrap(), Vec::<f64>::new());
        assert_eq!(holm(&[0.1, f64::NAN]), None);
        assert_eq!(holm(&[1.5]), None);
    }

    #[test]
    fn paired_test_degenerate_inputs() {
        assert_eq!(paired_t_test(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(paired_t_test(&[], &[]), None);
        assert_eq!(paired_t_test(&[0.5], &[0.4]).unwrap().p_value, None);
        let same = paired_t_test(&[0.5, 0.6], &[0.5, 0.6]).unwrap();
        assert_eq!(same.p_value, Some(1.0));
        let shifted = paired_t_test(&[0.5, 0.6], &[0.4, 0.5]).unwrap();
        assert_eq!(shifted.p_value, Some(0.0));
    }
}
