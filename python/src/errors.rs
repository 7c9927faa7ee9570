//! The Python exception hierarchy and the mapping of every Rust error onto it.
//!
//! Every message is the Rust error's `Display`, which names the file (or the
//! argument) and the reason. A file that does not exist raises the built-in
//! `FileNotFoundError` (errno 2, `.filename` set) so `except FileNotFoundError`
//! works as it does for `open()`.

use std::path::Path;

use pyo3::exceptions::{PyException, PyFileNotFoundError};
use pyo3::prelude::*;
use specnorm_audio::AudioError;
use specnorm_features::FeatureError;
use specnorm_folds::FoldsError;
use specnorm_norm::NormError;
use specnorm_stats::StatsError as RustStatsError;

pyo3::create_exception!(
    specnorm,
    SpecnormError,
    PyException,
    "Base class of every error specnorm raises (except FileNotFoundError)."
);
pyo3::create_exception!(
    specnorm,
    AudioDecodeError,
    SpecnormError,
    "An audio file could not be read, decoded or resampled; the message names the file."
);
pyo3::create_exception!(
    specnorm,
    ConfigError,
    SpecnormError,
    "An invalid feature configuration or argument value."
);
pyo3::create_exception!(
    specnorm,
    StatsError,
    SpecnormError,
    "Statistics that cannot be computed, merged or read (shape mismatch, NaN, bad file)."
);
pyo3::create_exception!(
    specnorm,
    NormalizationError,
    SpecnormError,
    "A normalizer that cannot be built or applied to this batch."
);
pyo3::create_exception!(
    specnorm,
    LeakageError,
    NormalizationError,
    "Statistics whose provenance includes the validation fold (or records no folds)."
);
pyo3::create_exception!(
    specnorm,
    DatasetError,
    SpecnormError,
    "Dataset metadata (a layout's CSV, the fold file or the class folders) that cannot be used; the message names the file and the row."
);

/// `FileNotFoundError(2, reason, path)`: `str()` is `[Errno 2] reason: 'path'`.
pub fn not_found(path: &Path, reason: &str) -> PyErr {
    PyFileNotFoundError::new_err((2, reason.to_string(), path.display().to_string()))
}

/// An I/O error on `path`: `FileNotFoundError` when it is missing, else the given class.
fn io_err(path: &Path, e: &std::io::Error, otherwise: PyErr) -> PyErr {
    if e.kind() == std::io::ErrorKind::NotFound {
        not_found(path, "file not found")
    } else {
        otherwise
    }
}

/// Audio errors: missing files are `FileNotFoundError`, everything else `AudioDecodeError`.
pub fn audio(e: AudioError) -> PyErr {
    match &e {
        AudioError::NotFound { path } => not_found(path, "file not found"),
        AudioError::Io { path, source } => {
            io_err(path, source, AudioDecodeError::new_err(e.to_string()))
        }
        _ => AudioDecodeError::new_err(e.to_string()),
    }
}

/// Front-end errors.
pub fn feature(e: FeatureError) -> PyErr {
    match e {
        FeatureError::Audio(a) => audio(a),
        FeatureError::Config(_) => ConfigError::new_err(e.to_string()),
        other => AudioDecodeError::new_err(other.to_string()),
    }
}

/// Statistics errors.
pub fn stats(e: RustStatsError) -> PyErr {
    match &e {
        RustStatsError::Io { path, source } => {
            io_err(path, source, StatsError::new_err(e.to_string()))
        }
        _ => StatsError::new_err(e.to_string()),
    }
}

/// Normalization errors; the leakage guard raises `LeakageError`.
pub fn norm(e: NormError) -> PyErr {
    match e {
        NormError::Leakage(_) => LeakageError::new_err(e.to_string()),
        other => NormalizationError::new_err(other.to_string()),
    }
}

/// Dataset metadata errors.
pub fn folds(e: FoldsError) -> PyErr {
    match &e {
        FoldsError::Io { csv, source } => io_err(csv, source, DatasetError::new_err(e.to_string())),
        FoldsError::Scan { dir, source } => {
            io_err(dir, source, DatasetError::new_err(e.to_string()))
        }
        _ => DatasetError::new_err(e.to_string()),
    }
}

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("SpecnormError", py.get_type::<SpecnormError>())?;
    m.add("AudioDecodeError", py.get_type::<AudioDecodeError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("StatsError", py.get_type::<StatsError>())?;
    m.add("NormalizationError", py.get_type::<NormalizationError>())?;
    m.add("LeakageError", py.get_type::<LeakageError>())?;
    m.add("DatasetError", py.get_type::<DatasetError>())?;
    Ok(())
}
