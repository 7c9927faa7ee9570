//! The report's PNG plots (through `specnorm-plot`).

use std::path::Path;

use ndarray::Array2;
use specnorm_features::FeatureConfig;

use super::{ReportError, ResultsSummary};
use crate::results::RunRecord;
use crate::significance::summarize as summarize_values;

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

/// The unit of features computed with `features`: "dB", "ln(power)" or "power".
pub fn feature_unit(features: &FeatureConfig) -> &'static str {
    match features.spectrogram.scale {
        specnorm_dsp::Scale::Db { .. } => "dB",
        specnorm_dsp::Scale::Ln { .. } => "ln(power)",
        specnorm_dsp::Scale::Power => "power",
    }
}

/// Heatmap of one `[F, T]` spectrogram computed with `features`, in physical units: time in
/// seconds across, frequency (FFT bin or mel band centre) in kHz up, the colorbar labelled
/// `unit` (dB, σ after a mean/std normalization...).
pub fn plot_spectrogram(
    path: &Path,
    spec: &Array2<f32>,
    title: &str,
    unit: &str,
    features: &FeatureConfig,
) -> Result<(), ReportError> {
    let (rows, cols) = spec.dim();
    let data: Vec<f32> = spec.iter().copied().collect();
    let (khz, y_label) = row_axis(features, rows);
    let y_coords = (y_label != "row").then_some(khz);
    let opts = specnorm_plot::HeatmapOpts {
        title: title.into(),
        x_label: "time (s)".into(),
        y_label,
        colorbar_label: unit.into(),
        x_coords: Some(features.frame_times(cols)),
        y_coords,
        ..Default::default()
    };
    specnorm_plot::heatmap(path, &data, rows, cols, &opts)?;
    Ok(())
}

/// The x axis of a per-row plot of features computed with `features`: each row's frequency in
/// kHz (FFT bins or mel band centres), or the row index when the lengths disagree.
pub(super) fn row_axis(features: &FeatureConfig, rows: usize) -> (Vec<f64>, String) {
    let hz = features.row_frequencies();
    if hz.len() != rows {
        return ((0..rows).map(|i| i as f64).collect(), "row".into());
    }
    let what = if features.spectrogram.mel.is_some() {
        "mel band centre (kHz)"
    } else {
        "frequency (kHz)"
    };
    (hz.iter().map(|f| f / 1000.0).collect(), what.into())
}

/// Per-frequency-bin mean ± std (e.g. of the training features computed with `features`).
pub fn plot_channel_stats(
    path: &Path,
    mean: &[f64],
    std: &[f64],
    title: &str,
    features: &FeatureConfig,
) -> Result<(), ReportError> {
    let (x, x_label) = row_axis(features, mean.len());
    let series = [specnorm_plot::Series {
        name: "mean ± std".into(),
        x,
        y: mean.to_vec(),
        band: Some(std.to_vec()),
    }];
    let opts = specnorm_plot::LinesOpts {
        title: title.into(),
        x_label,
        y_label: feature_unit(features).into(),
        log_x: false,
    };
    specnorm_plot::lines(path, &opts, &series)?;
    Ok(())
}
