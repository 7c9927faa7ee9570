//! Spectrogram DSP for specnorm: STFT power spectrograms, mel filterbanks and
//! dB / log scaling with torchaudio semantics, on sample slices.
//!
//! * [`SpectrogramPlan`] matches `torchaudio.transforms.Spectrogram` (one-sided,
//!   periodic window centered in `n_fft`, `center` with reflect/constant padding of
//!   `n_fft / 2`, `1 + len / hop` frames), `MelSpectrogram` (HTK or Slaney scale,
//!   optional Slaney norm) and `AmplitudeToDB` (amin 1e-10, global `top_db`).
//! * Output is `[n_bins, n_frames]`, freq-major like torch.
//! * Everything is computed in **f32** (as torchaudio does); the log uses a fast
//!   vectorizable f32 implementation accurate to < 1e-4 dB ([`power_to_db_exact`] is the
//!   f64 reference). Parity with torchaudio 2.11 is tested to 1.1e-3 dB (+10 %) on every bin within
//!   80 dB of the peak (fixtures: `data/fixtures/gen_dsp.py`).
//! * Reflect padding needs `len > n_fft / 2` (torch errors otherwise); shorter input is a
//!   [`DspError::InputTooShort`]. Callers pad clips to a fixed length first.
//!
//! ```
//! use specnorm_dsp::{SpectrogramConfig, SpectrogramPlan};
//!
//! let sr = 16_000;
//! let sine: Vec<f32> = (0..80_000)
//!     .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / sr as f32).sin())
//!     .collect();
//! // torchaudio defaults: n_fft 400, hop 200, Hann, power 2, then AmplitudeToDB.
//! let plan = SpectrogramPlan::new(&SpectrogramConfig::default(), sr)?;
//! let spec = plan.compute(&sine)?;
//! assert_eq!(spec.shape(), &[201, 401]);
//! // 1 kHz falls exactly on bin 1000 / (16000 / 400) = 25.
//! let col = spec.column(200);
//! let peak = (0..201).max_by(|&a, &b| col[a].total_cmp(&col[b])).unwrap();
//! assert_eq!(peak, 25);
//! # Ok::<(), specnorm_dsp::DspError>(())
//! ```
#![deny(missing_docs)]

mod config;
mod error;
mod lanes;
mod mel;
mod plan;
mod scale;
mod simd;
mod stft_lanes;
mod window;

pub use config::{PadMode, SpectrogramConfig, StftConfig};
pub use error::DspError;
pub use mel::{mel_band_centers, mel_filterbank, try_mel_filterbank, MelConfig, MelNorm, MelScale};
pub use plan::SpectrogramPlan;
pub use scale::{power_to_db, power_to_db_exact, power_to_ln, power_to_ln_exact, Scale, DB_AMIN};
pub use window::{window, WindowKind};

#[cfg(test)]
mod unit_tests {
    use super::*;

    /// The band centres are where each filter of the filterbank peaks: on a 1 Hz FFT grid
    /// (n_fft = sample rate) the argmax of every column is within 1 Hz of its centre.
    #[test]
    fn mel_band_centres_are_the_filter_peaks() {
        for scale in [MelScale::Htk, MelScale::Slaney] {
            let mel = MelConfig {
                n_mels: 40,
                f_min: 50.0,
                f_max: Some(7000.0),
                scale,
                ..MelConfig::default()
            };
            let fb = mel_filterbank(8001, 16_000, &mel);
            let centres = mel_band_centers(16_000, &mel);
            assert_eq!(centres.len(), 40);
            for (m, c) in centres.iter().enumerate() {
                let col = fb.column(m);
                let peak = (0..col.len())
                    .max_by(|&a, &b| col[a].total_cmp(&col[b]))
                    .unwrap();
                assert!(
                    (peak as f64 - c).abs() <= 1.0,
                    "{scale:?} band {m}: {peak} vs {c}"
                );
            }
        }
    }

    #[test]
    fn row_frequencies_and_frame_times() {
        let mut cfg = SpectrogramConfig::default();
        let f = cfg.row_frequencies(16_000);
        assert_eq!((f.len(), f[1], f[200]), (201, 40.0, 8000.0));
        assert_eq!(cfg.stft.frame_time(400, 16_000), 5.0);
        cfg.stft.center = false;
        assert_eq!(cfg.stft.frame_time(0, 16_000), 200.0 / 16_000.0);
        cfg.mel = Some(MelConfig::default());
        assert_eq!(
            cfg.row_frequencies(16_000).len(),
            MelConfig::default().n_mels
        );
    }

    #[test]
    fn plan_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SpectrogramPlan>();
    }
}
