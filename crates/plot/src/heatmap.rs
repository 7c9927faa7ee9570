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
    /// Physical value of each column (e.g. seconds): the x tick labels show it instead of the
    /// column index. Must have `cols` entries.
    pub x_coords: Option<Vec<f64>>,
    /// Physical value of each row (e.g. kHz, mel band centres): the y tick labels show it.
    /// Must have `rows` entries.
    pub y_coords: Option<Vec<f64>>,
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
            x_coords: None,
            y_coords: None,
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
    for (axis, coords, n) in [("x", &opts.x_coords, cols), ("y", &opts.y_coords, rows)] {
        if let Some(c) = coords {
            if c.len() != n || c.iter().any(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "{axis}_coords has {} values (finite ones needed), the matrix {n}",
                    c.len()
                )));
            }
        }
    }
    let (lo, hi) = finite_range(data.iter().map(|&v| v as f64))
        .ok_or_else(|| bad("no finite values".into()))?;
    let x_fmt = |v: &f64| coord_label(opts.x_coords.as_deref(), *v);
    let y_fmt = |v: &f64| coord_label(opts.y_coords.as_deref(), *v);
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
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
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

/// The tick label at (fractional) index `v`: the index itself, or the coordinate of the cell
/// it falls in, with as many decimals as the coordinates' spacing needs.
fn coord_label(coords: Option<&[f64]>, v: f64) -> String {
    let Some(c) = coords.filter(|c| !c.is_empty()) else {
        return format!("{v:.0}");
    };
    let i = (v.max(0.0) as usize).min(c.len() - 1);
    let span = (c[c.len() - 1] - c[0]).abs();
    let decimals = if span >= 100.0 {
        0
    } else if span >= 10.0 {
        1
    } else {
        2
    };
    format!("{:.*}", decimals, c[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{png_size, tmpdir};

    #[test]
    fn tick_labels_show_coordinates() {
        assert_eq!(coord_label(None, 3.0), "3");
        let secs: Vec<f64> = (0..401).map(|i| i as f64 * 0.0125).collect();
        assert_eq!(coord_label(Some(&secs), 80.0), "1.00");
        assert_eq!(coord_label(Some(&secs), 1e9), "5.00");
        let khz: Vec<f64> = (0..201).map(|k| k as f64 * 0.04).collect();
        assert_eq!(coord_label(Some(&khz), 100.4), "4.00");
        let hz: Vec<f64> = (0..201).map(|k| k as f64 * 40.0).collect();
        assert_eq!(coord_label(Some(&hz), 25.0), "1000");
    }

    #[test]
    fn coordinates_must_match_the_matrix() {
        let p = tmpdir().join("bad_coords.png");
        let opts = HeatmapOpts {
            y_coords: Some(vec![0.0, 1.0]),
            ..Default::default()
        };
        let err = heatmap(&p, &[0.0; 12], 3, 4, &opts).unwrap_err();
        assert!(err.to_string().contains("y_coords has 2 values"), "{err}");
        assert!(!p.exists());
    }

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
