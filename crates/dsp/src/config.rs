//! STFT and spectrogram configuration.

use serde::{Deserialize, Serialize};

use crate::{DspError, MelConfig, Scale, WindowKind};

/// Padding applied at both ends when `center` is set (torch `pad_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum PadMode {
    /// Mirror without repeating the edge sample (`x[1], x[0]`-free reflection:
    /// `[x2, x1, | x0, x1, x2, ...]`), torch/numpy `"reflect"`. Needs `len > n_fft / 2`.
    #[default]
    Reflect,
    /// Zero padding (torch `"constant"`).
    Constant,
}

/// Short-time Fourier transform parameters (torchaudio `Spectrogram` semantics, one-sided).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StftConfig {
    /// FFT size; the output has `n_fft / 2 + 1` frequency bins.
    pub n_fft: usize,
    /// Window length (`<= n_fft`); the window is centered in the `n_fft` frame.
    pub win_length: usize,
    /// Hop between frames in samples (> 0).
    pub hop_length: usize,
    /// Window shape (periodic).
    pub window: WindowKind,
    /// Pad `n_fft / 2` samples on both sides so frame `t` is centered at `t * hop_length`.
    pub center: bool,
    /// Padding mode used when `center` is set.
    pub pad_mode: PadMode,
    /// Exponent applied to the magnitude: 1.0 magnitude, 2.0 power (finite, > 0).
    pub power: f32,
}

impl Default for StftConfig {
    /// torchaudio `Spectrogram()` defaults: n_fft 400, win 400, hop 200, periodic Hann,
    /// center with reflect padding, power 2.
    fn default() -> Self {
        Self {
            n_fft: 400,
            win_length: 400,
            hop_length: 200,
            window: WindowKind::Hann,
            center: true,
            pad_mode: PadMode::Reflect,
            power: 2.0,
        }
    }
}

impl StftConfig {
    /// Number of one-sided frequency bins, `n_fft / 2 + 1`.
    pub fn n_freqs(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Padding added on each side (`n_fft / 2` when `center`, else 0).
    pub fn pad(&self) -> usize {
        if self.center {
            self.n_fft / 2
        } else {
            0
        }
    }

    /// Time in seconds of frame `frame`'s centre in the unpadded input at `sample_rate`:
    /// `frame * hop / sr` when centered (frame `t` is centred on sample `t * hop`), else
    /// `(frame * hop + n_fft / 2) / sr`.
    pub fn frame_time(&self, frame: usize, sample_rate: u32) -> f64 {
        let centre = frame * self.hop_length + if self.center { 0 } else { self.n_fft / 2 };
        centre as f64 / sample_rate as f64
    }

    /// Number of frames for an input of `n_samples` samples:
    /// `1 + (n_samples + 2 * pad - n_fft) / hop_length` (= `1 + n_samples / hop` when
    /// centered with even `n_fft`), or 0 if not even one frame fits (or `hop_length == 0`).
    pub fn n_frames(&self, n_samples: usize) -> usize {
        let padded = n_samples + 2 * self.pad();
        if self.hop_length == 0 || padded < self.n_fft {
            0
        } else {
            1 + (padded - self.n_fft) / self.hop_length
        }
    }

    /// Checks sizes and power.
    pub fn validate(&self) -> Result<(), DspError> {
        let bad = |m: String| Err(DspError::InvalidConfig(m));
        if self.n_fft == 0 {
            return bad("n_fft must be > 0".into());
        }
        if self.hop_length == 0 {
            return bad("hop_length must be > 0".into());
        }
        if self.win_length == 0 || self.win_length > self.n_fft {
            return bad(format!(
                "win_length must be in 1..=n_fft ({}), got {}",
                self.n_fft, self.win_length
            ));
        }
        if !(self.power.is_finite() && self.power > 0.0) {
            return bad(format!("power must be finite and > 0, got {}", self.power));
        }
        Ok(())
    }

    /// Minimum accepted input length and the rule behind it.
    pub fn min_input_len(&self) -> (usize, &'static str) {
        match (self.center, self.pad_mode) {
            (true, PadMode::Reflect) => {
                (self.n_fft / 2 + 1, "reflect padding needs len > n_fft / 2")
            }
            (true, PadMode::Constant) => (1, "input must not be empty"),
            (false, _) => (
                self.n_fft,
                "center = false needs one full frame (len >= n_fft)",
            ),
        }
    }
}

/// Full spectrogram pipeline: STFT, optional mel filterbank, scaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct SpectrogramConfig {
    /// STFT parameters.
    pub stft: StftConfig,
    /// Mel filterbank applied to `|X|^power` (torchaudio `MelSpectrogram`), or `None`.
    pub mel: Option<MelConfig>,
    /// Output scaling.
    pub scale: Scale,
}

impl SpectrogramConfig {
    /// Frequency in Hz of each output row at `sample_rate`: the FFT bin frequencies
    /// `k * sr / n_fft` without mel, the band centres ([`crate::mel_band_centers`]) with mel.
    pub fn row_frequencies(&self, sample_rate: u32) -> Vec<f64> {
        match &self.mel {
            Some(mel) => crate::mel::mel_band_centers(sample_rate, mel),
            None => (0..self.stft.n_freqs())
                .map(|k| k as f64 * sample_rate as f64 / self.stft.n_fft as f64)
                .collect(),
        }
    }

    /// Checks the whole configuration for `sample_rate`.
    pub fn validate(&self, sample_rate: u32) -> Result<(), DspError> {
        self.stft.validate()?;
        if sample_rate == 0 {
            return Err(DspError::InvalidConfig("sample_rate must be > 0".into()));
        }
        if let Some(mel) = &self.mel {
            mel.validate(sample_rate)?;
        }
        match self.scale {
            Scale::Power => {}
            Scale::Db { top_db } => {
                if let Some(t) = top_db {
                    if !(t.is_finite() && t >= 0.0) {
                        return Err(DspError::InvalidConfig(format!(
                            "top_db must be finite and >= 0, got {t}"
                        )));
                    }
                }
            }
            Scale::Ln { eps } => {
                if !(eps.is_finite() && eps >= f32::MIN_POSITIVE) {
                    return Err(DspError::InvalidConfig(format!(
                        "ln eps must be finite and >= f32::MIN_POSITIVE, got {eps}"
                    )));
                }
            }
        }
        Ok(())
    }
}
