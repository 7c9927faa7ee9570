//! The distributions behind the blog's argument: the values of the training folds' features
//! as power and as dB (the log is what tames the power spectrum's heavy tail), after each
//! setting's normalization, and per frequency channel (1 %, 50 %, 99 % quantiles).
//!
//! Computed on a seeded sample, stated in the result: [`SAMPLE_CLIPS`] training clips drawn
//! without replacement (ChaCha8, [`SAMPLE_SEED`]), every value of those clips feeding a seeded
//! [`Reservoir`] of [`RESERVOIR`] values per distribution; quantiles, histograms, skewness and
//! excess kurtosis of the reservoir (numpy/scipy-exact, `specnorm_analysis::distribution`). The
//! per-channel quantiles use every value of the sampled clips in that channel.

use std::fmt::Write as _;
use std::path::Path;

use ndarray::Array2;
use rand::seq::index::sample;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use specnorm_analysis::distribution::{quantiles, summarize, Reservoir, Summary};

use super::{io_err, ReportError};

/// Training clips sampled.
pub const SAMPLE_CLIPS: usize = 200;
/// Values kept per distribution.
pub const RESERVOIR: usize = 400_000;
/// Seed of the clip draw and of the reservoirs.
pub const SAMPLE_SEED: u64 = 0x5eed;
/// The quantiles reported.
pub const QUANTILES: [f64; 5] = [0.01, 0.25, 0.5, 0.75, 0.99];
/// The per-channel quantiles.
pub const CHANNEL_QUANTILES: [f64; 3] = [0.01, 0.5, 0.99];
/// Histogram bins.
pub const BINS: usize = 60;

/// One distribution of feature values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueDistribution {
    /// `power`, `dB`, or the setting whose normalized features these are.
    pub name: String,
    /// Unit of the values.
    pub unit: String,
    /// Values offered to the reservoir.
    pub seen: u64,
    /// Moments, quantiles and histogram of the reservoir sample.
    pub summary: Summary,
}

/// 1 %, 50 % and 99 % quantiles of the dB features per frequency channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelQuantiles {
    /// Frequency of each channel in Hz (FFT bins or mel band centres).
    pub frequency_hz: Vec<f64>,
    /// The quantile levels, [`CHANNEL_QUANTILES`].
    pub levels: Vec<f64>,
    /// `values[q][f]`: quantile `levels[q]` of channel `f`.
    pub values: Vec<Vec<f64>>,
}

/// Everything in `results.json`'s `distributions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distributions {
    /// The validation fold whose training folds were sampled.
    pub valid_fold: u32,
    /// Clips sampled (at most [`SAMPLE_CLIPS`]) of how many training clips.
    pub clips_sampled: usize,
    /// Training clips of that fold.
    pub clips_total: usize,
    /// [`SAMPLE_SEED`].
    pub seed: u64,
    /// [`RESERVOIR`].
    pub reservoir: usize,
    /// power, dB, then one per normalized setting.
    pub values: Vec<ValueDistribution>,
    /// Per-channel quantiles of the dB features.
    pub channels: ChannelQuantiles,
}

/// Which of `n` training clips to sample (sorted indices into the caller's list).
pub fn sample_clips(n: usize) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SAMPLE_SEED);
    let mut picked = sample(&mut rng, n, n.min(SAMPLE_CLIPS)).into_vec();
    picked.sort_unstable();
    picked
}

/// The distribution of every value of `clips` (the same reservoir seed for every
/// distribution, so they sample the same positions when the clips have the same shapes).
pub fn value_distribution<'a>(
    name: &str,
    unit: &str,
    clips: impl IntoIterator<Item = &'a Array2<f32>>,
) -> Result<ValueDistribution, ReportError> {
    let mut r = Reservoir::new(RESERVOIR, SAMPLE_SEED);
    for c in clips {
        r.extend(c.iter().map(|&v| f64::from(v)));
    }
    let summary = summarize(r.values(), &QUANTILES, BINS).map_err(|e| ReportError::Analysis {
        what: format!("distribution of {name}"),
        source: e,
    })?;
    Ok(ValueDistribution {
        name: name.to_string(),
        unit: unit.to_string(),
        seen: r.seen(),
        summary,
    })
}

/// [`CHANNEL_QUANTILES`] of each row of `clips` (all `[F, T]` with the same F).
pub fn channel_quantiles(
    clips: &[&Array2<f32>],
    frequency_hz: Vec<f64>,
) -> Result<ChannelQuantiles, ReportError> {
    let rows = clips.first().map_or(0, |c| c.nrows());
    let mut values = vec![Vec::with_capacity(rows); CHANNEL_QUANTILES.len()];
    for f in 0..rows {
        let row: Vec<f64> = clips
            .iter()
            .flat_map(|c| c.row(f).to_vec())
            .map(f64::from)
            .collect();
        let q = quantiles(&row, &CHANNEL_QUANTILES).map_err(|e| ReportError::Analysis {
            what: format!("quantiles of channel {f}"),
            source: e,
        })?;
        for (dst, v) in values.iter_mut().zip(q) {
            dst.push(v);
        }
    }
    Ok(ChannelQuantiles {
        frequency_hz,
        levels: CHANNEL_QUANTILES.to_vec(),
        values,
    })
}

/// `## Distributions of the feature values` of `results.md`.
pub fn render(md: &mut String, d: &Distributions) {
    let _ = writeln!(md, "## Distributions of the feature values\n");
    let _ = writeln!(
        md,
        "Training folds of validation fold {}: {} of {} clips sampled (seed {:#x}), {} values \
         per distribution kept by a seeded reservoir. Skewness and excess kurtosis are \
         population moments (0 for a normal distribution): the power spectrum's heavy tail is \
         what the log removes.\n",
        d.valid_fold, d.clips_sampled, d.clips_total, d.seed, d.reservoir
    );
    let q_head: Vec<String> = QUANTILES
        .iter()
        .map(|q| format!("q{:.0}", 100.0 * q))
        .collect();
    let _ = writeln!(
        md,
        "| values | unit | mean | std | skewness | excess kurtosis | {} |",
        q_head.join(" | ")
    );
    let _ = writeln!(
        md,
        "|---|---|---:|---:|---:|---:|{}",
        "---:|".repeat(QUANTILES.len())
    );
    for v in &d.values {
        let s = &v.summary;
        let qs: Vec<String> = s.quantiles.iter().map(|(_, x)| num(*x)).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {} |",
            v.name,
            v.unit,
            num(s.mean),
            num(s.std),
            s.skewness,
            s.excess_kurtosis,
            qs.join(" | ")
        );
    }
    let _ = writeln!(
        md,
        "\nPer frequency channel (dB): [channel_quantiles.png](channel_quantiles.png); \
         histograms: `distributions/<values>.png`.\n"
    );
}

/// A number with 4 significant digits, in scientific notation when far from 1.
fn num(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e4 || x.abs() < 1e-2) {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}

/// `channel_quantiles.png` and `distributions/<name>.png` (each histogram as a density line).
pub fn plot(out_dir: &Path, d: &Distributions) -> Result<(), ReportError> {
    let khz: Vec<f64> = d.channels.frequency_hz.iter().map(|f| f / 1000.0).collect();
    let series: Vec<specnorm_plot::Series> = d
        .channels
        .levels
        .iter()
        .zip(&d.channels.values)
        .map(|(q, v)| specnorm_plot::Series {
            name: format!("{:.0} % quantile", 100.0 * q),
            x: khz.clone(),
            y: v.clone(),
            band: None,
        })
        .collect();
    if !khz.is_empty() {
        specnorm_plot::lines(
            &out_dir.join("channel_quantiles.png"),
            &specnorm_plot::LinesOpts {
                title: format!(
                    "dB per frequency channel, training folds of fold {} ({} clips)",
                    d.valid_fold, d.clips_sampled
                ),
                x_label: "frequency (kHz)".into(),
                y_label: "dB".into(),
                log_x: false,
            },
            &series,
        )?;
    }
    let dir = out_dir.join("distributions");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    for v in &d.values {
        let h = &v.summary.histogram;
        let total = h.counts.iter().sum::<u64>().max(1) as f64;
        let x: Vec<f64> = h.edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let y: Vec<f64> = h.counts.iter().map(|&c| c as f64 / total).collect();
        let s = &v.summary;
        specnorm_plot::lines(
            &dir.join(format!("{}.png", file_stem(&v.name))),
            &specnorm_plot::LinesOpts {
                title: format!(
                    "{} values: skewness {:.2}, excess kurtosis {:.2}",
                    v.name, s.skewness, s.excess_kurtosis
                ),
                x_label: v.unit.clone(),
                y_label: "fraction of values".into(),
                log_x: false,
            },
            &[specnorm_plot::Series {
                name: v.name.clone(),
                x,
                y,
                band: None,
            }],
        )?;
    }
    Ok(())
}

/// A file stem for a distribution name (`dB` -> `db`).
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_seeded_sorted_and_bounded() {
        let a = sample_clips(1000);
        assert_eq!(a.len(), SAMPLE_CLIPS);
        assert_eq!(a, sample_clips(1000));
        assert!(a.windows(2).all(|w| w[0] < w[1]) && *a.last().unwrap() < 1000);
        assert_eq!(sample_clips(5), [0, 1, 2, 3, 4]);
    }

    // Reference: numpy 2 (`.venv`), np.quantile([4, 5, 6, 7, 4, 5, 6, 7], [.01, .5, .99]) =
    // [4, 5.5, 7]: row 1 of arange(12).reshape(3, 4), in two clips.
    #[test]
    fn channel_quantiles_match_numpy() {
        let c = Array2::from_shape_fn((3, 4), |(f, t)| (4 * f + t) as f32);
        let q = channel_quantiles(&[&c, &c], vec![0.0, 40.0, 80.0]).unwrap();
        assert_eq!(q.levels, CHANNEL_QUANTILES);
        let row1: Vec<f64> = q.values.iter().map(|v| v[1]).collect();
        for (got, want) in row1.iter().zip([4.0, 5.5, 7.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert_eq!(q.frequency_hz[2], 80.0);
    }

    // Reference: scipy.stats.skew / kurtosis (bias=True, fisher) of [1, 2, 3, 10], i.e.
    // m3 / m2^1.5 = 45 / 12.5^1.5 = 1.0182337649086284 and m4 / m2^2 - 3 = -0.7696.
    #[test]
    fn value_distribution_moments_match_scipy() {
        let c = Array2::from_shape_vec((2, 2), vec![1.0f32, 2.0, 3.0, 10.0]).unwrap();
        let d = value_distribution("dB", "dB", [&c]).unwrap();
        assert_eq!((d.seen, d.summary.count), (4, 4));
        assert!((d.summary.skewness - 1.018_233_764_908_628_4).abs() < 1e-12);
        assert!((d.summary.excess_kurtosis + 0.7696).abs() < 1e-12);
        let constant = Array2::<f32>::zeros((2, 2));
        assert!(value_distribution("x", "dB", [&constant]).is_err());
    }

    #[test]
    fn markdown_and_plots() {
        let c = Array2::from_shape_fn((3, 50), |(f, t)| ((f * 7 + t * 13) % 17) as f32);
        let d = Distributions {
            valid_fold: 1,
            clips_sampled: 1,
            clips_total: 4,
            seed: SAMPLE_SEED,
            reservoir: RESERVOIR,
            values: vec![value_distribution("dB", "dB", [&c]).unwrap()],
            channels: channel_quantiles(&[&c], vec![0.0, 40.0, 80.0]).unwrap(),
        };
        let mut md = String::new();
        render(&mut md, &d);
        assert!(md.contains("| values | unit | mean | std | skewness | excess kurtosis | q1 | q25 | q50 | q75 | q99 |"), "{md}");
        assert!(md.contains("| dB | dB |"), "{md}");
        let dir = tempfile::tempdir().unwrap();
        plot(dir.path(), &d).unwrap();
        assert!(dir.path().join("channel_quantiles.png").is_file());
        assert!(dir.path().join("distributions/db.png").is_file());
    }
}
