//! `specnorm.StatsAccumulator` and `specnorm.Stats`: exact, mergeable, picklable statistics.

use std::path::PathBuf;

use ndarray::{ArrayViewD, Axis};
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use specnorm_stats::{Stats, StatsAccumulator};

use crate::errors;
use crate::extract::asarray;

const GLOBAL: [usize; 3] = [0, 2, 3];
const CHANNEL: [usize; 3] = [0, 1, 3];

/// Reduced axes of `axes="global"`, `"channel"` or an explicit sequence of ints.
pub fn parse_axes(axes: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    if let Ok(name) = axes.extract::<String>() {
        return match name.as_str() {
            "global" => Ok(GLOBAL.to_vec()),
            "channel" => Ok(CHANNEL.to_vec()),
            other => Err(errors::ConfigError::new_err(format!(
                "axes={other:?}: expected \"global\", \"channel\" or a sequence of reduced axes"
            ))),
        };
    }
    let list: Vec<usize> = axes.extract().map_err(|_| {
        PyTypeError::new_err(
            "axes must be \"global\", \"channel\" or a sequence of non-negative ints",
        )
    })?;
    StatsAccumulator::try_new(&list).map_err(errors::stats)?;
    Ok(list)
}

/// A preset reads a `[B, F, T]` batch as `[B, 1, F, T]`, so both give the CLI's keep-dims shapes.
fn is_preset(axes: &[usize]) -> bool {
    axes == GLOBAL || axes == CHANNEL
}

fn update_view<A: specnorm_stats::Element + Sync>(
    py: Python<'_>,
    acc: &mut StatsAccumulator,
    view: ArrayViewD<'_, A>,
) -> PyResult<()> {
    let view = if view.ndim() == 3 && is_preset(acc.axes()) {
        view.insert_axis(Axis(1))
    } else {
        view
    };
    py.detach(|| acc.update(view)).map_err(errors::stats)
}

/// Streaming mean / standard deviation, exact in float64 and mergeable (Chan et al.).
///
/// `axes="channel"` keeps one mean/std per frequency bin (shape `[1, 1, F, 1]`),
/// `axes="global"` one for everything (`[1, 1, 1, 1]`); a sequence of ints names the
/// reduced axes of the batches explicitly. Pickling carries the exact float64 state.
#[pyclass(name = "StatsAccumulator", module = "specnorm")]
pub struct PyStatsAccumulator {
    pub inner: StatsAccumulator,
}

#[pymethods]
impl PyStatsAccumulator {
    #[new]
    #[pyo3(signature = (axes = None))]
    fn new(axes: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let axes = match axes {
            Some(a) => parse_axes(a)?,
            None => CHANNEL.to_vec(),
        };
        Ok(Self {
            inner: StatsAccumulator::new(&axes),
        })
    }

    /// Adds a batch: float32 or float64, `[B, F, T]` or `[B, 1, F, T]` for the presets
    /// (any rank for explicit axes). NaN/Inf raise `StatsError`; the accumulator is then
    /// unchanged.
    fn update(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        let arr = asarray(py, batch, None)?;
        if let Ok(a) = arr.cast::<PyArrayDyn<f32>>() {
            let ro = a.readonly();
            return update_view(py, &mut self.inner, ro.as_array());
        }
        if let Ok(a) = arr.cast::<PyArrayDyn<f64>>() {
            let ro = a.readonly();
            return update_view(py, &mut self.inner, ro.as_array());
        }
        let dtype = arr.getattr("dtype")?.str()?.to_string();
        Err(PyTypeError::new_err(format!(
            "update needs a float32 or float64 array, got dtype {dtype}"
        )))
    }

    /// Merges `other` into this accumulator (same axes; an empty one is the identity).
    fn merge(&mut self, other: &Self) -> PyResult<()> {
        self.inner.merge(&other.inner).map_err(errors::stats)
    }

    /// Mean, std (population) and sample std; raises `StatsError` when empty.
    fn finalize(&self) -> PyResult<PyStats> {
        Ok(PyStats {
            inner: self.inner.finalize().map_err(errors::stats)?,
        })
    }

    /// Elements each group's statistics rest on.
    #[getter]
    fn count(&self) -> u64 {
        self.inner.count()
    }

    /// Reduced axes.
    #[getter]
    fn axes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.axes())
    }

    /// Keep-dims shape of the statistics, `None` before the first batch.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.inner.shape().map(|s| PyTuple::new(py, s)).transpose()
    }

    fn __len__(&self) -> usize {
        self.inner.count() as usize
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyTuple>,)> {
        Ok((self.axes(py)?,))
    }

    /// The exact state (serde JSON of `specnorm_stats::StatsAccumulator`; floats round-trip).
    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = serde_json::to_vec(&self.inner)
            .map_err(|e| errors::StatsError::new_err(format!("serializing accumulator: {e}")))?;
        Ok(PyBytes::new(py, &bytes))
    }

    fn __setstate__(&mut self, state: &[u8]) -> PyResult<()> {
        self.inner = serde_json::from_slice(state)
            .map_err(|e| errors::StatsError::new_err(format!("invalid accumulator state: {e}")))?;
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "StatsAccumulator(axes={:?}, shape={:?}, count={})",
            self.inner.axes(),
            self.inner.shape(),
            self.inner.count()
        )
    }
}

/// Finalized statistics: the same document the CLI's `specnorm stats` writes.
#[pyclass(name = "Stats", module = "specnorm", frozen)]
pub struct PyStats {
    pub inner: Stats,
}

fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

#[pymethods]
impl PyStats {
    /// Mean per group, float64, keep-dims shape (e.g. `(1, 1, 201, 1)`).
    #[getter]
    fn mean<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDyn<f64>> {
        self.inner.mean.clone().into_pyarray(py)
    }

    /// Population standard deviation (divides by n), float64, keep-dims shape.
    #[getter]
    fn std<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDyn<f64>> {
        self.inner.std.clone().into_pyarray(py)
    }

    /// Sample standard deviation (divides by n - 1), float64, keep-dims shape.
    #[getter]
    fn sample_std<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDyn<f64>> {
        self.inner.sample_std.clone().into_pyarray(py)
    }

    /// Elements each group's statistics rest on.
    #[getter]
    fn count(&self) -> u64 {
        self.inner.count.first().copied().unwrap_or(0)
    }

    /// Reduced axes.
    #[getter]
    fn axes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.axes)
    }

    /// Keep-dims shape.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.shape)
    }

    /// Where the statistics came from: dataset, folds, clips, sample_fraction, features, note.
    #[getter]
    fn provenance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(&self.inner.provenance)
            .map_err(|e| errors::StatsError::new_err(e.to_string()))?;
        json_to_py(py, &text)
    }

    /// The stats JSON document; written atomically to `path` when given, returned otherwise.
    #[pyo3(signature = (path = None))]
    fn to_json(&self, path: Option<PathBuf>) -> PyResult<Option<String>> {
        match path {
            Some(p) => self
                .inner
                .save_json(&p)
                .map(|_| None)
                .map_err(errors::stats),
            None => self.inner.to_json().map(Some).map_err(errors::stats),
        }
    }

    /// Reads and validates a stats JSON file (as written by `to_json` or `specnorm stats`).
    #[staticmethod]
    fn from_json(path: PathBuf) -> PyResult<Self> {
        Ok(Self {
            inner: Stats::load_json(&path).map_err(errors::stats)?,
        })
    }

    /// Writes mean and std as float32 `.npy` files (keep-dims shape), like the CLI.
    fn save_npy(&self, mean_path: PathBuf, std_path: PathBuf) -> PyResult<()> {
        self.inner
            .save_npy(&mean_path, &std_path)
            .map_err(errors::stats)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let py = slf.py();
        let text = slf.get().inner.to_json().map_err(errors::stats)?;
        let rebuild = py
            .import("specnorm._specnorm")?
            .getattr("_stats_from_json_text")?;
        Ok((rebuild, (text,)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Stats(shape={:?}, count={}, folds={:?}, clips={})",
            self.inner.shape,
            self.count(),
            self.inner.provenance.folds,
            self.inner.provenance.clips
        )
    }
}

/// Unpickling helper of `Stats`.
#[pyfunction]
pub fn _stats_from_json_text(text: &str) -> PyResult<PyStats> {
    Ok(PyStats {
        inner: Stats::from_json(text).map_err(errors::stats)?,
    })
}
