//! Mel filterbanks (torchaudio `melscale_fbanks` / librosa `filters.mel` semantics).

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::DspError;

/// Mel frequency scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum MelScale {
    /// HTK: `mel = 2595 log10(1 + f / 700)` (torchaudio default, librosa `htk=True`).
    #[default]
    Htk,
    /// Slaney (Auditory Toolbox): linear below 1 kHz, logarithmic above
    /// (librosa default `htk=False`, torchaudio `mel_scale="slaney"`).
    Slaney,
}

/// Filter normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum MelNorm {
    /// Triangles with peak 1 (torchaudio default `norm=None`).
    #[default]
    None,
    /// Slaney area normalization: each triangle is scaled by `2 / (f_hi - f_lo)`.
    Slaney,
}

/// Mel filterbank configuration (torchaudio `MelSpectrogram` parameters).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MelConfig {
    /// Number of mel bands (> 0). torchaudio default 128.
    pub n_mels: usize,
    /// Lowest band edge in Hz (>= 0).
    pub f_min: f32,
    /// Highest band edge in Hz; `None` = `sample_rate / 2` (integer division, as torchaudio).
    /// Must not exceed the Nyquist frequency.
    pub f_max: Option<f32>,
    /// Mel scale.
    pub scale: MelScale,
    /// Filter normalization.
    pub norm: MelNorm,
}

impl Default for MelConfig {
    /// torchaudio `MelSpectrogram` defaults: 128 HTK bands from 0 Hz to Nyquist, no norm.
    fn default() -> Self {
        Self {
            n_mels: 128,
            f_min: 0.0,
            f_max: None,
            scale: MelScale::Htk,
            norm: MelNorm::None,
        }
    }
}

impl MelConfig {
    /// Effective upper edge for `sample_rate` (`f_max` or `sample_rate / 2`).
    pub fn f_max_for(&self, sample_rate: u32) -> f32 {
        self.f_max.unwrap_or((sample_rate / 2) as f32)
    }

    /// Checks the configuration for `sample_rate`.
    pub fn validate(&self, sample_rate: u32) -> Result<(), DspError> {
        let bad = |m: String| Err(DspError::InvalidConfig(m));
        if sample_rate == 0 {
            return bad("sample_rate must be > 0".into());
        }
        if self.n_mels == 0 {
            return bad("n_mels must be > 0".into());
        }
        let f_max = self.f_max_for(sample_rate);
        let nyquist = sample_rate as f32 / 2.0;
        if !(self.f_min.is_finite() && self.f_min >= 0.0) {
            return bad(format!("f_min must be finite and >= 0, got {}", self.f_min));
        }
        if !f_max.is_finite() || f_max > nyquist {
            return bad(format!(
                "f_max {f_max} must be finite and <= nyquist {nyquist}"
            ));
        }
        if self.f_min >= f_max {
            return bad(format!("f_min {} must be < f_max {f_max}", self.f_min));
        }
        Ok(())
    }
}

fn hz_to_mel(f: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + f / 700.0).log10(),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if f >= min_log_hz {
                min_log_mel + (f / min_log_hz).ln() / logstep
            } else {
                f / f_sp
            }
        }
    }
}

fn mel_to_hz(m: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(m / 2595.0) - 1.0),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if m >= min_log_mel {
                min_log_hz * (logstep * (m - min_log_mel)).exp()
            } else {
                f_sp * m
            }
        }
    }
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f64;
    (0..n).map(|i| a + step * i as f64).collect()
}

/// Centre frequency in Hz of each of the `n_mels` bands of `cfg` at `sample_rate` (the peak of
/// each triangular filter of [`mel_filterbank`]): the inner `n_mels` of the `n_mels + 2` points
/// equally spaced on the mel scale between `f_min` and `f_max`.
pub fn mel_band_centers(sample_rate: u32, cfg: &MelConfig) -> Vec<f64> {
    let m_min = hz_to_mel(cfg.f_min as f64, cfg.scale);
    let m_max = hz_to_mel(cfg.f_max_for(sample_rate) as f64, cfg.scale);
    linspace(m_min, m_max, cfg.n_mels + 2)
        .into_iter()
        .skip(1)
        .take(cfg.n_mels)
        .map(|m| mel_to_hz(m, cfg.scale))
        .collect()
}

/// Mel filterbank `[n_freqs, n_mels]`, like
/// `torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale)`
/// (and the transpose of `librosa.filters.mel` for even `sample_rate`).
///
/// The FFT bin frequencies are `linspace(0, sample_rate / 2, n_freqs)` with integer
/// division (torchaudio). Computed in f64, returned as f32. An invalid configuration
/// (see [`MelConfig::validate`]) yields an all-zero matrix; use [`try_mel_filterbank`]
/// to get the error instead. Bands that fall between two FFT bins are all zero
/// (torchaudio warns about this; here it is silent).
pub fn mel_filterbank(n_freqs: usize, sample_rate: u32, cfg: &MelConfig) -> Array2<f32> {
    try_mel_filterbank(n_freqs, sample_rate, cfg)
        .unwrap_or_else(|_| Array2::zeros((n_freqs, cfg.n_mels)))
}

/// Like [`mel_filterbank`] but returns an error for an invalid configuration.
pub fn try_mel_filterbank(
    n_freqs: usize,
    sample_rate: u32,
    cfg: &MelConfig,
) -> Result<Array2<f32>, DspError> {
    cfg.validate(sample_rate)?;
    let n_mels = cfg.n_mels;
    let all_freqs = linspace(0.0, (sample_rate / 2) as f64, n_freqs);
    let m_min = hz_to_mel(cfg.f_min as f64, cfg.scale);
    let m_max = hz_to_mel(cfg.f_max_for(sample_rate) as f64, cfg.scale);
    let f_pts: Vec<f64> = linspace(m_min, m_max, n_mels + 2)
        .into_iter()
        .map(|m| mel_to_hz(m, cfg.scale))
        .collect();
    let mut fb = Array2::<f32>::zeros((n_freqs, n_mels));
    for m in 0..n_mels {
        let (lo, c, hi) = (f_pts[m], f_pts[m + 1], f_pts[m + 2]);
        let (d_lo, d_hi) = (c - lo, hi - c);
        let enorm = match cfg.norm {
            MelNorm::None => 1.0,
            MelNorm::Slaney => 2.0 / (hi - lo),
        };
        for (k, &f) in all_freqs.iter().enumerate() {
            let down = (f - lo) / d_lo;
            let up = (hi - f) / d_hi;
            let w = down.min(up).max(0.0);
            // d_lo, d_hi > 0 because f_min < f_max and the mel maps are increasing;
            // guard anyway so no NaN can leak out.
            fb[[k, m]] = if w.is_finite() {
                (w * enorm) as f32
            } else {
                0.0
            };
        }
    }
    Ok(fb)
}

/// Sparse (banded) representation of a filterbank: each mel band is a
/// contiguous run of non-zero weights starting at FFT bin `start`.
#[derive(Clone, Debug)]
pub(crate) struct SparseMel {
    bands: Vec<(usize, Vec<f32>)>,
}

impl SparseMel {
    pub(crate) fn from_dense(fb: &Array2<f32>) -> Self {
        let bands = fb
            .columns()
            .into_iter()
            .map(|col| {
                let first = col.iter().position(|&w| w != 0.0);
                let last = col.iter().rposition(|&w| w != 0.0);
                match (first, last) {
                    (Some(a), Some(b)) => {
                        (a, col.iter().skip(a).take(b + 1 - a).copied().collect())
                    }
                    _ => (0, Vec::new()),
                }
            })
            .collect();
        Self { bands }
    }

    pub(crate) fn n_mels(&self) -> usize {
        self.bands.len()
    }

    /// `(first bin, weights)` of each mel band, in band order.
    pub(crate) fn bands(&self) -> impl Iterator<Item = (usize, &[f32])> {
        self.bands.iter().map(|(start, w)| (*start, w.as_slice()))
    }

    /// `out[m] = sum_k fb[k, m] * power[k]`.
    #[inline]
    pub(crate) fn apply(&self, power: &[f32], out: &mut [f32]) {
        for (o, (start, w)) in out.iter_mut().zip(&self.bands) {
            let p = &power[*start..*start + w.len()];
            *o = w.iter().zip(p).map(|(a, b)| a * b).sum();
        }
    }
}
