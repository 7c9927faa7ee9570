//! `specnorm spec IN --out OUT.npy [--png OUT.png]`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use specnorm_experiment::report::{feature_unit, plot_spectrogram};
use specnorm_features::FeatureExtractor;

use crate::common::{ensure_parent, warn_truncated, write_npy, DecodeArgs, FeatureArgs};

/// Arguments of `specnorm spec`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  specnorm spec dog.wav --out dog.npy --png dog.png\n  \
    specnorm spec speech.flac --mel 64 --seconds 0 --png speech.png    # mel, clip's own length"
)]
pub struct Args {
    /// Input audio file (WAV, FLAC, OGG Vorbis, MP3).
    pub input: PathBuf,
    /// Write the dB spectrogram as float32 .npy of shape [F, T].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Draw the spectrogram with a colorbar to this PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    #[command(flatten)]
    pub features: FeatureArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
}

pub fn run(a: Args) -> Result<()> {
    if a.out.is_none() && a.png.is_none() {
        bail!("nothing to write: pass --out OUT.npy and/or --png OUT.png");
    }
    let cfg = a.features.config()?;
    let fx = FeatureExtractor::new(cfg.clone())?.with_decode_options(a.decode.options());
    let spec = fx.extract_file(&a.input)?;
    let truncated: Vec<String> = fx.take_truncated().iter().map(|t| t.to_string()).collect();
    warn_truncated(&truncated);
    let (f, t) = spec.dim();
    if let Some(out) = &a.out {
        ensure_parent(out)?;
        write_npy(out, &spec)?;
        println!("{}: [{f}, {t}] -> {}", a.input.display(), out.display());
    }
    if let Some(png) = &a.png {
        ensure_parent(png)?;
        let name = a
            .input
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let title = format!(
            "{name} ({} Hz, n_fft {}, hop {})",
            cfg.sample_rate, cfg.spectrogram.stft.n_fft, cfg.spectrogram.stft.hop_length
        );
        plot_spectrogram(png, &spec, &title, feature_unit(&cfg), &cfg)
            .with_context(|| format!("plotting {}", a.input.display()))?;
        println!("{}: plot -> {}", a.input.display(), png.display());
    }
    Ok(())
}
