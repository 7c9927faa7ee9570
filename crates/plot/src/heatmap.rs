//! [`heatmap`]: a matrix (e.g. a `[F, T]` spectrogram) with a colorbar.

use std::path::Path;

use plotters::prelude::*;

use crate::{finite_range, render, viridis, PlotError, FAMILY};

/// Options for [`heatmap`].
#[derive(Debug, Clone)]
pub struct HeatmapOpts {
    /// Plot title.
    pub title: String,
    /// Label of the x (column) axis.
    pub x_label: String,
    /// Label of the y (row) axis; row 0 is drawn at the bottom.
    pub y_label: String,
    /// Label of the colorbar.
    pub colorbar_label: String,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

impl Default for HeatmapOpts {
    fn default() -> Self {
        Self {
            title: "spectrogram".into(),
            x_label: "frame".into(),
            y_label: "frequency bin".into(),
            colorbar_label: "dB".into(),
            width: 900,
            height: 500,
        }
    }
}

/// Draw a row-major `rows x cols` matrix (e.g. a `[F, T]` dB spectrogram) as a
/// heatmap with row 0 at the bottom and a labelled colorbar on the right.
/// Non-finite values are drawn with the lowest color.
pub fn heatmap(
    path: &Path,
    data: &[f32],
    rows: usize,
    cols: usize,
    opts: &HeatmapOpts,
) -> Result<(), PlotError> {
    let bad = |reason: String| PlotError::BadInput {
        path: path.to_path_buf(),
        reason,
    };
    if rows == 0 || cols == 0 || data.len() != rows * cols {
        return Err(bad(format!(
            "{} values do not form a {rows}x{cols} matrix",
            data.len()
        )));
    }
    let (lo, hi) = finite_range(data.iter().map(|&v| v as f64))
        .ok_or_else(|| bad("no finite values".into()))?;
    render(path, (opts.width, opts.height), |root| {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let (main, bar) = root.split_horizontally(opts.width.saturating_sub(110));
        let mut chart = ChartBuilder::on(&main)
            .caption(&opts.title, (FAMILY, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..cols as f64, 0f64..rows as f64)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&opts.x_label)
            .y_desc(&opts.y_label)
            .label_style((FAMILY, 13))
            .draw()
            .map_err(|x| e(&x))?;
        let norm = |v: f32| ((v as f64 - lo) / (hi - lo)).clamp(0.0, 1.0);
        chart
            .draw_series((0..rows).flat_map(|r| {
                (0..cols).map(move |c| {
                    let v = data[r * cols + c];
                    let color = viridis(if v.is_finite() { norm(v) } else { 0.0 });
                    Rectangle::new(
                        [(c as f64, r as f64), (c as f64 + 1.0, r as f64 + 1.0)],
                        color.filled(),
                    )
                })
            }))
            .map_err(|x| e(&x))?;
        let mut cbar = ChartBuilder::on(&bar)
            .margin_top(40)
            .margin_bottom(50)
            .margin_right(10)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..1f64, lo..hi)
            .map_err(|x| e(&x))?;
        cbar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(&opts.colorbar_label)
            .label_style((FAMILY, 13))
            .draw()
            .map_err(|x| e(&x))?;
        const STEPS: usize = 256;
        cbar.draw_series((0..STEPS).map(|i| {
            let a = lo + (hi - lo) * i as f64 / STEPS as f64;
            let b = lo + (hi - lo) * (i + 1) as f64 / STEPS as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                viridis(i as f64 / (STEPS - 1) as f64).filled(),
            )
        }))
        .map_err(|x| e(&x))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{png_size, tmpdir};

    #[test]
    fn heatmap_writes_png_of_requested_size() {
        let p = tmpdir().join("h.png");
        let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
        heatmap(
            &p,
            &data,
            3,
            4,
            &HeatmapOpts {
                width: 400,
                height: 300,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(png_size(&p), (400, 300));
        // No temporary sibling (`.h.png.<pid>.<n>.tmp`) is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".h.png."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn heatmap_rejects_bad_shapes_and_all_nan() {
        let p = tmpdir().join("bad.png");
        let err = heatmap(&p, &[1.0; 5], 2, 3, &HeatmapOpts::default()).unwrap_err();
        assert!(err.to_string().contains("2x3"), "{err}");
        assert!(heatmap(&p, &[f32::NAN; 6], 2, 3, &HeatmapOpts::default()).is_err());
        assert!(!p.exists());
    }
}
