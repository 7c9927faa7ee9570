//! # specnorm-analysis
//!
//! The statistics specnorm reports *about* its results and its features, with no libtorch:
//!
//! * [`power`]: the power of a two-sided paired t-test (the comparison the experiment's report
//!   makes between two normalizations over the same folds and seeds), the smallest difference an
//!   experiment of `n` pairs can detect ([`power::detectable_effect`]) and the number of pairs
//!   needed to detect a stated one ([`power::runs_needed`]). Exact: the noncentral t
//!   distribution, checked against statsmodels' `TTestPower`.
//! * [`significance`]: Student t summaries (mean, sample std, 95 % confidence interval), the
//!   paired two-sided t-test and Holm's step-down correction, checked against scipy and
//!   statsmodels.
//! * [`distribution`]: a [`distribution::Summary`] of a sample (quantiles with numpy's default
//!   linear interpolation and a histogram with numpy's bins, both through ndarray-stats;
//!   population skewness and excess kurtosis, as scipy's `skew`/`kurtosis` with `bias=True`),
//!   and a seeded [`distribution::Reservoir`] that keeps a uniform sample of a stream too large
//!   to hold.
//!
//! ```
//! use specnorm_analysis::power::{detectable_effect, paired_power};
//! // 5 paired runs at alpha 0.05: which standardized difference is found 80 % of the time?
//! let d = detectable_effect(5, 0.05, 0.8)?;
//! assert!((d - 1.68200).abs() < 1e-4); // statsmodels: 1.6819970833
//! assert!((paired_power(d, 5, 0.05)? - 0.8).abs() < 1e-9);
//! # Ok::<(), specnorm_analysis::AnalysisError>(())
//! ```

pub mod distribution;
pub mod power;
pub mod significance;

/// Invalid arguments to an analysis function.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AnalysisError {
    /// A probability (alpha, power, quantile) outside its open or closed interval.
    #[error("{name} = {value} is not a probability in {interval}")]
    Probability {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed interval, e.g. `(0, 1)`.
        interval: &'static str,
    },
    /// Too few observations or pairs for the computation.
    #[error("{what} needs at least {min} values, got {got}")]
    TooFew {
        /// What was computed.
        what: &'static str,
        /// Minimum count.
        min: usize,
        /// Count given.
        got: usize,
    },
    /// A NaN or infinite value where a finite one is needed.
    #[error("{what}: value {value} is not finite")]
    NotFinite {
        /// What was computed.
        what: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A negative value where a size or effect must be non-negative.
    #[error("{name} = {value} must be non-negative")]
    Negative {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
}

pub(crate) fn check_open_probability(name: &'static str, value: f64) -> Result<(), AnalysisError> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(AnalysisError::Probability {
            name,
            value,
            interval: "(0, 1)",
        })
    }
}
