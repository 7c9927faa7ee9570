//! Per-channel energy normalization, `librosa.pcen` formulation.

use crate::NormError;
use ndarray::{Array2, ArrayView2, Axis, Zip};

/// PCEN parameters (defaults = `librosa.pcen` defaults).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PcenConfig {
    /// Sample rate of the audio (Hz), used to convert `time_constant` to frames.
    pub sample_rate: u32,
    /// Hop length in samples.
    pub hop_length: usize,
    /// Gain exponent `alpha` of the adaptive gain control (>= 0).
    pub gain: f32,
    /// Bias `delta` (>= 0).
    pub bias: f32,
    /// Compression exponent `r` (>= 0; 0 means `log1p`).
    pub power: f32,
    /// Time constant of the IIR smoother in seconds (> 0).
    pub time_constant: f32,
    /// Floor added to the smoothed energy (> 0).
    pub eps: f32,
}

impl Default for PcenConfig {
    fn default() -> Self {
        Self {
            sample_rate: 22050,
            hop_length: 512,
            gain: 0.98,
            bias: 2.0,
            power: 0.5,
            time_constant: 0.4,
            eps: 1e-6,
        }
    }
}

impl PcenConfig {
    /// Checks the parameter ranges librosa enforces.
    pub fn validate(&self) -> Result<(), NormError> {
        let bad = |detail: String| NormError::InvalidParameters {
            normalizer: "pcen",
            detail,
        };
        if self.sample_rate == 0 || self.hop_length == 0 {
            return Err(bad(format!(
                "sample_rate {} and hop_length {} must be > 0",
                self.sample_rate, self.hop_length
            )));
        }
        for (name, v) in [
            ("gain", self.gain),
            ("bias", self.bias),
            ("power", self.power),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(format!("{name} = {v} must be finite and >= 0")));
            }
        }
        for (name, v) in [("time_constant", self.time_constant), ("eps", self.eps)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(format!("{name} = {v} must be finite and > 0")));
            }
        }
        Ok(())
    }

    /// Smoothing coefficient `b` of the IIR filter `M[t] = (1-b) M[t-1] + b E[t]`
    /// (librosa: `t_frames = time_constant * sr / hop`, `b = (sqrt(1 + 4 t²) - 1) / (2 t²)`).
    pub fn smoothing_coefficient(&self) -> f64 {
        let t = self.time_constant as f64 * self.sample_rate as f64 / self.hop_length as f64;
        ((1.0 + 4.0 * t * t).sqrt() - 1.0) / (2.0 * t * t)
    }
}

/// PCEN of a power spectrogram `[F, T]` (time on the last axis), as `librosa.pcen(S, ...)` with
/// `max_size=1` and its default initial filter state `zi = scipy.signal.lfilter_zi([b], [1, b-1])
/// = 1 - b` (the smoother starts as if the previous smoothed energy were 1):
///
/// ```text
/// M[f,0] = b E[f,0] + (1-b);  M[f,t] = b E[f,t] + (1-b) M[f,t-1]
/// G = exp(-gain (ln eps + ln1p(M / eps)))
/// out = bias^power * expm1(power * ln1p(E G / bias))      (power > 0, bias > 0)
///     = ln1p(E G)                                         (power = 0)
///     = exp(power (ln E + ln G))                          (bias = 0)
/// ```
///
/// Computed in `f64`, returned as `f32`. Errors on invalid parameters and on negative or
/// non-finite input (a power spectrogram is non-negative).
pub fn pcen(power_spec: ArrayView2<'_, f32>, cfg: &PcenConfig) -> Result<Array2<f32>, NormError> {
    cfg.validate()?;
    if let Some(((f, t), v)) = power_spec
        .indexed_iter()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(NormError::InvalidInput {
            normalizer: "pcen",
            detail: format!(
                "power spectrogram value {v} at [{f}, {t}] (shape {:?}) is negative or not finite",
                power_spec.shape()
            ),
        });
    }
    let b = cfg.smoothing_coefficient();
    let (gain, bias, power, eps) = (
        cfg.gain as f64,
        cfg.bias as f64,
        cfg.power as f64,
        cfg.eps as f64,
    );
    let ln_eps = eps.ln();
    let bias_pow = bias.powf(power);
    let mut out = Array2::<f32>::zeros(power_spec.raw_dim());
    Zip::from(out.axis_iter_mut(Axis(0)))
        .and(power_spec.axis_iter(Axis(0)))
        .for_each(|mut o, e| {
            let mut m = 1.0f64; // y[-1] implied by zi = 1 - b
            for (o, &e) in o.iter_mut().zip(e.iter()) {
                let e = e as f64;
                m = b * e + (1.0 - b) * m;
                let g = (-gain * (ln_eps + (m / eps).ln_1p())).exp();
                let v = if power == 0.0 {
                    (e * g).ln_1p()
                } else if bias == 0.0 {
                    (power * (e.ln() + g.ln())).exp()
                } else {
                    bias_pow * (power * (e * g / bias).ln_1p()).exp_m1()
                };
                *o = v as f32;
            }
        });
    Ok(out)
}
