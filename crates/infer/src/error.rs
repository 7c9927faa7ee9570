//! [`InferError`].

use std::path::PathBuf;

/// Errors from loading a model or classifying with it.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// ONNX Runtime could not be loaded.
    #[error("ONNX Runtime is not available: {0}")]
    Runtime(String),
    /// The model file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// ONNX Runtime could not load the file as a model.
    #[error("{path} is not a loadable ONNX model: {detail}")]
    NotOnnx {
        /// The file.
        path: PathBuf,
        /// What ONNX Runtime said.
        detail: String,
    },
    /// The model's metadata breaks the contract (missing or invalid key).
    #[error("{path}: {source}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// Which key and why.
        source: specnorm_contract::ContractError,
    },
    /// The model's inputs/outputs do not have the expected shape.
    #[error("model signature mismatch: {0}")]
    Signature(String),
    /// Input data whose length or shape does not fit.
    #[error("input shape error: {0}")]
    Shape(String),
    /// ONNX Runtime failed while running the model.
    #[error("ONNX Runtime error: {0}")]
    Ort(String),
    /// The audio front end failed on an audio file (decoding, resampling or features).
    #[error("features of {path}: {source}")]
    Features {
        /// The audio file.
        path: PathBuf,
        /// The front end's error.
        source: specnorm_features::FeatureError,
    },
}
