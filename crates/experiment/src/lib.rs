//! The blog's spectrogram-normalization experiment, end to end.
//!
//! * [`synth`] generates a deterministic ESC-50-shaped dataset whose clips vary
//!   strongly in gain and noise floor, so normalization matters.
//! * [`settings`] names the compared normalizations (`none`, `waveform`,
//!   `global`, `channel`, `instance`, `pcen`).
//! * `runner` (feature `train`, needs libtorch) trains every
//!   setting × fold × seed, resumably, and writes checkpoints.
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

use std::io::Write;
use std::path::Path;

pub mod report;
pub mod results;
#[cfg(feature = "train")]
pub mod runner;
pub mod settings;
pub mod significance;
pub mod synth;

/// Writes `bytes` to `path` through a uniquely named temporary file in the
/// same directory followed by a rename, so readers never see a partial file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
