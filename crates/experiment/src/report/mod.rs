//! Aggregation of finished runs into `results.json`, `results.md` and PNG plots.
//!
//! * `summary`: per-setting statistics, paired comparisons, the per-fold table, the conclusion;
//! * `convergence`: learning curves, time to a fraction of the best accuracy, per-epoch tests;
//! * `markdown`: `results.md`;
//! * `plots`: the PNG plots;
//! * `learned_pcen`: the learned per-channel parameters of a `pcen-learned` run;
//! * `merge`, `carry`: one report from several output folders, with the plots it copies.
//!
//! The statistics are pure Rust ([`crate::significance`], `specnorm_analysis::power`): per
//! setting the mean, sample std and 95 % Student-t confidence interval of the final accuracy;
//! per pair of settings a paired t-test over the (fold, seed) pairs both ran, its p-value
//! adjusted with Holm's step-down method over all pairs of the report (the family), and the
//! verdict "distinguishable" (Holm-adjusted p < 0.05) or "within seed noise". Each pair also
//! states the smallest difference its runs could detect with power 0.8 at the level of Holm's
//! strictest step (α / number of pairs), and how many paired runs would detect
//! [`STATED_DIFFERENCE`]: "within seed noise" then reads "too few runs to tell differences below
//! X", not "equal".

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::results::RunRecord;
use crate::significance::Summary;

pub mod carry;
mod convergence;
pub mod distributions;
mod learned_pcen;
mod markdown;
mod merge;
mod pairs;
mod plots;
mod summary;

pub use convergence::{convergence, Convergence, EpochPairs, SettingCurve, TARGET_FRACTION};
pub use learned_pcen::{
    write_learned_pcen, LearnedPcenParams, LEARNED_PCEN_DIR, LEARNED_PCEN_JSON,
};
pub use markdown::{render_markdown, OWN_LENGTHS, PLOT_FILES};
pub use merge::{merge_dirs, read_runs_dir, write_merged_report, Merged, MergedReport, RunsDir};
pub use pairs::compare;
pub use plots::{feature_unit, plot_accuracy, plot_channel_stats, plot_curves, plot_spectrogram};
pub use summary::summarize;

/// Family-wise significance level of the paired comparisons (Holm-adjusted).
pub const ALPHA: f64 = 0.05;
/// Power at which detectable differences are stated.
pub const POWER: f64 = 0.8;
/// The accuracy difference (a fraction: 0.02 = 2 points) whose required number of runs the
/// report states.
pub const STATED_DIFFERENCE: f64 = 0.02;
/// The most paired runs [`PairComparison::runs_for_stated`] searches.
pub const MAX_RUNS: usize = 10_000;

/// Errors while writing the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Filesystem error.
    #[error("I/O error at {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// JSON serialization failed.
    #[error("serializing {path}: {source}")]
    Json {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: serde_json::Error,
    },
    /// A plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] specnorm_plot::PlotError),
    /// A folder to merge has no `experiment.json`.
    #[error("{dir} is not an experiment output folder (no experiment.json)")]
    NotAnExperiment {
        /// The folder.
        dir: PathBuf,
    },
    /// A file of an output folder lacks what the report needs.
    #[error("{path}: {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        what: String,
    },
    /// Runs of different configurations cannot share a report.
    #[error(
        "{other} has configuration hash {other_hash}, {first} has {first_hash}: runs of \
         different configurations (model, epochs, lr, features, dataset...) cannot be merged"
    )]
    ConfigMismatch {
        /// The reference file.
        first: PathBuf,
        /// Its hash.
        first_hash: String,
        /// The file that differs.
        other: PathBuf,
        /// Its hash.
        other_hash: String,
    },
    /// The same run differs between two folders.
    #[error("run {key} differs between {first} and {other}")]
    Conflict {
        /// The run key.
        key: String,
        /// The first folder holding it.
        first: PathBuf,
        /// The folder where it differs.
        other: PathBuf,
    },
    /// Nothing to merge.
    #[error("no output folder given")]
    NoInput,
    /// A statistic of the report could not be computed.
    #[error("{what}: {source}")]
    Analysis {
        /// Which statistic.
        what: String,
        /// Why.
        source: specnorm_analysis::AnalysisError,
    },
}

/// The best run of a setting (highest final accuracy; ties go to the lowest
/// fold, then seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRun {
    /// Run key `<setting>_f<fold>_s<seed>`.
    pub key: String,
    /// Validation fold.
    pub fold: u32,
    /// Seed.
    pub seed: u64,
    /// Its final accuracy.
    pub final_accuracy: f64,
    /// Its checkpoint, relative to the output directory.
    pub checkpoint: Option<String>,
}

/// Final-accuracy summary of one setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingSummary {
    /// Setting name.
    pub setting: String,
    /// Mean, sample std and 95 % CI half width of the final accuracy
    /// (`None` if the setting has no finished run).
    pub accuracy: Option<Summary>,
    /// Lowest final accuracy.
    pub min: f64,
    /// Highest final accuracy.
    pub max: f64,
    /// Mean wall time per run in seconds.
    pub mean_wall_time_s: f64,
    /// The best run, for export.
    pub best: Option<BestRun>,
}

/// Outcome of a paired comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Holm-adjusted p < [`ALPHA`].
    Distinguishable,
    /// Holm-adjusted p >= [`ALPHA`].
    WithinSeedNoise,
    /// Fewer than two common (fold, seed) pairs: no test possible.
    TooFewPairs,
    /// The difference is the same non-zero value in every pair (no spread):
    /// the t statistic is infinite (scipy reports p = 0), which with few,
    /// discrete accuracies is not evidence; reported as untestable.
    ConstantDifference,
}

impl Verdict {
    /// Human-readable form used in the markdown.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Distinguishable => "distinguishable",
            Verdict::WithinSeedNoise => "within seed noise",
            Verdict::TooFewPairs => "too few paired runs",
            Verdict::ConstantDifference => "constant difference, untestable",
        }
    }
}

/// Paired comparison of setting `a` against `b` over their common (fold, seed) runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairComparison {
    /// First setting.
    pub a: String,
    /// Second setting.
    pub b: String,
    /// Number of (fold, seed) pairs both settings ran.
    pub pairs: usize,
    /// Mean of `acc(a) - acc(b)` over the pairs.
    pub mean_diff: f64,
    /// Sample standard deviation of the paired differences.
    #[serde(default)]
    pub std_diff: f64,
    /// Two-sided paired t-test p-value.
    pub p_value: Option<f64>,
    /// `p_value` after Holm's correction over every testable pair of the report
    /// ([`crate::significance::holm`]); equal to `p_value` for a lone pair.
    #[serde(default)]
    pub p_holm: Option<f64>,
    /// Smallest |mean difference| these pairs detect with probability [`POWER`] at α / m
    /// (m = testable pairs of the report): `detectable_effect(n, α/m, 0.8) * std_diff`.
    /// `None` without spread or with fewer than 2 pairs.
    #[serde(default)]
    pub detectable_diff: Option<f64>,
    /// Paired runs needed to detect [`STATED_DIFFERENCE`] at the same level and power, given
    /// this spread; `None` when it cannot be estimated or exceeds [`MAX_RUNS`].
    #[serde(default)]
    pub runs_for_stated: Option<usize>,
    /// Verdict at [`ALPHA`], from `p_holm`.
    pub verdict: Verdict,
}

/// Everything derived from the runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsSummary {
    /// One entry per setting, in the experiment's order.
    pub settings: Vec<SettingSummary>,
    /// One entry per unordered pair of settings.
    pub pairs: Vec<PairComparison>,
    /// Learning curves, time to [`TARGET_FRACTION`] of the best accuracy, per-epoch tests.
    pub convergence: Convergence,
    /// Accuracy per validation fold and setting (cross-validation; one row for one fold).
    pub folds: Vec<FoldRow>,
    /// Plain-language conclusion.
    pub conclusion: String,
}

/// The final accuracy of every setting on one validation fold (over its seeds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldRow {
    /// Validation fold.
    pub fold: u32,
    /// One entry per setting, in the order of [`ResultsSummary::settings`]; `None` where the
    /// setting has no finished run on this fold.
    pub accuracy: Vec<Option<Summary>>,
}

/// The content of `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsDoc {
    /// The experiment configuration (opaque here; rendered as a list).
    pub config: serde_json::Value,
    /// Hash of the configuration.
    pub config_hash: String,
    /// Every finished run.
    pub runs: Vec<RunRecord>,
    /// Aggregates.
    pub summary: ResultsSummary,
    /// The feature values' distributions (training folds of the first validation fold).
    #[serde(default)]
    pub distributions: Option<distributions::Distributions>,
}

/// The [`ReportError::Io`] of an operation on `path`, for `map_err`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_text(path: &Path, text: &str) -> Result<(), ReportError> {
    specnorm_atomic::write(path, text.as_bytes()).map_err(io_err(path))
}

/// Builds the summary and writes `results.json`, `results.md`,
/// `accuracy.png`, `valid_loss.png` and `accuracy_curves.png` into `out_dir`, and with
/// `distributions` their section and plots. Returns the document written.
pub fn write_report(
    out_dir: &Path,
    config: serde_json::Value,
    config_hash: &str,
    runs: Vec<RunRecord>,
    order: &[String],
    distributions: Option<distributions::Distributions>,
) -> Result<ResultsDoc, ReportError> {
    let summary = summarize(&runs, order);
    let doc = ResultsDoc {
        config,
        config_hash: config_hash.to_string(),
        runs,
        summary,
        distributions,
    };
    let json_path = out_dir.join("results.json");
    let json = serde_json::to_string_pretty(&doc).map_err(|source| ReportError::Json {
        path: json_path.clone(),
        source,
    })?;
    write_text(&json_path, &json)?;
    write_text(&out_dir.join("results.md"), &render_markdown(&doc))?;
    plot_accuracy(&out_dir.join("accuracy.png"), &doc.summary)?;
    if let Some(d) = &doc.distributions {
        distributions::plot(out_dir, d)?;
    }
    plot_curves(
        out_dir,
        &doc.runs,
        &summary::setting_order(&doc.runs, order),
    )?;
    Ok(doc)
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Fixed run records shared by the report's tests.
    use crate::results::{EpochMetrics, RunRecord};

    pub fn run(setting: &str, fold: u32, seed: u64, acc: f64) -> RunRecord {
        RunRecord {
            setting: setting.into(),
            fold,
            seed,
            config_hash: "abc".into(),
            epochs: (0..3)
                .map(|e| EpochMetrics {
                    epoch: e,
                    train_loss: 2.0 - e as f64 * 0.5,
                    valid_loss: 2.1 - e as f64 * 0.4,
                    accuracy: acc * (e + 1) as f64 / 3.0,
                    seconds: 1.0,
                })
                .collect(),
            final_accuracy: acc,
            final_valid_loss: 1.3,
            wall_time_s: 3.0,
            checkpoint: Some(format!("checkpoints/{setting}_f{fold}_s{seed}.safetensors")),
        }
    }

    /// Fixed results: `channel` = scipy example a, `global` = example b
    /// (ttest_rel p = 0.017811325477956916), `none` = c (p vs channel 0.6144318015123325,
    /// vs global 0.3544190810172449).
    pub fn fixed() -> Vec<RunRecord> {
        let a = [0.80, 0.82, 0.79, 0.85, 0.81];
        let b = [0.75, 0.80, 0.78, 0.79, 0.77];
        let c = [0.83, 0.76, 0.80, 0.78, 0.84];
        let mut runs = Vec::new();
        for s in 0..5 {
            runs.push(run("global", 1, s as u64, b[s]));
            runs.push(run("channel", 1, s as u64, a[s]));
            runs.push(run("none", 1, s as u64, c[s]));
        }
        runs
    }

    pub fn order() -> Vec<String> {
        ["none", "global", "channel"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{fixed, order};
    use super::*;

    #[test]
    fn write_report_writes_all_files() {
        let dir = tempfile::tempdir().unwrap();
        let doc = write_report(
            dir.path(),
            serde_json::json!({}),
            "h",
            fixed(),
            &order(),
            None,
        )
        .unwrap();
        assert_eq!(doc.runs.len(), 15);
        for f in [
            "results.json",
            "results.md",
            "accuracy.png",
            "valid_loss.png",
            "accuracy_curves.png",
        ] {
            assert!(dir.path().join(f).is_file(), "{f}");
        }
    }
}
