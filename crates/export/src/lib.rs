//! ONNX export of [`specnorm_train`] models, with the spectrogram
//! normalization the model was trained with as the first nodes of the graph.
//!
//! The exported file is self-contained: one ONNX model (IR version 8, opset
//! 17, no external data) whose input `spectrogram` is the dB spectrogram
//! `[N, 1, F, T]` (N and T symbolic, F fixed) and whose output `logits` is
//! `[N, n_classes]`. Batch norms are folded into the convolutions (in f64).
//! The model's metadata properties are a [`ModelMetadata`] (the contract
//! shared with `specnorm-infer`, keys in [`specnorm_contract::keys`]): class
//! names, sample rate, the feature configuration, the normalization
//! ([`specnorm_norm::NormSpec`]), the model kind and the specnorm version.
//!
//! [`export_checkpoint`] does the whole job for a checkpoint written by
//! `specnorm experiment` (its [`specnorm_contract::CheckpointMeta`] says what
//! to put in the graph).
//!
//! The protobuf messages are hand-derived from `onnx.proto` ([`onnx`]), so
//! neither protoc nor Python is needed at build or run time.
//!
//! ```
//! use specnorm_export::{graph::{GraphBuilder, TensorShape}, append_normalization};
//! use specnorm_norm::Normalizer;
//! // The normalization prelude on its own: (x - mean) / std per frequency bin.
//! let norm = Normalizer::PerChannel { mean: vec![-40.0, -50.0], std: vec![10.0, 12.0] };
//! let mut g = GraphBuilder::new("prelude");
//! let x = g.input_f32("spectrogram", TensorShape::named(&[None, Some(1), Some(2), None], &["N", "", "", "T"]));
//! let y = append_normalization(&mut g, &norm, &x, 2).unwrap();
//! let graph = g.finish();
//! let ops: Vec<_> = graph.node.iter().map(|n| n.op_type.clone().unwrap()).collect();
//! assert_eq!(ops, ["Sub", "Div"]);
//! assert_eq!(graph.initializer[0].dims, [1, 1, 2, 1]);
//! assert_eq!(y, "normalized");
//! ```
#![deny(missing_docs)]

mod checkpoint;
mod convert;
pub mod frontend;
pub mod graph;
mod norm;
pub mod onnx;
mod pcen;

use std::path::Path;

use prost::Message;

pub use checkpoint::{export_checkpoint, ExportOptions, ExportSummary};
pub use norm::append_normalization;
pub use specnorm_contract::{ModelInput, ModelMetadata, StftImpl};

use graph::{GraphBuilder, TensorShape};
use onnx::{ModelProto, OperatorSetIdProto, StringStringEntryProto};
use specnorm_contract::keys::graph::{LOGITS_OUTPUT, SPECTROGRAM_INPUT, WAVEFORM_INPUT};

/// ONNX IR version written by the exporter.
pub const IR_VERSION: i64 = 8;
/// ONNX default-domain opset written by the exporter.
pub const OPSET: i64 = 17;

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
    Norm(#[from] specnorm_norm::NormError),
    /// The metadata is inconsistent (class count, model kind, ...).
    #[error("invalid export metadata: {0}")]
    Meta(String),
    /// The metadata breaks the contract (see [`specnorm_contract::ModelMetadata::validate`]).
    #[error(transparent)]
    Contract(#[from] specnorm_contract::ContractError),
    /// The checkpoint could not be loaded.
    #[error("loading checkpoint {path}: {source}")]
    Checkpoint {
        /// The checkpoint file.
        path: String,
        /// The loader's error.
        source: specnorm_train::TrainError,
    },
    /// The checkpoint's metadata is missing or invalid.
    #[error("checkpoint {path}: {source}")]
    CheckpointMeta {
        /// The checkpoint file.
        path: String,
        /// What is wrong.
        source: specnorm_contract::ContractError,
    },
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

/// Wraps a network body into a complete model: input (the spectrogram, or the
/// waveform followed by the front end of [`frontend`]), normalization prelude,
/// `body`, output and metadata. `body` receives the builder and the
/// normalized input's name and returns `(logits value, number of classes)`.
pub fn assemble_model<F>(meta: &ModelMetadata, body: F) -> Result<ModelProto, ExportError>
where
    F: FnOnce(&mut GraphBuilder, &str) -> Result<(String, usize), ExportError>,
{
    meta.validate()?;
    let model_kind = meta.model_kind.as_str();
    let f = i64::try_from(meta.n_freq).map_err(|_| ExportError::Meta("n_freq too large".into()))?;
    let mut g = GraphBuilder::new(&format!("specnorm_{model_kind}"));
    let x = match meta.input {
        ModelInput::Spectrogram => g.input_f32(
            SPECTROGRAM_INPUT,
            TensorShape::named(&[None, Some(1), Some(f), None], &["N", "", "", "T"]),
        ),
        ModelInput::Waveform { stft } => {
            let w = g.input_f32(
                WAVEFORM_INPUT,
                TensorShape::named(&[None, None], &["N", "S"]),
            );
            frontend::append_front_end(&mut g, &meta.feature_config, stft, &w)?
        }
    };
    let x = append_normalization(&mut g, &meta.normalization.normalizer, &x, meta.n_freq)?;
    let (logits, n_out) = body(&mut g, &x)?;
    if n_out != meta.class_names.len() {
        return Err(ExportError::Meta(format!(
            "the model has {n_out} outputs but {} class names were given",
            meta.class_names.len()
        )));
    }
    let n_out = i64::try_from(n_out).map_err(|_| ExportError::Meta("too many classes".into()))?;
    let input = match meta.input {
        ModelInput::Spectrogram => format!("dB spectrogram [N,1,{f},T]"),
        ModelInput::Waveform { stft } => format!(
            "mono waveform [N,S] at {} Hz (resample outside), front end in the graph ({} STFT)",
            meta.sample_rate,
            stft.as_str()
        ),
    };
    g.output_f32(
        &logits,
        LOGITS_OUTPUT,
        TensorShape::named(&[None, Some(n_out)], &["N"]),
    );
    let metadata_props = meta
        .to_props()
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
            "specnorm {model_kind} audio classifier; input: {input}, \
             normalization ({}) applied in the graph; output: logits [N,{n_out}]",
            meta.normalization.kind()
        )),
        graph: Some(g.finish()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        metadata_props,
    })
}

/// Builds the ONNX [`ModelProto`] for `model` with `meta` (whose `model_kind` must be the
/// model's).
pub fn build_model_proto(
    model: &specnorm_train::Model,
    meta: &ModelMetadata,
) -> Result<ModelProto, ExportError> {
    let kind = convert::model_kind(model);
    if meta.model_kind != kind {
        return Err(ExportError::Meta(format!(
            "the metadata says model kind {:?}, the model is {kind:?}",
            meta.model_kind
        )));
    }
    if let Some(front) = &model.front {
        if usize::try_from(front.n_freq).ok() != Some(meta.n_freq) {
            return Err(ExportError::Meta(format!(
                "the model's PCEN front layer has {} channels, the features {} bins",
                front.n_freq, meta.n_freq
            )));
        }
    }
    assemble_model(meta, |g, x| convert::append_network(g, model, x))
}

/// Serializes `model` with `meta` to ONNX bytes.
pub fn to_onnx_bytes(
    model: &specnorm_train::Model,
    meta: &ModelMetadata,
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
    meta: &ModelMetadata,
    path: &Path,
) -> Result<(), ExportError> {
    let bytes = to_onnx_bytes(model, meta)?;
    write_atomic(path, &bytes)
}
