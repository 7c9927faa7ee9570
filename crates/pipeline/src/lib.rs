//! Dataset-level normalization statistics: the one library path behind `specnorm stats`,
//! `specnorm stats merge`, the experiment and the Python package. No libtorch, no ONNX Runtime.
//!
//! Layers, bottom up:
//! * [`SpectrogramStats`] — the core: exact (count, mean, M2 in f64) statistics of `[F, T]`
//!   spectrograms already in memory, in ONE accumulator from which both the global and the
//!   per-channel statistics are derived ([`Axes`]).
//! * [`StatsPlan`] / [`dataset_stats`] — the dataset pass: a dataset's training clips (validation
//!   fold held out, optionally `--sample`d, optionally one [`Shard`]), featurized in parallel
//!   batches and reduced in a fixed order, bad clips listed or skipped.
//! * [`DatasetStats`] — the exact result with its origin (feature configuration, dataset
//!   fingerprint, validation fold, shard, clip-list digest); saved as a partial file, [`merge`]d
//!   with the other shards' exactly, [`finish`](DatasetStats::finish)ed into
//!   [`Stats`](specnorm_stats::Stats) and written by [`write_outputs`].
//!
//! ```
//! use ndarray::Array2;
//! use specnorm_pipeline::{Axes, SpectrogramStats};
//!
//! // Features the caller already holds (here: three clips of 5 bins, different lengths).
//! let clips: Vec<Array2<f32>> = (0..3)
//!     .map(|c| Array2::from_shape_fn((5, 20 + c), |(f, t)| -70.0 + (f * 9 + t + c) as f32))
//!     .collect();
//! let mut acc = SpectrogramStats::new();
//! acc.extend(clips.iter().map(|c| c.view()))?;
//!
//! // Two halves reduced apart (other threads, other machines) merge to the same statistics.
//! let (mut a, mut b) = (SpectrogramStats::new(), SpectrogramStats::new());
//! a.push(clips[0].view())?;
//! b.extend(clips[1..].iter().map(|c| c.view()))?;
//! a.merge(&b)?;
//! let (one, two) = (acc.stats(Axes::Global)?, a.stats(Axes::Global)?);
//! assert!((one.mean[[0, 0, 0, 0]] - two.mean[[0, 0, 0, 0]]).abs() < 1e-12);
//! assert_eq!(acc.stats(Axes::Channel)?.shape, vec![1, 1, 5, 1]);
//! # Ok::<(), specnorm_stats::StatsError>(())
//! ```
//!
//! The file-based pass is [`dataset_stats`] (example there); `examples/shards.rs` runs four shards,
//! writes their partial files and merges them.
#![deny(missing_docs)]

mod outputs;
mod partial;
mod plan;
mod run;
mod shard;
mod spectrogram;

use std::path::PathBuf;

pub use outputs::{max_abs_difference, write_outputs, OutputPaths};
pub use partial::{
    merge, merge_files, DatasetStats, FinishedStats, ShardPart, PARTIAL_FORMAT, PARTIAL_VERSION,
};
pub use plan::{
    clip_list_digest, dataset_fingerprint, Sample, StatsPlan, StatsRequest, StatsSource,
};
pub use run::dataset_stats;
pub use shard::{Shard, ShardOrigin, ShardSpec};
pub use spectrogram::{Axes, SpectrogramStats};

/// Errors of the statistics pipeline; each names the file(s) or the option at fault.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Dataset metadata or missing audio files.
    #[error(transparent)]
    Folds(#[from] specnorm_folds::FoldsError),
    /// The feature configuration is invalid.
    #[error(transparent)]
    Features(#[from] specnorm_features::FeatureError),
    /// Accumulation, statistics files or `.npy` output.
    #[error(transparent)]
    Stats(#[from] specnorm_stats::StatsError),
    /// The plot could not be written.
    #[error(transparent)]
    Plot(#[from] specnorm_plot::PlotError),
    /// Clips that could not be turned into features (each with its file and reason).
    #[error(
        "{} file(s) could not be turned into features (pass --skip-bad to leave them out):\n  {}",
        .0.len(), .0.join("\n  ")
    )]
    BadFiles(Vec<String>),
    /// An invalid `--sample`.
    #[error("{0}")]
    Sample(String),
    /// An invalid or unresolvable `--shard`.
    #[error("{0}")]
    Shard(String),
    /// A malformed partial statistics file.
    #[error("partial statistics{}: {message}", .path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Partial {
        /// The file, if any.
        path: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
    /// Partial results that do not belong together.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// Statistics of some shards only, finished without `allow_partial`.
    #[error(
        "shard(s) {missing:?} of {count} are missing (pass --allow-partial to accept statistics \
         of the shards present; it is recorded in the provenance)"
    )]
    MissingShards {
        /// The absent shards.
        missing: Vec<u32>,
        /// The shard count.
        count: u32,
    },
    /// A request that does not fit together.
    #[error("{0}")]
    Config(String),
    /// File I/O.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}
