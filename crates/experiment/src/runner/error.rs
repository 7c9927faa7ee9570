//! The runner's error type and the small file helpers every stage uses.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use specnorm_features::FeatureError;
use specnorm_train::TrainError;

use super::dataset::{list_bad, BadClip};
use crate::report::ReportError;
use crate::settings::SettingsError;

/// Errors of the runner.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Invalid configuration.
    #[error("invalid experiment config: {0}")]
    Config(String),
    /// The output directory holds results of a different configuration.
    #[error(
        "{path} was produced with a different experiment configuration (hash {found}, this one is \
         {expected}); pick another output directory (or delete it to start over)"
    )]
    ConfigMismatch {
        /// File that disagrees.
        path: PathBuf,
        /// Hash of the current configuration.
        expected: String,
        /// Hash found in the file.
        found: String,
    },
    /// The dataset could not be read.
    #[error("dataset {root}: {detail}")]
    Dataset {
        /// Dataset root.
        root: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// Clips listed in the metadata are missing or cannot be decoded (all of
    /// them are listed; checked before any feature extraction or training).
    #[error(
        "{} of {total} clip(s) listed in {} are missing or cannot be decoded (set skip_bad / pass \
         --skip-bad to leave them out):{}",
        bad.len(),
        csv.display(),
        list_bad(bad)
    )]
    BadClips {
        /// The metadata table.
        csv: PathBuf,
        /// Every bad clip, in metadata order.
        bad: Vec<BadClip>,
        /// Clips listed in the metadata.
        total: usize,
    },
    /// Feature extraction failed.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// Feature extraction of one (already decoded) clip failed.
    #[error("{path}: {source}")]
    ClipFeatures {
        /// The clip.
        path: PathBuf,
        /// Underlying error.
        source: FeatureError,
    },
    /// The on-disk feature cache could not be read or written.
    #[error(transparent)]
    FeatureCache(#[from] crate::feature_cache::FeatureCacheError),
    /// A cache file could not be read.
    #[error(transparent)]
    Cache(#[from] specnorm_cache::CacheError),
    /// Normalization failed (including the leakage guard).
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Training failed.
    #[error("run {key}: {source}")]
    Train {
        /// Run key.
        key: String,
        /// Underlying error.
        source: TrainError,
    },
    /// Filesystem error.
    #[error("I/O error at {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A run file could not be parsed.
    #[error("{path}: {source}")]
    Json {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: serde_json::Error,
    },
    /// Report writing failed.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// Maps an I/O error at `path` to [`ExperimentError::Io`].
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Maps a JSON error at `path` to [`ExperimentError::Json`].
pub(crate) fn json_err(path: &Path) -> impl FnOnce(serde_json::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Json {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `value` as pretty JSON, atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ExperimentError> {
    let text = serde_json::to_string_pretty(value).map_err(json_err(path))?;
    specnorm_atomic::write(path, text.as_bytes()).map_err(io_err(path))
}

/// Reads a JSON file.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(json_err(path))
}
