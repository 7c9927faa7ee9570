//! [`export_checkpoint`]: a checkpoint of `specnorm experiment` to one ONNX file.

use std::path::{Path, PathBuf};

use specnorm_contract::{CheckpointMeta, ModelInput};

use crate::{export_model, ExportError};

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportOptions {
    /// Graph input: the spectrogram (features computed outside, the default) or the waveform
    /// (the front end inside the graph, with the given STFT).
    pub input: ModelInput,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            input: ModelInput::Spectrogram,
        }
    }
}

/// What [`export_checkpoint`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportSummary {
    /// The checkpoint.
    pub checkpoint: PathBuf,
    /// The ONNX file.
    pub out: PathBuf,
    /// Model kind.
    pub model_kind: String,
    /// Number of classes.
    pub n_classes: usize,
    /// Frequency bins of the features.
    pub n_freq: usize,
    /// Normalization kind in the graph.
    pub normalization: String,
    /// Graph input.
    pub input: ModelInput,
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let input = match self.input {
            ModelInput::Spectrogram => "spectrogram input".to_string(),
            ModelInput::Waveform { stft } => format!("waveform input, {} STFT", stft.as_str()),
        };
        write!(
            f,
            "{} ({}, {} classes, F = {}, {} normalization, {input}) -> {}",
            self.checkpoint.display(),
            self.model_kind,
            self.n_classes,
            self.n_freq,
            self.normalization,
            self.out.display()
        )
    }
}

/// Loads `ckpt` (weights + [`CheckpointMeta`]), builds the ONNX model with the checkpoint's
/// normalization and feature configuration, and writes it atomically to `out` (creating the
/// parent folder).
pub fn export_checkpoint(
    ckpt: &Path,
    out: &Path,
    opts: &ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let path = ckpt.display().to_string();
    let (model, map) = specnorm_train::Model::load(ckpt, tch::Device::Cpu).map_err(|source| {
        ExportError::Checkpoint {
            path: path.clone(),
            source,
        }
    })?;
    let meta = CheckpointMeta::from_map(&map).map_err(|source| ExportError::CheckpointMeta {
        path: path.clone(),
        source,
    })?;
    let kind = crate::convert::model_kind(&model);
    let model_meta = meta.model_metadata(&kind, opts.input)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    export_model(&model, &model_meta, out)?;
    Ok(ExportSummary {
        checkpoint: ckpt.to_path_buf(),
        out: out.to_path_buf(),
        model_kind: kind,
        n_classes: model_meta.class_names.len(),
        n_freq: model_meta.n_freq,
        normalization: model_meta.normalization.kind().to_string(),
        input: opts.input,
    })
}
