//! [`Classifier`]: a loaded model, its metadata, and runs on features or waveforms.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;
use specnorm_contract::{ModelInput, ModelMetadata};
use specnorm_features::{DecodeOptions, FeatureConfig, FeatureExtractor, TruncatedClip};

use crate::runtime::{ort_err, runtime};
use crate::signature::check_signature;
use crate::{softmax, InferError, DEFAULT_TOP_K};

/// A loaded specnorm ONNX classifier (a feature-input or a waveform-input model).
pub struct Classifier {
    session: Mutex<Session>,
    pub(crate) path: PathBuf,
    pub(crate) meta: ModelMetadata,
    /// The front end that runs outside the graph: the full feature front end for a
    /// spectrogram model; decoding and resampling only for a waveform model.
    pub(crate) extractor: FeatureExtractor,
    input_name: String,
    output_name: String,
    pub(crate) top_k: usize,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("path", &self.path)
            .field("model_kind", &self.meta.model_kind)
            .field("input", &self.meta.input)
            .field("n_classes", &self.meta.class_names.len())
            .field("n_freq", &self.meta.n_freq)
            .field("sample_rate", &self.meta.sample_rate)
            .finish_non_exhaustive()
    }
}

/// The feature configuration of the part of the front end that runs outside a waveform graph:
/// decoding and resampling (no waveform normalization, no padding: those are in the graph).
fn outside_front_end(cfg: &FeatureConfig) -> FeatureConfig {
    FeatureConfig {
        waveform_norm: false,
        seconds: None,
        ..cfg.clone()
    }
}

impl Classifier {
    /// Loads and checks a model exported by `specnorm-export`: the metadata
    /// ([`ModelMetadata::from_props`]: class names, sample rate, feature config, `n_freq`,
    /// normalization, input kind, all consistent) and the signature: one float input
    /// (`[?, 1, n_freq, ?]`, or `[?, ?]` for a waveform model) and one float output
    /// `[?, n_classes]`.
    pub fn load(path: &Path) -> Result<Self, InferError> {
        let bytes = std::fs::read(path).map_err(|source| InferError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let env = runtime()?;
        let session = Session::builder(&env)
            .map_err(ort_err)?
            .commit_from_memory(&bytes)
            .map_err(|e| InferError::NotOnnx {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        let props = session.metadata().map_err(ort_err)?;
        let meta = ModelMetadata::from_props(|k| props.custom(k)).map_err(|source| {
            InferError::Metadata {
                path: path.to_path_buf(),
                source,
            }
        })?;
        drop(props);
        let outside = match meta.input {
            ModelInput::Spectrogram => meta.feature_config.clone(),
            ModelInput::Waveform { .. } => outside_front_end(&meta.feature_config),
        };
        let extractor = FeatureExtractor::new(outside).map_err(|e| InferError::Metadata {
            path: path.to_path_buf(),
            source: specnorm_contract::ContractError::Invalid {
                key: specnorm_contract::keys::onnx::FEATURE_CONFIG,
                detail: e.to_string(),
            },
        })?;
        let (input_name, output_name) =
            check_signature(&session, meta.input, meta.n_freq, meta.class_names.len())?;
        Ok(Self {
            session: Mutex::new(session),
            path: path.to_path_buf(),
            meta,
            extractor,
            input_name,
            output_name,
            top_k: DEFAULT_TOP_K,
        })
    }

    /// Sets how many classes [`Classifier::predict_files`] reports (at least 1).
    pub fn with_top_k(mut self, k: usize) -> Self {
        self.top_k = k.max(1);
        self
    }

    /// Decodes files with `opts` (e.g. `allow_truncated`; strict by default).
    pub fn with_decode_options(self, opts: DecodeOptions) -> Self {
        Self {
            extractor: self.extractor.with_decode_options(opts),
            ..self
        }
    }

    /// The files accepted although truncated since the last call (see
    /// [`FeatureExtractor::take_truncated`]).
    pub fn take_truncated(&self) -> Vec<TruncatedClip> {
        self.extractor.take_truncated()
    }

    /// The model's metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// What the graph takes: features, or the waveform (front end inside the graph).
    pub fn input_kind(&self) -> ModelInput {
        self.meta.input
    }

    /// Class names in logit order.
    pub fn class_names(&self) -> &[String] {
        &self.meta.class_names
    }

    /// The feature configuration the model was trained with.
    pub fn feature_config(&self) -> &FeatureConfig {
        &self.meta.feature_config
    }

    /// Number of frequency bins F of the features.
    pub fn n_freq(&self) -> usize {
        self.meta.n_freq
    }

    /// Sample rate (Hz) of the front end (a waveform input must be at this rate).
    pub fn sample_rate(&self) -> u32 {
        self.meta.sample_rate
    }

    /// The model kind recorded at export.
    pub fn model_kind(&self) -> &str {
        &self.meta.model_kind
    }

    /// The normalization JSON recorded at export; the normalization itself runs inside the
    /// graph.
    pub fn normalization_json(&self) -> String {
        self.meta.normalization.to_json()
    }

    /// Runs the graph on a row-major input of `shape` and returns one logit row per example.
    fn run(&self, x: &[f32], shape: &[usize]) -> Result<Vec<Vec<f32>>, InferError> {
        let len = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| InferError::Shape(format!("{shape:?} overflows")))?;
        if x.len() != len {
            return Err(InferError::Shape(format!(
                "{shape:?} needs {len} values, got {}",
                x.len()
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(InferError::Shape(format!(
                "value {i} of the input is not finite"
            )));
        }
        let n = shape[0];
        let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let input = Tensor::from_array((dims, x.to_vec())).map_err(ort_err)?;
        // A poisoned lock only means another thread panicked mid-run; the
        // session itself holds no Rust-side state that could be torn.
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs![self.input_name.as_str() => input])
            .map_err(ort_err)?;
        let out = outputs
            .get(&self.output_name)
            .ok_or_else(|| InferError::Ort(format!("no output {}", self.output_name)))?;
        let (oshape, data) = out.try_extract_tensor::<f32>().map_err(ort_err)?;
        let k = self.meta.class_names.len();
        if oshape.len() != 2 || oshape[0] != n as i64 || oshape[1] != k as i64 {
            return Err(InferError::Signature(format!(
                "output shape {:?}, expected [{n}, {k}]",
                &oshape[..]
            )));
        }
        Ok(data.chunks(k).map(<[f32]>::to_vec).collect())
    }

    /// Runs a feature-input model on a row-major batch `x` of spectrograms with
    /// `shape = [N, 1, F, T]` and returns the logits, one row per example.
    pub fn logits_features(
        &self,
        x: &[f32],
        shape: [usize; 4],
    ) -> Result<Vec<Vec<f32>>, InferError> {
        if self.meta.input != ModelInput::Spectrogram {
            return Err(InferError::Shape(
                "this model takes waveforms (exported with --frontend): use logits_waveform".into(),
            ));
        }
        let [n, c, f, t] = shape;
        if c != 1 || f != self.meta.n_freq || n == 0 || t == 0 {
            return Err(InferError::Shape(format!(
                "got {shape:?}, the model takes [N>0, 1, {}, T>0]",
                self.meta.n_freq
            )));
        }
        self.run(x, &shape)
    }

    /// Runs a waveform-input model on a row-major batch `x` of mono waveforms at
    /// [`Classifier::sample_rate`], `shape = [N, S]`, and returns the logits.
    pub fn logits_waveform(
        &self,
        x: &[f32],
        shape: [usize; 2],
    ) -> Result<Vec<Vec<f32>>, InferError> {
        if self.meta.input == ModelInput::Spectrogram {
            return Err(InferError::Shape(
                "this model takes spectrograms: use logits_features".into(),
            ));
        }
        let [n, s] = shape;
        let (min, _) = self.meta.feature_config.spectrogram.stft.min_input_len();
        if n == 0 || s < min.max(2) {
            return Err(InferError::Shape(format!(
                "got {shape:?}, the model takes [N>0, S>={}] samples",
                min.max(2)
            )));
        }
        self.run(x, &shape)
    }

    /// Like [`Classifier::logits_features`] but returns softmax probabilities.
    pub fn predict_features(
        &self,
        x: &[f32],
        shape: [usize; 4],
    ) -> Result<Vec<Vec<f32>>, InferError> {
        Ok(self
            .logits_features(x, shape)?
            .iter()
            .map(|l| softmax(l))
            .collect())
    }
}
