//! Exact, mergeable, streaming mean / standard deviation over chosen axes of n-d arrays.
//!
//! [`StatsAccumulator`] reduces batches (e.g. `[B, C, F, T]` spectrogram mini-batches) over a set
//! of *reduced* axes and keeps, for every group of the *kept* axes, the element count, the mean
//! and the sum of squared deviations `M2`, all in `f64`. Within a batch the moments are computed
//! with a chunked, corrected two-pass algorithm (each 2048-element chunk is read twice while it
//! sits in L1); chunks, rows, batches and whole accumulators are combined with Chan, Golub &
//! LeVeque's parallel merge. The result therefore does not depend (beyond rounding) on how the data
//! was split into batches, on the batch order, or on clips having different lengths: counts are
//! *elements*, not clips. Accumulators can be [merged](StatsAccumulator::merge) across threads or
//! machines and serialized with serde.
//!
//! The fastai blog's `StatsRecorder` (clip-weighted, Bessel-corrected per-batch std) is reproduced
//! in [`blog`] for comparison; it is *not* exact when batches differ in size or clip length.
//!
//! ```
//! use ndarray::Array4;
//! use specnorm_stats::{Provenance, StatsAccumulator};
//!
//! // Two batches of [B, 1, F, T] with different B and T.
//! let a = Array4::from_shape_fn((2, 1, 3, 4), |(b, _, f, t)| (b * 12 + f * 4 + t) as f32);
//! let b = Array4::from_shape_fn((1, 1, 3, 2), |(_, _, f, t)| (100 + f * 2 + t) as f32);
//!
//! let mut global = StatsAccumulator::global(); // reduce [0, 2, 3]
//! let mut per_freq = StatsAccumulator::per_channel(); // reduce [0, 1, 3]
//! for batch in [a.view(), b.view()] {
//!     global.update(batch)?;
//!     per_freq.update(batch)?;
//! }
//! assert_eq!(global.count(), 24 + 6);
//!
//! let g = global.finalize()?;
//! assert_eq!(g.shape, vec![1, 1, 1, 1]);
//! let all: Vec<f64> = a.iter().chain(b.iter()).map(|&v| v as f64).collect();
//! let mean = all.iter().sum::<f64>() / all.len() as f64;
//! assert!((g.mean[[0, 0, 0, 0]] - mean).abs() < 1e-12);
//!
//! let c = per_freq.finalize()?.with_provenance(Provenance {
//!     dataset: "toy".into(),
//!     folds: vec![1, 2, 3],
//!     ..Provenance::default()
//! });
//! assert_eq!(c.shape, vec![1, 1, 3, 1]);
//! assert_eq!(c.count, vec![10, 10, 10]);
//! let back = specnorm_stats::Stats::from_json(&c.to_json()?)?;
//! assert_eq!(back, c);
//! # Ok::<(), specnorm_stats::StatsError>(())
//! ```
#![deny(missing_docs)]

pub mod blog;
mod kernel;
mod stats;

pub use kernel::Element;
pub use stats::{Provenance, Stats, FORMAT_NAME, FORMAT_VERSION};

use kernel::{slice_moments, Moments};
use ndarray::{ArrayView, Dimension};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// A reduction axis is not an axis of the batch.
    #[error("reduction axis {axis} is out of range for a batch of rank {rank} (shape {shape:?})")]
    AxisOutOfRange {
        /// The offending axis.
        axis: usize,
        /// Rank of the batch.
        rank: usize,
        /// Shape of the batch.
        shape: Vec<usize>,
    },
    /// The same reduction axis was given twice.
    #[error("reduction axis {axis} is listed more than once in {axes:?}")]
    DuplicateAxis {
        /// The repeated axis.
        axis: usize,
        /// All axes as given.
        axes: Vec<usize>,
    },
    /// The batch does not fit the accumulator (different rank or different kept-axis sizes).
    #[error(
        "batch shape {got:?} does not match the accumulated statistics shape {expected:?} \
         (reduced axes {axes:?}: rank and the sizes of all other axes must match)"
    )]
    ShapeMismatch {
        /// Keep-dims shape of the accumulated statistics.
        expected: Vec<usize>,
        /// Shape of the offending batch (or keep-dims shape of the other accumulator).
        got: Vec<usize>,
        /// Reduced axes.
        axes: Vec<usize>,
    },
    /// Two accumulators reduce over different axes.
    #[error("cannot merge accumulators reducing over different axes: {left:?} vs {right:?}")]
    AxesMismatch {
        /// Axes of `self`.
        left: Vec<usize>,
        /// Axes of the other accumulator.
        right: Vec<usize>,
    },
    /// A batch value is NaN or infinite.
    #[error(
        "non-finite value {value} at flat (row-major) index {index} of a batch of shape {shape:?}"
    )]
    NonFinite {
        /// Row-major flat index of the first non-finite element.
        index: usize,
        /// The value.
        value: f64,
        /// Shape of the batch.
        shape: Vec<usize>,
    },
    /// No data has been accumulated.
    #[error("no data accumulated: cannot compute statistics of an empty set")]
    Empty,
    /// The blog recorder needs at least two reduced elements per batch for its Bessel-corrected std.
    #[error(
        "batch of shape {shape:?} has {count} element(s) per group; the blog recorder needs >= 2"
    )]
    TooFewElements {
        /// Elements per group in the batch.
        count: usize,
        /// Shape of the batch.
        shape: Vec<usize>,
    },
    /// A stats file or JSON document is malformed.
    #[error("invalid stats document{}: {message}", path_suffix(.path))]
    Invalid {
        /// What is wrong.
        message: String,
        /// File it came from, if any.
        path: Option<PathBuf>,
    },
    /// JSON (de)serialization failed.
    #[error("stats JSON{}: {source}", path_suffix(.path))]
    Json {
        /// Underlying error.
        #[source]
        source: serde_json::Error,
        /// File, if any.
        path: Option<PathBuf>,
    },
    /// File I/O failed.
    #[error("I/O error on {}: {source}", .path.display())]
    Io {
        /// Underlying error.
        #[source]
        source: std::io::Error,
        /// File.
        path: PathBuf,
    },
    /// Writing a `.npy` file failed.
    #[error("writing {}: {message}", .path.display())]
    Npy {
        /// What went wrong.
        message: String,
        /// File.
        path: PathBuf,
    },
}

fn path_suffix(p: &Option<PathBuf>) -> String {
    match p {
        Some(p) => format!(" {}", p.display()),
        None => String::new(),
    }
}

/// Validates `axes` against `rank` (when known) and returns them sorted.
pub(crate) fn check_axes(
    axes: &[usize],
    shape: Option<&[usize]>,
) -> Result<Vec<usize>, StatsError> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    for w in sorted.windows(2) {
        if w[0] == w[1] {
            return Err(StatsError::DuplicateAxis {
                axis: w[0],
                axes: axes.to_vec(),
            });
        }
    }
    if let Some(shape) = shape {
        if let Some(&axis) = sorted.iter().find(|&&a| a >= shape.len()) {
            return Err(StatsError::AxisOutOfRange {
                axis,
                rank: shape.len(),
                shape: shape.to_vec(),
            });
        }
    }
    Ok(sorted)
}

/// Keep-dims shape: reduced axes become 1.
pub(crate) fn keep_dims_shape(shape: &[usize], sorted_axes: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(i, &s)| if sorted_axes.contains(&i) { 1 } else { s })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct State {
    /// Keep-dims shape (reduced axes are 1); its length is the batch rank.
    shape: Vec<usize>,
    /// Elements per group (identical for all groups: every batch adds the same count to each).
    count: u64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

/// Streaming, mergeable per-group count / mean / M2 accumulator (see the [crate docs](crate)).
///
/// Reduction axes are validated on the first [`update`](Self::update) (or by [`try_new`](Self::try_new)
/// for duplicates). The first batch fixes the rank and the sizes of the kept axes; later batches may
/// differ only in reduced axes (e.g. batch size and number of frames).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsAccumulator {
    axes: Vec<usize>,
    state: Option<State>,
}

impl StatsAccumulator {
    /// Accumulator reducing over `reduce_axes` (e.g. `[0, 2, 3]` for global statistics of
    /// `[B, C, F, T]` batches, `[0, 1, 3]` for per-frequency-bin statistics). Duplicate or
    /// out-of-range axes are reported by the first `update`; see [`try_new`](Self::try_new).
    pub fn new(reduce_axes: &[usize]) -> Self {
        Self {
            axes: reduce_axes.to_vec(),
            state: None,
        }
    }

    /// Like [`new`](Self::new) but rejects duplicate axes immediately.
    pub fn try_new(reduce_axes: &[usize]) -> Result<Self, StatsError> {
        check_axes(reduce_axes, None)?;
        Ok(Self::new(reduce_axes))
    }

    /// The blog's global ("grayscale") preset for `[B, 1, F, T]`: reduce `[0, 2, 3]` → shape `[1,1,1,1]`.
    pub fn global() -> Self {
        Self::new(&[0, 2, 3])
    }

    /// The blog's per-channel preset for `[B, 1, F, T]`: reduce `[0, 1, 3]` → shape `[1,1,F,1]`.
    pub fn per_channel() -> Self {
        Self::new(&[0, 1, 3])
    }

    /// Reduction axes as given to the constructor.
    pub fn axes(&self) -> &[usize] {
        &self.axes
    }

    /// Keep-dims shape of the statistics, once a batch has been seen.
    pub fn shape(&self) -> Option<&[usize]> {
        self.state.as_ref().map(|s| s.shape.as_slice())
    }

    /// Number of elements each group's statistics are based on (the same for every group; for the
    /// global preset this is the total number of values seen).
    pub fn count(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.count)
    }

    /// Per-group element counts, in row-major order of the keep-dims shape.
    pub fn group_counts(&self) -> Vec<u64> {
        self.state
            .as_ref()
            .map_or_else(Vec::new, |s| vec![s.count; s.mean.len()])
    }

    /// Total number of values seen (count × number of groups).
    pub fn total_count(&self) -> u64 {
        self.state
            .as_ref()
            .map_or(0, |s| s.count * s.mean.len() as u64)
    }

    /// True when no element has been accumulated.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Adds one batch (any rank, any memory layout; `f32` or `f64`).
    ///
    /// On error the accumulator is unchanged.
    pub fn update<A: Element, D: Dimension>(
        &mut self,
        batch: ArrayView<'_, A, D>,
    ) -> Result<(), StatsError> {
        let shape = batch.shape().to_vec();
        let axes = check_axes(&self.axes, Some(&shape))?;
        let kd = keep_dims_shape(&shape, &axes);
        if let Some(st) = &self.state {
            if st.shape != kd {
                return Err(StatsError::ShapeMismatch {
                    expected: st.shape.clone(),
                    got: shape,
                    axes,
                });
            }
        }
        let groups: usize = kd.iter().product();
        let batch = batch.as_standard_layout();
        // `as_standard_layout` guarantees a contiguous row-major buffer.
        let data = batch
            .as_slice()
            .expect("standard layout arrays are contiguous");
        let mut local = vec![Moments::default(); groups];
        if !data.is_empty() && groups > 0 {
            accumulate_rows(data, &shape, &axes, &kd, &mut local).map_err(|index| {
                StatsError::NonFinite {
                    index,
                    value: data[index].to_f64(),
                    shape: shape.clone(),
                }
            })?;
        }
        let per_group = data.len().checked_div(groups).unwrap_or(0) as u64;
        let st = self.state.get_or_insert_with(|| State {
            shape: kd,
            count: 0,
            mean: vec![0.0; groups],
            m2: vec![0.0; groups],
        });
        merge_into(st, per_group, &local);
        Ok(())
    }

    /// Merges another accumulator into this one (Chan et al.). Both must reduce over the same axes
    /// and, if both are non-empty, have the same keep-dims shape. An empty accumulator is an identity.
    pub fn merge(&mut self, other: &StatsAccumulator) -> Result<(), StatsError> {
        let a = check_axes(&self.axes, None)?;
        let b = check_axes(&other.axes, None)?;
        if a != b {
            return Err(StatsError::AxesMismatch {
                left: self.axes.clone(),
                right: other.axes.clone(),
            });
        }
        let Some(os) = &other.state else {
            return Ok(());
        };
        match &mut self.state {
            None => self.state = other.state.clone(),
            Some(st) => {
                if st.shape != os.shape {
                    return Err(StatsError::ShapeMismatch {
                        expected: st.shape.clone(),
                        got: os.shape.clone(),
                        axes: a,
                    });
                }
                let local: Vec<Moments> = os
                    .mean
                    .iter()
                    .zip(&os.m2)
                    .map(|(&mean, &m2)| Moments {
                        n: os.count,
                        mean,
                        m2,
                    })
                    .collect();
                merge_into(st, os.count, &local);
            }
        }
        Ok(())
    }

    /// Mean, population std and sample (n-1) std per group. Errors when empty.
    pub fn finalize(&self) -> Result<Stats, StatsError> {
        let st = match &self.state {
            Some(st) if st.count > 0 => st,
            _ => return Err(StatsError::Empty),
        };
        let axes = check_axes(&self.axes, Some(&st.shape))?;
        let n = st.count as f64;
        let std: Vec<f64> = st.m2.iter().map(|&m2| (m2 / n).sqrt()).collect();
        let sample_std: Vec<f64> = st
            .m2
            .iter()
            .map(|&m2| {
                if st.count > 1 {
                    (m2 / (n - 1.0)).sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        let arr = |v: Vec<f64>| {
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&st.shape), v)
                // one value per group, groups = product of the keep-dims shape
                .expect("group count equals the product of the keep-dims shape")
        };
        Ok(Stats {
            mean: arr(st.mean.clone()),
            std: arr(std),
            sample_std: arr(sample_std),
            count: vec![st.count; st.mean.len()],
            axes,
            shape: st.shape.clone(),
            provenance: Provenance::default(),
        })
    }
}

fn merge_into(st: &mut State, per_group: u64, local: &[Moments]) {
    if per_group == 0 {
        return;
    }
    for (g, m) in local.iter().enumerate() {
        let mut acc = Moments {
            n: st.count,
            mean: st.mean[g],
            m2: st.m2[g],
        };
        acc.merge(m);
        st.mean[g] = acc.mean;
        st.m2[g] = acc.m2;
    }
    st.count += per_group;
}

/// Splits the row-major buffer into maximal contiguous rows that belong to one group (the trailing
/// run of reduced axes), computes each row's moments and merges them into its group.
/// Global preset: one row = the whole batch. Per-channel on `[B,C,F,T]`: rows of length `T`.
fn accumulate_rows<A: Element>(
    data: &[A],
    shape: &[usize],
    axes: &[usize],
    kd: &[usize],
    local: &mut [Moments],
) -> Result<(), usize> {
    let rank = shape.len();
    let last_kept = (0..rank).rev().find(|i| !axes.contains(i));
    let Some(last_kept) = last_kept else {
        // everything reduced: a single group, a single row
        local[0].merge(&slice_moments(data)?);
        return Ok(());
    };
    let inner: usize = shape[last_kept + 1..].iter().product();
    let outer = &shape[..=last_kept];
    // group strides (row-major over the keep-dims shape); 0 for reduced axes
    let mut gstride = vec![0usize; outer.len()];
    let mut s = 1usize;
    for i in (0..rank).rev() {
        if i < outer.len() && !axes.contains(&i) {
            gstride[i] = s;
        }
        s *= kd[i];
    }
    let mut coord = vec![0usize; outer.len()];
    let mut g = 0usize;
    for (r, row) in data.chunks_exact(inner).enumerate() {
        let m = slice_moments(row).map_err(|off| r * inner + off)?;
        local[g].merge(&m);
        // odometer increment over `outer`, keeping g in sync
        for i in (0..outer.len()).rev() {
            coord[i] += 1;
            g += gstride[i];
            if coord[i] < outer[i] {
                break;
            }
            g -= gstride[i] * coord[i];
            coord[i] = 0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, ArrayD, IxDyn};

    fn naive(data: &ArrayD<f32>, axes: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let kd = keep_dims_shape(data.shape(), axes);
        let g: usize = kd.iter().product();
        let mut sums = vec![0.0; g];
        let mut cnt = vec![0usize; g];
        let gi = |idx: &[usize]| {
            let mut k = 0;
            for (i, &c) in idx.iter().enumerate() {
                k = k * kd[i] + if axes.contains(&i) { 0 } else { c };
            }
            k
        };
        for (idx, &v) in data.indexed_iter() {
            let k = gi(idx.slice());
            sums[k] += v as f64;
            cnt[k] += 1;
        }
        let means: Vec<f64> = sums.iter().zip(&cnt).map(|(s, &c)| s / c as f64).collect();
        let mut ss = vec![0.0; g];
        for (idx, &v) in data.indexed_iter() {
            let k = gi(idx.slice());
            ss[k] += (v as f64 - means[k]).powi(2);
        }
        let var = ss.iter().zip(&cnt).map(|(s, &c)| s / c as f64).collect();
        (means, var)
    }

    #[test]
    fn arbitrary_axes_match_naive() {
        let data = Array::from_shape_fn(IxDyn(&[3, 4, 5, 6]), |i| {
            ((i[0] * 131 + i[1] * 71 + i[2] * 37 + i[3] * 11) % 97) as f32 * 0.25 + i[1] as f32
        });
        for axes in [
            vec![],
            vec![0],
            vec![3],
            vec![1, 3],
            vec![0, 2],
            vec![0, 1, 2, 3],
            vec![2, 0],
        ] {
            let mut acc = StatsAccumulator::new(&axes);
            acc.update(data.view()).unwrap();
            let mut sorted = axes.clone();
            sorted.sort();
            let (m, v) = naive(&data, &sorted);
            let s = acc.finalize().unwrap();
            for (k, (&a, &b)) in s.mean.iter().zip(&m).enumerate() {
                assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{axes:?} {k}");
            }
            for (&a, &b) in s.std.iter().zip(&v) {
                assert!((a * a - b).abs() < 1e-11 * b.max(1.0), "{axes:?}");
            }
            // non-standard layout gives the same result
            let t = data.view().reversed_axes();
            let mut acc_t =
                StatsAccumulator::new(&sorted.iter().map(|&a| 3 - a).collect::<Vec<_>>());
            acc_t.update(t).unwrap();
            let st = acc_t.finalize().unwrap();
            let mut a: Vec<f64> = st.mean.iter().copied().collect();
            let mut b = m.clone();
            a.sort_by(f64::total_cmp);
            b.sort_by(f64::total_cmp);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-12 * y.abs().max(1.0));
            }
        }
    }
}
