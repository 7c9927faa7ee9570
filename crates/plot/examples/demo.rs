//! Draws one of each plot kind into the directory given as the first argument.
use specnorm_plot::*;
use std::path::PathBuf;

fn main() -> Result<(), PlotError> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let (rows, cols) = (201, 401);
    let data: Vec<f32> = (0..rows * cols)
        .map(|i| {
            let (r, c) = (i / cols, i % cols);
            -80.0 + 60.0 * (-(r as f32) / 60.0).exp() + 10.0 * ((c as f32) / 20.0).sin()
        })
        .collect();
    heatmap(
        &dir.join("heatmap.png"),
        &data,
        rows,
        cols,
        &HeatmapOpts::default(),
    )?;
    let s = Series {
        name: "loss".into(),
        x: (1..=20).map(|v| v as f64).collect(),
        y: (1..=20).map(|v| 1.0 / v as f64).collect(),
        band: Some(vec![0.05; 20]),
    };
    lines(
        &dir.join("lines.png"),
        &LinesOpts {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            log_x: false,
        },
        &[s],
    )?;
    let b = ["none", "global", "channel"]
        .iter()
        .enumerate()
        .map(|(i, l)| Bar {
            label: l.to_string(),
            value: 0.6 + 0.05 * i as f64,
            err: 0.03,
        })
        .collect::<Vec<_>>();
    bars(
        &dir.join("bars.png"),
        &BarsOpts {
            title: "accuracy".into(),
            y_label: "accuracy".into(),
        },
        &b,
    )
}
