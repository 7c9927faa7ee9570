//! PNG plots for specnorm: spectrogram heatmaps with a colorbar, line plots with
//! optional ± bands, and bar charts with error bars.
//!
//! Text is rendered with the DejaVu Sans font embedded in this crate
//! (`assets/DejaVuSans.ttf`, see `assets/DejaVu-LICENSE.txt`), so plotting needs
//! no system font libraries. Every function writes to a temporary file next to
//! the target and renames it into place, so a half-written PNG is never seen.
//!
//! ```
//! use specnorm_plot::{heatmap, HeatmapOpts};
//! let dir = std::env::temp_dir().join(format!("specnorm-plot-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let (rows, cols) = (20, 30);
//! let data: Vec<f32> = (0..rows * cols).map(|i| (i % cols) as f32 - (i / cols) as f32).collect();
//! let path = dir.join("spec.png");
//! heatmap(&path, &data, rows, cols, &HeatmapOpts::default()).unwrap();
//! assert!(std::fs::metadata(&path).unwrap().len() > 0);
//! ```
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

/// Errors from plotting.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The input data does not match the declared dimensions, or is empty.
    #[error("cannot plot {path}: {reason}")]
    BadInput {
        /// Target file.
        path: PathBuf,
        /// What is wrong with the input.
        reason: String,
    },
    /// Drawing or encoding failed.
    #[error("cannot draw {path}: {reason}")]
    Draw {
        /// Target file.
        path: PathBuf,
        /// Backend message.
        reason: String,
    },
    /// Writing or renaming the file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// Target file.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();
const FAMILY: &str = "sans-serif";

fn ensure_font() {
    REGISTER.call_once(|| {
        // The embedded font is a valid TrueType file; registration cannot fail for it.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

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

/// Options for [`lines`].
#[derive(Debug, Clone, Default)]
pub struct LinesOpts {
    /// Plot title.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Logarithmic x axis (e.g. a learning-rate sweep).
    pub log_x: bool,
}

/// One curve for [`lines`].
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// x values.
    pub x: Vec<f64>,
    /// y values, same length as `x`.
    pub y: Vec<f64>,
    /// Optional half-width of a shaded band around `y` (e.g. one std).
    pub band: Option<Vec<f64>>,
}

/// Options for [`bars`].
#[derive(Debug, Clone, Default)]
pub struct BarsOpts {
    /// Plot title.
    pub title: String,
    /// Label of the y axis.
    pub y_label: String,
}

/// One bar for [`bars`].
#[derive(Debug, Clone, Default)]
pub struct Bar {
    /// Category label under the bar.
    pub label: String,
    /// Bar height.
    pub value: f64,
    /// Half-length of the error bar (0 for none).
    pub err: f64,
}

/// Perceptually ordered colormap (viridis control points, linear interpolation).
pub fn viridis(t: f64) -> RGBColor {
    const P: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (P.len() - 1) as f64;
    let i = (x.floor() as usize).min(P.len() - 2);
    let f = x - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    RGBColor(
        lerp(P[i].0, P[i + 1].0),
        lerp(P[i].1, P[i + 1].1),
        lerp(P[i].2, P[i + 1].2),
    )
}

/// Why [`render`] failed: drawing/encoding, or file I/O.
enum RenderError {
    Draw(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for RenderError {
    fn from(e: std::io::Error) -> Self {
        RenderError::Io(e)
    }
}

/// Draw into an in-memory RGB bitmap, then encode it as PNG to `path` through
/// [`specnorm_atomic::write_with`] (temporary sibling, fsync, rename).
///
/// The bitmap is encoded here rather than by plotters because plotters picks
/// the image format from the file extension, and the temporary sibling ends in
/// `.tmp`. A drawing error therefore creates no file at all.
fn render<F>(path: &Path, size: (u32, u32), draw: F) -> Result<(), PlotError>
where
    F: FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<(), String>,
{
    ensure_font();
    let draw_err = |reason: String| PlotError::Draw {
        path: path.to_path_buf(),
        reason,
    };
    let len = (size.0 as usize)
        .checked_mul(size.1 as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| {
            draw_err(format!(
                "image of {}x{} pixels is too large",
                size.0, size.1
            ))
        })?;
    let mut pixels = vec![0u8; len];
    {
        let backend = BitMapBackend::with_buffer_and_format(&mut pixels, size)
            .map_err(|e| draw_err(e.to_string()))?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(e.to_string()))?;
        draw(&root).map_err(draw_err)?;
        root.present().map_err(|e| draw_err(e.to_string()))?;
    }
    specnorm_atomic::write_with(path, |tmp| {
        image::save_buffer_with_format(
            tmp,
            &pixels,
            size.0,
            size.1,
            image::ColorType::Rgb8,
            image::ImageFormat::Png,
        )
        .map_err(|e| match e {
            image::ImageError::IoError(e) => RenderError::Io(e),
            other => RenderError::Draw(other.to_string()),
        })
    })
    .map_err(|e| match e {
        RenderError::Draw(reason) => draw_err(reason),
        RenderError::Io(source) => PlotError::Io {
            path: path.to_path_buf(),
            source,
        },
    })
}

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        None
    } else if lo == hi {
        Some((lo - 0.5, hi + 0.5))
    } else {
        Some((lo, hi))
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

/// Draw one or more curves, each optionally with a shaded ± band.
pub fn lines(path: &Path, opts: &LinesOpts, series: &[Series]) -> Result<(), PlotError> {
    let bad = |reason: String| PlotError::BadInput {
        path: path.to_path_buf(),
        reason,
    };
    for s in series {
        if s.x.len() != s.y.len() || s.band.as_ref().is_some_and(|b| b.len() != s.y.len()) {
            return Err(bad(format!("series '{}' has mismatched lengths", s.name)));
        }
    }
    let keep_x = |x: f64| x.is_finite() && (!opts.log_x || x > 0.0);
    let (x0, x1) = finite_range(
        series
            .iter()
            .flat_map(|s| s.x.iter().copied().filter(|&x| keep_x(x))),
    )
    .ok_or_else(|| bad("no finite points".into()))?;
    let (y0, y1) = finite_range(series.iter().flat_map(|s| {
        s.y.iter().enumerate().flat_map(move |(i, &y)| {
            let b = s.band.as_ref().map_or(0.0, |b| b[i]);
            [y - b, y + b]
        })
    }))
    .ok_or_else(|| bad("no finite points".into()))?;
    let pad = (y1 - y0) * 0.05;
    let (y0, y1) = (y0 - pad, y1 + pad);
    render(path, (900, 550), |root| {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(&opts.title, (FAMILY, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60);
        // Two chart types (log / linear x); draw with one generic helper.
        fn draw_all<'a, 'b: 'a, X>(
            mut chart: ChartContext<
                'a,
                BitMapBackend<'b>,
                Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
            >,
            opts: &LinesOpts,
            series: &[Series],
            keep_x: &dyn Fn(f64) -> bool,
        ) -> Result<(), String>
        where
            X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
        {
            let e = |e: &dyn std::fmt::Display| e.to_string();
            chart
                .configure_mesh()
                .x_desc(&opts.x_label)
                .y_desc(&opts.y_label)
                .label_style((FAMILY, 13))
                .draw()
                .map_err(|x| e(&x))?;
            for (k, s) in series.iter().enumerate() {
                let color = Palette99::pick(k).to_rgba();
                let pts: Vec<(f64, f64)> =
                    s.x.iter()
                        .zip(&s.y)
                        .filter(|(x, y)| keep_x(**x) && y.is_finite())
                        .map(|(x, y)| (*x, *y))
                        .collect();
                if let Some(band) = &s.band {
                    let upper =
                        s.x.iter()
                            .zip(&s.y)
                            .zip(band)
                            .map(|((x, y), b)| (*x, y + b));
                    let lower =
                        s.x.iter()
                            .zip(&s.y)
                            .zip(band)
                            .map(|((x, y), b)| (*x, y - b));
                    let poly: Vec<(f64, f64)> = upper
                        .chain(lower.rev())
                        .filter(|(x, y)| keep_x(*x) && y.is_finite())
                        .collect();
                    chart
                        .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))
                        .map_err(|x| e(&x))?;
                }
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                    .map_err(|x| e(&x))?
                    .label(s.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font((FAMILY, 13))
                .draw()
                .map_err(|x| e(&x))?;
            Ok(())
        }
        if opts.log_x {
            let chart = builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(|x| e(&x))?;
            draw_all(chart, opts, series, &keep_x)
        } else {
            let chart = builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|x| e(&x))?;
            draw_all(chart, opts, series, &keep_x)
        }
    })
}

/// Draw a bar chart with symmetric error bars.
pub fn bars(path: &Path, opts: &BarsOpts, bars: &[Bar]) -> Result<(), PlotError> {
    let bad = |reason: String| PlotError::BadInput {
        path: path.to_path_buf(),
        reason,
    };
    if bars.is_empty() {
        return Err(bad("no bars".into()));
    }
    let (lo, hi) = finite_range(
        bars.iter()
            .flat_map(|b| [b.value - b.err.abs(), b.value + b.err.abs(), 0.0]),
    )
    .ok_or_else(|| bad("no finite values".into()))?;
    let pad = (hi - lo) * 0.08;
    let n = bars.len();
    render(path, (900, 550), |root| {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let mut chart = ChartBuilder::on(root)
            .caption(&opts.title, (FAMILY, 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, (lo - pad).min(0.0)..hi + pad)
            .map_err(|x| e(&x))?;
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .y_desc(&opts.y_label)
            .label_style((FAMILY, 13))
            .draw()
            .map_err(|x| e(&x))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let c = Palette99::pick(i).to_rgba();
                Rectangle::new(
                    [(i as f64 - 0.35, 0.0), (i as f64 + 0.35, b.value)],
                    c.mix(0.8).filled(),
                )
            }))
            .map_err(|x| e(&x))?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.err > 0.0)
                    .map(|(i, b)| {
                        ErrorBar::new_vertical(
                            i as f64,
                            b.value - b.err,
                            b.value,
                            b.value + b.err,
                            BLACK.stroke_width(2),
                            12,
                        )
                    }),
            )
            .map_err(|x| e(&x))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("specnorm-plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn png_size(path: &Path) -> (u32, u32) {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        (w, h)
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

    #[test]
    fn lines_and_bars_draw() {
        let d = tmpdir();
        let s = Series {
            name: "a".into(),
            x: vec![1e-5, 1e-4, 1e-3],
            y: vec![2.0, 1.0, 3.0],
            band: Some(vec![0.1, 0.2, 0.1]),
        };
        lines(
            &d.join("l.png"),
            &LinesOpts {
                log_x: true,
                ..Default::default()
            },
            std::slice::from_ref(&s),
        )
        .unwrap();
        lines(&d.join("l2.png"), &LinesOpts::default(), &[s]).unwrap();
        let b = [
            Bar {
                label: "x".into(),
                value: 0.5,
                err: 0.1,
            },
            Bar {
                label: "y".into(),
                value: 0.7,
                err: 0.0,
            },
        ];
        bars(&d.join("b.png"), &BarsOpts::default(), &b).unwrap();
        assert_eq!(png_size(&d.join("b.png")), (900, 550));
        let bad = Series {
            name: "m".into(),
            x: vec![1.0],
            y: vec![],
            band: None,
        };
        assert!(lines(&d.join("m.png"), &LinesOpts::default(), &[bad]).is_err());
    }

    #[test]
    fn viridis_endpoints() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), RGBColor(68, 1, 84));
    }
}
