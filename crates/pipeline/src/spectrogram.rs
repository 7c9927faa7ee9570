//! The core: exact statistics of `[F, T]` spectrograms already in memory, in one accumulator from
//! which both the global and the per-channel statistics are derived.

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use specnorm_stats::{Stats, StatsAccumulator, StatsError};

/// Which axes the statistics keep (of `[B, 1, F, T]` batches).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Axes {
    /// One mean/std for the whole spectrogram (reduce B, F, T): shape `[1,1,1,1]`.
    Global,
    /// One mean/std per frequency channel (reduce B, C, T): shape `[1,1,F,1]`.
    Channel,
}

impl Axes {
    /// The reduced axes of `[B, C, F, T]` batches (`[0, 2, 3]` or `[0, 1, 3]`).
    pub fn reduce_axes(self) -> &'static [usize] {
        match self {
            Axes::Global => &[0, 2, 3],
            Axes::Channel => &[0, 1, 3],
        }
    }

    /// `"global"` or `"channel"`.
    pub fn name(self) -> &'static str {
        match self {
            Axes::Global => "global",
            Axes::Channel => "channel",
        }
    }
}

/// Exact, mergeable statistics of dB spectrograms `[F, T]`.
///
/// One [`StatsAccumulator`] keeps the channel and frequency axes (it reduces `[0, 3]` of the
/// `[1, 1, F, T]` view of each clip); [`stats`](Self::stats) derives the per-channel statistics
/// from it (bit for bit what a per-channel accumulator gives) and the global ones by Chan-merging
/// its frequency groups ([`StatsAccumulator::collapse`]). Clips may differ in frame count; counts
/// are elements. Pushing clips one by one, or merging per-clip `SpectrogramStats` in the same order,
/// gives the same bits. Serializes (serde) to its exact state, validated on load.
///
/// ```
/// use ndarray::Array2;
/// use specnorm_pipeline::{Axes, SpectrogramStats};
/// let a = Array2::from_shape_fn((4, 10), |(f, t)| -60.0 + (f * 10 + t) as f32);
/// let b = Array2::from_shape_fn((4, 3), |(f, t)| -20.0 + (f + t) as f32);
/// let mut acc = SpectrogramStats::new();
/// acc.extend([a.view(), b.view()])?;
/// assert_eq!(acc.clips(), 2);
/// let channel = acc.stats(Axes::Channel)?;
/// assert_eq!(channel.shape, vec![1, 1, 4, 1]);
/// assert_eq!(channel.count, vec![13; 4]);
/// let global = acc.stats(Axes::Global)?;
/// assert_eq!(global.count, vec![52]);
/// let back = SpectrogramStats::from_json(&acc.to_json()?)?;
/// assert_eq!(back, acc);
/// # Ok::<(), specnorm_stats::StatsError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedSpectrogramStats")]
pub struct SpectrogramStats {
    clips: u64,
    accumulator: StatsAccumulator,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UncheckedSpectrogramStats {
    clips: u64,
    accumulator: StatsAccumulator,
}

impl TryFrom<UncheckedSpectrogramStats> for SpectrogramStats {
    type Error = StatsError;

    fn try_from(u: UncheckedSpectrogramStats) -> Result<Self, StatsError> {
        let invalid = |message: String| StatsError::Invalid {
            message: format!("spectrogram statistics: {message}"),
            path: None,
        };
        if u.accumulator.axes() != SpectrogramStats::REDUCE_AXES {
            return Err(invalid(format!(
                "the accumulator reduces {:?}, expected {:?}",
                u.accumulator.axes(),
                SpectrogramStats::REDUCE_AXES
            )));
        }
        if let Some(shape) = u.accumulator.shape() {
            if shape.len() != 4 || shape[1] != 1 {
                return Err(invalid(format!(
                    "keep-dims shape {shape:?} is not [1, 1, F, 1]"
                )));
            }
        }
        if (u.clips == 0) != u.accumulator.is_empty() {
            return Err(invalid(format!(
                "{} clip(s) but {} element(s) per group",
                u.clips,
                u.accumulator.count()
            )));
        }
        Ok(SpectrogramStats {
            clips: u.clips,
            accumulator: u.accumulator,
        })
    }
}

impl Default for SpectrogramStats {
    fn default() -> Self {
        Self::new()
    }
}

impl SpectrogramStats {
    /// The axes the one accumulator reduces: batch and time of `[B, C, F, T]`.
    pub const REDUCE_AXES: [usize; 2] = [0, 3];

    /// No clips yet.
    pub fn new() -> Self {
        Self {
            clips: 0,
            accumulator: StatsAccumulator::new(&Self::REDUCE_AXES),
        }
    }

    /// The statistics of one clip.
    pub fn of_clip(spec: ArrayView2<'_, f32>) -> Result<Self, StatsError> {
        let mut s = Self::new();
        s.push(spec)?;
        Ok(s)
    }

    /// Adds one clip `[F, T]`. Every clip must have the same `F`; errors (non-finite values, a
    /// different `F`, no bins or no frames) leave the statistics unchanged.
    pub fn push(&mut self, spec: ArrayView2<'_, f32>) -> Result<(), StatsError> {
        if spec.is_empty() {
            return Err(StatsError::Invalid {
                message: format!("a spectrogram of shape {:?} holds no values", spec.shape()),
                path: None,
            });
        }
        self.accumulator
            .update(spec.insert_axis(Axis(0)).insert_axis(Axis(0)))?;
        self.clips += 1;
        Ok(())
    }

    /// Adds clips in order (stops at the first error; the clips before it stay added).
    pub fn extend<'a>(
        &mut self,
        specs: impl IntoIterator<Item = ArrayView2<'a, f32>>,
    ) -> Result<(), StatsError> {
        specs.into_iter().try_for_each(|s| self.push(s))
    }

    /// Merges `other` in (Chan et al.); exact up to rounding, deterministic for a fixed order.
    pub fn merge(&mut self, other: &SpectrogramStats) -> Result<(), StatsError> {
        self.accumulator.merge(&other.accumulator)?;
        self.clips += other.clips;
        Ok(())
    }

    /// Number of clips added.
    pub fn clips(&self) -> u64 {
        self.clips
    }

    /// True when no clip was added.
    pub fn is_empty(&self) -> bool {
        self.clips == 0
    }

    /// The exact accumulator state (reduces [`REDUCE_AXES`](Self::REDUCE_AXES)).
    pub fn accumulator(&self) -> &StatsAccumulator {
        &self.accumulator
    }

    /// The accumulator of the requested axes, derived exactly from the one accumulator.
    pub fn accumulator_for(&self, axes: Axes) -> Result<StatsAccumulator, StatsError> {
        self.accumulator.collapse(axes.reduce_axes())
    }

    /// Finalized statistics for `axes` (no provenance). Errors when empty.
    pub fn stats(&self, axes: Axes) -> Result<Stats, StatsError> {
        self.accumulator_for(axes)?.finalize()
    }

    /// The exact state as JSON (bit-for-bit round trip through [`from_json`](Self::from_json)).
    pub fn to_json(&self) -> Result<String, StatsError> {
        serde_json::to_string(self).map_err(|source| StatsError::Json { source, path: None })
    }

    /// Parses and validates [`to_json`](Self::to_json)'s output.
    pub fn from_json(text: &str) -> Result<Self, StatsError> {
        serde_json::from_str(text).map_err(|source| StatsError::Json { source, path: None })
    }
}
