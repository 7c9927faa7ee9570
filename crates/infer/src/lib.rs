//! Audio classification with a specnorm ONNX model on ONNX Runtime — no libtorch.
//!
//! A model exported by `specnorm-export` is one `.onnx` file whose graph takes
//! either the dB spectrogram `[N, 1, F, T]` or, exported with `--frontend`, the
//! mono waveform `[N, S]` at the model's sample rate (the front end is then in
//! the graph); the normalization it was trained with is inside the graph and it
//! returns logits `[N, n_classes]`. Its metadata properties are a
//! [`specnorm_contract::ModelMetadata`] (class names, feature configuration,
//! normalization, input kind). [`Classifier`] loads such a file, checks it, and
//! classifies spectrograms ([`Classifier::predict_features`]), waveforms
//! ([`Classifier::logits_waveform`]) or audio files ([`Classifier::predict_files`]),
//! the latter through the same `specnorm-features` front end that produced the
//! training features (for a waveform model only decoding and resampling run
//! outside the graph).
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

mod classifier;
mod error;
mod files;
mod probs;
mod runtime;
mod signature;

pub use classifier::Classifier;
pub use error::InferError;
pub use files::{audio_files, AUDIO_EXTENSIONS};
pub use probs::{softmax, top_k, Prediction};
pub use runtime::runtime;
pub use specnorm_contract::{keys, ModelInput, ModelMetadata, StftImpl};

/// Environment variable naming the ONNX Runtime shared library.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Default number of classes reported per prediction.
pub const DEFAULT_TOP_K: usize = 5;

/// Largest batch [`Classifier::predict_files`] sends to the model at once.
pub const MAX_BATCH: usize = 64;
