//! ONNX export of [`specnorm_train`] models, with the spectrogram
//! normalization the model was trained with as the first nodes of the graph.
//!
//! The exported file is self-contained: one ONNX model (IR version 8, opset
//! 17, no external data) whose input `spectrogram` is the dB spectrogram
//! `[N, 1, F, T]` (N and T symbolic, F fixed) and whose output `logits` is
//! `[N, n_classes]`. Batch norms are folded into the convolutions (in f64).
//! The model's metadata properties carry everything an inference front end
//! needs: class names, sample rate, the feature configuration, the
//! normalization, the model kind and the specnorm version (keys in
//! [`meta_keys`]).
//!
//! The protobuf messages are hand-derived from `onnx.proto` ([`onnx`]), so
//! neither protoc nor Python is needed at build or run time.
//!
//! ```
//! use specnorm_export::{graph::{GraphBuilder, TensorShape}, ExportNorm};
//! // The normalization prelude on its own: (x - mean) / std per frequency bin.
//! let norm = ExportNorm::PerChannel { mean: vec![-40.0, -50.0], std: vec![10.0, 12.0] };
//! let mut g = GraphBuilder::new("prelude");
//! let x = g.input_f32("spectrogram", TensorShape::named(&[None, Some(1), Some(2), None], &["N", "", "", "T"]));
//! let y = norm.append(&mut g, &x, 2).unwrap();
//! let graph = g.finish();
//! let ops: Vec<_> = graph.node.iter().map(|n| n.op_type.clone().unwrap()).collect();
//! assert_eq!(ops, ["Sub", "Div"]);
//! assert_eq!(graph.initializer[0].dims, [1, 1, 2, 1]);
//! assert_eq!(y, "normalized");
//! ```
#![deny(missing_docs)]

pub mod graph;
mod norm;
pub mod onnx;

use std::path::Path;

use prost::Message;
use serde::{Deserialize, Serialize};

pub use norm::ExportNorm;

use graph::{GraphBuilder, TensorShape};
use onnx::{ModelProto, OperatorSetIdProto, StringStringEntryProto};

/// ONNX IR version written by the exporter.
pub const IR_VERSION: i64 = 8;
/// ONNX default-domain opset written by the exporter.
pub const OPSET: i64 = 17;
/// Name of the graph input (`[N, 1, F, T]` dB spectrogram, float32).
pub const INPUT_NAME: &str = "spectrogram";
/// Name of the graph output (`[N, n_classes]` logits, float32).
pub const OUTPUT_NAME: &str = "logits";

/// Keys of the `metadata_props` the exporter writes (all values are strings).
pub mod meta_keys {
    /// JSON array of class names, in logit order.
    pub const CLASS_NAMES: &str = "class_names";
    /// Sample rate in Hz (decimal integer) the features are computed at.
    pub const SAMPLE_RATE: &str = "sample_rate";
    /// Feature configuration JSON (`specnorm_features::FeatureConfig`).
    pub const FEATURE_CONFIG: &str = "feature_config";
    /// Number of frequency bins F of the input (decimal integer).
    pub const N_FREQ: &str = "n_freq";
    /// Normalization JSON ([`ExportNorm`](crate::ExportNorm)); already applied inside the graph.
    pub const NORMALIZATION: &str = "normalization";
    /// Model kind (for example `xresnet18` or `small_cnn`).
    pub const MODEL_KIND: &str = "model_kind";
    /// Version of specnorm that wrote the file.
    pub const SPECNORM_VERSION: &str = "specnorm_version";
}

/// Errors from building or writing an ONNX model.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A tensor's data does not fit its declared shape, or layers disagree.
    #[error("shape error in {what}: {detail}")]
    Shape {
        /// The tensor or layer concerned.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The normalization statistics are unusable.
    #[error("invalid normalization: {0}")]
    Norm(String),
    /// The metadata is inconsistent (class count, feature config JSON, ...).
    #[error("invalid export metadata: {0}")]
    Meta(String),
    /// The model contains something the exporter cannot express.
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// Reading a parameter out of libtorch failed.
    #[error("reading tensor {name}: {source}")]
    Tensor {
        /// Parameter name.
        name: String,
        /// The libtorch error.
        source: tch::TchError,
    },
    /// Writing the file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// Destination path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Everything besides the network that goes into the exported file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportMeta {
    /// Class names in logit order; the count must equal the model's outputs.
    pub class_names: Vec<String>,
    /// Sample rate (Hz) the features are computed at.
    pub sample_rate: u32,
    /// Number of frequency bins F of the spectrogram input.
    pub n_freq: usize,
    /// The feature configuration as JSON (must parse as a JSON object);
    /// stored verbatim.
    pub feature_config_json: String,
    /// The normalization the model was trained with.
    pub norm: ExportNorm,
}

impl ExportMeta {
    fn validate(&self) -> Result<(), ExportError> {
        if self.class_names.is_empty() {
            return Err(ExportError::Meta("no class names".into()));
        }
        if self.n_freq == 0 {
            return Err(ExportError::Meta("n_freq is 0".into()));
        }
        if self.sample_rate == 0 {
            return Err(ExportError::Meta("sample_rate is 0".into()));
        }
        match serde_json::from_str::<serde_json::Value>(&self.feature_config_json) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => {
                return Err(ExportError::Meta(
                    "feature_config_json is not a JSON object".into(),
                ))
            }
            Err(e) => {
                return Err(ExportError::Meta(format!(
                    "feature_config_json is not valid JSON: {e}"
                )))
            }
        }
        self.norm.validate(self.n_freq)
    }

    /// The `metadata_props` key/value pairs for this metadata and `model_kind`.
    pub fn props(&self, model_kind: &str) -> Result<Vec<(String, String)>, ExportError> {
        let json = |e: serde_json::Error| ExportError::Meta(e.to_string());
        Ok(vec![
            (
                meta_keys::CLASS_NAMES.into(),
                serde_json::to_string(&self.class_names).map_err(json)?,
            ),
            (meta_keys::SAMPLE_RATE.into(), self.sample_rate.to_string()),
            (
                meta_keys::FEATURE_CONFIG.into(),
                self.feature_config_json.clone(),
            ),
            (meta_keys::N_FREQ.into(), self.n_freq.to_string()),
            (
                meta_keys::NORMALIZATION.into(),
                serde_json::to_string(&self.norm).map_err(json)?,
            ),
            (meta_keys::MODEL_KIND.into(), model_kind.to_string()),
            (
                meta_keys::SPECNORM_VERSION.into(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ])
    }
}

/// Wraps a network body into a complete model: input, normalization prelude,
/// `body`, output and metadata. `body` receives the builder and the
/// normalized input's name and returns `(logits value, number of classes)`.
pub fn assemble_model<F>(
    meta: &ExportMeta,
    model_kind: &str,
    body: F,
) -> Result<ModelProto, ExportError>
where
    F: FnOnce(&mut GraphBuilder, &str) -> Result<(String, usize), ExportError>,
{
    meta.validate()?;
    let f = i64::try_from(meta.n_freq).map_err(|_| ExportError::Meta("n_freq too large".into()))?;
    let mut g = GraphBuilder::new(&format!("specnorm_{model_kind}"));
    let x = g.input_f32(
        INPUT_NAME,
        TensorShape::named(&[None, Some(1), Some(f), None], &["N", "", "", "T"]),
    );
    let x = meta.norm.append(&mut g, &x, meta.n_freq)?;
    let (logits, n_out) = body(&mut g, &x)?;
    if n_out != meta.class_names.len() {
        return Err(ExportError::Meta(format!(
            "the model has {n_out} outputs but {} class names were given",
            meta.class_names.len()
        )));
    }
    let n_out = i64::try_from(n_out).map_err(|_| ExportError::Meta("too many classes".into()))?;
    g.output_f32(
        &logits,
        OUTPUT_NAME,
        TensorShape::named(&[None, Some(n_out)], &["N"]),
    );
    let metadata_props = meta
        .props(model_kind)?
        .into_iter()
        .map(|(k, v)| StringStringEntryProto {
            key: Some(k),
            value: Some(v),
        })
        .collect();
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        producer_name: Some("specnorm".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: None,
        model_version: Some(1),
        doc_string: Some(format!(
            "specnorm {model_kind} audio classifier; input: dB spectrogram [N,1,{f},T], \
             normalization ({}) applied in the graph; output: logits [N,{n_out}]",
            meta.norm.kind()
        )),
        graph: Some(g.finish()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        metadata_props,
    })
}

/// Builds the ONNX [`ModelProto`] for `model` with `meta`.
pub fn build_model_proto(
    model: &specnorm_train::Model,
    meta: &ExportMeta,
) -> Result<ModelProto, ExportError> {
    let kind = convert::model_kind(model);
    assemble_model(meta, &kind, |g, x| convert::append_network(g, model, x))
}

/// Serializes `model` with `meta` to ONNX bytes.
pub fn to_onnx_bytes(
    model: &specnorm_train::Model,
    meta: &ExportMeta,
) -> Result<Vec<u8>, ExportError> {
    Ok(build_model_proto(model, meta)?.encode_to_vec())
}

/// Writes `bytes` to `path` atomically with [`specnorm_atomic::write`]: a
/// temporary file in the same directory, synced, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    specnorm_atomic::write(path, bytes).map_err(|source| ExportError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Exports `model` with `meta` as one ONNX file at `path` (written to a
/// temporary file first, then renamed).
pub fn export_model(
    model: &specnorm_train::Model,
    meta: &ExportMeta,
    path: &Path,
) -> Result<(), ExportError> {
    let bytes = to_onnx_bytes(model, meta)?;
    write_atomic(path, &bytes)
}

mod convert;
