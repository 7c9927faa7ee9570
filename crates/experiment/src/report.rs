//! Aggregation of finished runs into `results.json`, `results.md` and PNG plots.
//!
//! The statistics are pure Rust ([`crate::significance`]): per setting the mean,
//! sample std and 95 % Student-t confidence interval of the final accuracy; per
//! pair of settings a paired t-test over the (fold, seed) pairs both ran, with
//! the verdict "distinguishable" (p < 0.05) or "within seed noise".

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::results::RunRecord;
use crate::significance::{paired_t_test, summarize as summarize_values, Summary};

/// Significance level of the paired comparisons.
pub const ALPHA: f64 = 0.05;

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
    /// p < [`ALPHA`].
    Distinguishable,
    /// p >= [`ALPHA`].
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
    /// Two-sided paired t-test p-value.
    pub p_value: Option<f64>,
    /// Verdict at [`ALPHA`].
    pub verdict: Verdict,
}

/// Everything derived from the runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsSummary {
    /// One entry per setting, in the experiment's order.
    pub settings: Vec<SettingSummary>,
    /// One entry per unordered pair of settings.
    pub pairs: Vec<PairComparison>,
    /// Plain-language conclusion.
    pub conclusion: String,
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
}

/// Settings in `order`, followed by any other setting found in `runs`
/// (sorted), without duplicates.
fn setting_order(runs: &[RunRecord], order: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in order {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    let mut extra: Vec<String> = runs
        .iter()
        .map(|r| r.setting.clone())
        .filter(|s| !out.contains(s))
        .collect();
    extra.sort();
    extra.dedup();
    out.extend(extra);
    out
}

/// Aggregates the runs: per-setting summaries, all pairwise paired t-tests
/// and the conclusion sentence.
pub fn summarize(runs: &[RunRecord], order: &[String]) -> ResultsSummary {
    let names = setting_order(runs, order);
    let settings: Vec<SettingSummary> = names
        .iter()
        .map(|name| {
            let mine: Vec<&RunRecord> = runs.iter().filter(|r| &r.setting == name).collect();
            let accs: Vec<f64> = mine.iter().map(|r| r.final_accuracy).collect();
            let best = mine
                .iter()
                .copied()
                .max_by(|x, y| {
                    x.final_accuracy
                        .total_cmp(&y.final_accuracy)
                        .then((y.fold, y.seed).cmp(&(x.fold, x.seed)))
                })
                .map(|r| BestRun {
                    key: r.key(),
                    fold: r.fold,
                    seed: r.seed,
                    final_accuracy: r.final_accuracy,
                    checkpoint: r.checkpoint.clone(),
                });
            let n = mine.len().max(1) as f64;
            SettingSummary {
                setting: name.clone(),
                accuracy: summarize_values(&accs),
                min: accs
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min)
                    .min(f64::MAX),
                max: accs
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
                    .max(f64::MIN),
                mean_wall_time_s: mine.iter().map(|r| r.wall_time_s).sum::<f64>() / n,
                best,
            }
        })
        .collect();

    let mut pairs = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            pairs.push(compare(runs, a, b));
        }
    }
    let conclusion = conclude(&settings, &pairs);
    ResultsSummary {
        settings,
        pairs,
        conclusion,
    }
}

/// Paired comparison of settings `a` and `b` over their common (fold, seed) runs.
pub fn compare(runs: &[RunRecord], a: &str, b: &str) -> PairComparison {
    let of = |s: &str| -> BTreeMap<(u32, u64), f64> {
        runs.iter()
            .filter(|r| r.setting == s)
            .map(|r| ((r.fold, r.seed), r.final_accuracy))
            .collect()
    };
    let (ma, mb) = (of(a), of(b));
    let (mut xa, mut xb) = (Vec::new(), Vec::new());
    for (k, va) in &ma {
        if let Some(vb) = mb.get(k) {
            xa.push(*va);
            xb.push(*vb);
        }
    }
    let test = paired_t_test(&xa, &xb);
    let p_value = test.and_then(|t| t.p_value);
    let constant = test.is_some_and(|t| t.t.is_none() && t.mean_diff != 0.0 && t.n >= 2);
    let verdict = match p_value {
        _ if constant => Verdict::ConstantDifference,
        None => Verdict::TooFewPairs,
        Some(p) if p < ALPHA => Verdict::Distinguishable,
        Some(_) => Verdict::WithinSeedNoise,
    };
    PairComparison {
        a: a.to_string(),
        b: b.to_string(),
        pairs: xa.len(),
        mean_diff: test.map_or(0.0, |t| t.mean_diff),
        p_value,
        verdict,
    }
}

fn conclude(settings: &[SettingSummary], pairs: &[PairComparison]) -> String {
    let ran: Vec<(&str, f64)> = settings
        .iter()
        .filter_map(|s| s.accuracy.map(|a| (s.setting.as_str(), a.mean)))
        .collect();
    if ran.is_empty() {
        return "No run has finished yet, so there is nothing to conclude.".to_string();
    }
    if ran.len() == 1 {
        return format!(
            "Only `{}` was run, so there is nothing to compare.",
            ran[0].0
        );
    }
    let (best, best_mean) = ran
        .iter()
        .copied()
        .fold(ran[0], |acc, x| if x.1 > acc.1 { x } else { acc });
    let mut beaten = Vec::new();
    let mut tied = Vec::new();
    let mut untested = Vec::new();
    for p in pairs.iter().filter(|p| p.a == best || p.b == best) {
        let other = if p.a == best { &p.b } else { &p.a };
        if !ran.iter().any(|(n, _)| n == other) {
            continue;
        }
        match p.verdict {
            Verdict::Distinguishable => beaten.push(format!("`{other}`")),
            Verdict::WithinSeedNoise => tied.push(format!("`{other}`")),
            Verdict::TooFewPairs | Verdict::ConstantDifference => {
                untested.push(format!("`{other}`"))
            }
        }
    }
    let pct = 100.0 * best_mean;
    if tied.is_empty() && untested.is_empty() {
        format!(
            "`{best}` won: its mean final accuracy ({pct:.2} %) is the highest and the paired \
             t-test separates it from every other setting (p < {ALPHA})."
        )
    } else if beaten.is_empty() && untested.is_empty() {
        format!(
            "No normalization won: `{best}` has the highest mean final accuracy ({pct:.2} %), \
             but every difference between settings is within seed noise (paired t-test, p >= {ALPHA})."
        )
    } else {
        let mut s = format!(
            "No single normalization won: `{best}` has the highest mean final accuracy ({pct:.2} %)"
        );
        if !beaten.is_empty() {
            let _ = write!(s, " and is distinguishable from {}", beaten.join(", "));
        }
        if !tied.is_empty() {
            let _ = write!(s, ", but it is within seed noise of {}", tied.join(", "));
        }
        if !untested.is_empty() {
            let _ = write!(
                s,
                "; too few paired runs to compare it with {}",
                untested.join(", ")
            );
        }
        s.push('.');
        s
    }
}

fn pct(v: f64) -> String {
    format!("{:.2} %", 100.0 * v)
}

fn json_inline(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders `results.md`.
pub fn render_markdown(doc: &ResultsDoc) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Spectrogram normalization experiment\n");
    let _ = writeln!(md, "{}\n", doc.summary.conclusion);
    let _ = writeln!(md, "## Configuration\n");
    let _ = writeln!(md, "- config hash: `{}`", doc.config_hash);
    if let serde_json::Value::Object(map) = &doc.config {
        for (k, v) in map {
            let _ = writeln!(md, "- {k}: `{}`", json_inline(v));
        }
    }
    let _ = writeln!(md, "- finished runs: {}\n", doc.runs.len());

    let _ = writeln!(md, "## Final validation accuracy per setting\n");
    let _ = writeln!(
        md,
        "| setting | runs | mean | std | 95 % CI | min | max | mean time / run | best run |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---|---:|---:|---:|---|");
    for s in &doc.summary.settings {
        match s.accuracy {
            Some(a) => {
                let ci = a.ci95.map_or("n/a (1 run)".to_string(), |h| {
                    format!("[{}, {}]", pct(a.mean - h), pct(a.mean + h))
                });
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} |",
                    s.setting,
                    a.n,
                    pct(a.mean),
                    pct(a.std),
                    ci,
                    pct(s.min),
                    pct(s.max),
                    s.mean_wall_time_s,
                    s.best
                        .as_ref()
                        .map_or("-".to_string(), |b| format!("`{}`", b.key)),
                );
            }
            None => {
                let _ = writeln!(md, "| {} | 0 | - | - | - | - | - | - | - |", s.setting);
            }
        }
    }
    let _ = writeln!(
        md,
        "\nThe 95 % CI is the Student-t interval of the mean over the runs (seeds × folds).\n"
    );

    let _ = writeln!(md, "## Paired comparisons\n");
    if doc.summary.pairs.is_empty() {
        let _ = writeln!(md, "Only one setting: no comparison.\n");
    } else {
        let _ = writeln!(
            md,
            "Each pair is compared over the (fold, seed) runs both settings finished: \
             mean accuracy difference (A − B) and two-sided paired t-test.\n"
        );
        let _ = writeln!(
            md,
            "| A | B | pairs | mean diff (A − B) | p-value | verdict |"
        );
        let _ = writeln!(md, "|---|---|---:|---:|---:|---|");
        for p in &doc.summary.pairs {
            let pv = p.p_value.map_or("-".to_string(), |v| {
                if v < 1e-4 {
                    "< 0.0001".to_string()
                } else {
                    format!("{v:.4}")
                }
            });
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:+.2} pp | {} | {} |",
                p.a,
                p.b,
                p.pairs,
                100.0 * p.mean_diff,
                pv,
                p.verdict.as_str()
            );
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md, "## Plots\n");
    for (file, what) in PLOT_FILES {
        let _ = writeln!(md, "- [{what}]({file})");
    }
    md
}

/// Plot files referenced from the markdown: (file name, description).
pub const PLOT_FILES: [(&str, &str); 5] = [
    (
        "accuracy.png",
        "final accuracy per setting (mean ± 95 % CI)",
    ),
    ("valid_loss.png", "mean validation loss per epoch (± std)"),
    (
        "accuracy_curves.png",
        "mean validation accuracy per epoch (± std)",
    ),
    (
        "spectrograms/",
        "an example spectrogram before and after each normalization",
    ),
    (
        "channel_stats.png",
        "per-frequency-bin mean ± std of the training features",
    ),
];

fn write_text(path: &Path, text: &str) -> Result<(), ReportError> {
    specnorm_atomic::write(path, text.as_bytes()).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Builds the summary and writes `results.json`, `results.md`,
/// `accuracy.png`, `valid_loss.png` and `accuracy_curves.png` into `out_dir`.
/// Returns the document written.
pub fn write_report(
    out_dir: &Path,
    config: serde_json::Value,
    config_hash: &str,
    runs: Vec<RunRecord>,
    order: &[String],
) -> Result<ResultsDoc, ReportError> {
    let summary = summarize(&runs, order);
    let doc = ResultsDoc {
        config,
        config_hash: config_hash.to_string(),
        runs,
        summary,
    };
    let json_path = out_dir.join("results.json");
    let json = serde_json::to_string_pretty(&doc).map_err(|source| ReportError::Json {
        path: json_path.clone(),
        source,
    })?;
    write_text(&json_path, &json)?;
    write_text(&out_dir.join("results.md"), &render_markdown(&doc))?;
    plot_accuracy(&out_dir.join("accuracy.png"), &doc.summary)?;
    plot_curves(out_dir, &doc.runs, &setting_order(&doc.runs, order))?;
    Ok(doc)
}

/// Bar chart of the mean final accuracy per setting with 95 % CI error bars.
pub fn plot_accuracy(path: &Path, summary: &ResultsSummary) -> Result<(), ReportError> {
    let bars: Vec<specnorm_plot::Bar> = summary
        .settings
        .iter()
        .filter_map(|s| {
            s.accuracy.map(|a| specnorm_plot::Bar {
                label: s.setting.clone(),
                value: 100.0 * a.mean,
                err: 100.0 * a.ci95.unwrap_or(0.0),
            })
        })
        .collect();
    if bars.is_empty() {
        return Ok(());
    }
    let opts = specnorm_plot::BarsOpts {
        title: "Final validation accuracy (mean ± 95 % CI)".into(),
        y_label: "accuracy (%)".into(),
    };
    specnorm_plot::bars(path, &opts, &bars)?;
    Ok(())
}

/// Per-epoch mean and std of a metric over the runs of one setting.
fn mean_curve(
    runs: &[&RunRecord],
    metric: impl Fn(&crate::results::EpochMetrics) -> f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n_epochs = runs.iter().map(|r| r.epochs.len()).min().unwrap_or(0);
    let (mut x, mut y, mut band) = (Vec::new(), Vec::new(), Vec::new());
    for e in 0..n_epochs {
        let vals: Vec<f64> = runs
            .iter()
            .map(|r| metric(&r.epochs[e]))
            .filter(|v| v.is_finite())
            .collect();
        if let Some(s) = summarize_values(&vals) {
            x.push((e + 1) as f64);
            y.push(s.mean);
            band.push(s.std);
        }
    }
    (x, y, band)
}

/// `valid_loss.png` and `accuracy_curves.png`: mean ± std per epoch and setting.
pub fn plot_curves(
    out_dir: &Path,
    runs: &[RunRecord],
    order: &[String],
) -> Result<(), ReportError> {
    type Metric = fn(&crate::results::EpochMetrics) -> f64;
    let specs: [(&str, &str, &str, Metric); 2] = [
        (
            "valid_loss.png",
            "Validation loss (mean ± std over runs)",
            "loss",
            |m| m.valid_loss,
        ),
        (
            "accuracy_curves.png",
            "Validation accuracy (mean ± std over runs)",
            "accuracy (%)",
            |m| 100.0 * m.accuracy,
        ),
    ];
    for (file, title, y_label, metric) in specs {
        let series: Vec<specnorm_plot::Series> = order
            .iter()
            .filter_map(|name| {
                let mine: Vec<&RunRecord> = runs.iter().filter(|r| &r.setting == name).collect();
                let (x, y, band) = mean_curve(&mine, metric);
                (!x.is_empty()).then(|| specnorm_plot::Series {
                    name: name.clone(),
                    x,
                    y,
                    band: Some(band),
                })
            })
            .collect();
        if series.is_empty() {
            continue;
        }
        let opts = specnorm_plot::LinesOpts {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: y_label.into(),
            log_x: false,
        };
        specnorm_plot::lines(&out_dir.join(file), &opts, &series)?;
    }
    Ok(())
}

/// Heatmap of one `[F, T]` spectrogram.
pub fn plot_spectrogram(
    path: &Path,
    spec: &Array2<f32>,
    title: &str,
    unit: &str,
) -> Result<(), ReportError> {
    let (rows, cols) = spec.dim();
    let data: Vec<f32> = spec.iter().copied().collect();
    let opts = specnorm_plot::HeatmapOpts {
        title: title.into(),
        x_label: "frame".into(),
        y_label: "frequency bin".into(),
        colorbar_label: unit.into(),
        ..Default::default()
    };
    specnorm_plot::heatmap(path, &data, rows, cols, &opts)?;
    Ok(())
}

/// Per-frequency-bin mean ± std (e.g. of the training features).
pub fn plot_channel_stats(
    path: &Path,
    mean: &[f64],
    std: &[f64],
    title: &str,
) -> Result<(), ReportError> {
    let series = [specnorm_plot::Series {
        name: "mean ± std".into(),
        x: (0..mean.len()).map(|i| i as f64).collect(),
        y: mean.to_vec(),
        band: Some(std.to_vec()),
    }];
    let opts = specnorm_plot::LinesOpts {
        title: title.into(),
        x_label: "frequency bin".into(),
        y_label: "dB".into(),
        log_x: false,
    };
    specnorm_plot::lines(path, &opts, &series)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::EpochMetrics;

    fn run(setting: &str, fold: u32, seed: u64, acc: f64) -> RunRecord {
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
    fn fixed() -> Vec<RunRecord> {
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

    fn order() -> Vec<String> {
        ["none", "global", "channel"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn summary_statistics_and_pairs() {
        let s = summarize(&fixed(), &order());
        let names: Vec<&str> = s.settings.iter().map(|x| x.setting.as_str()).collect();
        assert_eq!(names, ["none", "global", "channel"]);
        let ch = &s.settings[2];
        let acc = ch.accuracy.unwrap();
        assert!((acc.mean - 0.814).abs() < 1e-12);
        assert!((acc.ci95.unwrap() - 0.028_585_251_909_870_18).abs() < 1e-9);
        assert_eq!((ch.min, ch.max), (0.79, 0.85));
        assert_eq!(ch.best.as_ref().unwrap().key, "channel_f1_s3");
        assert_eq!(s.pairs.len(), 3);
        let gc = s
            .pairs
            .iter()
            .find(|p| p.a == "global" && p.b == "channel")
            .unwrap();
        assert_eq!(gc.pairs, 5);
        assert!((gc.mean_diff + 0.036).abs() < 1e-12);
        assert!((gc.p_value.unwrap() - 0.017_811_325_477_956_916).abs() < 1e-10);
        assert_eq!(gc.verdict, Verdict::Distinguishable);
        let ng = s
            .pairs
            .iter()
            .find(|p| p.a == "none" && p.b == "global")
            .unwrap();
        assert!((ng.p_value.unwrap() - 0.354_419_081_017_244_9).abs() < 1e-10);
        assert_eq!(ng.verdict, Verdict::WithinSeedNoise);
        let nc = s
            .pairs
            .iter()
            .find(|p| p.a == "none" && p.b == "channel")
            .unwrap();
        assert!((nc.p_value.unwrap() - 0.614_431_801_512_332_5).abs() < 1e-10);
    }

    #[test]
    fn pairs_use_only_common_fold_seed_runs() {
        let mut runs = fixed();
        runs.retain(|r| !(r.setting == "global" && r.seed >= 3));
        runs.push(run("global", 2, 0, 0.1));
        let p = compare(&runs, "channel", "global");
        assert_eq!(p.pairs, 3);
        let p1 = compare(&runs[..0], "channel", "global");
        assert_eq!((p1.pairs, p1.verdict), (0, Verdict::TooFewPairs));
        // Same non-zero gap in every pair: untestable, not "distinguishable".
        let gap = vec![
            run("a", 1, 0, 0.5),
            run("a", 1, 1, 0.6),
            run("b", 1, 0, 0.4),
            run("b", 1, 1, 0.5),
        ];
        let p2 = compare(&gap, "a", "b");
        assert_eq!((p2.pairs, p2.verdict), (2, Verdict::ConstantDifference));
        assert!((p2.mean_diff - 0.1).abs() < 1e-12);
        // Identical results: within seed noise (p = 1).
        let same = vec![
            run("a", 1, 0, 0.5),
            run("a", 1, 1, 0.6),
            run("b", 1, 0, 0.5),
            run("b", 1, 1, 0.6),
        ];
        let p3 = compare(&same, "a", "b");
        assert_eq!(
            (p3.p_value, p3.verdict),
            (Some(1.0), Verdict::WithinSeedNoise)
        );
    }

    #[test]
    fn conclusions() {
        let s = summarize(&fixed(), &order());
        assert!(
            s.conclusion
                .starts_with("No single normalization won: `channel`"),
            "{}",
            s.conclusion
        );
        assert!(s.conclusion.contains("distinguishable from `global`"));
        assert!(s.conclusion.contains("within seed noise of `none`"));

        let two: Vec<RunRecord> = fixed()
            .into_iter()
            .filter(|r| r.setting != "none")
            .collect();
        let s = summarize(&two, &order());
        assert!(
            s.conclusion.starts_with("`channel` won"),
            "{}",
            s.conclusion
        );
        // `none` has no run: listed, but no accuracy.
        assert_eq!(s.settings[0].accuracy, None);

        let tie: Vec<RunRecord> = fixed()
            .into_iter()
            .filter(|r| r.setting != "channel")
            .collect();
        let s = summarize(&tie, &order());
        assert!(
            s.conclusion.starts_with("No normalization won"),
            "{}",
            s.conclusion
        );

        assert!(summarize(&[], &order())
            .conclusion
            .contains("nothing to conclude"));
    }

    #[test]
    fn markdown_on_fixed_results() {
        let runs = fixed();
        let summary = summarize(&runs, &order());
        let doc = ResultsDoc {
            config: serde_json::json!({"epochs": 3, "model": "small"}),
            config_hash: "abc".into(),
            runs,
            summary,
        };
        let md = render_markdown(&doc);
        assert!(md.contains("- epochs: `3`"));
        assert!(md.contains("- model: `small`"));
        assert!(md.contains(
            "| channel | 5 | 81.40 % | 2.30 % | [78.54 %, 84.26 %] | 79.00 % | 85.00 % | 3.0 s | `channel_f1_s3` |"
        ), "{md}");
        assert!(
            md.contains("| global | channel | 5 | -3.60 pp | 0.0178 | distinguishable |"),
            "{md}"
        );
        assert!(md.contains("| none | global |"));
        assert!(md.contains("within seed noise"));
        for s in ["none", "global", "channel"] {
            assert!(md.contains(&format!("| {s} |")));
        }
        // Round trip of the JSON document.
        let json = serde_json::to_string(&doc).unwrap();
        let back: ResultsDoc = serde_json::from_str(&json).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn write_report_writes_all_files() {
        let dir = tempfile::tempdir().unwrap();
        let doc = write_report(dir.path(), serde_json::json!({}), "h", fixed(), &order()).unwrap();
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
