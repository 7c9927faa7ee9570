//! Small-sample statistics for comparing runs: Student t distribution (via the
//! regularized incomplete beta function), confidence intervals and the paired
//! t-test.
//!
//! Everything here is pure `f64` arithmetic with no dependency; the functions
//! return `None` (or NaN-free defaults) instead of panicking on degenerate input.

/// Natural log of the gamma function for `x > 0` (Lanczos approximation, g = 7,
/// n = 9; relative error below 1e-14 on the range used here).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection formula.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction for the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const MAX_ITER: usize = 500;
    const EPS: f64 = 1e-15;
    const TINY: f64 = 1e-300;
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    // One Lentz step with coefficient `aa`: updates (c, d) and returns the factor c * d.
    let step = |aa: f64, c: &mut f64, d: &mut f64| {
        *d = 1.0 / nonzero(1.0 + aa * *d);
        *c = nonzero(1.0 + aa / *c);
        *c * *d
    };
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even step, then odd step of the fraction.
        h *= step(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        let del = step(
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            &mut c,
            &mut d,
        );
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Regularized incomplete beta function `I_x(a, b)` for `a, b > 0`,
/// `0 <= x <= 1`. Returns `None` for parameters outside that domain.
pub fn inc_beta(a: f64, b: f64, x: f64) -> Option<f64> {
    let valid = a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0 && (0.0..=1.0).contains(&x);
    if !valid {
        return None;
    }
    if x == 0.0 {
        return Some(0.0);
    }
    if x == 1.0 {
        return Some(1.0);
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    // Use the symmetry relation where the continued fraction converges fast.
    let v = if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    };
    Some(v.clamp(0.0, 1.0))
}

/// Cumulative distribution function of Student's t distribution with `df > 0`
/// degrees of freedom. Returns `None` for `df <= 0` or non-finite input
/// (infinite `t` is fine).
pub fn t_cdf(t: f64, df: f64) -> Option<f64> {
    if !(df.is_finite() && df > 0.0) || t.is_nan() {
        return None;
    }
    if t.is_infinite() {
        return Some(if t > 0.0 { 1.0 } else { 0.0 });
    }
    let x = df / (df + t * t);
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, x)?;
    Some(if t > 0.0 { 1.0 - tail } else { tail })
}

/// Quantile (inverse CDF) of Student's t distribution: the `t` with
/// `t_cdf(t, df) == p`, for `0 < p < 1`. Solved by bisection to ~1e-12.
pub fn t_quantile(p: f64, df: f64) -> Option<f64> {
    let valid = p > 0.0 && p < 1.0 && df.is_finite() && df > 0.0;
    if !valid {
        return None;
    }
    if p == 0.5 {
        return Some(0.0);
    }
    // Bracket: grow the interval until it contains the root.
    let (mut lo, mut hi) = (-1.0_f64, 1.0_f64);
    while t_cdf(lo, df)? > p {
        lo *= 2.0;
        if lo < -1e12 {
            return None;
        }
    }
    while t_cdf(hi, df)? < p {
        hi *= 2.0;
        if hi > 1e12 {
            return None;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df)? < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-13 * (1.0 + mid.abs()) {
            break;
        }
    }
    Some(0.5 * (lo + hi))
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

    #[test]
    fn ln_gamma_known_values() {
        close(ln_gamma(1.0), 0.0, 1e-13);
        close(ln_gamma(2.0), 0.0, 1e-13);
        close(ln_gamma(5.0), 24f64.ln(), 1e-12);
        close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-12);
        close(ln_gamma(0.1), 2.252_712_651_734_206, 1e-12);
    }

    // Reference values: scipy.special.betainc(a, b, x) (scipy 1.x).
    #[test]
    fn inc_beta_matches_scipy() {
        let cases = [
            (0.5, 0.5, 0.3, 0.369_010_119_565_545_36),
            (2.0, 3.0, 0.4, 0.524_8),
            (1.5, 0.5, 0.9, 0.604_181_303_590_592_1),
            (10.0, 0.5, 0.7, 0.008_322_504_862_464_206),
            (0.5, 20.0, 0.01, 0.471_369_935_485_015_4),
            (50.0, 0.5, 0.95, 0.023_872_705_496_990_76),
        ];
        for (a, b, x, want) in cases {
            close(inc_beta(a, b, x).unwrap(), want, 1e-12);
        }
        assert_eq!(inc_beta(2.0, 3.0, 0.0), Some(0.0));
        assert_eq!(inc_beta(2.0, 3.0, 1.0), Some(1.0));
        assert_eq!(inc_beta(-1.0, 3.0, 0.5), None);
        assert_eq!(inc_beta(1.0, 3.0, 1.5), None);
        assert_eq!(inc_beta(1.0, 3.0, f64::NAN), None);
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
