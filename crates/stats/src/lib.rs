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

mod accumulator;
pub mod blog;
pub mod interop;
mod kernel;
mod stats;

pub use accumulator::StatsAccumulator;
pub use kernel::Element;
pub use stats::{Provenance, ShardProvenance, Stats, FORMAT_NAME, FORMAT_VERSION};

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

/// Checks a stored keep-dims `shape` against the `axes` it was reduced over
/// (valid axes, every reduced axis of size 1) and returns the sorted axes and
/// the number of kept groups (`what` names them in the overflow message).
/// Shared by the stats-file and accumulator-state readers.
pub(crate) fn check_keep_dims(
    axes: &[usize],
    shape: &[usize],
    what: &str,
) -> Result<(Vec<usize>, usize), String> {
    let sorted = check_axes(axes, Some(shape)).map_err(|e| e.to_string())?;
    if let Some(&a) = sorted.iter().find(|&&a| shape[a] != 1) {
        return Err(format!(
            "reduced axis {a} has size {} in shape {shape:?}, expected 1",
            shape[a]
        ));
    }
    let groups = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} has more {what} than fit in memory"))?;
    Ok((sorted, groups))
}

/// Keep-dims shape: reduced axes become 1.
pub(crate) fn keep_dims_shape(shape: &[usize], sorted_axes: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(i, &s)| if sorted_axes.contains(&i) { 1 } else { s })
        .collect()
}
