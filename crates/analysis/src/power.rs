//! Power of the two-sided paired t-test, from the noncentral t distribution.
//!
//! For `n` pairs whose differences have mean `mu` and standard deviation `sigma`, the paired
//! t statistic follows a noncentral t with `n - 1` degrees of freedom and noncentrality
//! `d * sqrt(n)`, where `d = mu / sigma` is the standardized effect. The test rejects when
//! `|t| > t_{1 - alpha/2, n - 1}`; its power is the probability of that. This is statsmodels'
//! `TTestPower(...).power(effect_size=d, nobs=n, alpha=alpha, alternative="two-sided")`.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::beta_reg;
use statrs::function::gamma::ln_gamma;

use crate::{check_open_probability, AnalysisError};

/// Cumulative distribution function of the noncentral t distribution with `df` degrees of
/// freedom and noncentrality `ncp`, at `t`.
///
/// The series of Lenth (1989, AS 243) in Poisson-weighted regularized incomplete beta
/// functions, summed until its weights are exhausted (error below 1e-12 for `|ncp| <= 40`).
/// Returns NaN for `df <= 0` or a NaN argument.
pub fn noncentral_t_cdf(t: f64, df: f64, ncp: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || t.is_nan() || ncp.is_nan() {
        return f64::NAN;
    }
    if t < 0.0 {
        return 1.0 - upper_half(-t, df, -ncp);
    }
    upper_half(t, df, ncp)
}

/// `F(t; df, ncp)` for `t >= 0`: `Phi(-ncp) + 1/2 sum_j (P_j I_x(j + 1/2, df/2) + Q_j
/// I_x(j + 1, df/2))` with `x = t^2 / (t^2 + df)`, `P_j` the Poisson(`ncp^2/2`) weights and
/// `Q_j = ncp e^{-lambda} lambda^j / (sqrt(2) Gamma(j + 3/2))`.
fn upper_half(t: f64, df: f64, ncp: f64) -> f64 {
    let normal = Normal::standard();
    let base = normal.cdf(-ncp);
    if t == 0.0 {
        return base;
    }
    let x = if t.is_infinite() {
        1.0
    } else {
        t * t / (t * t + df)
    };
    let lambda = 0.5 * ncp * ncp;
    let half_df = 0.5 * df;
    let last = (lambda + 15.0 * lambda.sqrt() + 60.0).ceil() as usize;
    let mut sum = 0.0;
    for j in 0..=last {
        let jf = j as f64;
        // ln(lambda^j) with 0^0 = 1
        let ln_pow = if j == 0 { 0.0 } else { jf * lambda.ln() };
        let p = (-lambda + ln_pow - ln_gamma(jf + 1.0)).exp();
        let q = if ncp == 0.0 {
            0.0
        } else {
            ncp.signum()
                * (ncp.abs().ln() - lambda + ln_pow
                    - 0.5 * std::f64::consts::LN_2
                    - ln_gamma(jf + 1.5))
                .exp()
        };
        sum += p * beta_reg(jf + 0.5, half_df, x) + q * beta_reg(jf + 1.0, half_df, x);
    }
    (base + 0.5 * sum).clamp(0.0, 1.0)
}

fn check_pairs(n: usize) -> Result<(), AnalysisError> {
    if n < 2 {
        return Err(AnalysisError::TooFew {
            what: "a paired t-test",
            min: 2,
            got: n,
        });
    }
    Ok(())
}

fn check_effect(effect: f64) -> Result<(), AnalysisError> {
    if !effect.is_finite() {
        return Err(AnalysisError::NotFinite {
            what: "effect size",
            value: effect,
        });
    }
    if effect < 0.0 {
        return Err(AnalysisError::Negative {
            name: "effect size",
            value: effect,
        });
    }
    Ok(())
}

/// The two-sided critical value `t_{1 - alpha/2, df}`.
fn critical_t(alpha: f64, df: f64) -> f64 {
    // df >= 1 here, for which StudentsT::new cannot fail.
    StudentsT::new(0.0, 1.0, df)
        .map(|t| t.inverse_cdf(1.0 - 0.5 * alpha))
        .unwrap_or(f64::NAN)
}

/// Power of the two-sided paired t-test at level `alpha` with `n` pairs, for the standardized
/// effect `effect = |mean difference| / std of the differences`.
pub fn paired_power(effect: f64, n: usize, alpha: f64) -> Result<f64, AnalysisError> {
    check_effect(effect)?;
    check_pairs(n)?;
    check_open_probability("alpha", alpha)?;
    Ok(power_unchecked(effect, n, alpha))
}

fn power_unchecked(effect: f64, n: usize, alpha: f64) -> f64 {
    let df = (n - 1) as f64;
    let ncp = effect * (n as f64).sqrt();
    let crit = critical_t(alpha, df);
    (1.0 - noncentral_t_cdf(crit, df, ncp)) + noncentral_t_cdf(-crit, df, ncp)
}

/// The smallest standardized effect that `n` pairs detect with probability `power` at level
/// `alpha` (two-sided): multiply by the standard deviation of the paired differences to get the
/// smallest detectable difference in the data's units. Bisection to 1e-12.
pub fn detectable_effect(n: usize, alpha: f64, power: f64) -> Result<f64, AnalysisError> {
    check_pairs(n)?;
    check_open_probability("alpha", alpha)?;
    check_open_probability("power", power)?;
    if power <= alpha {
        // a zero effect is already rejected with probability alpha
        return Ok(0.0);
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while power_unchecked(hi, n, alpha) < power {
        lo = hi;
        hi *= 2.0;
    }
    while hi - lo > 1e-12 * hi.max(1.0) {
        let mid = 0.5 * (lo + hi);
        if power_unchecked(mid, n, alpha) < power {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(hi)
}

/// The number of pairs a two-sided paired t-test at level `alpha` needs to detect the
/// standardized effect `effect` with probability `power`; `None` when more than `max_pairs`
/// would be needed (or the effect is 0).
pub fn runs_needed(
    effect: f64,
    alpha: f64,
    power: f64,
    max_pairs: usize,
) -> Result<Option<usize>, AnalysisError> {
    check_effect(effect)?;
    check_open_probability("alpha", alpha)?;
    check_open_probability("power", power)?;
    if effect == 0.0 {
        return Ok(None);
    }
    // power grows with n: find a bracket by doubling, then bisect on integers
    let mut hi = 2usize;
    while power_unchecked(effect, hi, alpha) < power {
        if hi >= max_pairs {
            return Ok(None);
        }
        hi = (hi * 2).min(max_pairs);
    }
    let mut lo = (hi / 2).max(1); // power(lo) < power, or lo == 1 (below the minimum)
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if power_unchecked(effect, mid, alpha) < power {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(Some(hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_case_is_students_t() {
        let t = StudentsT::new(0.0, 1.0, 4.0).unwrap();
        for x in [-2.5, -0.3, 0.0, 1.1, 3.0] {
            assert!(
                (noncentral_t_cdf(x, 4.0, 0.0) - t.cdf(x)).abs() < 1e-13,
                "{x}"
            );
        }
    }

    #[test]
    fn zero_effect_has_power_alpha() {
        assert!((paired_power(0.0, 7, 0.05).unwrap() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn refuses_invalid_arguments() {
        assert!(paired_power(1.0, 1, 0.05).is_err());
        assert!(paired_power(f64::NAN, 5, 0.05).is_err());
        assert!(paired_power(-1.0, 5, 0.05).is_err());
        assert!(detectable_effect(5, 1.0, 0.8).is_err());
        assert!(runs_needed(1.0, 0.05, 0.0, 100).is_err());
        assert_eq!(runs_needed(1e-6, 0.05, 0.8, 1000), Ok(None));
    }
}
