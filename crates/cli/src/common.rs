//! Pieces shared by the subcommands: feature flags and atomic file output.

use std::path::Path;

use anyhow::{Context, Result};
use specnorm_dsp::MelConfig;
use specnorm_features::FeatureConfig;

/// The library's default front end, whose values are the flags' defaults.
fn defaults() -> FeatureConfig {
    FeatureConfig::default()
}

/// Front-end options common to `spec` and `stats`; defaults are `FeatureConfig::default()`'s.
#[derive(clap::Args, Debug, Clone)]
pub struct FeatureArgs {
    /// Target sample rate in Hz.
    #[arg(long, default_value_t = defaults().sample_rate)]
    pub sample_rate: u32,
    /// FFT size (window length too).
    #[arg(long, default_value_t = defaults().spectrogram.stft.n_fft)]
    pub n_fft: usize,
    /// Hop length in samples.
    #[arg(long, default_value_t = defaults().spectrogram.stft.hop_length)]
    pub hop: usize,
    /// Mel bins (HTK scale, as torchaudio's MelSpectrogram); off by default.
    #[arg(long)]
    pub mel: Option<usize>,
    /// Pad or trim every clip to this many seconds (0 keeps each clip's length).
    #[arg(long, default_value_t = defaults().seconds.unwrap_or(0.0))]
    pub seconds: f32,
    /// Skip waveform normalization ((x - mean) / std) before the STFT.
    #[arg(long)]
    pub no_waveform_norm: bool,
}

impl FeatureArgs {
    /// The feature configuration these flags describe.
    pub fn config(&self) -> FeatureConfig {
        let mut cfg = FeatureConfig {
            sample_rate: self.sample_rate,
            seconds: (self.seconds > 0.0).then_some(self.seconds),
            waveform_norm: !self.no_waveform_norm,
            ..FeatureConfig::default()
        };
        cfg.spectrogram.stft.n_fft = self.n_fft;
        cfg.spectrogram.stft.win_length = self.n_fft;
        cfg.spectrogram.stft.hop_length = self.hop;
        cfg.spectrogram.mel = self.mel.map(|n_mels| MelConfig {
            n_mels,
            ..MelConfig::default()
        });
        cfg
    }
}

/// Decoding policy flags common to `spec`, `stats`, `experiment` and `infer`.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct DecodeArgs {
    /// Accept truncated clips (the header declares more audio data than the file holds: a cut-off
    /// download or copy): decode the part present, list them in a warning, and count them in the
    /// statistics' provenance. Without it, each is an error naming the file and both sizes.
    #[arg(long)]
    pub allow_truncated: bool,
}

impl DecodeArgs {
    /// The decoder options these flags describe.
    pub fn options(&self) -> specnorm_features::DecodeOptions {
        specnorm_features::DecodeOptions {
            allow_truncated: self.allow_truncated,
        }
    }
}

/// Print the warning that lists clips accepted although truncated (nothing when there are none).
pub fn warn_truncated(clips: &[String]) {
    if !clips.is_empty() {
        eprintln!(
            "warning: accepted {} truncated clip(s) (--allow-truncated; only the part present is \
             used):\n  {}",
            clips.len(),
            clips.join("\n  ")
        );
    }
}

/// Write `bytes` to `path` atomically (temporary sibling, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    specnorm_atomic::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Write a float32 array as .npy, atomically.
pub fn write_npy<D: ndarray::Dimension>(path: &Path, a: &ndarray::Array<f32, D>) -> Result<()> {
    specnorm_atomic::write_with(path, |tmp| {
        ndarray_npy::write_npy(tmp, a).map_err(anyhow::Error::from)
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// Create the parent folder of an output file.
pub fn ensure_parent(path: &Path) -> Result<()> {
    if let Some(p) = path.parent() {
        if !p.as_os_str().is_empty() {
            std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        }
    }
    Ok(())
}
