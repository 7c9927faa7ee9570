//! Pieces shared by the subcommands: feature flags (and `--config`), decode flags and atomic
//! file output.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::ValueEnum;
use specnorm_dsp::MelConfig;
use specnorm_experiment::config_file::ConfigFile;
use specnorm_features::keys::DEFAULT_LN_EPS;
use specnorm_features::{
    FeatureConfig, FeatureKeys, MelNormName, MelScaleName, PadModeName, ScaleName, WindowName,
};

/// The library's default front end as keys: the values the help shows as defaults.
fn defaults() -> FeatureKeys {
    FeatureKeys::from(&FeatureConfig::default())
}

/// `text [default: value]`, or `text` when the default is unset.
fn help<T: Display>(text: &str, default: Option<T>) -> String {
    match default {
        Some(d) => format!("{text} [default: {d}]"),
        None => text.to_string(),
    }
}

/// The command-line name of a value.
fn name<T: ValueEnum>(v: T) -> Option<String> {
    v.to_possible_value().map(|p| p.get_name().to_string())
}

/// Front-end flags common to `spec`, `stats` and `config --print`: one per flat key of
/// [`FeatureKeys`] (`--mel` is `n_mels`). None has a clap default, so that a flag given
/// overrides `--config FILE`, which overrides the library's defaults (shown in the help).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FeatureArgs {
    #[arg(
        long,
        value_name = "FILE.toml",
        help = "Read the [features] (and [experiment]) tables of this TOML file; flags override \
                its keys, unset keys take the library defaults"
    )]
    pub config: Option<PathBuf>,
    #[arg(long, value_name = "HZ", help = help("Target sample rate in Hz", defaults().sample_rate))]
    pub sample_rate: Option<u32>,
    #[arg(
        long,
        value_name = "S",
        help = help("Pad or trim every clip to this many seconds (0 keeps each clip's length; \
                     `experiment` then pads each training batch to its longest clip)",
                    defaults().seconds)
    )]
    pub seconds: Option<f32>,
    #[arg(
        long,
        help = "Skip waveform normalization ((x - mean) / std) before the STFT"
    )]
    pub no_waveform_norm: bool,
    #[arg(
        long,
        value_name = "N",
        help = help("FFT size (the window length too, unless --win-length)", defaults().n_fft)
    )]
    pub n_fft: Option<usize>,
    #[arg(
        long,
        value_name = "N",
        help = "Window length (<= --n-fft) [default: --n-fft]"
    )]
    pub win_length: Option<usize>,
    #[arg(long, value_name = "N", help = help("Hop between frames in samples", defaults().hop))]
    pub hop: Option<usize>,
    #[arg(long, value_enum, help = help("Analysis window", defaults().window.and_then(name)))]
    pub window: Option<WindowName>,
    #[arg(
        long,
        help = "Do not pad n_fft / 2 at both ends (frames start at sample 0)"
    )]
    pub no_center: bool,
    #[arg(
        long,
        value_enum,
        help = help("Padding of the centered STFT", defaults().pad_mode.and_then(name))
    )]
    pub pad_mode: Option<PadModeName>,
    #[arg(
        long,
        value_name = "P",
        help = help("Exponent of the magnitude (1 magnitude, 2 power)", defaults().power)
    )]
    pub power: Option<f32>,
    #[arg(
        long = "mel",
        value_name = "N",
        help = help("Mel bands (0: linear frequency bins)", defaults().n_mels)
    )]
    pub n_mels: Option<usize>,
    #[arg(
        long,
        value_name = "HZ",
        help = help("Lowest mel band edge (needs --mel)", Some(MelConfig::default().f_min))
    )]
    pub f_min: Option<f32>,
    #[arg(
        long,
        value_name = "HZ",
        help = "Highest mel band edge (needs --mel) [default: half the sample rate]"
    )]
    pub f_max: Option<f32>,
    #[arg(
        long,
        value_enum,
        help = help("Mel scale (needs --mel)", name(MelScaleName::from(MelConfig::default().scale)))
    )]
    pub mel_scale: Option<MelScaleName>,
    #[arg(
        long,
        value_enum,
        help = help("Mel filter normalization (needs --mel)",
                    name(MelNormName::from(MelConfig::default().norm)))
    )]
    pub mel_norm: Option<MelNormName>,
    #[arg(long, value_enum, help = help("Output scaling", defaults().scale.and_then(name)))]
    pub scale: Option<ScaleName>,
    #[arg(
        long,
        value_name = "DB",
        help = help("Clamp --scale db to this many dB below the maximum",
                    Some(defaults().top_db.map_or_else(|| "no clamping".into(), |t| t.to_string())))
    )]
    pub top_db: Option<f32>,
    #[arg(
        long,
        value_name = "EPS",
        help = help("Floor of --scale ln before the log", Some(DEFAULT_LN_EPS))
    )]
    pub ln_eps: Option<f32>,
}

/// The configuration file (empty without `--config`) and the feature configuration resolved
/// from the defaults, the file and the flags.
pub struct Resolved {
    /// The parsed `--config` file.
    pub file: ConfigFile,
    /// The front end.
    pub features: FeatureConfig,
}

impl FeatureArgs {
    /// The keys the flags set (the top layer).
    pub fn keys(&self) -> FeatureKeys {
        FeatureKeys {
            sample_rate: self.sample_rate,
            seconds: self.seconds,
            waveform_norm: self.no_waveform_norm.then_some(false),
            n_fft: self.n_fft,
            win_length: self.win_length,
            hop: self.hop,
            window: self.window,
            center: self.no_center.then_some(false),
            pad_mode: self.pad_mode,
            power: self.power,
            n_mels: self.n_mels,
            f_min: self.f_min,
            f_max: self.f_max,
            mel_scale: self.mel_scale,
            mel_norm: self.mel_norm,
            scale: self.scale,
            top_db: self.top_db,
            ln_eps: self.ln_eps,
        }
    }

    /// Reads `--config` (if given) and resolves library defaults < file < flags. An error
    /// says which layer is at fault: the file (named) or the flags.
    pub fn resolve(&self) -> Result<Resolved> {
        let file = match &self.config {
            Some(p) => ConfigFile::load(p)?,
            None => ConfigFile::default(),
        };
        let merged = file.features.overridden_by(&self.keys()).resolve();
        let features = match (merged, &self.config) {
            (Ok(cfg), _) => cfg,
            (Err(e), Some(p)) => match file.features.resolve() {
                Err(file_err) => return Err(anyhow!("{}: [features] {file_err}", p.display())),
                Ok(_) => {
                    return Err(anyhow!(e)).with_context(|| {
                        format!("the feature flags over {} do not fit", p.display())
                    })
                }
            },
            (Err(e), None) => return Err(anyhow!(e)).context("the feature flags do not fit"),
        };
        Ok(Resolved { file, features })
    }

    /// The feature configuration: [`FeatureArgs::resolve`]'s.
    pub fn config(&self) -> Result<FeatureConfig> {
        Ok(self.resolve()?.features)
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
