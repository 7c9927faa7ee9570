//! Audio classification with a specnorm ONNX model on ONNX Runtime — no libtorch.
//!
//! A model exported by `specnorm-export` is one `.onnx` file whose graph takes
//! the dB spectrogram `[N, 1, F, T]` (the normalization it was trained with is
//! inside the graph) and returns logits `[N, n_classes]`; its metadata
//! properties carry the class names and the feature configuration.
//! [`Classifier`] loads such a file, checks it, and classifies either
//! spectrograms ([`Classifier::predict_features`]) or audio files
//! ([`Classifier::predict_files`]), the latter through the same
//! `specnorm-features` front end that produced the training features.
//!
//! ONNX Runtime is loaded at run time from the shared library named by the
//! `ORT_DYLIB_PATH` environment variable (`cargo xtask setup` installs it and
//! prints the line to export).
//!
//! ```no_run
//! # fn main() -> Result<(), specnorm_infer::InferError> {
//! use specnorm_infer::Classifier;
//! let clf = Classifier::load("model.onnx".as_ref())?;
//! for p in clf.predict_files(&["dog.wav".into()]) {
//!     let p = p?;
//!     println!("{}: {} ({:.2})", p.path.display(), p.top[0].0, p.top[0].1);
//! }
//! # Ok(()) }
//! ```
//!
//! The softmax used for probabilities is an ordinary function:
//!
//! ```
//! let p = specnorm_infer::softmax(&[0.0, 0.0, f32::ln(2.0)]);
//! assert!((p[2] - 0.5).abs() < 1e-6 && (p[0] - 0.25).abs() < 1e-6);
//! ```
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::{Tensor, ValueType};
use specnorm_features::{FeatureConfig, FeatureExtractor};

/// Keys of the metadata properties written by `specnorm-export`
/// (duplicated here: this crate must not depend on the exporter).
pub mod meta_keys {
    /// JSON array of class names, in logit order.
    pub const CLASS_NAMES: &str = "class_names";
    /// Sample rate in Hz.
    pub const SAMPLE_RATE: &str = "sample_rate";
    /// Feature configuration JSON.
    pub const FEATURE_CONFIG: &str = "feature_config";
    /// Number of frequency bins F of the input.
    pub const N_FREQ: &str = "n_freq";
    /// Normalization JSON (informational: it is applied inside the graph).
    pub const NORMALIZATION: &str = "normalization";
    /// Model kind.
    pub const MODEL_KIND: &str = "model_kind";
    /// Version of specnorm that exported the model.
    pub const SPECNORM_VERSION: &str = "specnorm_version";
}

/// Environment variable naming the ONNX Runtime shared library.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Default number of classes reported per prediction.
pub const DEFAULT_TOP_K: usize = 5;

/// Largest batch [`Classifier::predict_files`] sends to the model at once.
pub const MAX_BATCH: usize = 64;

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
    /// A metadata property the classifier needs is absent.
    #[error("model metadata lacks `{key}` (was the model exported by specnorm-export?)")]
    MissingMetadata {
        /// The missing key.
        key: &'static str,
    },
    /// A metadata property is present but unusable.
    #[error("model metadata `{key}` is invalid: {detail}")]
    BadMetadata {
        /// The key.
        key: &'static str,
        /// What is wrong.
        detail: String,
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
    /// The feature front end failed on an audio file.
    #[error("features of {path}: {source}")]
    Features {
        /// The audio file.
        path: PathBuf,
        /// The front end's error.
        source: specnorm_features::FeatureError,
    },
}

/// Top-k classification of one audio file.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The audio file.
    pub path: PathBuf,
    /// `(class name, probability)` pairs, most probable first.
    pub top: Vec<(String, f32)>,
}

/// Numerically stable softmax (returns an empty vector for empty input; a
/// NaN logit makes every probability NaN).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits
        .iter()
        .map(|&l| (f64::from(l) - f64::from(max)).exp())
        .collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|&e| (e / sum) as f32).collect()
}

/// The `k` largest probabilities with their class names, largest first
/// (ties keep class order).
pub fn top_k(probs: &[f32], class_names: &[String], k: usize) -> Vec<(String, f32)> {
    let mut idx: Vec<usize> = (0..probs.len().min(class_names.len())).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.into_iter()
        .take(k)
        .map(|i| (class_names[i].clone(), probs[i]))
        .collect()
}

/// The process-wide ONNX Runtime environment, loaded once from
/// `$ORT_DYLIB_PATH`.
pub fn runtime() -> Result<Environment, InferError> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = match std::env::var_os(ORT_DYLIB_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                return Err(format!(
                    "{ORT_DYLIB_ENV} is not set; it must name the ONNX Runtime shared library \
                     (libonnxruntime.so / .dylib / onnxruntime.dll, version >= 1.22). Run \
                     `cargo xtask setup`, which installs it, and export the {ORT_DYLIB_ENV} line it prints"
                ))
            }
        };
        if !path.is_file() {
            return Err(format!(
                "{ORT_DYLIB_ENV}={} does not name a file; run `cargo xtask setup`",
                path.display()
            ));
        }
        ort::init_from(&path)
            .map_err(|e| format!("loading {}: {e}", path.display()))?
            .with_name("specnorm-infer")
            .build()
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(InferError::Runtime)
}

fn ort_err<E: std::fmt::Display>(e: E) -> InferError {
    InferError::Ort(e.to_string())
}

/// A loaded specnorm ONNX classifier.
pub struct Classifier {
    session: Mutex<Session>,
    path: PathBuf,
    class_names: Vec<String>,
    feature_config: FeatureConfig,
    extractor: FeatureExtractor,
    sample_rate: u32,
    n_freq: usize,
    model_kind: String,
    normalization_json: String,
    input_name: String,
    output_name: String,
    top_k: usize,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("path", &self.path)
            .field("model_kind", &self.model_kind)
            .field("n_classes", &self.class_names.len())
            .field("n_freq", &self.n_freq)
            .field("sample_rate", &self.sample_rate)
            .finish_non_exhaustive()
    }
}

fn required(
    meta: &ort::session::ModelMetadata<'_>,
    key: &'static str,
) -> Result<String, InferError> {
    meta.custom(key).ok_or(InferError::MissingMetadata { key })
}

/// The fixed size of a signature dimension (`None` when symbolic).
fn fixed(d: i64) -> Option<usize> {
    usize::try_from(d).ok()
}

impl Classifier {
    /// Loads and checks a model exported by `specnorm-export`: one float
    /// input `[?, 1, F, ?]`, one float output `[?, n_classes]`, and the
    /// metadata properties (class names, sample rate, feature config,
    /// `n_freq`); F must equal `n_freq`, which must equal the number of
    /// frequency bins the feature config produces.
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

        let meta = session.metadata().map_err(ort_err)?;
        let names_json = required(&meta, meta_keys::CLASS_NAMES)?;
        let class_names: Vec<String> =
            serde_json::from_str(&names_json).map_err(|e| InferError::BadMetadata {
                key: meta_keys::CLASS_NAMES,
                detail: e.to_string(),
            })?;
        if class_names.is_empty() {
            return Err(InferError::BadMetadata {
                key: meta_keys::CLASS_NAMES,
                detail: "empty list".into(),
            });
        }
        let cfg_json = required(&meta, meta_keys::FEATURE_CONFIG)?;
        let feature_config: FeatureConfig =
            serde_json::from_str(&cfg_json).map_err(|e| InferError::BadMetadata {
                key: meta_keys::FEATURE_CONFIG,
                detail: e.to_string(),
            })?;
        let parse_uint = |key: &'static str| -> Result<u64, InferError> {
            let v = required(&meta, key)?;
            v.trim()
                .parse::<u64>()
                .map_err(|e| InferError::BadMetadata {
                    key,
                    detail: format!("{v:?}: {e}"),
                })
        };
        let sample_rate = u32::try_from(parse_uint(meta_keys::SAMPLE_RATE)?).map_err(|e| {
            InferError::BadMetadata {
                key: meta_keys::SAMPLE_RATE,
                detail: e.to_string(),
            }
        })?;
        let n_freq = usize::try_from(parse_uint(meta_keys::N_FREQ)?).map_err(|e| {
            InferError::BadMetadata {
                key: meta_keys::N_FREQ,
                detail: e.to_string(),
            }
        })?;
        let model_kind = meta.custom(meta_keys::MODEL_KIND).unwrap_or_default();
        let normalization_json = meta.custom(meta_keys::NORMALIZATION).unwrap_or_default();
        drop(meta);

        let extractor =
            FeatureExtractor::new(feature_config.clone()).map_err(|e| InferError::BadMetadata {
                key: meta_keys::FEATURE_CONFIG,
                detail: e.to_string(),
            })?;
        let cfg_bins = extractor.n_bins();
        if cfg_bins != n_freq {
            return Err(InferError::BadMetadata {
                key: meta_keys::N_FREQ,
                detail: format!(
                    "n_freq is {n_freq} but the feature config produces {cfg_bins} frequency bins"
                ),
            });
        }
        let cfg_rate = feature_config.sample_rate;
        if cfg_rate != sample_rate {
            return Err(InferError::BadMetadata {
                key: meta_keys::SAMPLE_RATE,
                detail: format!(
                    "sample_rate is {sample_rate} but the feature config says {cfg_rate}"
                ),
            });
        }

        let (input_name, output_name) = check_signature(&session, n_freq, class_names.len())?;
        Ok(Self {
            session: Mutex::new(session),
            path: path.to_path_buf(),
            class_names,
            feature_config,
            extractor,
            sample_rate,
            n_freq,
            model_kind,
            normalization_json,
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

    /// Class names in logit order.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// The feature configuration the model was trained with.
    pub fn feature_config(&self) -> &FeatureConfig {
        &self.feature_config
    }

    /// Number of frequency bins F the model expects.
    pub fn n_freq(&self) -> usize {
        self.n_freq
    }

    /// Sample rate (Hz) of the feature front end.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The model kind recorded at export (empty if absent).
    pub fn model_kind(&self) -> &str {
        &self.model_kind
    }

    /// The normalization JSON recorded at export (empty if absent); the
    /// normalization itself runs inside the graph.
    pub fn normalization_json(&self) -> &str {
        &self.normalization_json
    }

    /// Runs the model on a row-major batch `x` of dB spectrograms with
    /// `shape = [N, 1, F, T]` and returns the logits, one row per example.
    pub fn logits_features(
        &self,
        x: &[f32],
        shape: [usize; 4],
    ) -> Result<Vec<Vec<f32>>, InferError> {
        let [n, c, f, t] = shape;
        if c != 1 || f != self.n_freq || n == 0 || t == 0 {
            return Err(InferError::Shape(format!(
                "got {shape:?}, the model takes [N>0, 1, {}, T>0]",
                self.n_freq
            )));
        }
        let len = n
            .checked_mul(f)
            .and_then(|v| v.checked_mul(t))
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
        let k = self.class_names.len();
        if oshape.len() != 2 || oshape[0] != n as i64 || oshape[1] != k as i64 {
            return Err(InferError::Signature(format!(
                "output shape {:?}, expected [{n}, {k}]",
                &oshape[..]
            )));
        }
        Ok(data.chunks(k).map(<[f32]>::to_vec).collect())
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

    /// Classifies audio files: decode, features (the training front end,
    /// from the model's feature config), model, softmax, top-k. Files with
    /// equal spectrogram length are batched (up to [`MAX_BATCH`]). One result
    /// per path, in order; a failing file does not affect the others.
    pub fn predict_files(&self, paths: &[PathBuf]) -> Vec<Result<Prediction, InferError>> {
        let mut results: Vec<Option<Result<Prediction, InferError>>> =
            paths.iter().map(|_| None).collect();
        // (index, T, data) of successfully extracted files.
        let mut ready: Vec<(usize, usize, Vec<f32>)> = Vec::new();
        let feats = self.extractor.extract_files(paths, &|_| {});
        for (i, (p, r)) in paths.iter().zip(feats).enumerate() {
            match r {
                Ok(spec) => {
                    let (f, t) = spec.dim();
                    if f != self.n_freq {
                        results[i] = Some(Err(InferError::Shape(format!(
                            "{}: features have {f} bins, the model takes {}",
                            p.display(),
                            self.n_freq
                        ))));
                    } else {
                        ready.push((i, t, spec.iter().copied().collect()));
                    }
                }
                Err(source) => {
                    results[i] = Some(Err(InferError::Features {
                        path: p.clone(),
                        source,
                    }))
                }
            }
        }
        let mut start = 0;
        while start < ready.len() {
            let t = ready[start].1;
            let mut end = start + 1;
            while end < ready.len() && end - start < MAX_BATCH && ready[end].1 == t {
                end += 1;
            }
            let batch = &ready[start..end];
            let mut x = Vec::with_capacity(batch.len() * self.n_freq * t);
            for (_, _, d) in batch {
                x.extend_from_slice(d);
            }
            match self.predict_features(&x, [batch.len(), 1, self.n_freq, t]) {
                Ok(probs) => {
                    for ((i, _, _), p) in batch.iter().zip(probs) {
                        results[*i] = Some(Ok(Prediction {
                            path: paths[*i].clone(),
                            top: top_k(&p, &self.class_names, self.top_k),
                        }));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (i, _, _) in batch {
                        results[*i] = Some(Err(InferError::Ort(msg.clone())));
                    }
                }
            }
            start = end;
        }
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                // Every index is filled above: either an error or a batch result.
                r.unwrap_or_else(|| {
                    Err(InferError::Ort(format!("{}: not run", paths[i].display())))
                })
            })
            .collect()
    }
}

/// Checks one float input `[?, 1, n_freq, ?]` and one float output
/// `[?, n_classes]`; returns their names.
fn check_signature(
    session: &Session,
    n_freq: usize,
    n_classes: usize,
) -> Result<(String, String), InferError> {
    let sig = InferError::Signature;
    let [input] = session.inputs() else {
        return Err(sig(format!(
            "expected 1 input, the model has {}",
            session.inputs().len()
        )));
    };
    let [output] = session.outputs() else {
        return Err(sig(format!(
            "expected 1 output, the model has {}",
            session.outputs().len()
        )));
    };
    let dims = |v: &ValueType, what: &str| -> Result<Vec<i64>, InferError> {
        match v {
            ValueType::Tensor { ty, shape, .. }
                if *ty == ort::value::TensorElementType::Float32 =>
            {
                Ok(shape.to_vec())
            }
            other => Err(sig(format!(
                "{what} is {other:?}, expected a float32 tensor"
            ))),
        }
    };
    let ishape = dims(input.dtype(), "input")?;
    if ishape.len() != 4 || fixed(ishape[1]) != Some(1) {
        return Err(sig(format!("input shape {ishape:?} is not [N, 1, F, T]")));
    }
    if fixed(ishape[2]) != Some(n_freq) {
        return Err(sig(format!(
            "input F is {} but the feature config gives {n_freq} frequency bins",
            ishape[2]
        )));
    }
    let oshape = dims(output.dtype(), "output")?;
    if oshape.len() != 2 || (oshape[1] >= 0 && fixed(oshape[1]) != Some(n_classes)) {
        return Err(sig(format!(
            "output shape {oshape:?} is not [N, {n_classes}] ({n_classes} class names)"
        )));
    }
    Ok((input.name().to_string(), output.name().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_known_values() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        // numpy: scipy.special.softmax([1,2,3])
        let want = [0.090_030_57, 0.244_728_47, 0.665_240_96];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
        // Shift invariance and no overflow on large logits.
        let q = softmax(&[1001.0, 1002.0, 1003.0]);
        for (a, b) in p.iter().zip(&q) {
            assert!((a - b).abs() < 1e-7);
        }
        assert!(softmax(&[]).is_empty());
    }

    #[test]
    fn top_k_orders_and_truncates() {
        let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let t = top_k(&[0.1, 0.4, 0.1, 0.4], &names, 3);
        assert_eq!(
            t,
            vec![("b".into(), 0.4), ("d".into(), 0.4), ("a".into(), 0.1)]
        );
        assert_eq!(top_k(&[0.5, 0.5], &names, 10).len(), 2);
    }
}
