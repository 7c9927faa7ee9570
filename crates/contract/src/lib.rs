//! The contract between training, export and inference: what a checkpoint and an exported
//! ONNX model carry, under which keys, in which format.
//!
//! - [`keys`] is the one list of metadata keys (checkpoint metadata in the `.safetensors`
//!   header, ONNX `metadata_props`) and of graph input / output names.
//! - [`CheckpointMeta`] is what `specnorm experiment` writes next to the weights and what the
//!   exporter reads back.
//! - [`ModelMetadata`] is what the exporter writes into the ONNX file and what `specnorm-infer`
//!   reads back.
//!
//! Both embed the normalization as one [`NormSpec`] (from `specnorm-norm`) and the front end as
//! one [`FeatureConfig`] (from `specnorm-features`); parsing validates them. This crate links
//! neither libtorch nor ONNX Runtime, so the trainer side (experiment, export) and the
//! deployment side (infer) both depend on it.
//!
//! ```
//! use specnorm_contract::{keys, ModelInput, ModelMetadata};
//! use specnorm_features::FeatureConfig;
//! use specnorm_norm::{NormSpec, Normalizer};
//! let meta = ModelMetadata::new(
//!     vec!["dog".into(), "rain".into()],
//!     FeatureConfig::default(),
//!     NormSpec::from(Normalizer::Global { mean: -45.0, std: 17.0 }),
//!     "small",
//!     ModelInput::Spectrogram,
//! )?;
//! assert_eq!(meta.n_freq, 201);
//! let props: std::collections::HashMap<String, String> = meta.to_props().into_iter().collect();
//! assert_eq!(props[keys::onnx::NORMALIZATION], r#"{"kind":"global","mean":-45.0,"std":17.0}"#);
//! let back = ModelMetadata::from_props(|k| props.get(k).cloned())?;
//! assert_eq!(back, meta);
//! # Ok::<(), specnorm_contract::ContractError>(())
//! ```
#![deny(missing_docs)]

mod checkpoint;
pub mod keys;
mod model;

pub use checkpoint::CheckpointMeta;
pub use model::{ModelInput, ModelMetadata, StftImpl};
pub use specnorm_features::FeatureConfig;
pub use specnorm_norm::NormSpec;

/// A metadata entry that is missing or unusable.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// A required key is absent.
    #[error("metadata lacks `{key}` (was the file written by specnorm?)")]
    Missing {
        /// The key.
        key: &'static str,
    },
    /// A value is present but does not parse or contradicts another one.
    #[error("metadata `{key}` is invalid: {detail}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong.
        detail: String,
    },
}

pub(crate) fn invalid(key: &'static str, detail: impl std::fmt::Display) -> ContractError {
    ContractError::Invalid {
        key,
        detail: detail.to_string(),
    }
}

/// Parses a JSON value stored under `key`.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    key: &'static str,
    v: &str,
) -> Result<T, ContractError> {
    serde_json::from_str(v).map_err(|e| invalid(key, e))
}

/// Serializes a value that cannot fail to serialize (strings, numbers, derived structs).
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
