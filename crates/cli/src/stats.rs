//! `specnorm stats`: stream the training folds through the feature pipeline and
//! accumulate exact mean/std statistics, never holding the dataset in memory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array4, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use specnorm_features::FeatureExtractor;
use specnorm_folds::{Dataset, Item};
use specnorm_plot::{lines, LinesOpts, Series};
use specnorm_stats::{Provenance, Stats, StatsAccumulator};

use crate::common::{ensure_parent, FeatureArgs};

/// Which axes the statistics keep.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axes {
    /// One mean/std for the whole spectrogram (reduce B, F, T): shape [1,1,1,1].
    Global,
    /// One mean/std per frequency channel (reduce B, C, T): shape [1,1,F,1].
    Channel,
}

/// Arguments of `specnorm stats`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dataset root in ESC-50 layout (meta/esc50.csv, audio/).
    #[arg(long)]
    pub data: PathBuf,
    /// The validation fold: statistics come from all other folds.
    #[arg(long, default_value_t = 1)]
    pub valid_fold: u32,
    /// Axes to keep.
    #[arg(long, value_enum, default_value_t = Axes::Channel)]
    pub axes: Axes,
    /// Use a seeded random fraction (0, 1] of the training clips.
    #[arg(long)]
    pub sample: Option<f64>,
    /// Seed for --sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Clips per mini-batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Full-pass stats.json to compare a --sample run against.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Leave out clips that fail to decode (and say how many) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
    /// Output stats.json; mean/std .npy and a per-channel PNG are written beside it.
    #[arg(long, default_value = "stats.json")]
    pub out: PathBuf,
    #[command(flatten)]
    pub features: FeatureArgs,
}

/// Choose `fraction` of `items` with a seeded shuffle (order kept stable).
fn sample_items(mut items: Vec<Item>, fraction: f64, seed: u64) -> Result<Vec<Item>> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        bail!("--sample must be in (0, 1], got {fraction}");
    }
    let n = ((items.len() as f64 * fraction).round() as usize).clamp(1, items.len().max(1));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    items.shuffle(&mut rng);
    items.truncate(n);
    items.sort_by(|a, b| a.filename.cmp(&b.filename));
    Ok(items)
}

/// The two accumulators a stats run fills: the requested one and per-channel
/// (for the plot). Exposed for tests.
pub struct Accumulated {
    pub requested: StatsAccumulator,
    pub per_channel: StatsAccumulator,
    pub clips: u64,
    pub bad: Vec<String>,
}

/// Stream `items` in mini-batches: features in parallel, accumulation in a
/// fixed order so the result is bitwise reproducible.
pub fn accumulate(
    fx: &FeatureExtractor,
    items: &[Item],
    axes: Axes,
    batch_size: usize,
    skip_bad: bool,
    progress: &ProgressBar,
) -> Result<Accumulated> {
    let mut acc = Accumulated {
        requested: match axes {
            Axes::Global => StatsAccumulator::global(),
            Axes::Channel => StatsAccumulator::per_channel(),
        },
        per_channel: StatsAccumulator::per_channel(),
        clips: 0,
        bad: Vec::new(),
    };
    for chunk in items.chunks(batch_size.max(1)) {
        let paths: Vec<PathBuf> = chunk.iter().map(|i| i.path.clone()).collect();
        let results = fx.extract_files(&paths, &|_| progress.inc(1));
        let mut specs = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(s) => specs.push(s),
                Err(e) => acc.bad.push(e.to_string()),
            }
        }
        if !acc.bad.is_empty() && !skip_bad {
            continue; // keep going to list every bad file at once
        }
        // Group by frame count so clips of different lengths (no --seconds) stay exact.
        let mut by_len: std::collections::BTreeMap<(usize, usize), Vec<&ndarray::Array2<f32>>> =
            Default::default();
        for s in &specs {
            by_len.entry(s.dim()).or_default().push(s);
        }
        for ((f, t), group) in by_len {
            let mut batch = Array4::<f32>::zeros((group.len(), 1, f, t));
            for (i, s) in group.iter().enumerate() {
                batch
                    .index_axis_mut(Axis(0), i)
                    .index_axis_mut(Axis(0), 0)
                    .assign(s);
            }
            acc.requested.update(batch.view().into_dyn())?;
            acc.per_channel.update(batch.view().into_dyn())?;
            acc.clips += group.len() as u64;
        }
    }
    if !acc.bad.is_empty() && !skip_bad {
        bail!(
            "{} file(s) could not be turned into features (pass --skip-bad to leave them out):\n  {}",
            acc.bad.len(),
            acc.bad.join("\n  ")
        );
    }
    Ok(acc)
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "stats".into());
    out.with_file_name(format!("{stem}{suffix}"))
}

/// Per-channel mean ± std against frequency (Hz, or mel bin).
fn plot_channels(path: &Path, stats: &Stats, fx: &FeatureExtractor, title: &str) -> Result<()> {
    let mean: Vec<f64> = stats.mean.iter().copied().collect();
    let std: Vec<f64> = stats.std.iter().copied().collect();
    let cfg = fx.config();
    let (x, x_label): (Vec<f64>, &str) = if cfg.spectrogram.mel.is_some() {
        ((0..mean.len()).map(|i| i as f64).collect(), "mel bin")
    } else {
        let hz = cfg.sample_rate as f64 / cfg.spectrogram.stft.n_fft as f64;
        (
            (0..mean.len()).map(|i| i as f64 * hz).collect(),
            "frequency (Hz)",
        )
    };
    let s = Series {
        name: "mean ± std".into(),
        x,
        y: mean,
        band: Some(std),
    };
    let opts = LinesOpts {
        title: title.into(),
        x_label: x_label.into(),
        y_label: "dB".into(),
        log_x: false,
    };
    lines(path, &opts, &[s])?;
    Ok(())
}

pub fn run(a: Args) -> Result<()> {
    let ds =
        Dataset::open(&a.data).with_context(|| format!("opening dataset {}", a.data.display()))?;
    ds.check_files()?;
    let split = ds.split(a.valid_fold)?;
    let fraction = a.sample.unwrap_or(1.0);
    let items = if a.sample.is_some() {
        sample_items(split.train.clone(), fraction, a.seed)?
    } else {
        split.train.clone()
    };
    let cfg = a.features.config();
    let fx = FeatureExtractor::new(cfg.clone())?;
    eprintln!(
        "stats over {} training clips (folds {:?}, validation fold {} excluded), {} threads",
        items.len(),
        split.train_folds,
        a.valid_fold,
        rayon::current_num_threads()
    );
    let pb = ProgressBar::new(items.len() as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} clips  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let t0 = std::time::Instant::now();
    let acc = accumulate(&fx, &items, a.axes, a.batch_size, a.skip_bad, &pb)?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    if !acc.bad.is_empty() {
        eprintln!(
            "skipped {} bad file(s):\n  {}",
            acc.bad.len(),
            acc.bad.join("\n  ")
        );
    }
    let provenance = Provenance {
        dataset: a.data.display().to_string(),
        folds: split.train_folds.clone(),
        clips: acc.clips,
        sample_fraction: fraction,
        features: serde_json::to_value(&cfg)?,
        note: Some(format!(
            "seed {}; {} bad files skipped",
            a.seed,
            acc.bad.len()
        )),
    };
    let stats = acc
        .requested
        .finalize()?
        .with_provenance(provenance.clone());
    let channel = acc.per_channel.finalize()?.with_provenance(provenance);
    ensure_parent(&a.out)?;
    stats.save_json(&a.out)?;
    let (mean_npy, std_npy) = (sibling(&a.out, ".mean.npy"), sibling(&a.out, ".std.npy"));
    stats.save_npy(&mean_npy, &std_npy)?;
    let png = sibling(&a.out, ".channels.png");
    let title = format!(
        "per-channel dB mean ± std, folds {:?} ({} clips)",
        split.train_folds, acc.clips
    );
    plot_channels(&png, &channel, &fx, &title)?;
    println!(
        "{} clips in {secs:.1} s ({:.0} clips/s); shape {:?}",
        acc.clips,
        acc.clips as f64 / secs.max(1e-9),
        stats.shape
    );
    if stats.mean.len() == 1 {
        println!(
            "global mean {:.4} dB, std {:.4} dB",
            stats.mean.iter().next().copied().unwrap_or(f64::NAN),
            stats.std.iter().next().copied().unwrap_or(f64::NAN)
        );
    } else {
        let m = &stats.mean;
        println!(
            "per-channel mean from {:.2} to {:.2} dB, std from {:.2} to {:.2} dB",
            m.iter().copied().fold(f64::INFINITY, f64::min),
            m.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            stats.std.iter().copied().fold(f64::INFINITY, f64::min),
            stats.std.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
    }
    println!(
        "wrote {}, {}, {}, {}",
        a.out.display(),
        mean_npy.display(),
        std_npy.display(),
        png.display()
    );
    if let Some(full) = &a.compare {
        let full = Stats::load_json(full)?;
        if full.shape != stats.shape {
            bail!(
                "cannot compare: {} has shape {:?}, this run {:?}",
                a.compare
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                full.shape,
                stats.shape
            );
        }
        let max_abs = |x: &ndarray::ArrayD<f64>, y: &ndarray::ArrayD<f64>| {
            x.iter()
                .zip(y.iter())
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max)
        };
        println!(
            "sample ({:.0}% of clips) vs full pass: max |Δmean| = {:.4} dB, max |Δstd| = {:.4} dB",
            fraction * 100.0,
            max_abs(&stats.mean, &full.mean),
            max_abs(&stats.std, &full.std)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str) -> Item {
        Item {
            filename: name.into(),
            path: PathBuf::from(name),
            fold: 1,
            target: 0,
            category: "c".into(),
        }
    }

    #[test]
    fn sampling_is_seeded_and_sized() {
        let items: Vec<Item> = (0..50).map(|i| item(&format!("{i:02}.wav"))).collect();
        let a = sample_items(items.clone(), 0.2, 7).unwrap();
        let b = sample_items(items.clone(), 0.2, 7).unwrap();
        let c = sample_items(items.clone(), 0.2, 8).unwrap();
        assert_eq!(a.len(), 10);
        let names = |v: &[Item]| v.iter().map(|i| i.filename.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
        assert!(sample_items(items.clone(), 0.0, 1).is_err());
        assert!(sample_items(items, 1.5, 1).is_err());
    }

    #[test]
    fn sibling_names() {
        assert_eq!(
            sibling(Path::new("out/stats.json"), ".mean.npy"),
            PathBuf::from("out/stats.mean.npy")
        );
    }
}
