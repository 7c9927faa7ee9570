//! Spectrogram normalization transforms with encode / decode.
//!
//! A [`Normalizer`] works in place on batches whose last two axes are `[F, T]` (frequency bins,
//! frames), e.g. `[B, 1, F, T]` or a single `[F, T]` spectrogram:
//!
//! | variant | encode | decode |
//! |---|---|---|
//! | [`None`](Normalizer::None) | identity | identity |
//! | [`Global`](Normalizer::Global) | `(x - mean) / std` with scalars | `x * std + mean` |
//! | [`PerChannel`](Normalizer::PerChannel) | the same with one mean/std per frequency bin (axis `-2`) | inverse |
//! | [`Fixed`](Normalizer::Fixed) | arrays broadcast (NumPy rules) against the batch | inverse |
//! | [`PerInstance`](Normalizer::PerInstance) | each `[F, T]` spectrogram by its own mean/std | needs the side info, see [`Normalizer::decode_with`] |
//! | [`Pcen`](Normalizer::Pcen) | [`pcen`] of each `[F, T]` *power* spectrogram | not invertible: error |
//!
//! Arithmetic is done in `f64` per element and rounded once to `f32`.
//!
//! Statistics come from [`specnorm_stats::Stats`]; [`Normalizer::for_validation_fold`] refuses
//! statistics whose provenance includes the validation fold (normalization-statistics leakage).
//!
//! ```
//! use ndarray::{Array4, ArrayD, IxDyn};
//! use specnorm_norm::Normalizer;
//! use specnorm_stats::{Provenance, StatsAccumulator};
//!
//! // per-frequency-bin stats of the training folds
//! let train = Array4::from_shape_fn((4, 1, 3, 10), |(b, _, f, t)| (f * 100 + b * 10 + t) as f32);
//! let mut acc = StatsAccumulator::per_channel();
//! acc.update(train.view())?;
//! let stats = acc.finalize()?.with_provenance(Provenance { folds: vec![1, 2, 3, 4], ..Default::default() });
//!
//! let norm = Normalizer::for_validation_fold(&stats, 5)?;
//! assert_eq!(norm.name(), "per_channel");
//! let mut batch = train.clone();
//! norm.encode(batch.view_mut())?;
//! // every frequency bin now has mean 0 and std 1
//! let bin0 = batch.index_axis(ndarray::Axis(2), 0);
//! assert!(bin0.mean().unwrap().abs() < 1e-5);
//! norm.decode(batch.view_mut())?;
//! assert!(batch.iter().zip(train.iter()).all(|(a, b)| (a - b).abs() < 1e-4));
//!
//! // statistics computed on the validation fold are refused
//! assert!(Normalizer::for_validation_fold(&stats, 2).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod pcen;
mod spec;

pub use pcen::{pcen, PcenConfig};
pub use spec::NormSpec;

use ndarray::{ArrayD, ArrayViewMut, ArrayViewMut2, ArrayViewMutD, Axis, Dimension, Ix2, Zip};
use specnorm_stats::Stats;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum NormError {
    /// Statistics and data shapes are incompatible.
    #[error("normalization statistics of shape {stats:?} do not fit a batch of shape {batch:?}: {detail}")]
    ShapeMismatch {
        /// Shape of the statistics (for per-channel: `[channels, 1]`).
        stats: Vec<usize>,
        /// Shape of the batch.
        batch: Vec<usize>,
        /// Which axis disagrees.
        detail: String,
    },
    /// The batch has too few axes for this normalizer.
    #[error("{normalizer} normalization needs a batch with [..., F, T] axes, got shape {batch:?}")]
    RankTooLow {
        /// Normalizer name.
        normalizer: &'static str,
        /// Shape of the batch.
        batch: Vec<usize>,
    },
    /// Statistics or parameters that cannot normalize (std <= 0, non-finite, length mismatch...).
    #[error("invalid {normalizer} parameters: {detail}")]
    InvalidParameters {
        /// Normalizer name.
        normalizer: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A serialized normalization that does not parse.
    #[error("normalization JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Statistics computed on the validation fold (or without fold provenance).
    #[error("normalization statistics leak: {0}")]
    Leakage(String),
    /// This transform has no inverse.
    #[error("{0} normalization is not invertible{1}")]
    NotInvertible(&'static str, &'static str),
    /// Input data that the transform cannot handle (e.g. negative power for PCEN, NaN).
    #[error("invalid input for {normalizer}: {detail}")]
    InvalidInput {
        /// Normalizer name.
        normalizer: &'static str,
        /// What is wrong.
        detail: String,
    },
}

/// Per-item statistics produced by [`Normalizer::encode_with_info`] for per-instance
/// normalization; they make [`Normalizer::decode_with`] an exact inverse.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceStats {
    /// Mean of each `[F, T]` spectrogram, in row-major order of the leading axes.
    pub mean: Vec<f32>,
    /// Divisor used for each spectrogram (`sqrt(var + eps)`, or 1 for a constant one when `eps == 0`).
    pub scale: Vec<f32>,
}

/// A spectrogram normalization (see the [crate docs](crate)).
///
/// Serialized (serde) with an internal `"kind"` tag — `{"kind":"none"}`,
/// `{"kind":"global","mean":-40.0,"std":12.0}`, `{"kind":"per_channel","mean":[..],"std":[..]}`,
/// `{"kind":"per_instance","eps":1e-6}`, `{"kind":"fixed","mean":{"shape":[..],"data":[..]},..}`,
/// `{"kind":"pcen","sample_rate":16000,"hop_length":200,"gain":0.98,..}`; with its provenance
/// this is the [`NormSpec`] that checkpoints and exported models store. Deserialized values are
/// checked by [`Normalizer::validate`] (which every transform calls first).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Normalizer {
    /// No normalization.
    None,
    /// One mean / std for everything.
    Global {
        /// Mean.
        mean: f32,
        /// Standard deviation (> 0).
        std: f32,
    },
    /// One mean / std per frequency bin (the batch's axis `-2`).
    PerChannel {
        /// Mean per bin.
        mean: Vec<f32>,
        /// Std per bin (> 0).
        std: Vec<f32>,
    },
    /// Each `[F, T]` spectrogram by its own mean and population variance:
    /// `(x - mean) / sqrt(var + eps)`, the formula of `torch.nn.InstanceNorm2d` and ONNX
    /// `InstanceNormalization`, so an exported graph computes exactly this. Policy for a constant
    /// spectrogram: with `eps > 0` it maps to zeros; with `eps == 0` the divisor falls back to 1,
    /// so it also maps to zeros (never NaN).
    PerInstance {
        /// Added to the variance (>= 0, finite).
        eps: f32,
    },
    /// Arrays broadcast against the batch with NumPy rules (e.g. keep-dims stats of any shape);
    /// `mean` and `std` may have different (each broadcastable) shapes.
    Fixed {
        /// Mean.
        #[serde(with = "spec::array_json")]
        mean: ArrayD<f32>,
        /// Std (> 0 everywhere).
        #[serde(with = "spec::array_json")]
        std: ArrayD<f32>,
    },
    /// Per-channel energy normalization of power spectrograms.
    Pcen(PcenConfig),
}

fn check_scale(name: &'static str, mean: f32, std: f32, at: &str) -> Result<(), NormError> {
    // A subnormal std (< f32::MIN_POSITIVE) would turn ordinary dB values into Inf on division.
    if !(mean.is_finite() && std.is_normal() && std > 0.0) {
        return Err(NormError::InvalidParameters {
            normalizer: name,
            detail: format!(
                "mean {mean} and std {std}{at}: need finite mean and finite std >= {:e}",
                f32::MIN_POSITIVE
            ),
        });
    }
    Ok(())
}

/// Calls `f` on every `[F, T]` matrix of a batch `[..., F, T]`.
fn for_each_instance(
    mut batch: ArrayViewMutD<'_, f32>,
    f: &mut dyn FnMut(ArrayViewMut2<'_, f32>) -> Result<(), NormError>,
) -> Result<(), NormError> {
    if batch.ndim() == 2 {
        // ndim checked just above
        let m = batch
            .into_dimensionality::<Ix2>()
            .expect("a 2-d view converts to Ix2");
        return f(m);
    }
    for sub in batch.axis_iter_mut(Axis(0)) {
        for_each_instance(sub, f)?;
    }
    Ok(())
}

impl Normalizer {
    /// Builds a normalizer from keep-dims statistics (population std): all-ones shape → `Global`;
    /// a single non-1 axis at position `rank-2` (the frequency axis, e.g. `[1,1,201,1]`) →
    /// `PerChannel`; anything else → `Fixed` (broadcast). Errors if any std is not > 0.
    pub fn from_stats(stats: &Stats) -> Result<Normalizer, NormError> {
        let mean = stats.mean_f32();
        let std = stats.std_f32();
        for (i, (&m, &s)) in mean.iter().zip(std.iter()).enumerate() {
            check_scale(
                "stats",
                m,
                s,
                &format!(" at group {i} of stats shape {:?}", stats.shape),
            )?;
        }
        let shape = &stats.shape;
        let non_one: Vec<usize> = (0..shape.len()).filter(|&i| shape[i] != 1).collect();
        let first = |a: &ArrayD<f32>| a.iter().next().copied();
        Ok(match non_one.as_slice() {
            // an all-ones shape has exactly one element
            [] => match (first(&mean), first(&std)) {
                (Some(mean), Some(std)) => Normalizer::Global { mean, std },
                _ => Normalizer::Fixed { mean, std },
            },
            [a] if shape.len() >= 2 && *a == shape.len() - 2 => Normalizer::PerChannel {
                mean: mean.iter().copied().collect(),
                std: std.iter().copied().collect(),
            },
            _ => Normalizer::Fixed { mean, std },
        })
    }

    /// Like [`from_stats`](Self::from_stats), but first checks the statistics' provenance:
    /// errors when `stats.provenance.folds` contains `valid_fold` (the statistics saw validation
    /// data) or is empty (leakage cannot be ruled out).
    pub fn for_validation_fold(stats: &Stats, valid_fold: u32) -> Result<Normalizer, NormError> {
        let folds = &stats.provenance.folds;
        if folds.is_empty() {
            return Err(NormError::Leakage(format!(
                "the statistics record no folds in their provenance, so it cannot be verified that \
                 validation fold {valid_fold} was excluded; recompute them on the training folds only"
            )));
        }
        if folds.contains(&valid_fold) {
            return Err(NormError::Leakage(format!(
                "the statistics were computed on folds {folds:?}, which include validation fold \
                 {valid_fold}; recompute them on the training folds only"
            )));
        }
        Self::from_stats(stats)
    }

    /// Short name: `none`, `global`, `per_channel`, `per_instance`, `fixed`, `pcen`.
    pub fn name(&self) -> &str {
        self.static_name()
    }

    fn static_name(&self) -> &'static str {
        match self {
            Normalizer::None => "none",
            Normalizer::Global { .. } => "global",
            Normalizer::PerChannel { .. } => "per_channel",
            Normalizer::PerInstance { .. } => "per_instance",
            Normalizer::Fixed { .. } => "fixed",
            Normalizer::Pcen(_) => "pcen",
        }
    }

    /// Checks the parameters: finite means, finite stds >= `f32::MIN_POSITIVE`, equal
    /// per-channel lengths, finite `eps >= 0`, PCEN ranges ([`PcenConfig::validate`]). The one
    /// validation of a normalization: the transforms, [`NormSpec::from_json`] and the exporter
    /// all go through it.
    pub fn validate(&self) -> Result<(), NormError> {
        let name = self.static_name();
        match self {
            Normalizer::None => Ok(()),
            Normalizer::Global { mean, std } => check_scale(name, *mean, *std, ""),
            Normalizer::PerChannel { mean, std } => {
                if mean.len() != std.len() {
                    return Err(NormError::InvalidParameters {
                        normalizer: name,
                        detail: format!("{} means but {} stds", mean.len(), std.len()),
                    });
                }
                for (i, (&m, &s)) in mean.iter().zip(std).enumerate() {
                    check_scale(name, m, s, &format!(" at channel {i}"))?;
                }
                Ok(())
            }
            Normalizer::PerInstance { eps } => {
                if !(eps.is_finite() && *eps >= 0.0) {
                    return Err(NormError::InvalidParameters {
                        normalizer: name,
                        detail: format!("eps {eps} must be finite and >= 0"),
                    });
                }
                Ok(())
            }
            Normalizer::Fixed { mean, std } => {
                // mean and std may have different shapes: each is broadcast to the batch
                for (i, &m) in mean.iter().enumerate() {
                    check_scale(name, m, 1.0, &format!(" (mean at flat index {i})"))?;
                }
                for (i, &s) in std.iter().enumerate() {
                    check_scale(name, 0.0, s, &format!(" (std at flat index {i})"))?;
                }
                Ok(())
            }
            Normalizer::Pcen(cfg) => cfg.validate(),
        }
    }

    /// Checks that this (valid) normalization fits spectrograms with `n_freq` frequency bins:
    /// per-channel statistics need exactly `n_freq` entries, fixed arrays must broadcast to
    /// `[1, 1, n_freq, T]` without a time axis longer than 1.
    pub fn check_n_freq(&self, n_freq: usize) -> Result<(), NormError> {
        self.validate()?;
        match self {
            Normalizer::PerChannel { mean, .. } => {
                self.check_per_channel(mean.len(), &[1, 1, n_freq, 1])
            }
            Normalizer::Fixed { mean, std } => {
                for a in [mean, std] {
                    if a.broadcast(&[1, 1, n_freq, 1][..]).is_none() {
                        return Err(self.broadcast_err(a.shape(), &[1, 1, n_freq, 1]));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn check_per_channel(&self, channels: usize, shape: &[usize]) -> Result<(), NormError> {
        if shape.len() < 2 {
            return Err(NormError::RankTooLow {
                normalizer: self.static_name(),
                batch: shape.to_vec(),
            });
        }
        let f = shape[shape.len() - 2];
        if f != channels {
            return Err(NormError::ShapeMismatch {
                stats: vec![channels, 1],
                batch: shape.to_vec(),
                detail: format!(
                    "{channels} per-channel statistics but the batch has {f} frequency bins on axis {}",
                    shape.len() - 2
                ),
            });
        }
        Ok(())
    }

    fn broadcast_err(&self, stats: &[usize], batch: &[usize]) -> NormError {
        NormError::ShapeMismatch {
            stats: stats.to_vec(),
            batch: batch.to_vec(),
            detail: "the statistics do not broadcast to the batch (NumPy rules)".into(),
        }
    }

    /// Normalizes `batch` (`[..., F, T]`) in place. Per-instance side information is discarded;
    /// use [`encode_with_info`](Self::encode_with_info) to keep it.
    pub fn encode<D: Dimension>(&self, batch: ArrayViewMut<'_, f32, D>) -> Result<(), NormError> {
        self.encode_with_info(batch).map(|_| ())
    }

    /// Like [`encode`](Self::encode); for `PerInstance` returns the per-spectrogram statistics
    /// that [`decode_with`](Self::decode_with) needs, `None` for the other variants.
    pub fn encode_with_info<D: Dimension>(
        &self,
        batch: ArrayViewMut<'_, f32, D>,
    ) -> Result<Option<InstanceStats>, NormError> {
        self.validate()?;
        let mut batch = batch.into_dyn();
        let shape = batch.shape().to_vec();
        match self {
            Normalizer::None => {}
            Normalizer::Global { mean, std } => {
                let (m, s) = (*mean as f64, *std as f64);
                batch.mapv_inplace(|x| ((x as f64 - m) / s) as f32);
            }
            Normalizer::PerChannel { mean, std } => {
                self.check_per_channel(mean.len(), &shape)?;
                let ax = Axis(shape.len() - 2);
                for ((mut sub, &m), &s) in batch.axis_iter_mut(ax).zip(mean).zip(std) {
                    let (m, s) = (m as f64, s as f64);
                    sub.mapv_inplace(|x| ((x as f64 - m) / s) as f32);
                }
            }
            Normalizer::Fixed { mean, std } => {
                let m = mean
                    .broadcast(shape.as_slice())
                    .ok_or_else(|| self.broadcast_err(mean.shape(), &shape))?;
                let s = std
                    .broadcast(shape.as_slice())
                    .ok_or_else(|| self.broadcast_err(std.shape(), &shape))?;
                Zip::from(&mut batch)
                    .and(&m)
                    .and(&s)
                    .for_each(|x, &m, &s| *x = ((*x as f64 - m as f64) / s as f64) as f32);
            }
            Normalizer::PerInstance { eps } => {
                if shape.len() < 2 {
                    return Err(NormError::RankTooLow {
                        normalizer: "per_instance",
                        batch: shape,
                    });
                }
                let mut info = InstanceStats {
                    mean: Vec::new(),
                    scale: Vec::new(),
                };
                let eps = *eps as f64;
                for_each_instance(batch, &mut |mut x| {
                    let n = x.len().max(1) as f64;
                    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
                    if !mean.is_finite() {
                        return Err(NormError::InvalidInput {
                            normalizer: "per_instance",
                            detail: format!(
                                "spectrogram {} of batch shape {shape:?} contains non-finite values",
                                info.mean.len()
                            ),
                        });
                    }
                    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
                    let mut scale = (var + eps).sqrt();
                    if scale == 0.0 {
                        scale = 1.0;
                    }
                    // round the side info to f32 first so that decode_with inverts exactly what was applied
                    let (mean32, scale32) = (mean as f32, scale as f32);
                    let scale32 = if scale32 > 0.0 {
                        scale32
                    } else {
                        f32::MIN_POSITIVE
                    };
                    let (m, s) = (mean32 as f64, scale32 as f64);
                    x.mapv_inplace(|v| ((v as f64 - m) / s) as f32);
                    info.mean.push(mean32);
                    info.scale.push(scale32);
                    Ok(())
                })?;
                return Ok(Some(info));
            }
            Normalizer::Pcen(cfg) => {
                if shape.len() < 2 {
                    return Err(NormError::RankTooLow {
                        normalizer: "pcen",
                        batch: shape,
                    });
                }
                for_each_instance(batch, &mut |mut x| {
                    let out = pcen(x.view(), cfg)?;
                    x.assign(&out);
                    Ok(())
                })?;
            }
        }
        Ok(None)
    }

    /// Inverts [`encode`](Self::encode) in place. Errors for `PerInstance` (use
    /// [`decode_with`](Self::decode_with)) and `Pcen` (not invertible: the adaptive gain depends on
    /// the whole past of each channel and the compression loses the sign information).
    pub fn decode<D: Dimension>(&self, batch: ArrayViewMut<'_, f32, D>) -> Result<(), NormError> {
        self.validate()?;
        let mut batch = batch.into_dyn();
        let shape = batch.shape().to_vec();
        match self {
            Normalizer::None => {}
            Normalizer::Global { mean, std } => {
                let (m, s) = (*mean as f64, *std as f64);
                batch.mapv_inplace(|x| (x as f64 * s + m) as f32);
            }
            Normalizer::PerChannel { mean, std } => {
                self.check_per_channel(mean.len(), &shape)?;
                let ax = Axis(shape.len() - 2);
                for ((mut sub, &m), &s) in batch.axis_iter_mut(ax).zip(mean).zip(std) {
                    let (m, s) = (m as f64, s as f64);
                    sub.mapv_inplace(|x| (x as f64 * s + m) as f32);
                }
            }
            Normalizer::Fixed { mean, std } => {
                let m = mean
                    .broadcast(shape.as_slice())
                    .ok_or_else(|| self.broadcast_err(mean.shape(), &shape))?;
                let s = std
                    .broadcast(shape.as_slice())
                    .ok_or_else(|| self.broadcast_err(std.shape(), &shape))?;
                Zip::from(&mut batch)
                    .and(&m)
                    .and(&s)
                    .for_each(|x, &m, &s| *x = (*x as f64 * s as f64 + m as f64) as f32);
            }
            Normalizer::PerInstance { .. } => {
                return Err(NormError::NotInvertible(
                    "per_instance",
                    " without the per-spectrogram statistics: use encode_with_info + decode_with",
                ))
            }
            Normalizer::Pcen(_) => return Err(NormError::NotInvertible("pcen", "")),
        }
        Ok(())
    }

    /// Inverts [`encode_with_info`](Self::encode_with_info): for `PerInstance` uses `info`;
    /// for every other variant this is [`decode`](Self::decode) and `info` is ignored.
    pub fn decode_with<D: Dimension>(
        &self,
        batch: ArrayViewMut<'_, f32, D>,
        info: &InstanceStats,
    ) -> Result<(), NormError> {
        if !matches!(self, Normalizer::PerInstance { .. }) {
            return self.decode(batch);
        }
        let batch = batch.into_dyn();
        let shape = batch.shape().to_vec();
        if shape.len() < 2 {
            return Err(NormError::RankTooLow {
                normalizer: "per_instance",
                batch: shape,
            });
        }
        let n: usize = shape[..shape.len() - 2].iter().product();
        if info.mean.len() != n || info.scale.len() != n {
            return Err(NormError::ShapeMismatch {
                stats: vec![info.mean.len()],
                batch: shape,
                detail: format!(
                    "side info for {} spectrograms, batch has {n}",
                    info.mean.len()
                ),
            });
        }
        let mut k = 0;
        for_each_instance(batch, &mut |mut x| {
            let (m, s) = (info.mean[k] as f64, info.scale[k] as f64);
            x.mapv_inplace(|v| (v as f64 * s + m) as f32);
            k += 1;
            Ok(())
        })
    }
}
