//! The report's PNG plots (through `specnorm-plot`).

use std::path::Path;

use ndarray::Array2;

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
