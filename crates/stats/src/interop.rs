//! Statistics in the forms ESPnet and Kaldi collect them: a count and per-dimension sums of values
//! and of squares.
//!
//! * ESPnet (`espnet2 collect_stats`) writes `feats_stats.npz` with `count` (a scalar), `sum` and
//!   `sum_square` (one value per feature dimension); its `GlobalMVN` layer normalizes with
//!   `mean = sum / count`, `var = sum_square / count - mean²`.
//! * Kaldi (`compute-cmvn-stats`) keeps a `2 x (D+1)` matrix: row 0 holds the `D` sums and the
//!   count, row 1 the `D` sums of squares and a 0; `apply-cmvn` uses the same formulas. Its text
//!   form (`copy-matrix --binary=false`) is `[ s_0 .. s_{D-1} n` / `q_0 .. q_{D-1} 0 ]`, optionally
//!   after an archive key.
//!
//! [`SumStats`] converts between those and the exact [`StatsAccumulator`] state. Export is
//! `sum = n·mean`, `sum_square = M2 + n·mean²` (one rounding each); import recovers
//! `M2 = sum_square - sum²/n`, which cancels catastrophically when the std is small against the
//! mean — that loss is in the format, not in the conversion, and is why specnorm merges
//! (count, mean, M2) instead.
//!
//! ```
//! use ndarray::Array4;
//! use specnorm_stats::{interop::SumStats, StatsAccumulator};
//! let x = Array4::from_shape_fn((2, 1, 3, 8), |(b, _, f, t)| -40.0 + (b * 5 + f * 2 + t) as f32);
//! let mut acc = StatsAccumulator::per_channel();
//! acc.update(x.view())?;
//! let sums = SumStats::from_accumulator(&acc)?;
//! let kaldi = sums.to_kaldi_text();
//! let back = SumStats::from_kaldi_text(&kaldi, None)?;
//! assert_eq!(back, sums);
//! let (mean, std) = back.mean_std();
//! let ours = acc.finalize()?;
//! assert!((mean[1] - ours.mean[[0, 0, 1, 0]]).abs() < 1e-12);
//! assert!((std[1] - ours.std[[0, 0, 1, 0]]).abs() < 1e-9);
//! # Ok::<(), specnorm_stats::StatsError>(())
//! ```

use std::path::{Path, PathBuf};

use crate::{StatsAccumulator, StatsError};

/// A count of elements per dimension and per-dimension sums of values and of squared values.
#[derive(Clone, Debug, PartialEq)]
pub struct SumStats {
    /// Elements per dimension (ESPnet: frames; the same for every dimension).
    pub count: u64,
    /// Sum of the values of each dimension.
    pub sum: Vec<f64>,
    /// Sum of the squared values of each dimension.
    pub sum_square: Vec<f64>,
}

fn invalid(message: String, path: Option<&Path>) -> StatsError {
    StatsError::Invalid {
        message,
        path: path.map(Path::to_path_buf),
    }
}

impl SumStats {
    /// Sums of an accumulator's state, one dimension per group (row-major over its keep-dims
    /// shape). Errors when nothing was accumulated.
    pub fn from_accumulator(acc: &StatsAccumulator) -> Result<SumStats, StatsError> {
        if acc.is_empty() {
            return Err(StatsError::Empty);
        }
        let n = acc.count() as f64;
        let sum = acc.means().iter().map(|&m| n * m).collect();
        let sum_square = acc
            .means()
            .iter()
            .zip(acc.m2s())
            .map(|(&m, &m2)| m2 + n * m * m)
            .collect();
        Ok(SumStats {
            count: acc.count(),
            sum,
            sum_square,
        })
    }

    /// Checks the invariants every reader relies on: a positive count, as many sums as sums of
    /// squares, finite values and non-negative sums of squares.
    fn validate(&self, path: Option<&Path>) -> Result<(), StatsError> {
        if self.count == 0 {
            return Err(invalid("count is 0".into(), path));
        }
        if self.sum.len() != self.sum_square.len() {
            return Err(invalid(
                format!(
                    "{} sums but {} sums of squares",
                    self.sum.len(),
                    self.sum_square.len()
                ),
                path,
            ));
        }
        if let Some(i) = self.sum.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!("sum[{i}] is not finite"), path));
        }
        if let Some(i) = self
            .sum_square
            .iter()
            .position(|v| !(v.is_finite() && *v >= 0.0))
        {
            return Err(invalid(
                format!(
                    "sum_square[{i}] = {} is not finite and >= 0",
                    self.sum_square[i]
                ),
                path,
            ));
        }
        Ok(())
    }

    /// Mean and population std per dimension, computed as ESPnet's `GlobalMVN` and Kaldi's
    /// `apply-cmvn` do (`var = sum_square/count - mean²`, clamped at 0).
    pub fn mean_std(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.count as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std = self
            .sum_square
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / n - m * m).max(0.0).sqrt())
            .collect();
        (mean, std)
    }

    /// An accumulator reducing `reduce_axes` with keep-dims `shape` (its group count must equal
    /// the number of dimensions), holding these statistics: `mean = sum/n`,
    /// `M2 = max(sum_square - sum·mean, 0)` (0 when `n = 1`).
    pub fn to_accumulator(
        &self,
        reduce_axes: &[usize],
        shape: &[usize],
    ) -> Result<StatsAccumulator, StatsError> {
        self.validate(None)?;
        let n = self.count as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let m2 = self
            .sum_square
            .iter()
            .zip(&self.sum)
            .map(|(&q, &s)| {
                if self.count > 1 {
                    (q - s * (s / n)).max(0.0)
                } else {
                    0.0
                }
            })
            .collect();
        StatsAccumulator::from_moments(reduce_axes, shape, self.count, mean, m2)
    }

    /// Kaldi's text form of the `2 x (D+1)` CMVN stats matrix (values in shortest round-trip
    /// notation, so [`from_kaldi_text`](Self::from_kaldi_text) reads back the same bits).
    pub fn to_kaldi_text(&self) -> String {
        let row = |vals: &[f64], last: f64| {
            let mut s = String::from("\n  ");
            for v in vals.iter().chain([last].iter()) {
                s += &format!("{v:?} ");
            }
            s
        };
        format!(
            " [{}{}]\n",
            row(&self.sum, self.count as f64),
            row(&self.sum_square, 0.0)
        )
    }

    /// Parses a Kaldi text CMVN stats matrix (optionally preceded by an archive key, as
    /// `copy-matrix ark:- ark,t:-` writes it). `path` names the source in errors.
    pub fn from_kaldi_text(text: &str, path: Option<&Path>) -> Result<SumStats, StatsError> {
        let open = text
            .find('[')
            .ok_or_else(|| invalid("no '[' starting a Kaldi text matrix".into(), path))?;
        let key: Vec<&str> = text[..open].split_whitespace().collect();
        if key.len() > 1 {
            return Err(invalid(
                format!("unexpected text {:?} before the matrix", key.join(" ")),
                path,
            ));
        }
        let close = text[open..]
            .find(']')
            .map(|i| open + i)
            .ok_or_else(|| invalid("no ']' ending the Kaldi text matrix".into(), path))?;
        if !text[close + 1..].trim().is_empty() {
            return Err(invalid(
                "text after the matrix (one CMVN matrix per file)".into(),
                path,
            ));
        }
        let rows: Vec<Vec<f64>> = text[open + 1..close]
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.split_whitespace()
                    .map(|t| {
                        t.parse::<f64>()
                            .map_err(|_| invalid(format!("{t:?} is not a number"), path))
                    })
                    .collect::<Result<Vec<f64>, StatsError>>()
            })
            .collect::<Result<_, _>>()?;
        let [sums, squares] = rows.as_slice() else {
            return Err(invalid(
                format!("a CMVN stats matrix has 2 rows, found {}", rows.len()),
                path,
            ));
        };
        if sums.len() < 2 || sums.len() != squares.len() {
            return Err(invalid(
                format!(
                    "rows of {} and {} values; a CMVN stats matrix is 2 x (D+1) with D >= 1",
                    sums.len(),
                    squares.len()
                ),
                path,
            ));
        }
        let d = sums.len() - 1;
        let count = count_from_f64(sums[d], path)?;
        if squares[d] != 0.0 {
            return Err(invalid(
                format!("row 2 ends in {}, expected 0", squares[d]),
                path,
            ));
        }
        let s = SumStats {
            count,
            sum: sums[..d].to_vec(),
            sum_square: squares[..d].to_vec(),
        };
        s.validate(path)?;
        Ok(s)
    }

    /// Writes [`to_kaldi_text`](Self::to_kaldi_text) to `path` atomically.
    pub fn save_kaldi_text(&self, path: &Path) -> Result<(), StatsError> {
        specnorm_atomic::write(path, self.to_kaldi_text().as_bytes()).map_err(|source| {
            StatsError::Io {
                source,
                path: path.to_path_buf(),
            }
        })
    }

    /// Reads a Kaldi text CMVN stats file.
    pub fn load_kaldi_text(path: &Path) -> Result<SumStats, StatsError> {
        let text = std::fs::read_to_string(path).map_err(|source| StatsError::Io {
            source,
            path: path.to_path_buf(),
        })?;
        Self::from_kaldi_text(&text, Some(path))
    }

    /// Writes ESPnet's `feats_stats.npz` (`count` int64 scalar, `sum` and `sum_square` float64
    /// `(D,)`, uncompressed like `numpy.savez`) atomically.
    pub fn save_espnet_npz(&self, path: &Path) -> Result<(), StatsError> {
        use crate::stats::{write_numpy_atomic, NpyWriteError};
        use ndarray::{arr0, Array1};
        let count = i64::try_from(self.count)
            .map_err(|_| npz_error(path, format!("count {} exceeds int64", self.count)))?;
        let npz = |e: ndarray_npy::WriteNpzError| NpyWriteError::Npy(e.to_string());
        write_numpy_atomic(path, |tmp| {
            let file = std::fs::File::create(tmp)?;
            let mut w = ndarray_npy::NpzWriter::new(std::io::BufWriter::new(file));
            w.add_array("count", &arr0(count)).map_err(npz)?;
            w.add_array("sum", &Array1::from(self.sum.clone()))
                .map_err(npz)?;
            w.add_array("sum_square", &Array1::from(self.sum_square.clone()))
                .map_err(npz)?;
            let mut inner = w.finish().map_err(npz)?;
            std::io::Write::flush(&mut inner)?;
            Ok(())
        })
    }

    /// Reads ESPnet's `feats_stats.npz` (`count` integer or float scalar; `sum`, `sum_square`
    /// float32 or float64 vectors).
    pub fn load_espnet_npz(path: &Path) -> Result<SumStats, StatsError> {
        use ndarray::{Array0, Array1};
        let file = std::fs::File::open(path).map_err(|source| StatsError::Io {
            source,
            path: path.to_path_buf(),
        })?;
        let mut r = ndarray_npy::NpzReader::new(std::io::BufReader::new(file))
            .map_err(|e| npz_error(path, e.to_string()))?;
        let names = r.names().map_err(|e| npz_error(path, e.to_string()))?;
        let entry = |name: &str| {
            names
                .iter()
                .find(|n| n.as_str() == name || n.as_str() == format!("{name}.npy"))
                .cloned()
                .ok_or_else(|| npz_error(path, format!("no {name:?} array (has {names:?})")))
        };
        let (count_name, sum_name, sq_name) =
            (entry("count")?, entry("sum")?, entry("sum_square")?);
        let count = match r.by_name::<ndarray::OwnedRepr<i64>, ndarray::Ix0>(&count_name) {
            Ok(c) => u64::try_from(c.into_scalar())
                .map_err(|_| npz_error(path, "count is negative".into()))?,
            Err(_) => {
                let c: Array0<f64> = r
                    .by_name(&count_name)
                    .map_err(|e| npz_error(path, format!("count: {e}")))?;
                count_from_f64(c.into_scalar(), Some(path))?
            }
        };
        let mut vector = |name: &str| -> Result<Vec<f64>, StatsError> {
            match r.by_name::<ndarray::OwnedRepr<f64>, ndarray::Ix1>(name) {
                Ok(v) => Ok(v.to_vec()),
                Err(_) => {
                    let v: Array1<f32> = r
                        .by_name(name)
                        .map_err(|e| npz_error(path, format!("{name}: {e}")))?;
                    Ok(v.iter().map(|&x| f64::from(x)).collect())
                }
            }
        };
        let s = SumStats {
            count,
            sum: vector(&sum_name)?,
            sum_square: vector(&sq_name)?,
        };
        s.validate(Some(path))?;
        Ok(s)
    }
}

fn npz_error(path: &Path, message: String) -> StatsError {
    StatsError::Invalid {
        message: format!("ESPnet stats npz: {message}"),
        path: Some(PathBuf::from(path)),
    }
}

/// A count stored as a float (Kaldi keeps it in the matrix): a non-negative integer below 2^53.
fn count_from_f64(v: f64, path: Option<&Path>) -> Result<u64, StatsError> {
    if !(v.is_finite() && v >= 1.0 && v.fract() == 0.0 && v < 9_007_199_254_740_992.0) {
        return Err(invalid(
            format!("count {v} is not a positive integer"),
            path,
        ));
    }
    Ok(v as u64)
}
