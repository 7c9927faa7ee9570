//! Error type of the crate.

/// Errors returned by [`crate::SpectrogramPlan`] and the configuration checks.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum DspError {
    /// The configuration is invalid (zero sizes, window longer than the FFT,
    /// mel band edges outside `[0, nyquist]`, non-positive power, ...).
    #[error("invalid spectrogram configuration: {0}")]
    InvalidConfig(String),
    /// The input has no samples.
    #[error("input signal is empty")]
    EmptyInput,
    /// The input is too short for the configured padding / framing.
    ///
    /// With `center = true` and [`crate::PadMode::Reflect`], torch requires
    /// `len > n_fft / 2` (the reflection must not run past the other end);
    /// with `center = false` at least one full frame (`len >= n_fft`) is needed.
    /// Callers are expected to pad clips to a fixed length first.
    #[error("input of {len} samples is too short: need at least {min} samples ({reason})")]
    InputTooShort {
        /// Length of the given input.
        len: usize,
        /// Minimum accepted length.
        min: usize,
        /// Why (which padding/framing rule).
        reason: &'static str,
    },
    /// The input contains a NaN or infinite sample.
    #[error("non-finite input sample {value} at index {index}")]
    NonFiniteInput {
        /// Index of the first non-finite sample.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// The output array given to [`crate::SpectrogramPlan::compute_into`] has the wrong shape.
    #[error("output shape mismatch: expected {expected:?}, got {got:?}")]
    ShapeMismatch {
        /// Expected `[n_bins, n_frames]`.
        expected: [usize; 2],
        /// Shape of the given array.
        got: [usize; 2],
    },
    /// The FFT backend rejected a buffer (internal invariant violated).
    #[error("fft failure: {0}")]
    Fft(String),
}
