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

mod chart;
mod heatmap;

pub use chart::{bars, lines, Bar, BarsOpts, LinesOpts, Series};
pub use heatmap::{heatmap, HeatmapOpts};

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
pub(crate) fn render<F>(path: &Path, size: (u32, u32), draw: F) -> Result<(), PlotError>
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

pub(crate) fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
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

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers of the plot tests.
    use std::path::{Path, PathBuf};

    pub fn tmpdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("specnorm-plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    pub fn png_size(path: &Path) -> (u32, u32) {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        (w, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_endpoints() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), RGBColor(68, 1, 84));
    }
}
