//! The specnorm feature front end: an audio file (or samples) in, a dB
//! spectrogram `[F, T]` out, exactly as training and inference both need it.
//!
//! The pipeline, in order:
//! 1. decode and mix to mono ([`specnorm_audio::load`]),
//! 2. resample to [`FeatureConfig::sample_rate`] (polyphase, torchaudio's kernel;
//!    one [`Resampler`] per source rate, planned once and cached),
//! 3. waveform normalization `(x - mean) / std` when [`FeatureConfig::waveform_norm`]
//!    is on (computed on the clip's own samples, before padding),
//! 4. zero-pad or trim to [`FeatureConfig::seconds`] when set,
//! 5. the spectrogram of [`FeatureConfig::spectrogram`] (STFT, optional mel, dB).
//!
//! The crate composes `specnorm-audio` and `specnorm-dsp` and adds nothing but
//! this order, the configuration that names it (serde, so it travels with
//! statistics, checkpoints and ONNX files), the flat keys every front end of
//! specnorm writes it with ([`keys`]: Python's keyword arguments, the command
//! line's flags, `specnorm.toml`) and batch helpers over rayon.
//!
//! ```
//! use specnorm_features::{FeatureConfig, FeatureExtractor};
//! let fx = FeatureExtractor::new(FeatureConfig::default()).unwrap();
//! // One second of a 440 Hz tone at 44.1 kHz, padded to the default 5 s.
//! let tone: Vec<f32> = (0..44_100).map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 44_100.0).sin()).collect();
//! let spec = fx.extract_samples(&tone, 44_100).unwrap();
//! assert_eq!(spec.dim(), (201, 401));
//! assert_eq!(fx.n_bins(), 201);
//! assert_eq!(fx.n_frames(), Some(401));
//! ```
#![deny(missing_docs)]

#[cfg(feature = "bench")]
pub mod bench;
mod describe;
mod extractor;
pub mod keys;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use specnorm_audio::AudioError;
use specnorm_dsp::{DspError, SpectrogramConfig};

pub use extractor::{FeatureExtractor, Stage, TruncatedClip};
pub use keys::{
    FeatureKeyError, FeatureKeys, MelNormName, MelScaleName, PadModeName, ScaleName, WindowName,
};
pub use specnorm_audio::DecodeOptions;

/// Everything that decides what a feature looks like. Stored with statistics,
/// checkpoints and exported models so that inference reproduces training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureConfig {
    /// Target sample rate in Hz (16 kHz, as fastaudio).
    pub sample_rate: u32,
    /// Fixed clip duration in seconds (zero-pad or trim); `None` keeps each clip's length.
    pub seconds: Option<f32>,
    /// Normalize each waveform to zero mean and unit (Bessel-corrected) std.
    pub waveform_norm: bool,
    /// STFT, mel and scale settings.
    pub spectrogram: SpectrogramConfig,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            seconds: Some(5.0),
            waveform_norm: true,
            spectrogram: SpectrogramConfig::default(),
        }
    }
}

impl FeatureConfig {
    /// Frequency in Hz of each row of the features (FFT bins, or mel band centres).
    pub fn row_frequencies(&self) -> Vec<f64> {
        self.spectrogram.row_frequencies(self.sample_rate)
    }

    /// Time in seconds of each of `n_frames` columns (frame centres in the resampled clip).
    pub fn frame_times(&self, n_frames: usize) -> Vec<f64> {
        (0..n_frames)
            .map(|t| self.spectrogram.stft.frame_time(t, self.sample_rate))
            .collect()
    }

    /// Number of samples after padding/trimming, if the duration is fixed.
    pub fn target_len(&self) -> Option<usize> {
        self.seconds
            .map(|s| (s as f64 * self.sample_rate as f64).round() as usize)
    }

    /// Checks the sample rate, the duration and the spectrogram settings (what
    /// [`FeatureExtractor::new`] refuses, without planning anything).
    pub fn validate(&self) -> Result<(), FeatureError> {
        if self.sample_rate == 0 {
            return Err(FeatureError::Config("sample_rate must be > 0".into()));
        }
        if let Some(s) = self.seconds {
            if !(s.is_finite() && s > 0.0) {
                return Err(FeatureError::Config(format!(
                    "seconds must be > 0, got {s}"
                )));
            }
        }
        self.spectrogram
            .validate(self.sample_rate)
            .map_err(|e| FeatureError::Config(e.to_string()))
    }
}

/// Longest waveform, in samples at the target rate, that the front end builds:
/// 2^27 (about 2.3 hours at 16 kHz, 512 MiB of `f32`). A longer one almost always
/// comes from a corrupt header (say a sample rate of 1 Hz, which a 16 kHz front end
/// would expand 16000-fold) and would exhaust memory; it is
/// [`FeatureError::TooLong`] instead.
pub const MAX_WAVEFORM_SAMPLES: u64 = 1 << 27;

/// Errors of the front end; each names the file (or `<memory>`).
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// Decoding or resampling failed.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The spectrogram could not be computed for this input.
    #[error("{path}: {source}")]
    Dsp {
        /// The input.
        path: PathBuf,
        /// The DSP error.
        source: DspError,
    },
    /// The clip would resample to more than [`MAX_WAVEFORM_SAMPLES`] samples.
    #[error(
        "{path}: {frames} frames at {sample_rate} Hz would resample to {samples} samples at \
         {target_rate} Hz, more than the limit of {max} (is the header's sample rate right?)"
    )]
    TooLong {
        /// The input.
        path: PathBuf,
        /// Frames in the input.
        frames: u64,
        /// The input's sample rate.
        sample_rate: u32,
        /// The front end's sample rate.
        target_rate: u32,
        /// Samples the resampled clip would have.
        samples: u64,
        /// [`MAX_WAVEFORM_SAMPLES`].
        max: u64,
    },
    /// The configuration is invalid.
    #[error("invalid feature configuration: {0}")]
    Config(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tone(freq: f32, sr: u32, secs: f32) -> Vec<f32> {
        let n = (sr as f32 * secs) as usize;
        (0..n)
            .map(|i| 0.3 * (i as f32 * freq * std::f32::consts::TAU / sr as f32).sin())
            .collect()
    }

    #[test]
    fn default_shape_and_peak_bin() {
        let fx = FeatureExtractor::new(FeatureConfig::default()).unwrap();
        let spec = fx
            .extract_samples(&tone(1000.0, 44_100, 5.0), 44_100)
            .unwrap();
        assert_eq!(spec.dim(), (201, 401));
        // 1 kHz at 16 kHz with n_fft 400: bin 1000 / 40 = 25.
        let col = spec.column(200);
        let peak = col
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        assert_eq!(peak.0, 25);
    }

    #[test]
    fn waveform_norm_makes_gain_irrelevant() {
        let fx = FeatureExtractor::new(FeatureConfig::default()).unwrap();
        let a = tone(700.0, 16_000, 5.0);
        let b: Vec<f32> = a.iter().map(|v| v * 0.01).collect();
        let sa = fx.extract_samples(&a, 16_000).unwrap();
        let sb = fx.extract_samples(&b, 16_000).unwrap();
        // Compare bins within 80 dB of the peak: below that both are f32 rounding noise.
        let peak = sa.iter().copied().fold(f32::MIN, f32::max);
        let max_diff = sa
            .iter()
            .zip(sb.iter())
            .filter(|(x, _)| **x > peak - 80.0)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(max_diff < 0.01, "{max_diff}");
        // Without it, a 40 dB gain change shows up as -40 dB.
        let raw = FeatureExtractor::new(FeatureConfig {
            waveform_norm: false,
            ..Default::default()
        })
        .unwrap();
        let ra = raw.extract_samples(&a, 16_000).unwrap();
        let rb = raw.extract_samples(&b, 16_000).unwrap();
        // 700 Hz lies between bins 17 and 18 (40 Hz per bin).
        let d = ra[[17, 100]] - rb[[17, 100]];
        assert!((d - 40.0).abs() < 0.01, "{d}");
    }

    #[test]
    fn short_clips_are_padded_and_long_ones_trimmed() {
        let fx = FeatureExtractor::new(FeatureConfig::default()).unwrap();
        assert_eq!(
            fx.extract_samples(&tone(500.0, 8_000, 0.3), 8_000)
                .unwrap()
                .dim(),
            (201, 401)
        );
        assert_eq!(
            fx.extract_samples(&tone(500.0, 48_000, 7.0), 48_000)
                .unwrap()
                .dim(),
            (201, 401)
        );
        let free = FeatureExtractor::new(FeatureConfig {
            seconds: None,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            free.extract_samples(&tone(500.0, 16_000, 2.0), 16_000)
                .unwrap()
                .dim(),
            (201, 161)
        );
        assert_eq!(free.n_frames(), None);
    }

    #[test]
    fn bad_config_and_bad_file_are_errors() {
        assert!(FeatureExtractor::new(FeatureConfig {
            sample_rate: 0,
            ..Default::default()
        })
        .is_err());
        assert!(FeatureExtractor::new(FeatureConfig {
            seconds: Some(f32::NAN),
            ..Default::default()
        })
        .is_err());
        let fx = FeatureExtractor::new(FeatureConfig::default()).unwrap();
        let err = fx
            .extract_file(Path::new("/nonexistent/clip.wav"))
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/clip.wav"), "{err}");
        let err = fx
            .extract_bytes(b"not audio at all", Path::new("junk.wav"))
            .unwrap_err();
        assert!(err.to_string().contains("junk.wav"), "{err}");
    }

    #[test]
    fn config_round_trips_through_json() {
        let cfg = FeatureConfig::default();
        let json = serde_json::to_string(&cfg).unwrap();
        let back: FeatureConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(cfg, back);
    }
}
