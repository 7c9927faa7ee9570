//! The files a statistics run writes: `stats.json`, mean/std `.npy`, the per-channel plot.

use std::path::{Path, PathBuf};

use specnorm_features::FeatureConfig;
use specnorm_plot::{lines, LinesOpts, Series};
use specnorm_stats::Stats;

use crate::{FinishedStats, PipelineError};

/// Paths written by [`write_outputs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPaths {
    /// The statistics JSON.
    pub json: PathBuf,
    /// Mean as float32 `.npy` (keep-dims shape).
    pub mean_npy: PathBuf,
    /// Population std as float32 `.npy`.
    pub std_npy: PathBuf,
    /// Per-channel mean ± std plot.
    pub png: PathBuf,
}

impl OutputPaths {
    /// The files written for `out` (`stats.json` → `stats.mean.npy`, `stats.std.npy`,
    /// `stats.channels.png` beside it).
    pub fn for_json(out: &Path) -> OutputPaths {
        let sibling = |suffix: &str| {
            let stem = out
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "stats".into());
            out.with_file_name(format!("{stem}{suffix}"))
        };
        OutputPaths {
            json: out.to_path_buf(),
            mean_npy: sibling(".mean.npy"),
            std_npy: sibling(".std.npy"),
            png: sibling(".channels.png"),
        }
    }
}

/// Writes `stats.json` (requested axes), the mean/std `.npy` files and the per-channel plot for
/// `out`, creating its folder. Each file is written atomically.
pub fn write_outputs(
    out: &Path,
    finished: &FinishedStats,
    features: &FeatureConfig,
) -> Result<OutputPaths, PipelineError> {
    let paths = OutputPaths::for_json(out);
    if let Some(p) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(p).map_err(|source| PipelineError::Io {
            path: p.to_path_buf(),
            source,
        })?;
    }
    let s = &finished.stats;
    s.save_json(&paths.json)?;
    s.save_npy(&paths.mean_npy, &paths.std_npy)?;
    plot_channels(&paths.png, &finished.channel, features)?;
    Ok(paths)
}

/// Per-channel mean ± std against frequency (Hz, or mel bin).
fn plot_channels(path: &Path, stats: &Stats, cfg: &FeatureConfig) -> Result<(), PipelineError> {
    let mean: Vec<f64> = stats.mean.iter().copied().collect();
    let std: Vec<f64> = stats.std.iter().copied().collect();
    let (x, x_label): (Vec<f64>, &str) = if cfg.spectrogram.mel.is_some() {
        ((0..mean.len()).map(|i| i as f64).collect(), "mel bin")
    } else {
        let hz = f64::from(cfg.sample_rate) / cfg.spectrogram.stft.n_fft as f64;
        (
            (0..mean.len()).map(|i| i as f64 * hz).collect(),
            "frequency (Hz)",
        )
    };
    let opts = LinesOpts {
        title: format!(
            "per-channel dB mean ± std, folds {:?} ({} clips)",
            stats.provenance.folds, stats.provenance.clips
        ),
        x_label: x_label.into(),
        y_label: "dB".into(),
        log_x: false,
    };
    let series = Series {
        name: "mean ± std".into(),
        x,
        y: mean,
        band: Some(std),
    };
    lines(path, &opts, &[series])?;
    Ok(())
}

/// Largest absolute differences of mean and of std between two statistics of the same shape
/// (e.g. a `--sample` run against a full pass). Errors name both shapes.
pub fn max_abs_difference(a: &Stats, b: &Stats) -> Result<(f64, f64), PipelineError> {
    if a.shape != b.shape {
        return Err(PipelineError::Config(format!(
            "cannot compare statistics of shape {:?} with shape {:?}",
            a.shape, b.shape
        )));
    }
    let max_abs = |x: &ndarray::ArrayD<f64>, y: &ndarray::ArrayD<f64>| {
        x.iter()
            .zip(y.iter())
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max)
    };
    Ok((max_abs(&a.mean, &b.mean), max_abs(&a.std, &b.std)))
}
