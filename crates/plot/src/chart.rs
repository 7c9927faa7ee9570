//! [`lines`] (curves with optional ± bands) and [`bars`] (with error bars).

use std::path::Path;

use plotters::prelude::*;

use crate::{finite_range, render, PlotError, FAMILY};

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
    use crate::test_util::{png_size, tmpdir};

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
}
