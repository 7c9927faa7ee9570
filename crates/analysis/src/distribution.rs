//! Distribution summaries of samples: quantiles, a histogram, moments, and a seeded reservoir
//! sample of a stream.
//!
//! Quantiles reproduce numpy's default `np.quantile(x, q)` (linear interpolation, numpy's own
//! lerp) on a sorted copy; histograms go through ndarray-stats and reproduce `np.histogram(x,
//! bins)` (equal-width bins from the minimum to the maximum, the last bin closed). Moments are population moments in
//! f64: `skewness` is scipy's `skew(x, bias=True)`, `excess_kurtosis` its `kurtosis(x,
//! fisher=True, bias=True)`.

use ndarray::{Array1, Array2};
use ndarray_stats::histogram::{Bins, Edges, Grid};
use ndarray_stats::{HistogramExt, SummaryStatisticsExt};
use noisy_float::types::{n64, N64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;

/// Equal-width histogram: `counts[i]` values fall in `[edges[i], edges[i + 1])`, the last bin
/// closed on the right.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// `bins + 1` increasing edges, from the minimum to the maximum of the sample.
    pub edges: Vec<f64>,
    /// Values per bin; they add up to the sample size.
    pub counts: Vec<u64>,
}

/// Summary of one sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of values.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Population skewness (third standardized moment).
    pub skewness: f64,
    /// Population excess kurtosis (fourth standardized moment minus 3; 0 for a normal).
    pub excess_kurtosis: f64,
    /// `(q, value)` pairs: numpy's linear-interpolation quantiles.
    pub quantiles: Vec<(f64, f64)>,
    /// Equal-width histogram.
    pub histogram: Histogram,
}

fn finite_n64(values: &[f64], what: &'static str) -> Result<Array1<N64>, AnalysisError> {
    values
        .iter()
        .map(|&v| {
            if v.is_finite() {
                Ok(n64(v))
            } else {
                Err(AnalysisError::NotFinite { what, value: v })
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Array1::from)
}

/// numpy's linear-interpolation quantiles of `values` at each `q` in `[0, 1]`.
pub fn quantiles(values: &[f64], qs: &[f64]) -> Result<Vec<f64>, AnalysisError> {
    if values.is_empty() {
        return Err(AnalysisError::TooFew {
            what: "quantiles",
            min: 1,
            got: 0,
        });
    }
    for &q in qs {
        if !(0.0..=1.0).contains(&q) {
            return Err(AnalysisError::Probability {
                name: "quantile",
                value: q,
                interval: "[0, 1]",
            });
        }
    }
    let mut sorted: Vec<f64> = finite_n64(values, "quantiles")?
        .iter()
        .map(|v| v.raw())
        .collect();
    // A full sort, not ndarray-stats' `quantiles_mut`: its recursive quickselect overflows the
    // stack on samples with many equal values (silence in a spectrogram: see the test
    // `quantiles_of_a_sample_with_many_equal_values`).
    sorted.sort_unstable_by(f64::total_cmp);
    Ok(qs.iter().map(|&q| numpy_linear(&sorted, q)).collect())
}

/// numpy's `quantile(x, q, method="linear")` on sorted `x`: the virtual index `h = (n - 1) q`,
/// then numpy's `_lerp` between its neighbours (`a + (b - a) t`, or `b - (b - a)(1 - t)` when
/// `t >= 0.5`, bit for bit).
fn numpy_linear(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = (h.floor() as usize).min(sorted.len() - 1);
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// numpy's `histogram(values, bins)`: `bins` equal-width bins from the minimum to the maximum
/// (a constant sample gets numpy's range `[v - 0.5, v + 0.5]`).
pub fn histogram(values: &[f64], bins: usize) -> Result<Histogram, AnalysisError> {
    if bins == 0 || values.is_empty() {
        return Err(AnalysisError::TooFew {
            what: "a histogram",
            min: 1,
            got: bins.min(values.len()),
        });
    }
    let data = finite_n64(values, "histogram")?;
    let (mut lo, mut hi) = (data[0].raw(), data[0].raw());
    for v in data.iter() {
        lo = lo.min(v.raw());
        hi = hi.max(v.raw());
    }
    if lo == hi {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    // np.linspace(lo, hi, bins + 1): lo + i * step, the last edge exactly hi
    let step = (hi - lo) / bins as f64;
    let mut edges: Vec<f64> = (0..bins).map(|i| lo + i as f64 * step).collect();
    edges.push(hi);
    // ndarray-stats bins are half-open; numpy closes the last one: move its right edge up by
    // one ulp, which changes no other bin.
    let mut grid_edges: Vec<N64> = edges.iter().map(|&e| n64(e)).collect();
    let last = grid_edges.len() - 1;
    grid_edges[last] = n64(next_up(hi));
    let grid = Grid::from(vec![Bins::new(Edges::from(grid_edges))]);
    let points = Array2::from_shape_vec((data.len(), 1), data.to_vec()).map_err(|_| {
        AnalysisError::TooFew {
            what: "a histogram",
            min: 1,
            got: 0,
        }
    })?;
    let h = points.histogram(grid);
    let counts = h.counts().iter().map(|&c| c as u64).collect();
    Ok(Histogram { edges, counts })
}

/// The next representable f64 above a finite `x`.
fn next_up(x: f64) -> f64 {
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

/// Mean, population std, skewness, excess kurtosis, quantiles at `qs` and a `bins`-bin
/// histogram of `values` (at least two values, not all equal, all finite).
pub fn summarize(values: &[f64], qs: &[f64], bins: usize) -> Result<Summary, AnalysisError> {
    if values.len() < 2 {
        return Err(AnalysisError::TooFew {
            what: "a distribution summary",
            min: 2,
            got: values.len(),
        });
    }
    let quantile_values = quantiles(values, qs)?;
    let histogram = histogram(values, bins)?;
    let x = Array1::from(values.to_vec());
    let mean = x.mean().unwrap_or(f64::NAN);
    let std = x.std(0.0);
    if std.is_nan() || std <= 0.0 {
        return Err(AnalysisError::NotFinite {
            what: "skewness of a constant sample",
            value: f64::NAN,
        });
    }
    let skewness = x.skewness().unwrap_or(f64::NAN);
    let excess_kurtosis = x.kurtosis().unwrap_or(f64::NAN) - 3.0;
    Ok(Summary {
        count: values.len(),
        mean,
        std,
        skewness,
        excess_kurtosis,
        quantiles: qs.iter().copied().zip(quantile_values).collect(),
        histogram,
    })
}

/// A uniform random sample of at most `capacity` values of a stream (Vitter's algorithm R),
/// reproducible from its seed: the same stream and seed give the same sample.
#[derive(Clone, Debug)]
pub struct Reservoir {
    capacity: usize,
    seen: u64,
    values: Vec<f64>,
    rng: ChaCha8Rng,
}

impl Reservoir {
    /// An empty reservoir keeping up to `capacity` values, drawing with `seed`.
    pub fn new(capacity: usize, seed: u64) -> Self {
        Self {
            capacity,
            seen: 0,
            values: Vec::with_capacity(capacity.min(1 << 20)),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Offers one value: kept with probability `capacity / seen`.
    pub fn push(&mut self, value: f64) {
        self.seen += 1;
        if self.values.len() < self.capacity {
            self.values.push(value);
        } else if self.capacity > 0 {
            let j = self.rng.gen_range(0..self.seen);
            if (j as usize) < self.capacity {
                self.values[j as usize] = value;
            }
        }
    }

    /// Offers every value of `values`, in order.
    pub fn extend<I: IntoIterator<Item = f64>>(&mut self, values: I) {
        for v in values {
            self.push(v);
        }
    }

    /// Values offered so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The sample (all values while fewer than `capacity` were offered).
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}
