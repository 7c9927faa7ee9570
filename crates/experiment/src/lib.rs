//! The blog's spectrogram-normalization experiment, end to end.
//!
//! * [`synth`] generates a deterministic ESC-50-shaped dataset whose clips vary
//!   strongly in gain and noise floor, so normalization matters.
//! * [`config_file`] reads `specnorm.toml` (`[features]` and `[experiment]`
//!   tables; no libtorch).
//! * [`settings`] names the compared normalizations (`none`, `waveform`,
//!   `global`, `channel`, `instance`, `pcen`).
//! * `runner` (feature `train`, needs libtorch) trains every
//!   setting × fold × seed, resumably, and writes checkpoints; `export`
//!   (feature `train`) turns each setting's best run into an ONNX file.
//! * [`report`] turns finished runs into `results.json`, `results.md` (mean ±
//!   std, 95 % CI, paired t-tests with a verdict) and PNG plots, using the
//!   statistics in [`significance`].
//!
//! ```
//! use specnorm_experiment::significance::{paired_t_test, summarize};
//!
//! // Final accuracies of two settings over the same five (fold, seed) pairs.
//! let channel = [0.80, 0.82, 0.79, 0.85, 0.81];
//! let global = [0.75, 0.80, 0.78, 0.79, 0.77];
//! let s = summarize(&channel).unwrap();
//! assert!((s.mean - 0.814).abs() < 1e-12);
//! let test = paired_t_test(&channel, &global).unwrap();
//! // scipy.stats.ttest_rel gives p = 0.0178113...
//! assert!((test.p_value.unwrap() - 0.017811325477956916).abs() < 1e-10);
//! ```
#![deny(missing_docs)]

pub mod config_file;
#[cfg(feature = "train")]
pub mod export;
mod extract;
pub mod feature_cache;
pub mod report;
pub mod results;
#[cfg(feature = "train")]
pub mod runner;
pub mod settings;
pub use specnorm_analysis::significance;
pub mod synth;
